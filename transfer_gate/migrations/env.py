"""Alembic environment: runs on the connection DecisionLog.migrate() hands over, in its transaction.

The caller holds the chain's write lock (SQLite) or an advisory lock (PostgreSQL) on that
transaction, so workers and instances starting at once migrate one after another and the
later ones find the schema already at head.
"""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
