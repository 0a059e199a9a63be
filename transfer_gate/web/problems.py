"""problem+json (RFC 9457) for every failure under /v1 — never an HTML error page."""

from __future__ import annotations

from flask import Flask, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from ..errors import EngineFailure, LogUnavailable, RequestInvalid, TransferGateError, UnknownCountry

PROBLEM_BASE = "/problems/"
MEDIA_TYPE = "application/problem+json"


def problem_body(status: int, title: str, detail: str, slug: str | None = None, errors=None, **extra) -> dict:
    """Build a problem document; `errors` maps field paths to lists of messages.

    Paths and messages may echo what the caller sent: anything that could not be encoded as
    UTF-8 (an unpaired surrogate) is escaped, so the document itself can always be sent.
    """
    body = {"type": PROBLEM_BASE + slug if slug else "about:blank", "title": title, "status": status,
            "detail": encodable(detail)}
    if errors is not None:
        body["errors"] = {encodable(str(path)): [encodable(str(m)) for m in messages]
                          for path, messages in errors.items()}
    body.update(extra)
    return body


def encodable(text: str) -> str:
    """Return `text` with whatever UTF-8 cannot encode (unpaired surrogates) escaped as \\udXXX."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def problem_for(exc: TransferGateError) -> dict:
    """Map a transfer-gate error to its problem document."""
    if isinstance(exc, RequestInvalid):
        return problem_body(422, "Invalid request", exc.detail, "invalid-request", exc.errors)
    if isinstance(exc, UnknownCountry):
        return problem_body(404, "Unknown country", str(exc), "unknown-country")
    if isinstance(exc, LogUnavailable):
        return problem_body(503, "Decision log unavailable",
                            "The decision could not be logged, so it is not returned. Retry later.", "log-unavailable")
    if isinstance(exc, EngineFailure):
        return problem_body(500, "Rules engine failure",
                            "The rules engine failed on this request; no decision was made.", "engine-failure")
    return problem_body(500, "Internal error", "The request could not be completed.", "internal-error")


def respond(body: dict, headers=None):
    resp = jsonify(body)
    resp.status_code = body["status"]
    resp.mimetype = MEDIA_TYPE
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def _wants_problem() -> bool:
    return request.path.startswith("/v1") or request.path in ("/healthz", "/readyz") or request.accept_mimetypes.best in (
        "application/json", MEDIA_TYPE)


def init_app(app: Flask) -> None:
    """Register the handlers that turn every error into problem+json for API callers."""

    @app.errorhandler(TransferGateError)
    def _domain_error(exc):
        if isinstance(exc, (EngineFailure, LogUnavailable)):
            current_app.logger.error("%s: %s", exc.__class__.__name__, exc)
        return respond(problem_for(exc))

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if not _wants_problem():
            return exc
        slugs = {400: "malformed-json", 404: "not-found", 405: "method-not-allowed", 413: "body-too-large",
                 415: "unsupported-media-type"}
        return respond(problem_body(exc.code or 500, exc.name, exc.description or exc.name, slugs.get(exc.code),
                                    getattr(exc, "errors", None)),
                       {"Allow": exc.get_response().headers.get("Allow")} if exc.code == 405 else None)

    @app.errorhandler(Exception)
    def _unexpected(exc):
        current_app.logger.exception("unhandled error")
        if not _wants_problem():
            return "Internal Server Error", 500
        return respond(problem_body(500, "Internal error", "The request could not be completed.", "internal-error"))
