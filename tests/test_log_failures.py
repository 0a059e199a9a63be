"""Fail closed: a decision that cannot be committed to the log is answered 503 and never returned."""

import json
import sqlite3
import threading
import time
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


# --------------------------------------------------------------------------- the request deadline

def _post_from_threads(app, n, body=EXAMPLE):
    """POST `body` from n threads at once; return their status codes."""
    statuses = []

    def one():
        statuses.append(app.test_client().post("/v1/decisions", json=body).status_code)

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return statuses


def _released_after(seconds, release):
    """Release a held lock after `seconds`, from a timer: a wait that ignored the deadline would then succeed."""
    timer = threading.Timer(seconds, release)
    timer.start()
    return timer


def test_queued_requests_on_a_held_sqlite_lock_get_a_503_at_their_deadline_not_the_lock_timeout(make_app, tmp_path):
    db = tmp_path / "held.sqlite3"
    app = make_app(f"sqlite:///{db}", DATABASE_TIMEOUT=25, REQUEST_DEADLINE=0.5)
    holder = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    timer = _released_after(4, lambda: holder.execute("ROLLBACK"))
    try:
        # Without the deadline each would wait for the lock (25 s here) and be decided once it is released.
        statuses = _post_from_threads(app, 16)
    finally:
        timer.join()
        holder.close()
    assert statuses == [503] * 16
    assert app.extensions["transfer_gate"].log.query() == []
    assert app.test_client().post("/v1/decisions", json=EXAMPLE).status_code == 200


def test_a_postgresql_lock_held_elsewhere_gives_a_503_at_the_deadline(make_app, postgres_url):
    app = make_app(postgres_url, DATABASE_TIMEOUT=25, REQUEST_DEADLINE=0.5)
    other = sa.create_engine(postgres_url)
    conn = other.connect()
    transaction = conn.begin()
    conn.exec_driver_sql("SELECT seq FROM decision_log_head WHERE id = 1 FOR UPDATE")
    timer = _released_after(4, transaction.rollback)
    try:
        statuses = _post_from_threads(app, 8)
    finally:
        timer.join()
        conn.close()
        other.dispose()
    assert statuses == [503] * 8
    assert app.extensions["transfer_gate"].log.query() == []
    assert app.test_client().post("/v1/decisions", json=EXAMPLE).status_code == 200


def test_readiness_and_decisions_notice_an_exclusive_lock_on_the_log_table(make_app, postgres_url):
    app = make_app(postgres_url, DATABASE_TIMEOUT=25, REQUEST_DEADLINE=0.5)
    client = app.test_client()
    assert client.get("/readyz").status_code == 200
    other = sa.create_engine(postgres_url)
    try:
        with other.connect() as conn, conn.begin():
            conn.exec_driver_sql("LOCK TABLE decision_log IN ACCESS EXCLUSIVE MODE")
            ready = client.get("/readyz")
            assert ready.status_code == 503 and ready.get_json()["type"] == "/problems/not-ready"
            assert_not_returned(client.post("/v1/decisions", json=EXAMPLE))
    finally:
        other.dispose()
    assert client.get("/readyz").status_code == 200
    assert client.post("/v1/decisions", json=EXAMPLE).status_code == 200
    assert len(app.extensions["transfer_gate"].log.query()) == 1


def test_readiness_writes_nothing(store_app):
    client = store_app.test_client()
    assert client.get("/readyz").status_code == 200
    log = store_app.extensions["transfer_gate"].log
    assert log.head().seq == 0 and log.query() == [] and log.verify().ok


def test_rows_taken_into_a_commit_are_reported_as_its_outcome_even_past_their_deadline():
    """A caller must never be told "not logged" about rows that a transaction then commits."""
    from transfer_gate.decision_log import _GroupCommit
    from transfer_gate.errors import LogUnavailable

    committed, waits = [], []
    first_write_entered, release_first = threading.Event(), threading.Event()

    def write(rows, wait):
        waits.append(wait)
        if len(waits) == 1:
            first_write_entered.set()
            release_first.wait(10)
        else:
            time.sleep(0.6)  # the second transaction outlives the deadline of a caller it carries
        committed.extend(rows)

    group = _GroupCommit(write)
    results = {}

    def submit(name, deadline):
        try:
            group.submit([name], deadline)
            results[name] = "ok"
        except LogUnavailable:
            results[name] = "failed"

    leader = threading.Thread(target=submit, args=("first", None))
    leader.start()
    assert first_write_entered.wait(10)
    carried = threading.Thread(target=submit, args=("carried", time.monotonic() + 0.3))
    carried.start()
    for _ in range(1000):  # until "carried" waits in the queue (bounded: a broken queue fails below, not hangs)
        if group._queue:
            break
        time.sleep(0.01)
    release_first.set()  # the next leader takes "carried" with 0.3 s to go; its commit takes 0.6 s
    leader.join(10)
    carried.join(10)
    assert results == {"first": "ok", "carried": "ok"} and committed == ["first", "carried"]
    assert waits[0] is None and 0 < waits[1] <= 0.3  # the lock wait was cut to the caller's deadline

    # A caller whose deadline passes while its rows still wait in the queue is refused, and they are never written.
    release_again = threading.Event()
    waits.clear()
    waits.append("again")  # make the next write block like the first

    def blocking(rows, wait):
        release_again.wait(10)
        committed.extend(rows)

    group._write = blocking
    leader = threading.Thread(target=submit, args=("second", None))
    leader.start()
    for _ in range(1000):
        if group._leading:
            break
        time.sleep(0.01)
    submit("expired", time.monotonic() + 0.2)
    release_again.set()
    leader.join(10)
    assert results["expired"] == "failed" and results["second"] == "ok"
    assert "expired" not in committed
