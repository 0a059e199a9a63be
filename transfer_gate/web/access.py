"""Access control: who is calling, and whether their role may reach the endpoint — for every request.

One `before_request` hook authenticates and authorises by endpoint name against one table.
Anything the table does not name is refused (default deny), so a new view is closed until
someone decides who may use it.

- Under ``/v1`` the caller is the API key in ``Authorization: Bearer …``; failures are
  problem documents (401 no or unknown key, 403 wrong role). A browser session does not
  authenticate the API: the API is exempt from CSRF checks, so accepting cookies there would
  let any web page make a signed-in officer's browser decide in the company's name.
- Browser pages use the signed session set by ``/signin``, which names a session kept on the
  server (`keys.BrowserSessions`): sign-out ends it there, so a copied cookie stops working.
  An anonymous visitor is redirected to the sign-in page, a wrong role gets a 403 page.

The hook sets ``g.caller = (key id, role)``, which `web.identity.caller()` hands to the views.
"""

from __future__ import annotations

from flask import Flask, current_app, g, has_request_context, redirect, render_template, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import MethodNotAllowed, ServiceUnavailable
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from ..keys import (ROLES, BrowserSessions, Identity, KeyRing, KeyStoreUnavailable, announce_first_admin_key,
                    parse_configured_keys)
from ..rate_limits import CountersUnavailable, FailureLimiter
from .problems import problem_body, respond

# Endpoints anyone may reach, signed in or not.
# The sign-in page uses the layout, whose language switch must work before anyone signs in.
ANONYMOUS = frozenset({"api.healthz", "api.readyz", "openapi.spec", "account.signin", "account.signout", "static",
                       "ui.switch_language"})
ANONYMOUS |= {"metrics.scrape"}  # no key: the view answers only the configured addresses (web/metrics.py)

_READ_REFERENCE = {"api.get_country", "api.list_rulesets", "api.list_law_changes"}
_DECIDE = {"api.create_decision", "api.create_batch"}
# What each role may reach besides ANONYMOUS. "bp.*" grants every endpoint of blueprint bp.
GRANTS: dict[str, frozenset[str]] = {
    "app": frozenset(_DECIDE | _READ_REFERENCE),
    "officer": frozenset(_DECIDE | _READ_REFERENCE | {"ui.*", "law_watch.*"}),
    "auditor": frozenset({"api.get_decision", "api.list_decisions", "audit.*", "law_watch.*"} | _READ_REFERENCE),
    "admin": frozenset({"keys.*"} | _READ_REFERENCE),
}

# Roles that have browser pages, and where each lands after signing in (contract §4).
HOME = {"officer": "/", "auditor": "/audit"}

REALM = 'Bearer realm="transfer-gate"'

# No inline script or style anywhere; pages may load only this origin's own static files.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # for browsers that predate frame-ancestors
    # same-origin, not no-referrer: CSRF checks on https compare the Referer with the host.
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def allowed(role: str | None, endpoint: str | None) -> bool:
    """Tell whether a caller with `role` (None: anonymous) may reach `endpoint`."""
    if endpoint is None:
        return False
    if endpoint in ANONYMOUS:
        return True
    grants = GRANTS.get(role or "", frozenset())
    blueprint = endpoint.rpartition(".")[0]
    return endpoint in grants or (bool(blueprint) and f"{blueprint}.*" in grants)


def roles_for(endpoint: str) -> list[str]:
    """Every role that may reach `endpoint` (for the OpenAPI description)."""
    return [role for role in ROLES if allowed(role, endpoint)]


def keyring(app: Flask | None = None) -> KeyRing:
    return (app or current_app).extensions["transfer_gate.keys"]


def _is_api() -> bool:
    return request.path == "/v1" or request.path.startswith("/v1/")


def bearer_key() -> str | None:
    """Return the key from ``Authorization: Bearer <key>``, or None."""
    scheme, _, key = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return key.strip() or None


def sessions(app: Flask | None = None) -> BrowserSessions:
    return (app or current_app).extensions["transfer_gate.sessions"]


def session_identity() -> Identity | None:
    """Return the signed-in browser user if their session is live and their key still active; forget anything else.

    The cookie is signed, but a signed cookie alone would outlive sign-out: the session it
    names must also still be open on the server (ended at sign-out, expired after
    PERMANENT_SESSION_LIFETIME).
    """
    key_id = session.get("key_id")
    if key_id is None:
        return None
    if sessions().key_of(session.get("sid")) != key_id:
        session.clear()
        return None
    identity = keyring().active(key_id)
    if identity is None or identity.role not in HOME:
        session.clear()
        return None
    return identity


def limiter(app: Flask | None = None) -> FailureLimiter:
    return (app or current_app).extensions["transfer_gate.limiter"]


def _bucket(scope: str) -> str:
    # The client's address as the service sees it: behind TRUSTED_PROXIES, the one the proxy reports.
    return f"{scope}:{request.remote_addr or 'unknown'}"


def failures_wait(scope: str) -> int | None:
    """Seconds the client must wait before trying a key again at `scope` ("api", "signin"), or None.

    The limits protect; they are not what keeps keys safe (256 random bits do that). So a store
    that cannot count answers "no wait" and says so in the log, rather than refusing everyone.
    """
    config = current_app.config
    try:
        return limiter().retry_after(_bucket(scope), config["RATE_LIMIT_FAILURES"], config["RATE_LIMIT_WINDOW"])
    except CountersUnavailable as exc:
        current_app.logger.warning("rate limit not checked: %s", exc)
        return None


def count_failure(scope: str) -> int | None:
    """Count a failed key from this client at `scope`; return the wait when it came over the limit, else None.

    A failure over the limit is one the check let through on a count another process had not yet
    shown this one (rate_limits.MEMO_SECONDS): the caller refuses it as too many all the same.
    """
    config = current_app.config
    try:
        failure = limiter().failed(_bucket(scope), config["RATE_LIMIT_FAILURES"], config["RATE_LIMIT_WINDOW"])
    except CountersUnavailable as exc:
        current_app.logger.warning("failed key not counted: %s", exc)
        return None
    return failure.wait if failure.over else None


def too_many_failures(wait: int):
    """The API's 429: a problem document with Retry-After."""
    return respond(problem_body(429, "Too many requests",
                                f"Too many unknown or revoked API keys came from this address. Retry after {wait} s.",
                                "too-many-failures"), {"Retry-After": str(wait)})


def _unauthenticated(api: bool, presented: bool):
    if api:
        if presented:
            body = problem_body(401, "Unauthorized", "The API key is unknown or has been revoked.", "unauthorized")
            challenge = f'{REALM}, error="invalid_token"'
        else:
            body = problem_body(401, "Unauthorized", "Send an API key as 'Authorization: Bearer <key>'.",
                                "unauthorized")
            challenge = REALM
        return respond(body, {"WWW-Authenticate": challenge})
    target = request.path + (f"?{request.query_string.decode('latin-1')}" if request.query_string else "")
    return redirect(url_for("account.signin", next=target), 303)


def _forbidden(api: bool, identity: Identity):
    if api:
        return respond(problem_body(403, "Forbidden", f"The role {identity.role!r} may not use this endpoint.",
                                    "forbidden"))
    return render_template("account/forbidden.html", identity=identity), 403


def store_unavailable(exc: KeyStoreUnavailable):
    """Nobody can be authenticated while the key table cannot be read: 503, never a guess."""
    current_app.logger.error("KeyStoreUnavailable: %s", exc)
    if _is_api():
        return respond(problem_body(503, "Service unavailable",
                                    "API keys cannot be checked right now. Retry later.", "key-store-unavailable"))
    return ServiceUnavailable("Sign-ins cannot be checked right now. Retry later.")


def guard():
    """Authenticate the caller and refuse what their role may not reach (the before_request hook)."""
    endpoint = request.endpoint
    if endpoint in ANONYMOUS or isinstance(request.routing_exception, MethodNotAllowed):
        # A method no route accepts (TRACE, or GET of the batch) is a 405 for anyone: redirecting
        # it to the sign-in page, or asking for a key, would suggest it could ever be answered.
        return None
    api = _is_api()
    if api:
        key = bearer_key()
        wait = failures_wait("api") if key is not None else None
        if wait is not None:
            return too_many_failures(wait)
        identity = keyring().authenticate(key)
        if identity is None and key is not None:
            wait = count_failure("api")
            if wait is not None:
                return too_many_failures(wait)
    else:
        key = None
        identity = session_identity()
    if identity is None:
        return _unauthenticated(api, presented=key is not None)
    g.caller = (identity.key_id, identity.role)
    if endpoint is None:
        return None  # no route matched: an authenticated caller gets the 404 or 405 that follows
    if not allowed(identity.role, endpoint):
        return _forbidden(api, identity)
    return None


def security_headers(response):
    """Add the security headers to every response (the after_request hook)."""
    headers = response.headers
    present = {name.lower() for name in headers.keys()}
    for name, value in SECURITY_HEADERS.items():
        if name.lower() not in present:
            headers.add(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if request.endpoint != "static":
        # Decisions, log entries and keys are about personal data: no shared or browser cache keeps them.
        response.headers["Cache-Control"] = "no-store"
    return response


def refused_form(exc: CSRFError):
    """A form without a valid CSRF token: refuse it, and say how to recover."""
    if _is_api():
        return respond(problem_body(400, "Bad request", exc.description, "csrf"))
    return render_template("account/form_refused.html", reason=exc.description), 400


class SessionCookies(SecureCookieSessionInterface):
    """Signed session cookies that are marked Secure whenever the request came over https."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (has_request_context() and request.is_secure)

    def open_session(self, app: Flask, request):
        """As Flask's, without building the cookie's signer for a request that has no cookie (every API call)."""
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


class StoredInteger(IntegerConverter):
    """`<int:…>` route parameters within the stores' BIGINT: a larger id matches no route (404), never a 500."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=2**63 - 1, signed=False):
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def init_app(app: Flask) -> None:
    """Load the keys, make sure the service is never open, and install the hooks."""
    engine = app.extensions["transfer_gate"].log.engine
    ring = KeyRing(engine, parse_configured_keys(app.config["API_KEYS"]))
    app.extensions["transfer_gate.keys"] = ring
    app.extensions["transfer_gate.sessions"] = BrowserSessions(engine)
    app.extensions["transfer_gate.limiter"] = FailureLimiter(engine)
    first = ring.create_first_admin_key() if app.config["CREATE_FIRST_ADMIN_KEY"] else None
    if first is not None:
        record, key = first
        announce_first_admin_key(record, key)
        app.logger.warning("no API key was configured: created the first admin key %s (printed once to stderr)",
                           record.key_id)
    app.session_interface = SessionCookies()
    app.url_map.converters["int"] = StoredInteger
    if app.config["TRUSTED_PROXIES"]:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    app.before_request(guard)
    app.after_request(security_headers)
    app.register_error_handler(CSRFError, refused_form)
    app.register_error_handler(KeyStoreUnavailable, store_unavailable)
