"""The append-only, hash-chained decision log (SQLAlchemy; SQLite by default, or PostgreSQL).

The interface is deliberately small: `append`, `get`, `query`, `verify` (plus `scan`, a paged
`query`, and `head`). There is no update and no delete of an entry anywhere in the code, and
the schema's triggers refuse both (migrations/versions/0001_decision_log.py).

Each entry has a gap-free position `seq` and a `hash`: SHA-256 over its canonical content,
which includes `seq` and `prev_hash`, the previous entry's hash. So altering a row breaks its
own hash, deleting one leaves a gap in `seq`, and moving one breaks the link to its neighbour.
Deleting the *last* entries leaves a shorter chain that is still valid on its own; that is why
the store also keeps the chain head (`decision_log_head`: the seq and hash of the last entry),
advanced in the same transaction as every append and only ever forward. `verify` checks that
the chain ends where the head says, and an operator can keep a copy of the head outside the
database (`transfer-gate verify-log --anchor FILE`) so that even a truncation that also rewinds
the head is caught up to the last anchored entry.

What verification cannot catch: someone with write access to the database who rewrites the
chain from some entry onward, recomputes every later hash and moves the head to match. The
hash is unkeyed by design (anyone can check it); entries after the last external anchor are
only as safe as the database's own access control.

One chain under concurrency: every append takes the chain's write lock before it inserts —
`BEGIN IMMEDIATE` on SQLite (after a turn at a lock file beside the database), the head row's
lock on PostgreSQL — so processes and service instances sharing a store append one after
another. Within a process, concurrent appends are grouped (`_GroupCommit`): one thread commits
the rows of every caller waiting at that moment in one transaction, and each caller returns
only after the commit that holds its rows succeeded. On PostgreSQL an append is one round trip
while one instance writes alone: it chains on the head it wrote last, and a head that another
instance moved fails the transaction, which then runs again from the head read under its lock
(log_writer.py).

The log's parts have one job each: log_entries.py (the schema, an entry's form and hash,
masking), log_writer.py (the chain and group commit), log_reader.py (queries and scans),
log_verify.py (walking the chain). `DecisionLog` is the small facade over them that the rest
of the code uses.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable

import sqlalchemy as sa
from sqlalchemy import event

from .errors import LogUnavailable
from .log_entries import (FILTERS, GENESIS, HASHED, MASK_MODES, MASKABLE, NO_MASK, OPTIONAL_HASHED,  # noqa: F401
                          REDACTED, LogMask, answer_text, canonical, entries, entry_for, entry_hash, head_table, metadata,
                          public, retention_end)
from .log_reader import Reading
from .log_verify import Anchor, Verification, Verifying  # noqa: F401
from .log_writer import (MAX_GROUP_ROWS, DeadlinePassed, Writing, _Checkpoints, _GroupCommit, _ms,  # noqa: F401
                         _Writers, _WriterTurn, writer_turn_path)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Key of the PostgreSQL advisory lock that serialises schema migrations of concurrent starts.
MIGRATION_LOCK_KEY = 0x7467_6C6F  # "tglo"


class DecisionLog(Writing, Reading, Verifying):
    """An append-only store of decisions behind `append`, `get`, `query` and `verify`."""

    def __init__(self, url: str, timeout: float = 10.0, mask: LogMask = NO_MASK, deadline=None):
        self.url = url
        self.timeout = timeout
        self.mask = mask
        # deadline(): the time.monotonic() instant by which the current caller needs an answer,
        # or None. The web layer hands in the request's deadline; the store knows nothing of HTTP.
        self.deadline = deadline or (lambda: None)
        self.engine = sa.create_engine(url, **self._engine_options(url, timeout))
        self.dialect = self.engine.dialect.name
        self._turn = self._checkpoints = None
        if self.dialect == "sqlite":
            self._sqlite_transactions()
            path = writer_turn_path(self.engine.url)
            self._turn = _WriterTurn(path) if path else None
            self._checkpoints = _Checkpoints(self.engine)
        # Connections kept for appends (log_writer.py), and the head this instance last wrote
        # (PostgreSQL: (seq, hash), or None), and whether it seems the only one writing.
        self._writers = _Writers(self.engine, postgresql=self.dialect == "postgresql")
        self._head, self._head_alone = None, False
        self._hoping = threading.Lock()  # held by the one append trying the remembered head
        self._group = _GroupCommit(self._observed_write)
        # Told the entries and seconds of each commit that succeeded (the metrics).
        self.on_commit: Callable[[int, float], None] | None = None

    @staticmethod
    def _engine_options(url, timeout):
        if url.startswith("sqlite"):
            return {"connect_args": {"timeout": timeout, "check_same_thread": False}}
        return {"pool_pre_ping": True, "pool_timeout": timeout, "connect_args": {"connect_timeout": max(1, round(timeout))}}

    def _sqlite_transactions(self):
        # pysqlite defers BEGIN and commits behind our back around DDL; take control of
        # transactions (SQLAlchemy's documented recipe). Writers take the write lock up front
        # so that two of them never read the same chain head; readers get a WAL snapshot.
        @event.listens_for(self.engine, "connect")
        def _connect(dbapi_connection, record):
            dbapi_connection.isolation_level = None
            cur = dbapi_connection.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")  # fsync the WAL on every commit: durable
            cur.close()
            record.info["busy_ms"] = _ms(self.timeout)  # set by the driver's `timeout`

        @event.listens_for(self.engine, "begin")
        def _begin(conn):
            options = conn.get_execution_options()
            # The wait for the write lock: the store's timeout, or less when the caller's deadline
            # is nearer; told to the connection only when it changes (most transactions are reads).
            busy_ms = _ms(options.get("lock_wait", self.timeout))
            info = conn.connection.info
            if info.get("busy_ms") != busy_ms:
                conn.connection.driver_connection.execute(f"PRAGMA busy_timeout = {busy_ms}")
                info["busy_ms"] = busy_ms
            conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get("log_write") else "BEGIN")

    # ------------------------------------------------------------------ schema

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision; raise LogUnavailable if the store cannot be reached.

        A schema already at head is only read, so a start does not wait for the write lock
        that a busy (or stuck) writer holds. Otherwise concurrent starts migrate one after
        another, under the write lock (SQLite) or an advisory lock (PostgreSQL).
        """
        from alembic import command
        from alembic.config import Config
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        try:
            with self.engine.connect() as conn:
                current = set(MigrationContext.configure(conn).get_current_heads())
            if current == set(ScriptDirectory.from_config(cfg).get_heads()):
                return
            with self._write_connection() as conn, conn.begin():
                if self.dialect == "postgresql":
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except sa.exc.DBAPIError as exc:
            raise LogUnavailable(f"the decision log store cannot be opened: {exc.__class__.__name__}: {exc}") from exc

    def close(self) -> None:
        """Release every pooled connection (before a fork, or at the end of a test)."""
        if self._checkpoints is not None:
            self._checkpoints.close()
        self._writers.close()
        if self._turn is not None:
            self._turn.close()
        self.engine.dispose()
