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
    "RULESETS_DIR": str(PROJECT_ROOT / "rulesets"),
    "PROFILES_DIR": str(PROJECT_ROOT / "country_profiles"),
    "API_KEYS": None,
    "MAX_CONTENT_LENGTH": 1024 * 1024,  # bytes of one request body (413 beyond)
    "MAX_BATCH": 1000,
    "JSON_SORT_KEYS": False,
    "SECRET_KEY": None,  # None: a random key kept in the instance folder, shared by every worker
    "SESSION_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_TIME_LIMIT": None,  # a form's token lives as long as the browser session, not one hour
    "LOG_MASK": "",  # request fields the log keeps only masked: recipient.name, reference
    "LOG_MASK_MODE": "hash",  # hash (HMAC-SHA256 keyed with SECRET_KEY) or redact
    "CANDIDATE_RULESETS_DIR": None,  # rules the auditors' replay page can compare against
    "CANDIDATE_PROFILES_DIR": None,  # country profiles the replay page can compare against
}


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
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = instance_secret(Path(app.instance_path) / "secret_key")
    if not isinstance(app.config["MAX_BATCH"], int) or app.config["MAX_BATCH"] < 1:
        raise ConfigError("TRANSFER_GATE_MAX_BATCH must be a positive integer")


def instance_secret(path: Path) -> str:
    """Return the key kept at `path`, creating it on first start.

    Every gunicorn worker must sign sessions (and so CSRF tokens) with the same key, so a random
    key per process will not do. The file is created whole under a temporary name and linked
    into place, so a process starting at the same moment reads either nothing or the full key.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process won the race; its key is the one
        finally:
            tmp.unlink()
    key = path.read_text().strip()
    if len(key) < 32:
        raise ConfigError(f"{path} does not hold a usable secret key; delete it to have a new one made")
    return key
