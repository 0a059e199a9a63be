"""transfer-gate: decisions on cross-border transfers of personal data under Japan's APPI."""

from __future__ import annotations

from flask import Flask


def create_app(test_config=None, loaded=None) -> Flask:
    """Create and configure an instance of the application: the one place that wires things together.

    `loaded` (a service.Loaded): rules and profiles already loaded and checked, which `serve`
    hands to each worker so that a reload never depends on files read by the worker itself.
    """
    from flask_wtf.csrf import CSRFProtect

    from . import config
    from .decision_log import DecisionLog, LogMask
    from .scenario_library import ScenarioLibrary
    from .service import Answers, Runtime
    from .web import (access, account, api, audit, deadline, key_admin, law_watch, metrics, openapi, problems,
                      tracing, translations, ui)

    app = Flask(__name__, instance_relative_config=True)
    config.init_app(app, test_config)
    tracing.init_app(app)  # first: JSON log lines from here on, and the request id before any other hook
    app.json.sort_keys = False  # keep the contract's field order
    app.json.ensure_ascii = False  # Japanese texts stay readable
    mask = LogMask.from_config(app.config["LOG_MASK"], app.config["LOG_MASK_MODE"], app.config.get("SECRET_KEY"))
    log = DecisionLog(app.config["DATABASE_URL"], timeout=float(app.config["DATABASE_TIMEOUT"]), mask=mask,
                      deadline=deadline.current)
    log.migrate()  # the schema comes from the Alembic revisions in migrations/
    if loaded is None:
        app.extensions["transfer_gate"] = Runtime.build(app.config["RULESETS_DIR"], app.config["PROFILES_DIR"], log)
    else:
        app.extensions["transfer_gate"] = loaded.runtime(log)
    app.extensions["transfer_gate"].answers = Answers(app.config["ANSWER_CACHE"])
    app.extensions["transfer_gate.reload"] = loaded.reload if loaded is not None else None
    app.extensions["scenario_library"] = ScenarioLibrary(log.engine)
    problems.init_app(app)
    metrics.init_app(app)  # before access: its hooks time authentication too
    access.init_app(app)
    deadline.init_app(app)
    translations.init_app(app)
    # Browser forms carry a CSRF token; the JSON API and key management authenticate each call
    # with a bearer key, never a cookie, so there is no session to forge.
    csrf = CSRFProtect(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(key_admin.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(ui.bp)
    csrf.exempt(api.bp)
    csrf.exempt(key_admin.bp)
    app.register_blueprint(audit.bp)
    app.register_blueprint(law_watch.bp)
    return app
