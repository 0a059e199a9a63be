"""Configuration in layers, read once: defaults → TRANSFER_GATE_* environment → test config."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from .errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEFAULTS = {
    "DATABASE_URL": None,  # None: a SQLite file in the instance folder
    "DATABASE_TIMEOUT": 10.0,  # seconds to wait for the log's write lock before answering 503
    # Seconds within which every request is answered, 503 when the log cannot be written in time.
    # Below gunicorn's worker timeout (WORKER_TIMEOUT), so the caller gets a 503, not a closed connection.
    "REQUEST_DEADLINE": 5.0,
    "RULESETS_DIR": str(PROJECT_ROOT / "rulesets"),
    "PROFILES_DIR": str(PROJECT_ROOT / "country_profiles"),
    "API_KEYS": None,
    # With no key configured or stored, the service's first start creates and prints an admin key.
    # Command-line tools other than `serve` do not: they are not the service and must not print keys.
    "CREATE_FIRST_ADMIN_KEY": True,
    "MAX_CONTENT_LENGTH": 1024 * 1024,  # bytes of one request body (413 beyond)
    "MAX_BATCH": 1000,
    # Answers each worker keeps worked out for requests that come again (service.Answers; 0: none).
    "ANSWER_CACHE": 256,
    "JSON_SORT_KEYS": False,
    # Signs the browser session. None: a random secret generated once into the instance
    # folder (instance/secret_key, mode 0600), so sessions survive restarts and every worker shares it.
    "SECRET_KEY": None,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,  # False: Secure is still set whenever the request came over https
    "PERMANENT_SESSION_LIFETIME": 8 * 3600,  # seconds a browser sign-in lasts
    "WTF_CSRF_TIME_LIMIT": None,  # a form's token lives as long as the browser session, not one hour
    # Failed keys (API and sign-in, counted apart) one client address may send per window before 429s; 0: no limit.
    "RATE_LIMIT_FAILURES": 20,
    "RATE_LIMIT_WINDOW": 60,  # seconds of one counting window
    "TRUSTED_PROXIES": 0,  # reverse proxies in front whose X-Forwarded-For/-Proto/-Host are believed
    "LOG_MASK": "",  # request fields the log keeps only masked: recipient.name, reference
    "LOG_MASK_MODE": "hash",  # hash (HMAC-SHA256 keyed with SECRET_KEY) or redact
    "METRICS_ADDRESSES": "127.0.0.1,::1",  # client addresses /metrics answers (comma-separated)
    "CANDIDATE_RULESETS_DIR": None,  # rules the auditors' replay page can compare against
    "CANDIDATE_PROFILES_DIR": None,  # country profiles the replay page can compare against
    "TIMEZONE": "Asia/Tokyo",  # the zone the pages show times in (an IANA name); the log keeps UTC
}
MIN_SECRET_KEY_LENGTH = 32
# gunicorn kills a worker silent for this long (`serve` sets its `timeout` to this, see deployment.py):
# a request deadline must end well before it.
WORKER_TIMEOUT = 30


def init_app(app, test_config=None) -> None:
    """Fill app.config from defaults, then the TRANSFER_GATE_* environment, then test_config."""
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env(prefix="TRANSFER_GATE")
    if test_config:
        app.config.update(test_config)
    if not app.config["DATABASE_URL"]:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        app.config["DATABASE_URL"] = "sqlite:///" + str(Path(app.instance_path) / "transfer_gate.sqlite3")
    for key in ("RULESETS_DIR", "PROFILES_DIR", "CANDIDATE_RULESETS_DIR", "CANDIDATE_PROFILES_DIR"):
        if app.config[key] is not None and not Path(app.config[key]).is_dir():
            raise ConfigError(f"TRANSFER_GATE_{key}={app.config[key]!r} is not a directory")
    url = str(app.config["DATABASE_URL"])
    if not url.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:", "postgres:")):
        raise ConfigError(f"TRANSFER_GATE_DATABASE_URL must be a sqlite: or postgresql: URL, not {url!r}")
    if url.startswith("postgres:") or url.startswith("postgresql:") and not url.startswith("postgresql+"):
        # SQLAlchemy's plain postgresql:// means psycopg2; this project ships psycopg 3.
        app.config["DATABASE_URL"] = "postgresql+psycopg:" + url.split(":", 1)[1]
    if not isinstance(app.config["ANSWER_CACHE"], int) or app.config["ANSWER_CACHE"] < 0:
        raise ConfigError("TRANSFER_GATE_ANSWER_CACHE must be a whole number of answers (0: keep none)")
    if not isinstance(app.config["MAX_BATCH"], int) or app.config["MAX_BATCH"] < 1:
        raise ConfigError("TRANSFER_GATE_MAX_BATCH must be a positive integer")
    for key in ("DATABASE_TIMEOUT", "REQUEST_DEADLINE"):
        try:
            app.config[key] = float(app.config[key])
        except (TypeError, ValueError):
            raise ConfigError(f"TRANSFER_GATE_{key} must be a number of seconds") from None
        if app.config[key] <= 0:
            raise ConfigError(f"TRANSFER_GATE_{key} must be more than 0 seconds")
    if app.config["REQUEST_DEADLINE"] > WORKER_TIMEOUT - 5:
        raise ConfigError(f"TRANSFER_GATE_REQUEST_DEADLINE must be at most {WORKER_TIMEOUT - 5} s: below gunicorn's "
                          f"worker timeout ({WORKER_TIMEOUT} s), with time to send the 503")
    if not isinstance(app.config["RATE_LIMIT_FAILURES"], int) or app.config["RATE_LIMIT_FAILURES"] < 0:
        raise ConfigError("TRANSFER_GATE_RATE_LIMIT_FAILURES must be a whole number (0: no limit)")
    if not isinstance(app.config["RATE_LIMIT_WINDOW"], int) or app.config["RATE_LIMIT_WINDOW"] < 1:
        raise ConfigError("TRANSFER_GATE_RATE_LIMIT_WINDOW must be a positive whole number of seconds")
    if not isinstance(app.config["TRUSTED_PROXIES"], int) or app.config["TRUSTED_PROXIES"] < 0:
        raise ConfigError("TRANSFER_GATE_TRUSTED_PROXIES must be a whole number (0 without a reverse proxy)")
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = instance_secret(Path(app.instance_path) / "secret_key")
    if len(str(app.config["SECRET_KEY"])) < MIN_SECRET_KEY_LENGTH:
        raise ConfigError(f"TRANSFER_GATE_SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} characters")


def instance_secret(path: Path) -> str:
    """Return the secret kept in `path`, creating it (random, mode 0600) if it does not exist.

    Several workers may start at once: each writes a private temporary file and links it into
    place; link() fails for all but the first, and everyone then reads the winner's secret.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        candidate = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32) + "\n")
                out.flush()
                os.fsync(out.fileno())
            try:
                os.link(candidate, path)
            except FileExistsError:
                pass
        finally:
            candidate.unlink()
    secret = path.read_text().strip()
    if len(secret) < MIN_SECRET_KEY_LENGTH:
        raise ConfigError(f"{path} holds no usable secret; delete it to have a new one generated")
    return secret
