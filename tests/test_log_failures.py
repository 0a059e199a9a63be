"""Fail closed: a decision that cannot be committed to the log is answered 503 and never returned."""

import json
import sqlite3
import uuid

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from tests.stores import Databases
from tests.test_api import EXAMPLE, with_
from transfer_gate.cli import main

from tests.conftest import SignedInClient


@pytest.fixture(autouse=True)
def _clients_present_credentials(request):
    """These tests are about the log, not about who may use it (tests/test_access.py): clients sign in."""
    if "app" in request.fixturenames:
        request.getfixturevalue("app").test_client_class = SignedInClient


def assert_not_returned(resp):
    assert resp.status_code == 503 and resp.mimetype == "application/problem+json"
    body = resp.get_json()
    assert body["type"] == "/problems/log-unavailable" and body["status"] == 503
    assert "decision_id" not in body and "outcome" not in body and "decisions" not in body


def test_the_cli_prints_no_decision_when_the_log_is_locked(make_app, tmp_path, monkeypatch):
    db = tmp_path / "locked.sqlite3"
    make_app(f"sqlite:///{db}")  # create the schema
    monkeypatch.setenv("TRANSFER_GATE_DATABASE_URL", f"sqlite:///{db}")
    monkeypatch.setenv("TRANSFER_GATE_DATABASE_TIMEOUT", "0.2")
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = CliRunner().invoke(main, ["decide"], input=json.dumps(EXAMPLE), catch_exceptions=False)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 1
    assert result.stdout == ""
    assert json.loads(result.stderr)["status"] == 503


def test_postgresql_held_by_another_writer_answers_503_until_released(make_app, postgres_url):
    app = make_app(postgres_url, DATABASE_TIMEOUT=0.3)
    client = app.test_client()
    assert client.post("/v1/decisions", json=EXAMPLE).status_code == 200
    other = sa.create_engine(postgres_url)
    try:
        with other.connect() as conn:
            with conn.begin():  # another instance stuck in the middle of an append
                conn.exec_driver_sql("SELECT seq FROM decision_log_head WHERE id = 1 FOR UPDATE")
                assert_not_returned(client.post("/v1/decisions", json=with_(destination="DE")))
                assert_not_returned(client.post("/v1/decisions/batch", json={"requests": [EXAMPLE, EXAMPLE]}))
                assert client.get("/readyz").status_code == 503
    finally:
        other.dispose()
    assert client.post("/v1/decisions", json=EXAMPLE).status_code == 200
    log = app.extensions["transfer_gate"].log
    assert [e["destination"] for e in log.query(limit=None)] == ["US", "US"]
    assert log.verify().ok


@pytest.fixture
def private_store(private_postgres):
    """A store on the session's private cluster, which this test may stop (and must restart)."""
    databases = Databases(private_postgres.url)
    url = databases.create()
    yield url
    databases.drop(url)
    databases.close()


def test_stopping_postgresql_mid_run_answers_503_and_the_service_recovers(make_app, private_postgres, private_store):
    app = make_app(private_store, DATABASE_TIMEOUT=2)
    client = app.test_client()
    before = client.post("/v1/decisions", json=EXAMPLE)
    assert before.status_code == 200
    private_postgres.stop()
    try:
        assert_not_returned(client.post("/v1/decisions", json=with_(reference=f"lost-{uuid.uuid4()}")))
        assert_not_returned(client.post("/v1/decisions/batch", json={"requests": [EXAMPLE]}))
        assert client.get("/readyz").status_code == 503
    finally:
        private_postgres.start()
    after = client.post("/v1/decisions", json=with_(destination="DE"))
    assert after.status_code == 200
    assert client.get("/readyz").status_code == 200
    log = app.extensions["transfer_gate"].log
    logged = [e["decision_id"] for e in log.query(limit=None)]
    assert logged == [before.get_json()["decision_id"], after.get_json()["decision_id"]]
    assert log.verify().ok


def test_the_cli_reports_a_store_it_cannot_open_and_decides_nothing(monkeypatch, tmp_path):
    monkeypatch.setenv("TRANSFER_GATE_DATABASE_URL", f"postgresql://root@/nothing?host={tmp_path}&port=1")
    result = CliRunner().invoke(main, ["decide"], input=json.dumps(EXAMPLE), catch_exceptions=False)
    assert result.exit_code == 1 and result.stdout == ""
    problem = json.loads(result.stderr)
    assert problem["status"] == 503 and problem["type"] == "/problems/log-unavailable"
