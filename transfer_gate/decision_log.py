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

One chain under concurrency: every append takes the chain's write lock first — `BEGIN
IMMEDIATE` on SQLite, `SELECT … FOR UPDATE` of the head row on PostgreSQL — so processes and
service instances sharing a store append one after another. Within a process, concurrent
appends are grouped (`_GroupCommit`): one thread commits the rows of every caller waiting at
that moment in one transaction, and each caller returns only after the commit that holds its
rows succeeded.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import threading
import time
from calendar import monthrange
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Callable, Iterator

import sqlalchemy as sa
from sqlalchemy import event

from .errors import ConfigError, LogUnavailable

GENESIS = "0" * 64
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Key of the PostgreSQL advisory lock that serialises schema migrations of concurrent starts.
MIGRATION_LOCK_KEY = 0x7467_6C6F  # "tglo"
# Rows one group transaction takes at most; the rest wait for the next one.
MAX_GROUP_ROWS = 5000

metadata = sa.MetaData()
entries = sa.Table(
    "decision_log",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("decision_id", sa.String(26), nullable=False, unique=True),
    sa.Column("created_at", sa.String(32), nullable=False, index=True),
    sa.Column("caller", sa.Text, nullable=False, index=True),
    sa.Column("caller_role", sa.String(16), nullable=True),
    sa.Column("reference", sa.Text, nullable=True, index=True),
    sa.Column("request", sa.Text, nullable=False),
    sa.Column("response", sa.Text, nullable=False),
    sa.Column("ruleset_name", sa.String(64), nullable=False),
    sa.Column("ruleset_version", sa.String(32), nullable=False),
    sa.Column("ruleset_digest", sa.String(80), nullable=False),
    sa.Column("profile_digest", sa.String(80), nullable=True),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("route", sa.String(40), nullable=False),
    sa.Column("destination", sa.String(16), nullable=False, index=True),
    sa.Column("data_kinds", sa.Text, nullable=False),
    sa.Column("records_required", sa.Boolean, nullable=False),
    sa.Column("records_retention", sa.String(16), nullable=True),
    sa.Column("retention_until", sa.String(10), nullable=True),
    sa.Column("masked", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("request_id", sa.Text, nullable=True),  # revision 0004
)
head_table = sa.Table(
    "decision_log_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

# Hashed when present: entries written before these columns existed keep their hashes.
OPTIONAL_HASHED = ("request_id",)
HASHED = [c.name for c in entries.columns if c.name != "hash" and c.name not in OPTIONAL_HASHED]
FILTERS = ("outcome", "destination", "route", "reference", "caller")


def canonical(obj) -> str:
    """Serialise JSON canonically: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(row) -> str:
    """Hash an entry's canonical content; `seq` and `prev_hash` are part of it, which makes the chain."""
    content = {k: row[k] for k in HASHED}
    for k in OPTIONAL_HASHED:
        if row.get(k) is not None:
            content[k] = row[k]
    return hashlib.sha256(canonical(content).encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- entries

_DURATION = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$")


def retention_end(start: date, duration: str) -> date:
    """Add an ISO 8601 date duration (PnYnMnWnD) to a date; a month end clamps (31 Jan + P1M = 28/29 Feb)."""
    match = _DURATION.match(duration or "")
    if not match or duration == "P":
        raise ValueError(f"not an ISO 8601 date duration: {duration!r}")
    years, months, weeks, days = (int(x or 0) for x in match.groups())
    month_index = start.month - 1 + months
    year = start.year + years + month_index // 12
    month = month_index % 12 + 1
    moved = date(year, month, min(start.day, monthrange(year, month)[1]))
    return moved + timedelta(weeks=weeks, days=days)


MASKABLE = {"recipient.name": ("recipient", "name"), "reference": ("reference",)}
MASK_MODES = ("hash", "redact")
REDACTED = "[redacted]"


@dataclass(frozen=True)
class LogMask:
    """Which request fields the log keeps only masked: an HMAC-SHA256 token, or redacted."""

    fields: tuple[str, ...] = ()
    mode: str = "hash"
    key: bytes = field(default=b"", repr=False)

    @classmethod
    def from_config(cls, fields, mode, secret_key) -> "LogMask":
        """Build the mask from TRANSFER_GATE_LOG_MASK(_MODE); raise ConfigError on a bad value."""
        if isinstance(fields, str):
            fields = [f.strip() for f in fields.split(",") if f.strip()]
        fields = tuple(dict.fromkeys(fields or ()))
        unknown = [f for f in fields if f not in MASKABLE]
        if unknown:
            raise ConfigError(f"TRANSFER_GATE_LOG_MASK: cannot mask {', '.join(unknown)} "
                              f"(maskable: {', '.join(MASKABLE)})")
        if mode not in MASK_MODES:
            raise ConfigError(f"TRANSFER_GATE_LOG_MASK_MODE must be one of {', '.join(MASK_MODES)}, not {mode!r}")
        if fields and mode == "hash" and not secret_key:
            raise ConfigError("TRANSFER_GATE_LOG_MASK_MODE=hash needs TRANSFER_GATE_SECRET_KEY (the HMAC key)")
        key = secret_key.encode("utf-8") if isinstance(secret_key, str) else bytes(secret_key or b"")
        return cls(fields, mode, key)

    def token(self, value: str) -> str:
        """Return what the log stores in place of a masked value."""
        if self.mode == "redact":
            return REDACTED
        return "hmac-sha256:" + hmac.new(self.key, value.encode("utf-8"), hashlib.sha256).hexdigest()

    def apply(self, request: dict, response: dict) -> tuple[dict, dict, list[str]]:
        """Return copies of request and response with masked fields replaced, and the paths replaced."""
        if not self.fields:
            return request, response, []
        request, response = json.loads(json.dumps(request)), json.loads(json.dumps(response))
        masked = []
        for name in self.fields:
            for doc, label in ((request, "request"), (response, "response")):
                *parents, leaf = MASKABLE[name]
                node = doc
                for key in parents:
                    node = node.get(key) if isinstance(node, dict) else None
                if isinstance(node, dict) and isinstance(node.get(leaf), str):
                    node[leaf] = self.token(node[leaf])
                    masked.append(f"{label}.{name}")
            if name == "recipient.name":  # a journey's onward legs name their recipients too
                for i, leg in enumerate(request.get("onward") or []):
                    recipient = leg.get("recipient") if isinstance(leg, dict) else None
                    if isinstance(recipient, dict) and isinstance(recipient.get("name"), str):
                        recipient["name"] = self.token(recipient["name"])
                        masked.append(f"request.onward[{i}].recipient.name")
        return request, response, sorted(masked)

    def lookup_values(self, name: str, value: str) -> list[str]:
        """Return the stored forms that a filter on an (un)masked field should match."""
        if name in self.fields and self.mode == "hash":
            return [value, self.token(value)]
        return [value]


NO_MASK = LogMask()


def entry_for(request: dict, response: dict, caller: str, role: str | None, mask: LogMask = NO_MASK,
              request_id: str | None = None) -> dict:
    """Build the row for a decision (everything but seq, prev_hash and hash)."""
    logged_request, logged_response, masked = mask.apply(request, response)
    evaluated = datetime.strptime(response["evaluated_at"][:10], "%Y-%m-%d").date()
    retention = response["records"]["retention"]
    return {
        "decision_id": response["decision_id"],
        "created_at": response["evaluated_at"],
        "caller": caller,
        "caller_role": role,
        "reference": logged_request.get("reference"),
        "request": canonical(logged_request),
        "response": canonical(logged_response),
        "ruleset_name": response["ruleset"]["name"],
        "ruleset_version": response["ruleset"]["version"],
        "ruleset_digest": response["ruleset"]["digest"],
        "profile_digest": (response.get("country_profile") or {}).get("digest"),
        "outcome": response["outcome"],
        "route": response["route"],
        "destination": request["destination"],
        "data_kinds": ",".join(k["kind"] for k in response.get("data_kinds", [])),
        "records_required": bool(response["records"]["required"]),
        "records_retention": retention,
        "retention_until": retention_end(evaluated, retention).isoformat() if retention else None,
        "masked": canonical(masked),
        "request_id": request_id,
    }


# --------------------------------------------------------------------------- verification


@dataclass(frozen=True)
class Verification:
    """The outcome of walking the chain: intact, or the first entry that does not hold and why."""

    ok: bool
    checked: int
    head_seq: int = 0
    head_hash: str = GENESIS
    first_bad: int | None = None
    decision_id: str | None = None
    reason: str | None = None

    def describe(self) -> str:
        if self.ok:
            return f"intact: {self.checked} entries, head at entry {self.head_seq} ({self.head_hash})"
        who = f" ({self.decision_id})" if self.decision_id else ""
        return f"entry {self.first_bad}{who}: {self.reason}"


@dataclass(frozen=True)
class Anchor:
    """A chain head recorded outside the store: entry `seq` must still exist with this hash."""

    seq: int
    hash: str


# --------------------------------------------------------------------------- the store


class _Pending:
    __slots__ = ("rows", "deadline", "done", "error")

    def __init__(self, rows, deadline):
        self.rows = rows
        self.deadline = deadline  # time.monotonic() instant after which the caller gives up, or None
        self.done = False
        self.error: BaseException | None = None


class DeadlinePassed(Exception):
    """A caller's deadline passed before a transaction took its rows: they were never written."""


class _GroupCommit:
    """Commit the rows of concurrent callers together; each caller waits for its own commit.

    The first caller to find no commit in progress becomes the leader: it takes every pending
    caller's rows (up to MAX_GROUP_ROWS) and writes them in one transaction, while new callers
    queue up for the next one. Nobody returns before the transaction holding their rows has
    committed, and if it fails, every caller in it gets the failure.

    Deadlines: a caller whose deadline passes while its rows still wait in the queue takes them
    out and fails (LogUnavailable) — they were never handed to a transaction, so they can never
    be committed. Once a leader has taken them, the caller waits for that transaction's outcome,
    whatever the time: reporting failure for rows that then commit would lose a logged decision.
    That wait stays bounded because the leader gives its transaction (the lock wait included)
    no more time than the earliest deadline among the rows it took.
    """

    def __init__(self, write):
        self._write = write  # write(rows, wait_seconds or None)
        self._cond = threading.Condition()
        self._queue: list[_Pending] = []
        self._leading = False

    def submit(self, rows: list[dict], deadline: float | None = None) -> None:
        pending = _Pending(rows, deadline)
        with self._cond:
            self._queue.append(pending)
        while True:
            with self._cond:
                while not pending.done and self._leading:
                    if pending in self._queue and deadline is not None:
                        remaining = deadline - time.monotonic()
                        if remaining <= 0:
                            self._queue.remove(pending)
                            raise LogUnavailable("the request's deadline passed before its decisions could be "
                                                 "logged (the log is busy or locked)")
                        self._cond.wait(remaining)
                    else:
                        self._cond.wait()
                if pending.done:
                    break
                self._leading = True
                batch = self._take()
            self._lead(batch)
        if pending.error is not None:
            # A fresh exception per caller: one instance raised in several threads at once
            # would have its traceback rewritten under their feet.
            raise LogUnavailable(str(pending.error)) from pending.error

    def _lead(self, batch: list[_Pending]) -> None:
        """Write one batch (outside the condition's lock) and wake everyone."""
        now = time.monotonic()
        live = [p for p in batch if p.deadline is None or p.deadline > now]
        for p in batch:
            if p not in live:
                p.error = DeadlinePassed("the request's deadline passed before its decisions could be logged")
        try:
            if live:
                deadlines = [p.deadline for p in live if p.deadline is not None]
                self._write([row for p in live for row in p.rows], min(deadlines) - now if deadlines else None)
        except BaseException as exc:  # every caller of the group fails with it
            for p in live:
                p.error = exc
        finally:
            with self._cond:
                for p in batch:
                    p.done = True
                self._leading = False
                self._cond.notify_all()

    def _take(self) -> list[_Pending]:
        taken, rows = [], 0
        while self._queue and (not taken or rows + len(self._queue[0].rows) <= MAX_GROUP_ROWS):
            p = self._queue.pop(0)
            taken.append(p)
            rows += len(p.rows)
        return taken


class DecisionLog:
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
        if self.dialect == "sqlite":
            self._sqlite_transactions()
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
        def _connect(dbapi_connection, _record):
            dbapi_connection.isolation_level = None
            cur = dbapi_connection.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")  # fsync the WAL on every commit: durable
            cur.close()

        @event.listens_for(self.engine, "begin")
        def _begin(conn):
            options = conn.get_execution_options()
            # The wait for the write lock: the store's timeout, or less when the caller's deadline is nearer.
            conn.exec_driver_sql(f"PRAGMA busy_timeout = {_ms(options.get('lock_wait', self.timeout))}")
            conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get("log_write") else "BEGIN")

    def _write_connection(self, wait: float | None = None):
        """A connection whose transaction holds the chain's write lock from its first statement.

        `wait` bounds the wait for that lock (seconds, at most the store's timeout).
        """
        conn = self.engine.connect()
        return conn.execution_options(log_write=True, lock_wait=self._wait(wait))

    def _wait(self, wait: float | None) -> float:
        return self.timeout if wait is None else max(0.001, min(wait, self.timeout))

    def _lock_head(self, conn) -> tuple[int, str]:
        if self.dialect == "postgresql":
            ms = f"{_ms(conn.get_execution_options().get('lock_wait', self.timeout))}ms"
            # Durability and bounded waits are this store's promise, whatever the server's defaults.
            conn.execute(sa.text("SELECT set_config('synchronous_commit', 'on', true), "
                                 "set_config('lock_timeout', :ms, true), set_config('statement_timeout', :ms, true)"),
                         {"ms": ms})
        row = conn.execute(sa.select(head_table.c.seq, head_table.c.hash)
                           .where(head_table.c.id == 1).with_for_update()).one()
        return int(row.seq), row.hash

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
        self.engine.dispose()

    def _observed_write(self, rows: list[dict], *args) -> None:
        """Write one group commit, then tell `on_commit` its entries and seconds."""
        started = time.perf_counter()
        self._write(rows, *args)
        if self.on_commit is not None:
            try:
                self.on_commit(len(rows), time.perf_counter() - started)
            except Exception:  # the entries are committed: a failing observer must not fail their callers
                logging.getLogger(__name__).exception("the commit observer failed")

    # ------------------------------------------------------------------ writing

    def append(self, rows: list[dict]) -> None:
        """Append entries, chained after the last; return once committed, or raise LogUnavailable.

        Gives up (LogUnavailable, nothing written) when the caller's deadline passes first.
        """
        if rows:
            self._group.submit(list(rows), self.deadline())

    def _write(self, rows: list[dict], wait: float | None = None) -> None:
        try:
            with self._write_connection(wait) as conn, conn.begin():
                seq, prev = self._lock_head(conn)
                chained = []
                for row in rows:
                    seq += 1
                    full = dict(row, seq=seq, prev_hash=prev)
                    full["hash"] = prev = entry_hash(full)
                    chained.append(full)
                conn.execute(entries.insert(), chained)
                # The head is a pointer, not an entry: it only ever moves forward (the schema's
                # trigger refuses anything else), in the same transaction as the entries.
                conn.execute(head_table.update().where(head_table.c.id == 1).values(seq=seq, hash=prev))
        except Exception as exc:
            raise LogUnavailable(f"the decision log could not be written: {exc.__class__.__name__}: {exc}") from exc

    def writable(self, wait: float = 1.0) -> bool:
        """Tell whether an append could start now: the chain's write lock within `wait` seconds (readiness).

        Takes the locks an append takes and writes nothing: on PostgreSQL the head row and the
        log table's ROW EXCLUSIVE lock, which an exclusive table lock held elsewhere refuses.
        """
        try:
            with self._write_connection(wait) as conn, conn.begin() as transaction:
                self._lock_head(conn)
                if self.dialect == "postgresql":
                    conn.execute(sa.text("LOCK TABLE decision_log IN ROW EXCLUSIVE MODE"))
                transaction.rollback()
            return True
        except Exception:
            return False

    # ------------------------------------------------------------------ reading

    def get(self, decision_id: str) -> dict | None:
        """Return one entry with its request and response parsed, or None."""
        if not isinstance(decision_id, str) or "\x00" in decision_id or len(decision_id) > 26:
            return None  # no entry has such an id, and PostgreSQL would refuse to compare a NUL
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(entries).where(entries.c.decision_id == decision_id)).mappings().first()
        return public(row) if row else None

    def head(self) -> Anchor:
        """Return the chain head: the seq and hash of the last entry (0 and GENESIS when empty)."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(head_table.c.seq, head_table.c.hash).where(head_table.c.id == 1)).one()
        return Anchor(int(row.seq), row.hash)

    def query(self, *, since: str | None = None, until: str | None = None, outcome=None, destination=None,
              route=None, reference=None, caller=None, records_required: bool | None = None,
              ruleset_name=None, after: int | None = None, newest_first: bool = False,
              limit: int | None = 100) -> list[dict]:
        """Return entries matching every filter given, in chain order (or newest first).

        `since` is inclusive and `until` exclusive, both timestamps as logged
        (`YYYY-MM-DDTHH:MM:SS.ffffffZ`). `after` is keyset pagination: the seq of the last
        entry of the previous page; the next page continues past it in the same direction.
        """
        stmt = sa.select(entries)
        for name, value in (("outcome", outcome), ("destination", destination), ("route", route),
                            ("reference", reference), ("caller", caller), ("ruleset_name", ruleset_name)):
            if value is not None:
                values = self.mask.lookup_values(name, value) if name == "reference" else [value]
                stmt = stmt.where(entries.c[name].in_(values))
        if records_required is not None:
            stmt = stmt.where(entries.c.records_required == records_required)
        if since is not None:
            stmt = stmt.where(entries.c.created_at >= since)
        if until is not None:
            stmt = stmt.where(entries.c.created_at < until)
        if after is not None:
            stmt = stmt.where(entries.c.seq < after if newest_first else entries.c.seq > after)
        stmt = stmt.order_by(entries.c.seq.desc() if newest_first else entries.c.seq)
        if limit is not None:
            stmt = stmt.limit(limit)
        with self.engine.connect() as conn:
            return [public(r) for r in conn.execute(stmt).mappings()]

    def scan(self, page: int = 500, **filters) -> Iterator[dict]:
        """Yield every entry matching the filters, a page (one short read) at a time."""
        after = filters.pop("after", None)
        while True:
            rows = self.query(after=after, limit=page, **filters)
            yield from rows
            if len(rows) < page:
                return
            after = rows[-1]["seq"]

    def verify(self, anchor: Anchor | None = None) -> Verification:
        """Walk the chain from the first entry; report the first entry that does not hold.

        Checks, in order: positions run 1, 2, 3… without a gap; each entry's `prev_hash` is
        the hash of the entry before it; each entry's content still gives its `hash`; the
        chain ends at the recorded head; and, given an `anchor` recorded earlier outside the
        store, that entry is still there with the same hash.
        """
        checked, prev, expected = 0, GENESIS, 1
        options = {"isolation_level": "REPEATABLE READ"} if self.dialect == "postgresql" else {}
        with self.engine.connect() as conn:
            conn = conn.execution_options(**options)  # one snapshot for the walk and the head
            with conn.begin():
                head = conn.execute(sa.select(head_table.c.seq, head_table.c.hash).where(head_table.c.id == 1)).one()
                head_seq, head_hash = int(head.seq), head.hash
                result = conn.execution_options(yield_per=1000).execute(sa.select(entries).order_by(entries.c.seq))
                for row in result.mappings():
                    checked += 1
                    seq, bad = row["seq"], None
                    if seq != expected:
                        missing = f"entry {expected}" if seq == expected + 1 else f"entries {expected}–{seq - 1}"
                        bad = f"{missing} before it {'is' if seq == expected + 1 else 'are'} missing (deleted)"
                    elif row["prev_hash"] != prev:
                        bad = (f"its prev_hash is not the hash of entry {seq - 1}: an entry was moved (reordered), "
                               f"or entry {seq - 1} was altered and re-hashed")
                    elif entry_hash(row) != row["hash"]:
                        bad = "its content does not match its hash (altered)"
                    elif anchor is not None and seq == anchor.seq and row["hash"] != anchor.hash:
                        bad = "its hash differs from the anchor recorded outside the store (the chain was rewritten)"
                    if bad:
                        result.close()
                        return Verification(False, checked, head_seq, head_hash, seq, row["decision_id"], bad)
                    prev, expected = row["hash"], seq + 1
        last = expected - 1
        if anchor is not None and anchor.seq > last:
            return Verification(False, checked, head_seq, head_hash, last + 1, None,
                                f"missing: an anchor recorded outside the store names entry {anchor.seq}, "
                                f"but the chain ends at entry {last} (the log was truncated)")
        if head_seq > last:
            return Verification(False, checked, head_seq, head_hash, last + 1, None,
                                f"missing: the chain head records entry {head_seq}, but the chain ends at entry "
                                f"{last} (the log was truncated)")
        if head_seq < last:
            extra = self.query(after=head_seq, limit=1)
            return Verification(False, checked, head_seq, head_hash, head_seq + 1,
                                extra[0]["decision_id"] if extra else None,
                                f"it lies beyond the chain head (entry {head_seq}): it was not appended by the service")
        if head_hash != prev:
            return Verification(False, checked, head_seq, head_hash, last, None,
                                "its hash differs from the one the chain head records (the entry was rewritten)")
        return Verification(True, checked, head_seq, head_hash)

    # ------------------------------------------------------------------ reading for the auditors' pages

    def _matching(self, stmt, *, since=None, until=None, outcome=None, destination=None, route=None,
                  reference_contains=None, caller=None, records_required=None, ruleset_name=None):
        """Add the auditors' filters to a select; `reference_contains` is a case-insensitive substring.

        A reference the log keeps hashed (LOG_MASK=reference, mode hash) cannot be found by a
        part of it: only the whole value, whose token is compared exactly.
        """
        for name, value in (("outcome", outcome), ("destination", destination), ("route", route),
                            ("caller", caller), ("ruleset_name", ruleset_name)):
            if value is not None:
                stmt = stmt.where(entries.c[name] == value)
        if reference_contains:
            needle = reference_contains.lower()
            matches = sa.func.lower(entries.c.reference).contains(needle, autoescape=True)
            tokens = [t for t in self.mask.lookup_values("reference", reference_contains) if t != reference_contains]
            stmt = stmt.where(sa.or_(matches, entries.c.reference.in_(tokens)) if tokens else matches)
        if records_required is not None:
            stmt = stmt.where(entries.c.records_required == records_required)
        if since is not None:
            stmt = stmt.where(entries.c.created_at >= since)
        if until is not None:
            stmt = stmt.where(entries.c.created_at < until)
        return stmt

    def search(self, *, after: int | None = None, newest_first: bool = True, limit: int = 50,
               **filters) -> list[dict]:
        """Return a page of entries like `query`, with the reference matched by a part of it."""
        stmt = self._matching(sa.select(entries), **filters)
        if after is not None:
            stmt = stmt.where(entries.c.seq < after if newest_first else entries.c.seq > after)
        stmt = stmt.order_by(entries.c.seq.desc() if newest_first else entries.c.seq).limit(limit)
        with self.engine.connect() as conn:
            return [public(r) for r in conn.execute(stmt).mappings()]

    def count(self, **filters) -> int:
        """Count the entries matching the auditors' filters (those of `search`)."""
        stmt = self._matching(sa.select(sa.func.count()).select_from(entries), **filters)
        with self.engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    def tallies(self, **filters) -> Iterator[dict]:
        """Yield the few columns of each matching entry that the overview counts, in chain order."""
        columns = (entries.c.seq, entries.c.created_at, entries.c.outcome, entries.c.destination,
                   entries.c.route, entries.c.ruleset_name)
        stmt = self._matching(sa.select(*columns), **filters).order_by(entries.c.seq)
        with self.engine.connect() as conn:
            for row in conn.execution_options(yield_per=2000).execute(stmt).mappings():
                yield dict(row)

    def at(self, seq: int) -> dict | None:
        """Return the entry at position `seq` of the chain, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(entries).where(entries.c.seq == seq)).mappings().first()
        return public(row) if row else None

    def neighbours(self, seq: int) -> tuple[dict | None, dict | None]:
        """Return the entries just before and after `seq` in the chain (their seq, id, time and outcome)."""
        columns = (entries.c.seq, entries.c.decision_id, entries.c.created_at, entries.c.outcome)
        with self.engine.connect() as conn:
            rows = {r["seq"]: dict(r) for r in conn.execute(
                sa.select(*columns).where(entries.c.seq.in_([seq - 1, seq + 1]))).mappings()}
        return rows.get(seq - 1), rows.get(seq + 1)


def _ms(seconds: float) -> int:
    return max(1, round(float(seconds) * 1000))


def public(row) -> dict:
    """Return an entry as callers see it: request, response and masked parsed from their JSON."""
    out = dict(row)
    for key in ("request", "response", "masked"):
        out[key] = json.loads(out[key])
    return out
