"""Structured logs: one JSON object per line, for the application and for gunicorn.

Every line has `time` (UTC, ISO 8601, milliseconds), `level`, `message` and `logger`. Lines
written while a request is handled, and gunicorn's access lines, add what is known of it:
`request_id`, `method`, `path`, `caller` (the key id), and on access lines `status`,
`duration` (seconds) and `remote_addr`. A logged exception adds `exception`, its traceback.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from typing import Callable

from gunicorn.glogging import Logger

REQUEST_FIELDS = ("request_id", "method", "path", "status", "duration", "caller", "remote_addr")


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object; `context` supplies the fields of the request being handled."""

    def __init__(self, context: Callable[[], dict] | None = None):
        super().__init__()
        self.context = context

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds")
                    .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "message": record.getMessage(),
            "logger": record.name,
        }
        fields = getattr(record, "fields", None)
        if fields is None and self.context is not None:
            fields = self.context()
        for name in REQUEST_FIELDS:
            if (fields or {}).get(name) is not None:
                out[name] = fields[name]
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class StderrHandler(logging.StreamHandler):
    """Write to whatever sys.stderr is at the time (a worker's, or a test's captured one)."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def install(logger: logging.Logger, context: Callable[[], dict] | None = None) -> None:
    """Make `logger` write JSON lines to stderr, replacing any handler an earlier call installed."""
    for handler in list(logger.handlers):
        if getattr(handler, "_transfer_gate", False):
            logger.removeHandler(handler)
    handler = StderrHandler()
    handler.setFormatter(JsonFormatter(context))
    handler._transfer_gate = True
    logger.addHandler(handler)
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)


class GunicornLogger(Logger):
    """gunicorn's logger, writing its error log and its access log as JSON lines."""

    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                if getattr(handler, "_gunicorn", False):
                    handler.setFormatter(JsonFormatter())

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        try:
            headers = {str(k).lower(): v for k, v in (resp.headers or [])}
            status = resp.status
            status = int(str(status).split(None, 1)[0]) if status is not None else None
            fields = {
                "request_id": headers.get("x-request-id"),
                "method": environ.get("REQUEST_METHOD"),
                "path": environ.get("PATH_INFO"),
                "status": status,
                "duration": round(request_time.total_seconds(), 6),
                "caller": environ.get("transfer_gate.caller"),
                "remote_addr": environ.get("REMOTE_ADDR"),
            }
            self.access_log.info("%s %s %s", fields["method"], fields["path"], status, extra={"fields": fields})
        except Exception:
            self.exception("could not write the access log line")
