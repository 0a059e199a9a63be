from pathlib import Path

import pytest

from transfer_gate import create_app
from transfer_gate.rules import load_rulebook
from transfer_gate.service import Runtime

pytest_plugins = ["tests.stores"]  # the decision log's stores: SQLite and PostgreSQL

ROOT = Path(__file__).resolve().parent.parent
RULESETS = ROOT / "rulesets"
PROFILES = ROOT / "country_profiles"


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
                       "SECRET_KEY": "test-secret-key-of-at-least-32-chars"})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
