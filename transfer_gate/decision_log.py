"""The append-only, hash-chained decision log (SQLAlchemy; SQLite by default).

The interface is deliberately small: `append`, `get`, `query`, `verify`. There is no update
and no delete. Each entry's `hash` is SHA-256 over its canonical content and the previous
entry's hash, so altering, deleting or reordering a row breaks the chain at that row.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
import sqlalchemy as sa
from sqlalchemy import event

from .errors import LogUnavailable

GENESIS = "0" * 64

metadata = sa.MetaData()
entries = sa.Table(
    "decision_log",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("decision_id", sa.String(26), nullable=False, unique=True),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("caller", sa.String(64), nullable=False),
    sa.Column("caller_role", sa.String(16), nullable=True),
    sa.Column("reference", sa.String(200), nullable=True),
    sa.Column("request", sa.Text, nullable=False),
    sa.Column("response", sa.Text, nullable=False),
    sa.Column("ruleset_name", sa.String(64), nullable=False),
    sa.Column("ruleset_version", sa.String(32), nullable=False),
    sa.Column("ruleset_digest", sa.String(80), nullable=False),
    sa.Column("profile_digest", sa.String(80), nullable=True),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("route", sa.String(40), nullable=False),
    sa.Column("destination", sa.String(16), nullable=False),
    sa.Column("data_kinds", sa.String(200), nullable=False),
    sa.Column("records_required", sa.Boolean, nullable=False),
    sa.Column("records_retention", sa.String(16), nullable=True),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)
sa.Index("ix_decision_log_created_at", entries.c.created_at)

HASHED = [c.name for c in entries.columns if c.name not in ("seq", "hash")]


def canonical(obj) -> str:
    """Serialise JSON canonically: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(row: dict) -> str:
    """Hash an entry's canonical content; `prev_hash` is part of it, which makes the chain."""
    return hashlib.sha256(canonical({k: row[k] for k in HASHED}).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    first_bad: int | None = None
    decision_id: str | None = None
    reason: str | None = None


def entry_for(request: dict, response: dict, caller: str, role: str | None) -> dict:
    """Build the row for a decision (everything but prev_hash and hash)."""
    return {
        "decision_id": response["decision_id"],
        "created_at": response["evaluated_at"],
        "caller": caller,
        "caller_role": role,
        "reference": request.get("reference"),
        "request": canonical(request),
        "response": canonical(response),
        "ruleset_name": response["ruleset"]["name"],
        "ruleset_version": response["ruleset"]["version"],
        "ruleset_digest": response["ruleset"]["digest"],
        "profile_digest": (response.get("country_profile") or {}).get("digest"),
        "outcome": response["outcome"],
        "route": response["route"],
        "destination": request["destination"],
        "data_kinds": ",".join(k["kind"] for k in response.get("data_kinds", [])),
        "records_required": bool(response["records"]["required"]),
        "records_retention": response["records"]["retention"],
    }


class DecisionLog:
    """An append-only store of decisions behind `append`, `get`, `query` and `verify`."""

    def __init__(self, url: str, timeout: float = 10.0):
        self.url = url
        self.engine = sa.create_engine(url, future=True, **self._engine_options(url, timeout))
        if self.engine.dialect.name == "sqlite":
            self._sqlite_serialised_writes()
        metadata.create_all(self.engine)

    @staticmethod
    def _engine_options(url, timeout):
        if url.startswith("sqlite"):
            return {"connect_args": {"timeout": timeout, "check_same_thread": False}}
        return {"pool_pre_ping": True, "connect_args": {"connect_timeout": max(1, int(timeout))}}

    def _sqlite_serialised_writes(self):
        # pysqlite's own transaction handling defers BEGIN; take the write lock up front instead,
        # so two writers never read the same chain head (SQLAlchemy's documented recipe).
        @event.listens_for(self.engine, "connect")
        def _connect(dbapi_connection, _record):
            dbapi_connection.isolation_level = None
            cur = dbapi_connection.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.close()

        @event.listens_for(self.engine, "begin")
        def _begin(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    def append(self, rows: list[dict]) -> None:
        """Append entries atomically, chaining each to the last; raise LogUnavailable on any failure."""
        try:
            with self.engine.begin() as conn:
                head = conn.execute(sa.select(entries.c.hash).order_by(entries.c.seq.desc()).limit(1)).scalar()
                prev = head or GENESIS
                for row in rows:
                    full = dict(row, prev_hash=prev)
                    full["hash"] = prev = entry_hash(full)
                    conn.execute(entries.insert().values(**full))
        except Exception as exc:
            raise LogUnavailable(f"the decision log could not be written: {exc.__class__.__name__}: {exc}") from exc

    def get(self, decision_id: str) -> dict | None:
        """Return one entry with its request and response parsed, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(entries).where(entries.c.decision_id == decision_id)).mappings().first()
        return self._public(row) if row else None

    def query(self, *, outcome=None, destination=None, route=None, reference=None, caller=None,
              since=None, until=None, after=None, limit=100) -> list[dict]:
        """Return entries matching the filters, oldest first, `limit` at a time after `after` (a seq)."""
        stmt = sa.select(entries).order_by(entries.c.seq).limit(limit)
        for col, value in ((entries.c.outcome, outcome), (entries.c.destination, destination),
                           (entries.c.route, route), (entries.c.reference, reference), (entries.c.caller, caller)):
            if value is not None:
                stmt = stmt.where(col == value)
        if since is not None:
            stmt = stmt.where(entries.c.created_at >= since)
        if until is not None:
            stmt = stmt.where(entries.c.created_at < until)
        if after is not None:
            stmt = stmt.where(entries.c.seq > after)
        with self.engine.connect() as conn:
            return [self._public(r) for r in conn.execute(stmt).mappings()]

    def verify(self) -> Verification:
        """Walk the chain from the first entry; report the first entry that does not hold."""
        prev = GENESIS
        checked = 0
        expected_seq = None
        with self.engine.connect() as conn:
            for row in conn.execute(sa.select(entries).order_by(entries.c.seq)).mappings():
                checked += 1
                if expected_seq is not None and row["seq"] != expected_seq:
                    return Verification(False, checked, row["seq"], row["decision_id"],
                                        f"entry {expected_seq} is missing (deleted)")
                if row["prev_hash"] != prev:
                    return Verification(False, checked, row["seq"], row["decision_id"],
                                        "prev_hash does not match the previous entry (deleted or reordered)")
                if entry_hash(dict(row)) != row["hash"]:
                    return Verification(False, checked, row["seq"], row["decision_id"],
                                        "content does not match its hash (altered)")
                prev = row["hash"]
                expected_seq = row["seq"] + 1
        return Verification(True, checked)

    def writable(self) -> bool:
        """Tell whether the store accepts a write transaction now (readiness)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(sa.select(sa.func.count()).select_from(entries))
            return True
        except Exception:
            return False

    @staticmethod
    def _public(row) -> dict:
        out = dict(row)
        out["request"] = json.loads(out["request"])
        out["response"] = json.loads(out["response"])
        return out

