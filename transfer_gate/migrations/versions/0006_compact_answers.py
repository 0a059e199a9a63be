"""The decision log keeps answers compressed.

Revision ID: 0006_compact_answers
Revises: 0005_rate_limits
Create Date: 2026-12-02

- `decision_log.response_z`: the answer's JSON text compressed with a versioned, never-changed
  preset dictionary (see `log_entries.pack`); `response` is then empty. An answer is about
  1.8 KB stored instead of 10–16 KB. The entry hash covers the answer's text, not how it is
  kept, so entries written before this revision (their text in `response`, `response_z` NULL)
  keep their hashes, read back exactly and verify as before.
"""

from alembic import op
import sqlalchemy as sa

revision = "0006_compact_answers"
down_revision = "0005_rate_limits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ADD COLUMN is allowed by the append-only triggers (they refuse row changes, not DDL).
    op.add_column("decision_log", sa.Column("response_z", sa.LargeBinary, nullable=True))


def downgrade() -> None:
    # Entries written since hold their answer only here: dropping the column would lose them.
    raise RuntimeError("0006_compact_answers cannot be downgraded without losing logged answers")
