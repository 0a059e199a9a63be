"""Failure counters for rate limits: fixed time windows in a table of the log's store.

Why not Flask-Limiter: its storage comes from the `limits` package, whose backends are memory,
Redis, Memcached and MongoDB. Memory is per worker (gunicorn's workers would each allow the
limit), and the others are a server this service does not otherwise need. The two limits here
(failed sign-ins, failed API keys) need one counter per client and window, which a single table
on the store every worker already shares holds exactly, on SQLite and PostgreSQL alike.

A fixed window lets a client reach at most twice the limit across a window boundary; for
slowing down key guessing that is enough, and it costs one upsert per failure.

Checks are served from memory: each process remembers a bucket's count for MEMO_SECONDS after
it last read or wrote it, so an authenticated API request does not read the table (that read
was a sixth of a decision's time). A count written by another process is therefore seen up to
MEMO_SECONDS late; a failure in the meantime is still counted in the table, and `failed` says
when it came over the limit (`Failure.over`), so the caller refuses it with 429 all the same.
Only a right key from a client over the limit in another process may pass within that second.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

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
# Seconds a process trusts the count it last read or wrote for a bucket (see the module's text).
MEMO_SECONDS = 1.0
# Buckets a process remembers at most; beyond, it forgets them all and reads again.
MEMO_BUCKETS = 10_000


@dataclass(frozen=True)
class Failure:
    """A counted failure: `wait` once the bucket has reached its limit (else None), and whether this
    failure came when the limit was already reached (`over`: refuse it as too many, not as unknown)."""

    wait: int | None
    over: bool


class CountersUnavailable(TransferGateError):
    """The counters could not be read or written (the store is locked or down)."""


class FailureLimiter:
    """Count failures per bucket and window; tell when a bucket is over its limit and for how long."""

    def __init__(self, engine: sa.Engine, clock=time.time, memo_seconds: float = MEMO_SECONDS):
        self.engine = engine
        self.clock = clock
        self.memo_seconds = memo_seconds
        self._memo: dict[str, tuple[int, int, float]] = {}  # bucket -> (window start, hits, trusted until)
        self._memo_lock = threading.Lock()

    def _remember(self, bucket: str, start: int, hits: int) -> None:
        with self._memo_lock:
            if len(self._memo) >= MEMO_BUCKETS:
                self._memo.clear()
            self._memo[bucket] = (start, hits, time.monotonic() + self.memo_seconds)

    def _remembered(self, bucket: str, start: int) -> int | None:
        memo = self._memo.get(bucket)
        if memo is not None and memo[0] == start and memo[2] > time.monotonic():
            return memo[1]
        return None

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
        bucket = bucket[:200]
        hits = self._remembered(bucket, start)
        if hits is None:
            try:
                with self.engine.connect() as conn:
                    hits = conn.execute(sa.select(rate_limits.c.hits).where(
                        rate_limits.c.bucket == bucket, rate_limits.c.window_start == start)).scalar() or 0
            except sa.exc.SQLAlchemyError as exc:
                raise CountersUnavailable(f"the rate limit counters could not be read: {exc.__class__.__name__}") from exc
            self._remember(bucket, start, hits)
        return left if hits >= limit else None

    def failed(self, bucket: str, limit: int, window: int) -> Failure:
        """Count one failure of `bucket`: the seconds to wait once this reaches the limit, and whether it was over it."""
        if limit <= 0:
            return Failure(None, False)
        start, left = self._window(window)
        bucket = bucket[:200]
        table = rate_limits
        insert = (postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert)(table)
        upsert = insert.values(bucket=bucket, window_start=start, hits=1).on_conflict_do_update(
            index_elements=[table.c.bucket, table.c.window_start], set_={"hits": table.c.hits + 1})
        try:
            with self.engine.execution_options(log_write=True, lock_wait=LOCK_WAIT).begin() as conn:
                if self.engine.dialect.name == "postgresql":
                    conn.execute(sa.text("SELECT set_config('lock_timeout', :ms, true)"),
                                 {"ms": f"{int(LOCK_WAIT * 1000)}ms"})
                conn.execute(upsert)
                conn.execute(table.delete().where(table.c.window_start < start - window))
                hits = conn.execute(sa.select(table.c.hits).where(table.c.bucket == bucket,
                                                                  table.c.window_start == start)).scalar()
        except sa.exc.SQLAlchemyError as exc:
            raise CountersUnavailable(f"a failure could not be counted: {exc.__class__.__name__}") from exc
        self._remember(bucket, start, hits)
        return Failure(left if hits >= limit else None, hits > limit)
