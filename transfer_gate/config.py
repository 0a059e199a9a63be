"""Configuration in layers, read once: defaults → TRANSFER_GATE_* environment → test config."""

from __future__ import annotations

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
    if not isinstance(app.config["MAX_BATCH"], int) or app.config["MAX_BATCH"] < 1:
        raise ConfigError("TRANSFER_GATE_MAX_BATCH must be a positive integer")
