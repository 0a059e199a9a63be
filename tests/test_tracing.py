"""Request ids and JSON log lines: echoed, logged, and stored with the decision."""

from __future__ import annotations

import json
import logging
import re

import pytest
from flask.logging import default_handler

from tests.test_api import with_
from tests.test_cli import db, log_entries, run  # noqa: F401 (db is a fixture)
from tests.test_ui import MEDICAL_RECORDS_TO_US, csrf_token
from transfer_gate.errors import LogUnavailable
from transfer_gate.logs import JsonFormatter


def test_a_request_without_an_id_gets_a_new_one_in_the_response(client):
    first = client.get("/healthz").headers["X-Request-ID"]
    second = client.get("/healthz").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first) and first != second


@pytest.mark.parametrize("given", ["req-1", "0f8fad5b-d9cb-469f-a165-70867728950e", "a" * 64, "svc:42.7_x"])
def test_a_safe_short_id_is_echoed(client, given):
    assert client.get("/healthz", headers={"X-Request-ID": given}).headers["X-Request-ID"] == given


@pytest.mark.parametrize("given", ["a" * 65, "has space", "quote\"", "<script>", "-leading-dash", "é", ""])
def test_an_unsafe_or_long_id_is_replaced(client, given):
    echoed = client.get("/healthz", headers={"X-Request-ID": given}).headers["X-Request-ID"]
    assert echoed != given and re.fullmatch(r"[0-9a-f]{32}", echoed)


def test_the_id_is_stored_with_the_decision_and_chained(store_app):
    app, client = store_app, store_app.test_client()  # presents the app key, and the auditor's to read
    answer = client.post("/v1/decisions", json=with_(), headers={"X-Request-ID": "order-77"})
    assert answer.headers["X-Request-ID"] == "order-77"
    logged = client.get(f"/v1/decisions/{answer.get_json()['decision_id']}").get_json()
    assert logged["request_id"] == "order-77"
    batch = client.post("/v1/decisions/batch", json={"requests": [with_(), with_(destination="DE")]},
                        headers={"X-Request-ID": "batch-8"}).get_json()
    log = app.extensions["transfer_gate"].log
    assert [log.get(d["decision_id"])["request_id"] for d in batch["decisions"]] == ["batch-8", "batch-8"]
    untagged = client.post("/v1/decisions", json=with_())
    assert log.get(untagged.get_json()["decision_id"])["request_id"] == untagged.headers["X-Request-ID"]
    result = log.verify()
    assert result.ok and result.checked == 4  # the id is part of each entry's hash


def test_the_officer_form_stores_the_request_id(app, officer):
    resp = officer.post("/decisions", data=dict(MEDICAL_RECORDS_TO_US, csrf_token=csrf_token(officer)),
                        headers={"X-Request-ID": "form-1"})
    assert resp.status_code == 303
    assert [r["request_id"] for r in app.extensions["transfer_gate"].log.query()] == ["form-1"]


def test_log_lines_are_json_with_the_request_s_fields(app, client, capsys, monkeypatch):
    def unavailable(rows):
        raise LogUnavailable("the store is down")

    monkeypatch.setattr(app.extensions["transfer_gate"].log, "append", unavailable)
    capsys.readouterr()
    assert client.post("/v1/decisions", json=with_(), headers={"X-Request-ID": "trace-503"}).status_code == 503
    written = capsys.readouterr().err.splitlines()
    assert written and all(line.startswith("{") for line in written)  # JSON only: no plain-text copy
    [line] = [json.loads(line) for line in written if json.loads(line)["level"] == "error"]
    assert line["request_id"] == "trace-503"
    assert (line["method"], line["path"], line["caller"]) == ("POST", "/v1/decisions", "env-app-1")
    assert "LogUnavailable" in line["message"] and line["logger"] == "transfer_gate"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"])


def test_the_formatter_writes_one_line_with_an_exception_and_no_request_outside_one():
    try:
        raise ValueError("bad\nthing")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed: %s", ("it",), exc_info=True)
        import sys
        record.exc_info = sys.exc_info()
    text = JsonFormatter().format(record)
    assert "\n" not in text
    line = json.loads(text)
    assert line["message"] == "failed: it" and line["level"] == "error" and "ValueError" in line["exception"]
    assert "request_id" not in line


def test_a_cli_run_stores_one_id_for_all_its_decisions(db):
    lines = "\n".join(json.dumps(with_(destination=d)) for d in ["US", "DE", "SG"])
    assert run(["decide"], lines).exit_code == 0
    ids = {e["request_id"] for e in log_entries(db)}
    assert len(ids) == 1 and re.fullmatch(r"cli-[0-9a-f]{32}", ids.pop())


def test_the_app_logs_through_one_json_handler_only(make_app, tmp_path, monkeypatch):
    # As under gunicorn, nothing above the app's logger handles records (pytest's own capture
    # would otherwise keep Flask from adding its plain-text handler at all).
    monkeypatch.setattr(logging.root, "handlers", [])
    app = make_app(f"sqlite:///{tmp_path / 'log.sqlite3'}")
    handlers = app.logger.handlers
    assert default_handler not in handlers
    assert [type(h.formatter) for h in handlers] == [JsonFormatter]
