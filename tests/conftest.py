import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from transfer_gate import create_app
from transfer_gate.keys import ROLES
from transfer_gate.rules import load_rulebook
from transfer_gate.service import Runtime

pytest_plugins = ["tests.stores", "tests.partner_rules"]  # the decision log's stores; stand-in partner rulesets

ROOT = Path(__file__).resolve().parent.parent
RULESETS = ROOT / "rulesets"
PROFILES = ROOT / "country_profiles"

# One configured key per role (TRANSFER_GATE_API_KEYS); they show up in the log as env-<role>-1.
KEYS = {role: f"test-{role}-key-0123456789abcdef" for role in ROLES}
API_KEYS = ",".join(f"{role}:{key}" for role, key in KEYS.items())
SECRET_KEY = "test-session-secret-0123456789abcdef0123456789"


def bearer(role: str) -> dict:
    """Headers that authenticate as `role`."""
    return {"Authorization": f"Bearer {KEYS[role]}"}


@pytest.fixture(autouse=True)
def _session_secret(monkeypatch):
    """Apps built outside the `app` fixture sign sessions with a test secret, not a file in instance/."""
    monkeypatch.setenv("TRANSFER_GATE_SECRET_KEY", SECRET_KEY)


@pytest.fixture(scope="session")
def runtime():
    """A runtime over the shipped rules and profiles, without a decision log (engine-level tests)."""
    return Runtime.build(RULESETS, PROFILES, log=None)


@pytest.fixture(scope="session")
def book():
    return load_rulebook(RULESETS)


@pytest.fixture
def app(tmp_path, runtime, monkeypatch):
    """A fresh app per test, with its own SQLite decision log.

    Loading the rules and profiles and compiling durable-rules takes about a second, so the
    app reuses the session's read-only pieces; tests that need other rules or profiles build
    their own app with create_app().
    """
    shared = (runtime.book, runtime.profiles, runtime.matcher)
    monkeypatch.setattr(Runtime, "build", classmethod(lambda cls, r, p, log, clock=None: cls(*shared, log)))
    return create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'log.sqlite3'}",
                       "SECRET_KEY": "test-secret-key-of-at-least-32-chars", "API_KEYS": API_KEYS})


@pytest.fixture
def client_for(app):
    """Return a test client that sends the key of a role with every request (None: no key)."""

    def make(role: str | None):
        client = app.test_client()
        if role is not None:
            client.environ_base["HTTP_AUTHORIZATION"] = bearer(role)["Authorization"]
        return client

    return make


@pytest.fixture
def client(client_for):
    """A client of an internal app: the `app` role, which decides."""
    return client_for("app")


@pytest.fixture
def anonymous(client_for):
    return client_for(None)


def sign_in(client, role: str, api_too: bool = True):
    """Sign a test client in at /signin with the key of `role`; by default it sends the key to /v1 too."""
    page = client.get("/signin").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    resp = client.post("/signin", data={"key": KEYS[role], "csrf_token": token})
    assert resp.status_code in (302, 303), resp.get_data(as_text=True)
    if api_too:
        client.environ_base["HTTP_AUTHORIZATION"] = bearer(role)["Authorization"]
    return client


class SignedInClient(FlaskClient):
    """A test client that presents the credentials of the role an endpoint is for.

    For tests of what the log, the auditor pages and the form do, not of who may do it (that is
    tests/test_access.py): POST /v1 sends the `app` key, GET /v1/decisions the `auditor` key,
    /audit pages sign in as an auditor and the other pages as an officer.
    """

    def open(self, *args, **kwargs):
        path = args[0] if args and isinstance(args[0], str) else kwargs.get("path", "/")
        method = kwargs.get("method", "GET").upper()
        headers = dict(kwargs.pop("headers", None) or {})
        if path.startswith("/v1") and "Authorization" not in headers and "HTTP_AUTHORIZATION" not in self.environ_base:
            role = "auditor" if method == "GET" and path.startswith("/v1/decisions") else "app"
            headers.update(bearer(role))
        elif not path.startswith(("/v1", "/signin", "/signout", "/static", "/healthz", "/readyz", "/openapi")):
            role = "auditor" if path.startswith("/audit") else "officer"
            if getattr(self, "_signed_in_as", None) != role:
                self._signed_in_as = role
                sign_in(self, role, api_too=False)
        return super().open(*args, headers=headers, **kwargs)


@pytest.fixture
def officer(app):
    """A privacy officer's browser, signed in."""
    return sign_in(app.test_client(), "officer")


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def pytest_terminal_summary(terminalreporter):
    """Report how many cases the fuzz run generated (tests/test_fuzz.py records them)."""
    for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get("failed", []):
        recorded = dict(getattr(report, "user_properties", ()))
        if "fuzz_cases" in recorded:
            terminalreporter.write_line(f"schemathesis: {recorded['fuzz_cases']} generated cases over "
                                        f"{recorded['fuzz_operations']} operations "
                                        f"({recorded['fuzz_by_operation']}); statuses {recorded['fuzz_statuses']}")
