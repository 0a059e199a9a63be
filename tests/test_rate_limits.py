"""Rate limits on failed keys: the API and the sign-in page answer 429 with Retry-After, across instances."""

import re

import pytest
from flask.testing import FlaskClient

from tests.conftest import KEYS, bearer
from tests.test_api import EXAMPLE

WRONG = {"Authorization": "Bearer tg_0123456789ab_not-the-secret"}


@pytest.fixture
def instances(make_app, store_url):
    """Two instances of the service (think: two gunicorn workers or hosts) on one store."""
    apps = [make_app(store_url), make_app(store_url)]
    for app in apps:
        app.test_client_class = FlaskClient
        # A clock that stands still at the start of a window: a run that crosses a window's end must not
        # see its counts start again halfway.
        app.extensions["transfer_gate.limiter"].clock = lambda: 1_800_000.0
    return apps


def client_from(app, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_wrong_api_keys_get_429_with_retry_after_counted_across_instances(instances):
    one, two = (client_from(app, "198.51.100.7") for app in instances)
    statuses = [(one if i % 2 else two).get("/v1/rulesets", headers=WRONG).status_code for i in range(200)]
    assert statuses == [401] * 20 + [429] * 180  # 20 failures per window, however they are spread
    resp = one.post("/v1/decisions", json=EXAMPLE, headers=WRONG)
    assert resp.status_code == 429 and resp.mimetype == "application/problem+json"
    assert resp.get_json()["type"] == "/problems/too-many-failures"
    assert resp.headers["Retry-After"] == "60"
    # The address is held off, even with a right key; every other client is not.
    assert one.get("/v1/rulesets", headers=bearer("app")).status_code == 429
    other = client_from(instances[1], "203.0.113.20")
    assert other.post("/v1/decisions", json=EXAMPLE, headers=bearer("app")).status_code == 200
    assert other.get("/v1/rulesets", headers=WRONG).status_code == 401


def test_requests_without_a_key_are_not_counted(instances):
    client = client_from(instances[0], "198.51.100.8")
    assert {client.get("/v1/rulesets").status_code for _ in range(30)} == {401}
    assert client.get("/v1/rulesets", headers=bearer("app")).status_code == 200


def test_the_limit_lifts_when_the_window_ends(instances):
    now = [1_000_000.0]
    for app in instances:
        app.extensions["transfer_gate.limiter"].clock = lambda: now[0]
        app.config.update(RATE_LIMIT_FAILURES=3, RATE_LIMIT_WINDOW=30)
    client = client_from(instances[0], "198.51.100.9")
    assert [client.get("/v1/rulesets", headers=WRONG).status_code for _ in range(4)] == [401, 401, 401, 429]
    assert client.get("/v1/rulesets", headers=WRONG).headers["Retry-After"] == "20"  # window 999990..1000020
    now[0] += 20
    assert client.get("/v1/rulesets", headers=bearer("app")).status_code == 200


def test_authenticated_requests_do_not_read_the_counters_each_time(instances):
    """The check is served from the process's memory: one read per bucket and MEMO_SECONDS, not one per request."""
    import sqlalchemy as sa

    app = instances[0]
    statements = []
    engine = app.extensions["transfer_gate.limiter"].engine
    sa.event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    client = client_from(app, "198.51.100.13")
    assert [client.get("/v1/rulesets", headers=bearer("app")).status_code for _ in range(25)] == [200] * 25
    assert len([s for s in statements if "rate_limits" in s]) == 1


def test_a_failure_over_the_limit_is_refused_even_on_a_count_not_yet_seen(instances):
    """Another process's failures reach this one's memory up to MEMO_SECONDS late; a failure in the
    meantime is counted, found over the limit, and answered 429, never a plain 401."""
    one, two = (client_from(app, "198.51.100.14") for app in instances)
    two.get("/v1/rulesets", headers=bearer("app"))  # two now remembers: no failures
    assert [one.get("/v1/rulesets", headers=WRONG).status_code for _ in range(21)] == [401] * 20 + [429]
    resp = two.get("/v1/rulesets", headers=WRONG)
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "60"
    # Counted, so every process refuses the address from now on, a right key included.
    assert two.get("/v1/rulesets", headers=bearer("app")).status_code == 429


def test_the_memory_expires(instances):
    one, two = (client_from(app, "198.51.100.15") for app in instances)
    instances[1].extensions["transfer_gate.limiter"].memo_seconds = 0  # trust nothing remembered
    two.get("/v1/rulesets", headers=bearer("app"))
    for _ in range(20):
        one.get("/v1/rulesets", headers=WRONG)
    assert two.get("/v1/rulesets", headers=bearer("app")).status_code == 429


def test_a_limit_of_zero_counts_nothing(make_app, tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'z.sqlite3'}", RATE_LIMIT_FAILURES=0)
    app.test_client_class = FlaskClient
    client = app.test_client()
    assert {client.get("/v1/rulesets", headers=WRONG).status_code for _ in range(30)} == {401}


def signin_attempt(browser, key):
    page = browser.get("/signin").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return browser.post("/signin", data={"key": key, "csrf_token": token})


def test_wrong_keys_at_sign_in_get_a_429_page_and_others_still_sign_in(instances):
    one, two = (client_from(app, "198.51.100.10") for app in instances)
    statuses = [signin_attempt(one if i % 2 else two, f"wrong-key-{i:04d}-0123456789").status_code for i in range(200)]
    assert statuses == [403] * 20 + [429] * 180
    resp = signin_attempt(one, KEYS["officer"])
    assert resp.status_code == 429 and resp.mimetype == "text/html" and resp.headers["Retry-After"] == "60"
    assert "Too many unknown keys" in resp.get_data(as_text=True)
    assert one.get("/").status_code == 303  # not signed in
    other = client_from(instances[0], "203.0.113.21")
    assert signin_attempt(other, KEYS["officer"]).status_code == 303
    assert other.get("/").status_code == 200


def test_the_api_and_sign_in_are_counted_apart(instances):
    client = client_from(instances[0], "198.51.100.11")
    for _ in range(20):
        client.get("/v1/rulesets", headers=WRONG)
    assert client.get("/v1/rulesets", headers=WRONG).status_code == 429
    assert signin_attempt(client, KEYS["auditor"]).status_code == 303


def test_a_store_that_cannot_count_does_not_lock_everyone_out(instances, monkeypatch):
    from transfer_gate.rate_limits import CountersUnavailable

    limiter = instances[0].extensions["transfer_gate.limiter"]

    def broken(*_args):
        raise CountersUnavailable("locked")

    monkeypatch.setattr(limiter, "failed", broken)
    monkeypatch.setattr(limiter, "retry_after", broken)
    client = client_from(instances[0], "198.51.100.12")
    assert client.get("/v1/rulesets", headers=WRONG).status_code == 401
    assert client.get("/v1/rulesets", headers=bearer("app")).status_code == 200


@pytest.mark.parametrize("name,value", [("RATE_LIMIT_FAILURES", "-1"), ("RATE_LIMIT_WINDOW", "0"),
                                        ("RATE_LIMIT_WINDOW", '"a minute"')])
def test_bad_limits_stop_the_start(make_app, tmp_path, monkeypatch, name, value):
    from transfer_gate.errors import ConfigError

    monkeypatch.setenv(f"TRANSFER_GATE_{name}", value)
    with pytest.raises(ConfigError, match=name):
        make_app(f"sqlite:///{tmp_path / 'c.sqlite3'}")
