"""Counters of failed sign-ins and API keys, shared by every worker and instance on the store.

Revision ID: 0005_rate_limits
Revises: 0004_request_ids_and_sessions
Create Date: 2026-12-02

One row per client and fixed time window: `bucket` names what is limited and who
(`signin:203.0.113.7`), `window_start` the window (seconds since the epoch), `hits` the
failures in it. Old windows are deleted as new failures are counted (see rate_limits.py).
"""

from alembic import op
import sqlalchemy as sa

revision = "0005_rate_limits"
down_revision = "0004_request_ids_and_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_limits",
        sa.Column("bucket", sa.String(200), primary_key=True),
        sa.Column("window_start", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("hits", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rate_limits")
