"""Request ids on log entries, and server-side browser sessions.

Revision ID: 0004_request_ids_and_sessions
Revises: 0003_api_keys
Create Date: 2026-12-02

- `decision_log.request_id`: the id of the HTTP request (or CLI run) that asked, so an operator
  can follow one decision from the structured logs into the log store. It is hashed into the
  entry when present; entries written before it existed keep their hashes (see
  `decision_log.entry_hash`).
- `browser_sessions`: a browser sign-in is a row here, and the signed cookie only names it, so
  signing out ends the session on the server: a copy of the cookie no longer works.
"""

from alembic import op
import sqlalchemy as sa

revision = "0004_request_ids_and_sessions"
down_revision = "0003_api_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ADD COLUMN is allowed by the append-only triggers (they refuse row changes, not DDL).
    op.add_column("decision_log", sa.Column("request_id", sa.Text, nullable=True))
    op.create_table(
        "browser_sessions",
        sa.Column("session_hash", sa.String(64), primary_key=True),  # SHA-256 of the cookie's session id
        sa.Column("key_id", sa.String(64), nullable=False, index=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("expires_at", sa.String(32), nullable=False),
        sa.Column("ended_at", sa.String(32), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("browser_sessions")
    with op.batch_alter_table("decision_log") as batch:
        batch.drop_column("request_id")
