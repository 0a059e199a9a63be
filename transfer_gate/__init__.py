"""transfer-gate: decisions on cross-border transfers of personal data under Japan's APPI."""

from __future__ import annotations

from flask import Flask


def create_app(test_config=None) -> Flask:
    """Create and configure an instance of the application: the one place that wires things together."""
    from . import config
    from .decision_log import DecisionLog, LogMask
    from .service import Runtime
    from .web import api, audit, problems

    app = Flask(__name__, instance_relative_config=True)
    config.init_app(app, test_config)
    mask = LogMask.from_config(app.config["LOG_MASK"], app.config["LOG_MASK_MODE"], app.config.get("SECRET_KEY"))
    log = DecisionLog(app.config["DATABASE_URL"], timeout=float(app.config["DATABASE_TIMEOUT"]), mask=mask)
    log.migrate()  # the schema comes from the Alembic revisions in migrations/
    app.extensions["transfer_gate"] = Runtime.build(app.config["RULESETS_DIR"], app.config["PROFILES_DIR"], log)
    problems.init_app(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(audit.bp)
    return app
