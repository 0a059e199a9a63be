"""The decision log knows every country a journey sends data to.

Revision ID: 0007_onward_destinations
Revises: 0006_compact_answers
Create Date: 2026-12-02

- `decision_log.onward_destinations`: a journey's onward legs' destinations in order, between
  commas (",JP,US,"); "" for a single transfer. The destination filters (the API's, the audit
  pages', the exports') match a journey by any of its legs, not only its first. It is hashed into
  the entry when present; entries written before it existed keep their hashes, and the filters
  find their journeys' legs in their logged request (`log_reader.to_destination`).
"""

from alembic import op
import sqlalchemy as sa

revision = "0007_onward_destinations"
down_revision = "0006_compact_answers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ADD COLUMN is allowed by the append-only triggers (they refuse row changes, not DDL).
    op.add_column("decision_log", sa.Column("onward_destinations", sa.Text, nullable=True))


def downgrade() -> None:
    # The column is hashed into the entries written since: dropping it would break their hashes.
    raise RuntimeError("0007_onward_destinations cannot be downgraded without breaking logged entries' hashes")
