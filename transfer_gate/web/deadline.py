"""The per-request deadline: every request gets an answer within REQUEST_DEADLINE seconds.

The clock starts when a worker begins on the request. Waits that could run longer — for the
decision log's write lock, or for another thread's group commit — are cut to what is left of
it, and the caller then gets a 503 problem instead of waiting on (and, past gunicorn's worker
timeout, instead of a closed connection). The store is handed `current` by create_app, so it
can honour the deadline without knowing about HTTP.
"""

from __future__ import annotations

import time

from flask import Flask, current_app, g, has_request_context


def start() -> None:
    """Start the request's clock (the first before_request hook)."""
    g.deadline = time.monotonic() + float(current_app.config["REQUEST_DEADLINE"])


def current() -> float | None:
    """The time.monotonic() instant by which the current request must be answered, or None outside one."""
    if not has_request_context():
        return None
    return g.get("deadline")


def init_app(app: Flask) -> None:
    # Registered first, so that the time authentication takes counts too.
    app.before_request_funcs.setdefault(None, []).insert(0, start)
