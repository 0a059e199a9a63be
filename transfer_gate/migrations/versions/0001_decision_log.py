"""Decision log: entries, the chain head, and triggers that keep both append-only.

Revision ID: 0001_decision_log
Revises:
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa

revision = "0001_decision_log"
down_revision = None
branch_labels = None
depends_on = None

GENESIS = "0" * 64

# PostgreSQL: entries can be inserted and read, nothing else; the head row can only move
# forward, to an entry that exists with that hash. TRUNCATE is refused as well.
POSTGRESQL = [
    """
    CREATE FUNCTION decision_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'the decision log is append-only: % on % is refused', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END $$
    """,
    """
    CREATE TRIGGER decision_log_append_only BEFORE UPDATE OR DELETE ON decision_log
        FOR EACH ROW EXECUTE FUNCTION decision_log_refuse_change()
    """,
    """
    CREATE TRIGGER decision_log_no_truncate BEFORE TRUNCATE ON decision_log
        FOR EACH STATEMENT EXECUTE FUNCTION decision_log_refuse_change()
    """,
    """
    CREATE FUNCTION decision_log_head_advance() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.id <> OLD.id OR NEW.seq <= OLD.seq OR NOT EXISTS (
            SELECT 1 FROM decision_log WHERE seq = NEW.seq AND hash = NEW.hash
        ) THEN
            RAISE EXCEPTION 'the decision log head only moves forward, to an appended entry'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER decision_log_head_forward_only BEFORE UPDATE ON decision_log_head
        FOR EACH ROW EXECUTE FUNCTION decision_log_head_advance()
    """,
    """
    CREATE TRIGGER decision_log_head_no_delete BEFORE DELETE ON decision_log_head
        FOR EACH ROW EXECUTE FUNCTION decision_log_refuse_change()
    """,
    """
    CREATE TRIGGER decision_log_head_no_truncate BEFORE TRUNCATE ON decision_log_head
        FOR EACH STATEMENT EXECUTE FUNCTION decision_log_refuse_change()
    """,
]

# SQLite has the same triggers in its own dialect (there is no TRUNCATE).
SQLITE = [
    """
    CREATE TRIGGER decision_log_no_update BEFORE UPDATE ON decision_log
    BEGIN SELECT RAISE(ABORT, 'the decision log is append-only: UPDATE is refused'); END
    """,
    """
    CREATE TRIGGER decision_log_no_delete BEFORE DELETE ON decision_log
    BEGIN SELECT RAISE(ABORT, 'the decision log is append-only: DELETE is refused'); END
    """,
    """
    CREATE TRIGGER decision_log_head_forward_only BEFORE UPDATE ON decision_log_head
    WHEN NEW.id <> OLD.id OR NEW.seq <= OLD.seq
         OR NOT EXISTS (SELECT 1 FROM decision_log WHERE seq = NEW.seq AND hash = NEW.hash)
    BEGIN SELECT RAISE(ABORT, 'the decision log head only moves forward, to an appended entry'); END
    """,
    """
    CREATE TRIGGER decision_log_head_no_delete BEFORE DELETE ON decision_log_head
    BEGIN SELECT RAISE(ABORT, 'the decision log is append-only: DELETE is refused'); END
    """,
]


def upgrade() -> None:
    op.create_table(
        "decision_log",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("decision_id", sa.String(26), nullable=False, unique=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("caller", sa.Text, nullable=False),
        sa.Column("caller_role", sa.String(16), nullable=True),
        sa.Column("reference", sa.Text, nullable=True),
        sa.Column("request", sa.Text, nullable=False),
        sa.Column("response", sa.Text, nullable=False),
        sa.Column("ruleset_name", sa.String(64), nullable=False),
        sa.Column("ruleset_version", sa.String(32), nullable=False),
        sa.Column("ruleset_digest", sa.String(80), nullable=False),
        sa.Column("profile_digest", sa.String(80), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("route", sa.String(40), nullable=False),
        sa.Column("destination", sa.String(16), nullable=False),
        sa.Column("data_kinds", sa.Text, nullable=False),
        sa.Column("records_required", sa.Boolean, nullable=False),
        sa.Column("records_retention", sa.String(16), nullable=True),
        sa.Column("retention_until", sa.String(10), nullable=True),
        sa.Column("masked", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    for column in ("created_at", "caller", "reference", "destination"):
        op.create_index(f"ix_decision_log_{column}", "decision_log", [column])
    head = op.create_table(
        "decision_log_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.CheckConstraint("id = 1", name="decision_log_head_single_row"),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": GENESIS}])
    dialect = op.get_bind().dialect.name
    for statement in POSTGRESQL if dialect == "postgresql" else SQLITE:
        op.execute(statement)


def downgrade() -> None:
    raise RuntimeError("The decision log is evidence: revision 0001 is not reversible (drop the database instead).")
