"""Failure counters for rate limits: fixed time windows in a table of the log's store.

Why not Flask-Limiter: its storage comes from the `limits` package, whose backends are memory,
Redis, Memcached and MongoDB. Memory is per worker (gunicorn's workers would each allow the
limit), and the others are a server this service does not otherwise need. The two limits here
(failed sign-ins, failed API keys) need one counter per client and window, which a single table
on the store every worker already shares holds exactly, on SQLite and PostgreSQL alike.

A fixed window lets a client reach at most twice the limit across a window boundary; for
slowing down key guessing that is enough, and it costs one upsert per failure and one indexed
read per check.
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from .errors import TransferGateError

metadata = sa.MetaData()
rate_limits = sa.Table(
    "rate_limits",
    metadata,
    sa.Column("bucket", sa.String(200), primary_key=True),
    sa.Column("window_start", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("hits", sa.Integer, nullable=False),
)

# Seconds a limiter waits for the store's write lock: a counter is not worth holding a request for.
LOCK_WAIT = 0.5


class CountersUnavailable(TransferGateError):
    """The counters could not be read or written (the store is locked or down)."""


class FailureLimiter:
    """Count failures per bucket and window; tell when a bucket is over its limit and for how long."""

    def __init__(self, engine: sa.Engine, clock=time.time):
        self.engine = engine
        self.clock = clock

    def _window(self, window: int) -> tuple[int, int]:
        """Return the current window's start and the seconds until it ends (at least 1)."""
        now = self.clock()
        start = int(now // window * window)
        return start, max(1, int(start + window - now + 0.999))

    def retry_after(self, bucket: str, limit: int, window: int) -> int | None:
        """Seconds until `bucket` may try again, or None when it is under `limit` failures."""
        if limit <= 0:
            return None
        start, left = self._window(window)
        try:
            with self.engine.connect() as conn:
                hits = conn.execute(sa.select(rate_limits.c.hits).where(
                    rate_limits.c.bucket == bucket[:200], rate_limits.c.window_start == start)).scalar()
        except sa.exc.SQLAlchemyError as exc:
            raise CountersUnavailable(f"the rate limit counters could not be read: {exc.__class__.__name__}") from exc
        return left if hits is not None and hits >= limit else None

    def failed(self, bucket: str, limit: int, window: int) -> int | None:
        """Count one failure of `bucket`; return the seconds to wait when this reaches the limit, else None."""
        if limit <= 0:
            return None
        start, left = self._window(window)
        table = rate_limits
        insert = (postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert)(table)
        upsert = insert.values(bucket=bucket[:200], window_start=start, hits=1).on_conflict_do_update(
            index_elements=[table.c.bucket, table.c.window_start], set_={"hits": table.c.hits + 1})
        try:
            with self.engine.execution_options(log_write=True, lock_wait=LOCK_WAIT).begin() as conn:
                if self.engine.dialect.name == "postgresql":
                    conn.execute(sa.text("SELECT set_config('lock_timeout', :ms, true)"),
                                 {"ms": f"{int(LOCK_WAIT * 1000)}ms"})
                conn.execute(upsert)
                conn.execute(table.delete().where(table.c.window_start < start - window))
                hits = conn.execute(sa.select(table.c.hits).where(table.c.bucket == bucket[:200],
                                                                  table.c.window_start == start)).scalar()
        except sa.exc.SQLAlchemyError as exc:
            raise CountersUnavailable(f"a failure could not be counted: {exc.__class__.__name__}") from exc
        return left if hits >= limit else None
