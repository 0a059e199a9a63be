"""Who may do what: the access policy by endpoint name, and every boundary end to end.

`app` decides; `officer` decides and uses the form (ui.*); `auditor` reads the log (api.get_decision,
api.list_decisions, audit.*); `admin` manages keys (keys.*); everyone may read country profiles
and rulesets; anonymous callers reach only health, readiness, the OpenAPI document and sign-in.
The expectations are written out here, independently of the policy table they check.
"""

import re
import sqlite3
from datetime import datetime

import pytest
from flask import Blueprint

from tests.conftest import API_KEYS, KEYS, bearer
from tests.test_api import EXAMPLE
from transfer_gate.web.access import CONTENT_SECURITY_POLICY, allowed

ROLES = ["app", "officer", "auditor", "admin"]
OPEN = ["api.healthz", "api.readyz", "openapi.spec", "account.signin", "account.signout", "static",
        "ui.switch_language"]
EXPECTED = {
    "api.create_decision": {"app", "officer"},
    "api.create_batch": {"app", "officer"},
    "api.get_country": {"app", "officer", "auditor", "admin"},
    "api.list_rulesets": {"app", "officer", "auditor", "admin"},
    "api.get_decision": {"auditor"},
    "api.list_decisions": {"auditor"},
    "ui.index": {"officer"},
    "ui.decide": {"officer"},
    "ui.decision": {"officer"},
    "ui.scenarios": {"officer"},
    "ui.country": {"officer"},
    "audit.index": {"auditor"},
    "audit.export": {"auditor"},
    "audit.replay": {"auditor"},
    "audit.entry": {"auditor"},
    "keys.list_keys": {"admin"},
    "keys.create_key": {"admin"},
    "keys.revoke_key": {"admin"},
    # Not in the table: refused to everyone (default deny).
    "api.delete_decision": set(),
    "reports.index": set(),
    "uix.index": set(),
    "ui": set(),
    "admin.index": set(),
}


@pytest.mark.parametrize("endpoint", OPEN)
@pytest.mark.parametrize("role", [None] + ROLES)
def test_health_openapi_sign_in_and_static_are_open_to_everyone(role, endpoint):
    assert allowed(role, endpoint)


@pytest.mark.parametrize("endpoint,roles", EXPECTED.items(), ids=list(EXPECTED))
def test_each_role_reaches_exactly_its_endpoints(endpoint, roles):
    assert {role for role in ROLES if allowed(role, endpoint)} == roles
    assert not allowed(None, endpoint)


def test_an_unknown_role_or_no_endpoint_reaches_nothing():
    assert not allowed("superuser", "api.create_decision")
    assert not allowed("admin", None)
    assert not allowed(None, None)


# --- end to end, over the endpoints of this application ---------------------------------

UNKNOWN_ID = "01JD3Q8Z5T6W8Y9C0V1B2N3M4K"
CALLS = {
    "api.create_decision": ("post", "/v1/decisions", EXAMPLE),
    "api.create_batch": ("post", "/v1/decisions/batch", {"requests": [EXAMPLE]}),
    "api.get_decision": ("get", f"/v1/decisions/{UNKNOWN_ID}", None),
    "api.get_country": ("get", "/v1/countries/DE", None),
    "api.list_rulesets": ("get", "/v1/rulesets", None),
    "keys.list_keys": ("get", "/v1/keys", None),
    "keys.create_key": ("post", "/v1/keys", {"role": "app"}),
    "keys.revoke_key": ("delete", "/v1/keys/000000000000", None),
}


def call(client, endpoint):
    method, path, body = CALLS[endpoint]
    return getattr(client, method)(path, json=body) if body is not None else getattr(client, method)(path)


@pytest.mark.parametrize("endpoint", CALLS)
@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_exactly_its_api_operations_and_403_for_the_others(client_for, role, endpoint):
    resp = call(client_for(role), endpoint)
    if role in EXPECTED[endpoint]:
        assert resp.status_code in (200, 201, 404), resp.get_json()  # 404: the unknown ids used here
        assert resp.get_json().get("type") not in ("/problems/unauthorized", "/problems/forbidden")
    else:
        assert resp.status_code == 403
        assert resp.mimetype == "application/problem+json"
        problem = resp.get_json()
        assert problem["type"] == "/problems/forbidden" and role in problem["detail"]


def test_a_forbidden_call_decides_nothing(client_for, app):
    assert client_for("auditor").post("/v1/decisions", json=EXAMPLE).status_code == 403
    assert client_for("admin").post("/v1/decisions/batch", json={"requests": [EXAMPLE]}).status_code == 403
    assert app.extensions["transfer_gate"].log.query() == []


def test_without_a_key_only_health_openapi_and_sign_in_answer(app, anonymous):
    answered = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = rule.build({arg: "1" if rule._converters[arg].regex == r"\d+" else "x" for arg in rule.arguments})[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            resp = anonymous.open(path, method=method)
            if path.startswith("/v1"):
                assert resp.status_code in (200, 401), (method, path)
                if resp.status_code == 401:
                    assert resp.mimetype == "application/problem+json"
                    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
                    continue
            elif resp.status_code in (302, 303) and "/signin" in resp.headers["Location"]:
                continue
            answered.add((method, rule.endpoint))
    # /metrics answers this client because it connects from 127.0.0.1 (tests/test_metrics.py).
    assert {e for _m, e in answered} == {"api.healthz", "api.readyz", "openapi.spec", "account.signin",
                                          "account.signout", "ui.switch_language", "metrics.scrape"}
    assert ("POST", "account.signout") in answered  # sign-out answers (400 without a CSRF token)


def test_no_key_unknown_key_and_other_schemes_are_401_problems(client_for, anonymous, app):
    resp = anonymous.post("/v1/decisions", json=EXAMPLE)
    assert resp.status_code == 401 and resp.mimetype == "application/problem+json"
    assert resp.headers["WWW-Authenticate"] == 'Bearer realm="transfer-gate"'
    assert resp.get_json()["type"] == "/problems/unauthorized"
    for header in ("Bearer not-a-key-of-ours-0123456789", f"Basic {KEYS['app']}", "Bearer", "Bearer tg_zz_yy",
                   "Bearer tg_000000000000_secret", f"Bearer {KEYS['app']}x"):
        resp = anonymous.post("/v1/decisions", json=EXAMPLE, headers={"Authorization": header})
        assert resp.status_code == 401, header
        assert resp.get_json()["status"] == 401
    resp = anonymous.get("/v1/rulesets", headers={"Authorization": "Bearer not-a-key-of-ours-0123456789"})
    assert 'error="invalid_token"' in resp.headers["WWW-Authenticate"]
    assert app.extensions["transfer_gate"].log.query() == []


def test_the_bearer_scheme_is_case_insensitive(anonymous):
    resp = anonymous.get("/v1/rulesets", headers={"Authorization": f"bearer {KEYS['app']}"})
    assert resp.status_code == 200


def test_unknown_api_paths_give_anonymous_callers_401_and_known_callers_404(anonymous, client):
    assert anonymous.get("/v1/nothing").status_code == 401
    assert client.get("/v1/nothing").status_code == 404


def test_a_decision_logs_the_key_id_and_role_never_the_key(client_for, app):
    body = client_for("officer").post("/v1/decisions", json=EXAMPLE).get_json()
    entry = app.extensions["transfer_gate"].log.get(body["decision_id"])
    assert (entry["caller"], entry["caller_role"]) == ("env-officer-1", "officer")
    assert KEYS["officer"] not in str(entry)


def test_keys_cannot_be_checked_when_the_store_is_unreadable_so_the_answer_is_503(tmp_path):
    import sqlalchemy as sa

    from tests.conftest import API_KEYS
    from transfer_gate import create_app

    db = tmp_path / "keys.sqlite3"
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{db}", "DATABASE_TIMEOUT": 0.2,
                      "API_KEYS": API_KEYS})
    keyring = app.extensions["transfer_gate.keys"]
    _record, auditor_key = keyring.create("auditor")
    browser = app.test_client()
    sign_in(browser, auditor_key)
    # The key table's database becomes unreachable (a SQLite file in a directory that is gone).
    keyring.engine = sa.create_engine(f"sqlite:///{tmp_path / 'gone' / 'keys.sqlite3'}")
    resp = app.test_client().get("/v1/rulesets", headers={"Authorization": "Bearer tg_0123456789ab_secret"})
    assert resp.status_code == 503 and resp.mimetype == "application/problem+json"
    assert resp.get_json()["type"] == "/problems/key-store-unavailable"
    # Configured keys are checked in memory and still work.
    assert app.test_client().get("/v1/rulesets", headers=bearer("app")).status_code == 200
    # A browser session of a stored key cannot be checked either: a 503 page, not a guess.
    resp = browser.get("/signin")
    assert resp.status_code == 503 and resp.mimetype == "text/html"


# --- browser pages: sign-in, sessions, CSRF -----------------------------------------------

@pytest.fixture
def site(app):
    """The officer (ui) and auditor (audit) pages; a stand-in for any not registered, so the policy meets real routes."""
    if "ui" not in app.blueprints:
        ui = Blueprint("ui", __name__)
        ui.add_url_rule("/", "index", lambda: "the officer form")
        app.register_blueprint(ui)
    if "audit" not in app.blueprints:
        audit = Blueprint("audit", __name__)
        audit.add_url_rule("/audit", "index", lambda: "the decision log")
        app.register_blueprint(audit)
    return app


def csrf_token(browser, path="/signin"):
    page = browser.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def sign_in(browser, key, next_path=None):
    form = {"key": key, "csrf_token": csrf_token(browser)}
    if next_path:
        form["next"] = next_path
    return browser.post("/signin", data=form)


@pytest.fixture
def browser(site):
    return site.test_client()


def test_anonymous_visitors_are_sent_to_sign_in_and_come_back(browser):
    resp = browser.get("/audit?outcome=deny")
    assert resp.status_code == 303
    assert resp.headers["Location"] == "/signin?next=/audit?outcome%3Ddeny"
    page = browser.get(resp.headers["Location"]).get_data(as_text=True)
    assert 'name="next" value="/audit?outcome=deny"' in page
    resp = sign_in(browser, KEYS["auditor"], "/audit?outcome=deny")
    assert resp.status_code == 303 and resp.headers["Location"] == "/audit?outcome=deny"
    audit = browser.get("/audit")
    assert audit.status_code == 200 and "decision log" in audit.get_data(as_text=True).lower()


@pytest.mark.parametrize("role,reaches,refused", [("officer", "/", "/audit"), ("auditor", "/audit", "/")])
def test_officers_and_auditors_reach_their_pages_and_get_a_403_page_elsewhere(browser, role, reaches, refused):
    resp = sign_in(browser, KEYS[role])
    assert resp.status_code == 303 and resp.headers["Location"] == reaches
    assert browser.get(reaches).status_code == 200
    resp = browser.get(refused)
    assert resp.status_code == 403 and resp.mimetype == "text/html"
    role_words = {"officer": "privacy officer", "auditor": "auditor"}[role]
    assert f"as {role_words}" in resp.get_data(as_text=True) and "not open to that role" in resp.get_data(as_text=True)


@pytest.mark.parametrize("role", ["app", "admin"])
def test_keys_without_pages_cannot_sign_in(browser, role):
    resp = sign_in(browser, KEYS[role])
    assert resp.status_code == 403
    assert "have no pages" in resp.get_data(as_text=True)
    assert browser.get("/").status_code == 303


def test_an_unknown_key_does_not_sign_in(browser):
    resp = sign_in(browser, "not-a-key-of-ours-0123456789")
    assert resp.status_code == 403 and "unknown or has been revoked" in resp.get_data(as_text=True)
    assert browser.get("/").status_code == 303
    assert sign_in(browser, "x" * 5000).status_code == 403


def test_a_session_does_not_authenticate_the_api(browser):
    sign_in(browser, KEYS["officer"])
    assert browser.get("/").status_code == 200
    resp = browser.post("/v1/decisions", json=EXAMPLE)
    assert resp.status_code == 401 and resp.mimetype == "application/problem+json"


def test_a_bearer_key_does_not_open_pages(browser):
    resp = browser.get("/", headers=bearer("officer"))
    assert resp.status_code == 303 and resp.headers["Location"].startswith("/signin")


def test_sign_in_without_a_valid_csrf_token_is_refused(browser):
    browser.get("/signin")
    for form in ({"key": KEYS["officer"]}, {"key": KEYS["officer"], "csrf_token": "forged"}):
        resp = browser.post("/signin", data=form)
        assert resp.status_code == 400
        assert "The form could not be accepted" in resp.get_data(as_text=True)
        assert browser.get("/").status_code == 303  # not signed in


def test_page_forms_without_a_valid_csrf_token_are_refused(browser, app):
    sign_in(browser, KEYS["officer"])
    form = {"origin": "JP", "destination": "DE", "data_categories": "statistical", "as_of": "2026-11-27"}
    assert browser.post("/decisions", data=form).status_code == 400
    assert browser.post("/decisions", data=dict(form, csrf_token="forged")).status_code == 400
    assert app.extensions["transfer_gate"].log.query() == []
    assert browser.post("/decisions", data=dict(form, csrf_token=csrf_token(browser, "/"))).status_code == 303


def test_sign_out_ends_the_session_and_needs_a_csrf_token(browser):
    sign_in(browser, KEYS["officer"])
    assert browser.post("/signout").status_code == 400
    assert browser.get("/").status_code == 200  # still signed in
    resp = browser.post("/signout", data={"csrf_token": csrf_token(browser)})
    assert resp.status_code == 303 and resp.headers["Location"] == "/signin"
    assert browser.get("/").status_code == 303


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "/signout",
                                    "javascript:alert(1)", "/\r\nLocation: x"])
def test_sign_in_never_redirects_off_site(browser, target):
    resp = sign_in(browser, KEYS["auditor"], target)
    assert resp.status_code == 303 and resp.headers["Location"] == "/audit"


def test_the_session_cookie_is_httponly_samesite_lax_and_secure_over_https(site):
    plain = site.test_client()
    sign_in(plain, KEYS["officer"])
    cookie = plain.get_cookie("session")
    assert cookie.http_only and cookie.same_site == "Lax" and not cookie.secure
    secure = site.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      secure.get("/signin", base_url="https://localhost").get_data(as_text=True)).group(1)
    resp = secure.post("/signin", data={"key": KEYS["officer"], "csrf_token": token}, base_url="https://localhost",
                       headers={"Referer": "https://localhost/signin"})
    assert resp.status_code == 303
    cookie = secure.get_cookie("session", domain="localhost")
    assert cookie.secure and cookie.http_only and cookie.same_site == "Lax"


def test_behind_a_trusted_proxy_https_is_taken_from_x_forwarded_proto(tmp_path):
    from transfer_gate import create_app
    from tests.conftest import API_KEYS

    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'p.sqlite3'}", "API_KEYS": API_KEYS,
                      "TRUSTED_PROXIES": 1})
    resp = app.test_client().get("/signin", headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in resp.headers["Set-Cookie"]
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=")


def test_a_revoked_key_ends_its_sessions_and_its_api_access(browser, site, anonymous):
    ring = site.extensions["transfer_gate.keys"]
    record, key = ring.create("officer")
    sign_in(browser, key)
    assert browser.get("/").status_code == 200
    assert anonymous.post("/v1/decisions", json=EXAMPLE, headers={"Authorization": f"Bearer {key}"}).status_code == 200
    ring.revoke(record.key_id)
    assert browser.get("/").status_code == 303
    assert anonymous.post("/v1/decisions", json=EXAMPLE, headers={"Authorization": f"Bearer {key}"}).status_code == 401


@pytest.mark.parametrize("path", ["/signin", "/v1/rulesets", "/healthz", "/openapi.json", "/v1/nothing"])
def test_every_answer_carries_the_security_headers(client, path):
    resp = client.get(path)
    csp = resp.headers["Content-Security-Policy"]
    assert csp == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "same-origin"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in resp.headers  # plain http: no HSTS


def test_head_of_the_sign_in_page_is_answered_like_get(anonymous):
    assert anonymous.head("/signin").status_code == 200


def test_the_sign_in_page_has_no_inline_script(anonymous):
    page = anonymous.get("/signin").get_data(as_text=True)
    assert "<script" not in page and " on" + "click=" not in page and 'name="key"' in page


# --- server-side sessions, forwarded headers ---------------------------------------------------------

@pytest.fixture
def plain_app(store_app):
    store_app.test_client_class = None  # plain clients: these tests sign in themselves
    return store_app


def test_a_cookie_copied_before_sign_out_gets_the_sign_in_page_after_it(plain_app):
    browser = plain_app.test_client()
    sign_in(browser, KEYS["officer"])
    copied = browser.get_cookie("session").value
    thief = plain_app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/").status_code == 200  # the copy works while the session is open
    assert browser.post("/signout", data={"csrf_token": csrf_token(browser, "/")}).status_code == 303
    resp = thief.get("/")
    assert resp.status_code == 303 and resp.headers["Location"].startswith("/signin")
    assert browser.get("/").status_code == 303


def test_a_session_expires_on_the_server_after_its_lifetime(plain_app):
    import sqlalchemy as sa

    from transfer_gate.keys import browser_sessions

    browser = plain_app.test_client()
    sign_in(browser, KEYS["auditor"])
    assert browser.get("/audit").status_code == 200
    engine = plain_app.extensions["transfer_gate"].log.engine
    with engine.connect() as conn:
        [row] = conn.execute(sa.select(browser_sessions)).mappings().all()
    lifetime = datetime.fromisoformat(row["expires_at"][:-1]) - datetime.fromisoformat(row["created_at"][:-1])
    assert lifetime.total_seconds() == plain_app.permanent_session_lifetime.total_seconds() == 8 * 3600
    with engine.begin() as conn:
        conn.execute(browser_sessions.update().values(expires_at="2000-01-01T00:00:00Z"))
    assert browser.get("/audit").status_code == 303


def test_only_a_hash_of_the_session_id_is_stored_and_each_sign_in_gets_a_new_one(plain_app):
    import hashlib

    import sqlalchemy as sa

    from transfer_gate.keys import browser_sessions

    browser = plain_app.test_client()
    sign_in(browser, KEYS["officer"])
    with browser.session_transaction() as cookie:
        first = cookie["sid"]
    sign_in(browser, KEYS["officer"])
    with browser.session_transaction() as cookie:
        second = cookie["sid"]
    assert first != second
    with plain_app.extensions["transfer_gate"].log.engine.connect() as conn:
        rows = {r["session_hash"]: r for r in conn.execute(sa.select(browser_sessions)).mappings()}
    digest = {sid: hashlib.sha256(sid.encode()).hexdigest() for sid in (first, second)}
    assert set(rows) == set(digest.values())
    assert rows[digest[first]]["ended_at"] is not None and rows[digest[second]]["ended_at"] is None
    assert all(first not in str(dict(r)) and second not in str(dict(r)) for r in rows.values())


def test_a_signed_cookie_without_a_server_session_signs_nobody_in(site):
    browser = site.test_client()
    with browser.session_transaction() as cookie:  # signed with the app's secret, but never opened on the server
        cookie["key_id"] = "env-officer-1"
        cookie["sid"] = "x" * 43
    assert browser.get("/").status_code == 303


def test_without_trusted_proxies_forwarded_headers_are_not_believed(app):
    resp = app.test_client().get("/signin", headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"})
    assert "Secure" not in resp.headers["Set-Cookie"] and "Strict-Transport-Security" not in resp.headers


def test_serve_leaves_forwarded_headers_to_the_app_not_to_gunicorn(tmp_path, monkeypatch):
    from click.testing import CliRunner
    from gunicorn.app.base import BaseApplication

    from transfer_gate.cli import main

    seen = {}
    monkeypatch.setattr(BaseApplication, "run", lambda self: seen.update(allowed=self.cfg.forwarded_allow_ips))
    monkeypatch.setenv("TRANSFER_GATE_DATABASE_URL", f"sqlite:///{tmp_path / 's.sqlite3'}")
    monkeypatch.setenv("TRANSFER_GATE_API_KEYS", API_KEYS)
    # serve sets this for its workers; through monkeypatch it is gone again after the test.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))
    result = CliRunner().invoke(main, ["serve"], catch_exceptions=False)
    assert result.exit_code == 0 and seen == {"allowed": []}
