"""Browser sign-in with an API key (field `key`) for officers and auditors, and sign-out."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext

from .access import HOME, count_failure, failures_wait, keyring, session_identity, sessions
from .translations import label

bp = Blueprint("account", __name__)

MAX_KEY_LENGTH = 200  # longer than any real key; anything longer is not looked up


def _too_many(target: str | None, wait: int):
    current_app.logger.info("sign-in refused: too many failed keys from %s", request.remote_addr)
    return render_template("account/signin.html", next=target, identity=None,
                           error=gettext("Too many unknown keys were tried from your address. "
                                         "Try again in %(seconds)s seconds.", seconds=wait)), 429, {
                               "Retry-After": str(wait)}


def safe_next(target: str | None) -> str | None:
    """Return `target` if it is a path on this site to go to after sign-in, else None (no open redirect)."""
    if not target or len(target) > 2000 or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or parts.path in ("/signin", "/signout"):
        return None
    return target


@bp.route("/signin", methods=["GET", "POST"])
def signin():
    target = safe_next(request.values.get("next"))
    if request.method != "POST":  # GET, and the HEAD Flask answers with it
        return render_template("account/signin.html", next=target, error=None, identity=session_identity())
    wait = failures_wait("signin")
    if wait is not None:
        return _too_many(target, wait)
    key = request.form.get("key", "").strip()
    identity = keyring().authenticate(key) if len(key) <= MAX_KEY_LENGTH else None
    if identity is None:
        current_app.logger.info("sign-in refused: unknown or revoked key")
        wait = count_failure("signin")
        if wait is not None:
            return _too_many(target, wait)
        return render_template("account/signin.html", next=target, identity=None,
                               error=gettext("That key is unknown or has been revoked.")), 403
    if identity.role not in HOME:
        current_app.logger.info("sign-in refused: key %s has the role %s, which has no pages",
                                identity.key_id, identity.role)
        return render_template("account/signin.html", next=target, identity=None,
                               error=gettext("Keys with the role %(role)s have no pages here; use the key with the API as 'Authorization: Bearer <key>'.", role=label("role", identity.role))), 403
    sessions().end(session.get("sid"))  # a sign-in over an open session replaces it
    session.clear()  # a fresh session on every sign-in: nothing carried over from before it
    session.permanent = True
    session["sid"] = sessions().open(identity.key_id, current_app.permanent_session_lifetime.total_seconds())
    session["key_id"] = identity.key_id
    current_app.logger.info("signed in: key %s (%s)", identity.key_id, identity.role)
    return redirect(target or HOME[identity.role], 303)


@bp.post("/signout")
def signout():
    sessions().end(session.get("sid"))  # on the server: a copy of the cookie no longer works either
    session.clear()
    return redirect(url_for("account.signin"), 303)
