"""Saved scenarios: the privacy officers' library, in its own table beside the log.

Revision ID: 0002_saved_scenarios
Revises: 0001_decision_log
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa

revision = "0002_saved_scenarios"
down_revision = "0001_decision_log"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A store the library had already created with create_all() keeps its table and rows.
    if sa.inspect(op.get_bind()).has_table("saved_scenarios"):
        return
    op.create_table(
        "saved_scenarios",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("saved_at", sa.String(32), nullable=False),
        sa.Column("saved_by", sa.String(64), nullable=False),
        sa.Column("decision_id", sa.String(26), nullable=True),
        sa.Column("request", sa.Text, nullable=False),
        sa.Column("expect", sa.Text, nullable=False),
        sa.Column("answer", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("saved_scenarios")
