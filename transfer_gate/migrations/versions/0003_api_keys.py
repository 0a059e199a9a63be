"""API keys: stored keys (salted hashes) and the guard that lets one worker create the first admin key.

Revision ID: 0003_api_keys
Revises: 0002_saved_scenarios
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa

revision = "0003_api_keys"
down_revision = "0002_saved_scenarios"
branch_labels = None
depends_on = None


def upgrade() -> None:
    existing = sa.inspect(op.get_bind())
    # A store where the key ring had already created its tables with create_all() keeps them.
    if not existing.has_table("api_keys"):
        op.create_table(
            "api_keys",
            sa.Column("key_id", sa.String(32), primary_key=True),
            sa.Column("role", sa.String(16), nullable=False),
            sa.Column("salt", sa.String(32), nullable=False),
            sa.Column("secret_hash", sa.String(64), nullable=False),
            sa.Column("created_at", sa.String(32), nullable=False),
            sa.Column("revoked_at", sa.String(32), nullable=True),
        )
    if not existing.has_table("api_key_first_admin"):
        op.create_table(
            "api_key_first_admin",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("key_id", sa.String(32), nullable=False),
            sa.Column("created_at", sa.String(32), nullable=False),
        )


def downgrade() -> None:
    op.drop_table("api_key_first_admin")
    op.drop_table("api_keys")
