"""API keys: who may call the service, in which role, and how keys are kept.

A stored key reads ``tg_<key id>_<secret>``. The key id (12 hex digits) is public: it is what
the decision log, `transfer-gate keys list` and the access log show. The secret is 32 random
bytes (256 bits) and is never stored: the table keeps a per-key random salt and
SHA-256(salt ‖ secret).

Why a plain salted SHA-256 and not bcrypt or Argon2: slow password hashes exist because
passwords are guessable; a 256-bit random secret is not, so one fast hash already makes
guessing hopeless, while a deliberately slow hash would cost every API request tens of
milliseconds. The salt keeps equal secrets from having equal hashes across installations.

Keys can also be configured with ``TRANSFER_GATE_API_KEYS`` (``role:key,…``). Those are
hashed when the app starts, the plain text is not kept, and they are named ``env-<role>-<n>``
(the n-th key of that role in the variable) so that nothing derived from the key is shown.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from .errors import ConfigError, TransferGateError

ROLES = ("app", "officer", "auditor", "admin")
PREFIX = "tg"
KEY_ID = re.compile(r"[0-9a-f]{12}")
# Operator-chosen keys in TRANSFER_GATE_API_KEYS are refused below this length: a short key
# could be guessed, and stored keys are 43 characters of randomness.
MIN_CONFIGURED_KEY_LENGTH = 20

metadata = sa.MetaData()
api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("key_id", sa.String(32), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("salt", sa.String(32), nullable=False),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("revoked_at", sa.String(32), nullable=True),
)
# At most one row, ever: the worker that inserts it creates the first admin key; any other
# worker starting at the same moment fails on the primary key and creates nothing.
first_admin_key = sa.Table(
    "api_key_first_admin",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("key_id", sa.String(32), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
)

# A browser sign-in (revision 0004): the signed cookie names a row here by a random session id,
# stored only as its SHA-256, so ending the row on the server ends every copy of the cookie.
browser_sessions = sa.Table(
    "browser_sessions",
    metadata,
    sa.Column("session_hash", sa.String(64), primary_key=True),
    sa.Column("key_id", sa.String(64), nullable=False, index=True),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("expires_at", sa.String(32), nullable=False),
    sa.Column("ended_at", sa.String(32), nullable=True),
)


class KeyStoreUnavailable(TransferGateError):
    """The key table could not be read or written; nobody can be authenticated (503)."""


class UnknownKey(TransferGateError):
    """No stored key has this id."""


class ConfiguredKey(TransferGateError):
    """The key is configured in TRANSFER_GATE_API_KEYS: only changing that variable removes it."""


@dataclass(frozen=True)
class Identity:
    """An authenticated caller: the public key id and its role."""

    key_id: str
    role: str


@dataclass(frozen=True)
class KeyRecord:
    key_id: str
    role: str
    created_at: str | None
    revoked_at: str | None
    source: str  # "stored" | "environment"

    def to_dict(self) -> dict:
        return {"key_id": self.key_id, "role": self.role, "created_at": self.created_at,
                "revoked_at": self.revoked_at, "source": self.source}


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _digest(salt: bytes, secret: str) -> str:
    return hashlib.sha256(salt + secret.encode("utf-8", "surrogatepass")).hexdigest()


def parse_configured_keys(text) -> dict[str, Identity]:
    """Parse ``role:key,…`` into {sha256(key): Identity}; raise ConfigError naming the pair, never the key."""
    if text is None or text == "":
        return {}
    if not isinstance(text, str):
        raise ConfigError("TRANSFER_GATE_API_KEYS must be a string of comma-separated role:key pairs")
    out: dict[str, Identity] = {}
    counts = dict.fromkeys(ROLES, 0)
    for position, pair in enumerate((p.strip() for p in text.split(",")), 1):
        if not pair:
            continue
        role, sep, key = pair.partition(":")
        role, key = role.strip(), key.strip()
        if not sep or role not in ROLES:
            raise ConfigError(f"TRANSFER_GATE_API_KEYS pair {position} must read role:key with a role of "
                              f"{', '.join(ROLES)}")
        if len(key) < MIN_CONFIGURED_KEY_LENGTH:
            raise ConfigError(f"TRANSFER_GATE_API_KEYS pair {position} ({role}): the key is shorter than "
                              f"{MIN_CONFIGURED_KEY_LENGTH} characters")
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
        if digest in out:
            raise ConfigError(f"TRANSFER_GATE_API_KEYS pair {position} ({role}) repeats an earlier key")
        counts[role] += 1
        out[digest] = Identity(f"env-{role}-{counts[role]}", role)
    return out


class KeyRing:
    """Every key the service accepts: configured ones (in memory, hashed) and stored ones (a table)."""

    def __init__(self, engine: sa.Engine, configured: dict[str, Identity] | None = None):
        self.engine = engine  # the tables come from the store's migrations (0003_api_keys)
        self._configured = dict(configured or {})

    @property
    def has_configured_keys(self) -> bool:
        return bool(self._configured)

    def authenticate(self, presented: str | None) -> Identity | None:
        """Return the identity of an active key, or None; raise KeyStoreUnavailable if the table cannot be read."""
        if not presented:
            return None
        configured = self._configured.get(hashlib.sha256(presented.encode("utf-8", "surrogatepass")).hexdigest())
        if configured is not None:
            return configured
        prefix, _, rest = presented.partition("_")
        key_id, _, secret = rest.partition("_")
        if prefix != PREFIX or not KEY_ID.fullmatch(key_id) or not secret:
            return None
        row = self._row(key_id)
        if row is None or row["revoked_at"] is not None:
            return None
        if not hmac.compare_digest(_digest(bytes.fromhex(row["salt"]), secret), row["secret_hash"]):
            return None
        return Identity(row["key_id"], row["role"])

    def active(self, key_id: str) -> Identity | None:
        """Return the identity behind a key id if that key is still accepted (a signed-in session's check)."""
        for identity in self._configured.values():
            if identity.key_id == key_id:
                return identity
        if not isinstance(key_id, str) or not KEY_ID.fullmatch(key_id):
            return None
        row = self._row(key_id)
        if row is None or row["revoked_at"] is not None:
            return None
        return Identity(row["key_id"], row["role"])

    def create(self, role: str) -> tuple[KeyRecord, str]:
        """Create and store a key; return its record and the key itself, which is never shown again."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        key_id, secret, record = self._new(role)
        try:
            with self._writing() as conn:
                conn.execute(api_keys.insert().values(**record))
        except sa.exc.SQLAlchemyError as exc:
            raise KeyStoreUnavailable(f"the key could not be stored: {exc.__class__.__name__}") from exc
        return self._record(record), f"{PREFIX}_{key_id}_{secret}"

    def list(self) -> list[KeyRecord]:
        """Every key, configured ones first, stored ones oldest first (revoked ones included)."""
        out = [KeyRecord(i.key_id, i.role, None, None, "environment") for i in self._configured.values()]
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(sa.select(api_keys).order_by(api_keys.c.created_at, api_keys.c.key_id)).mappings()
                out.extend(self._record(r) for r in rows)
        except sa.exc.SQLAlchemyError as exc:
            raise KeyStoreUnavailable(f"the key table could not be read: {exc.__class__.__name__}") from exc
        return out

    def revoke(self, key_id: str) -> KeyRecord:
        """Revoke a stored key from now on (idempotent); raise UnknownKey or ConfiguredKey."""
        if any(i.key_id == key_id for i in self._configured.values()):
            raise ConfiguredKey(f"{key_id} is configured in TRANSFER_GATE_API_KEYS; remove it there and restart")
        if not KEY_ID.fullmatch(key_id):
            raise UnknownKey(f"no key has the id {key_id!r}")
        try:
            with self._writing() as conn:
                conn.execute(api_keys.update().where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
                             .values(revoked_at=_now()))
                row = conn.execute(sa.select(api_keys).where(api_keys.c.key_id == key_id)).mappings().first()
        except sa.exc.SQLAlchemyError as exc:
            raise KeyStoreUnavailable(f"the key could not be revoked: {exc.__class__.__name__}") from exc
        if row is None:
            raise UnknownKey(f"no key has the id {key_id!r}")
        return self._record(row)

    def _writing(self):
        """A write transaction that takes the store's write lock first (BEGIN IMMEDIATE on SQLite),
        so workers starting together wait for each other instead of failing on a lock upgrade."""
        return self.engine.execution_options(log_write=True).begin()

    def create_first_admin_key(self) -> tuple[KeyRecord, str] | None:
        """Create an admin key if no key exists at all; return it, or None when any key exists.

        Safe when several workers start at once: the single-row guard table lets exactly one
        of them commit the key.
        """
        if self._configured:
            return None
        try:
            with self._writing() as conn:
                if conn.execute(sa.select(sa.func.count()).select_from(api_keys)).scalar():
                    return None
                key_id, secret, record = self._new("admin")
                conn.execute(first_admin_key.insert().values(id=1, key_id=key_id, created_at=record["created_at"]))
                conn.execute(api_keys.insert().values(**record))
        except sa.exc.IntegrityError:
            return None  # another worker created it
        except sa.exc.SQLAlchemyError as exc:
            raise KeyStoreUnavailable(f"the first admin key could not be created: {exc.__class__.__name__}") from exc
        return self._record(record), f"{PREFIX}_{key_id}_{secret}"

    def _row(self, key_id: str):
        try:
            with self.engine.connect() as conn:
                return conn.execute(sa.select(api_keys).where(api_keys.c.key_id == key_id)).mappings().first()
        except sa.exc.SQLAlchemyError as exc:
            raise KeyStoreUnavailable(f"the key table could not be read: {exc.__class__.__name__}") from exc

    @staticmethod
    def _new(role: str) -> tuple[str, str, dict]:
        key_id, secret, salt = secrets.token_hex(6), secrets.token_urlsafe(32), secrets.token_bytes(16)
        return key_id, secret, {"key_id": key_id, "role": role, "salt": salt.hex(),
                                "secret_hash": _digest(salt, secret), "created_at": _now(), "revoked_at": None}

    @staticmethod
    def _record(row) -> KeyRecord:
        return KeyRecord(row["key_id"], row["role"], row["created_at"], row["revoked_at"], "stored")


class BrowserSessions:
    """Browser sign-ins kept on the server: the signed cookie only names a row, by a random id.

    The id is 32 random bytes and only its SHA-256 is stored, like a key's secret. A session is
    valid while its row exists, has not ended (sign-out) and has not expired; so signing out
    ends every copy of the cookie, wherever it was copied to.
    """

    def __init__(self, engine: sa.Engine):
        self.engine = engine  # the table comes from the store's migrations (0004)

    def open(self, key_id: str, lifetime_seconds: float) -> str:
        """Start a session for `key_id`; return its id, which only the cookie keeps."""
        session_id = secrets.token_urlsafe(32)
        now = datetime.now(timezone.utc)
        try:
            with self.engine.execution_options(log_write=True).begin() as conn:
                # Sessions long expired are of no use to anyone: each sign-in sweeps them away.
                conn.execute(browser_sessions.delete().where(browser_sessions.c.expires_at < _stamp(now)))
                conn.execute(browser_sessions.insert().values(
                    session_hash=_session_hash(session_id), key_id=key_id, created_at=_stamp(now),
                    expires_at=_stamp(now + timedelta(seconds=lifetime_seconds)), ended_at=None))
        except sa.exc.SQLAlchemyError as exc:
            raise KeyStoreUnavailable(f"the session could not be stored: {exc.__class__.__name__}") from exc
        return session_id

    def key_of(self, session_id) -> str | None:
        """Return the key id of a live session (not ended, not expired), or None."""
        if not isinstance(session_id, str) or not 20 <= len(session_id) <= 100:
            return None
        try:
            with self.engine.connect() as conn:
                row = conn.execute(sa.select(browser_sessions).where(
                    browser_sessions.c.session_hash == _session_hash(session_id))).mappings().first()
        except sa.exc.SQLAlchemyError as exc:
            raise KeyStoreUnavailable(f"the session table could not be read: {exc.__class__.__name__}") from exc
        if row is None or row["ended_at"] is not None or row["expires_at"] <= _stamp(datetime.now(timezone.utc)):
            return None
        return row["key_id"]

    def end(self, session_id) -> None:
        """End a session (sign-out): no copy of its cookie signs anyone in again."""
        if not isinstance(session_id, str):
            return
        try:
            with self.engine.execution_options(log_write=True).begin() as conn:
                conn.execute(browser_sessions.update().where(
                    browser_sessions.c.session_hash == _session_hash(session_id),
                    browser_sessions.c.ended_at.is_(None)).values(ended_at=_now()))
        except sa.exc.SQLAlchemyError as exc:
            raise KeyStoreUnavailable(f"the session could not be ended: {exc.__class__.__name__}") from exc


def _session_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def announce_first_admin_key(record: KeyRecord, key: str, stream=None) -> None:
    """Print the first admin key once, to stderr: it is stored only as a hash and cannot be shown again."""
    stream = stream or sys.stderr
    stream.write(
        "\n"
        "transfer-gate: no API key was configured, so an admin key was created.\n"
        f"  key id: {record.key_id}\n"
        f"  key:    {key}\n"
        "It is shown only this once. Use it to create keys for apps, officers and auditors\n"
        "(POST /v1/keys or `transfer-gate keys create --role ROLE`), then keep it safe or revoke it.\n\n"
    )
    stream.flush()
