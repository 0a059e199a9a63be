"""Request ids and the application's JSON log lines.

Each request gets an id: the caller's `X-Request-ID` when it is short and made of safe
characters (nginx sends its own when the client sent none), otherwise a new random one. It is
echoed in the `X-Request-ID` response header, stored with every decision the request logs,
and carried by every log line written while the request is handled and by gunicorn's access
line, so one decision can be followed from the logs to the decision log and back.
"""

from __future__ import annotations

import re
import uuid

from flask import Flask, g, has_request_context, request
from flask.logging import default_handler

from .. import logs

HEADER = "X-Request-ID"
VALID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")  # up to 64 characters; UUIDs and nginx's ids fit


def request_id() -> str | None:
    """The id of the request being handled (None outside one)."""
    return g.get("request_id") if has_request_context() else None


def assign() -> None:
    """Take the caller's request id, or make one (the first before_request hook)."""
    given = request.headers.get(HEADER, "")
    g.request_id = given if VALID.fullmatch(given) else uuid.uuid4().hex


def echo(response):
    """Echo the id, and leave it and the caller where gunicorn's access log finds them."""
    rid = request_id() or uuid.uuid4().hex
    response.headers[HEADER] = rid
    request.environ["transfer_gate.request_id"] = rid
    caller = g.get("caller")
    if caller:
        request.environ["transfer_gate.caller"] = caller[0]
    return response


def request_fields() -> dict:
    """What the log lines say of the request being handled."""
    if not has_request_context():
        return {}
    caller = g.get("caller")
    return {"request_id": g.get("request_id"), "method": request.method, "path": request.path,
            "caller": caller[0] if caller else None}


def init_app(app: Flask) -> None:
    """Log JSON lines and give every request an id (before any other hook)."""
    # Flask adds its plain-text handler when nothing above the app's logger handles records
    # (as under gunicorn): it would repeat every JSON line as text.
    app.logger.removeHandler(default_handler)
    logs.install(app.logger, request_fields)
    app.before_request(assign)
    app.after_request(echo)
