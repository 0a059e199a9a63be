"""Prometheus metrics at /metrics: in one process, and added up over gunicorn's workers."""

from __future__ import annotations

import json

from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import bearer
from tests.servers import Serve, fetch
from tests.test_api import with_
from transfer_gate.errors import LogUnavailable


def samples(text: str) -> list:
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def value(found: list, name: str, **labels) -> float:
    """Sum of the samples called `name` whose labels include `labels`."""
    return sum(s.value for s in found if s.name == name and labels.items() <= s.labels.items())


def scrape(client) -> list:
    resp = client.get("/metrics")
    assert resp.status_code == 200 and resp.mimetype == "text/plain"
    return samples(resp.get_data(as_text=True))


def test_decisions_are_counted_by_outcome_regime_and_route_and_timed(client):
    bodies = [with_(destination="US"), with_(destination="DE"), with_(destination="US")]
    answers = [client.post("/v1/decisions", json=b).get_json() for b in bodies]
    batch = client.post("/v1/decisions/batch", json={"requests": [with_(destination="SG"), {"origin": 1}]}).get_json()
    found = scrape(client)
    decided = answers + [d for d in batch["decisions"] if "decision_id" in d]
    assert value(found, "transfer_gate_decisions_total") == 4
    for a in decided:
        expected = sum(1 for d in decided if (d["outcome"], d["regime"], d["route"]) == (a["outcome"], a["regime"], a["route"]))
        assert value(found, "transfer_gate_decisions_total", outcome=a["outcome"], regime=a["regime"],
                     route=a["route"] or "none") == expected
    # The second US request found its answer worked out (service.Answers): three engine steps, not four;
    # the invalid item never reached the engine.
    assert value(found, "transfer_gate_engine_seconds_count") == 3
    assert value(found, "transfer_gate_answers_reused_total", result="hit") == 1
    assert value(found, "transfer_gate_answers_reused_total", result="miss") == 3
    # Three commits of one entry, one of the batch's one valid entry.
    assert value(found, "transfer_gate_log_commit_entries_count") == 4
    assert value(found, "transfer_gate_log_commit_entries_sum") == 4
    assert value(found, "transfer_gate_log_commit_seconds_count") == 4
    assert value(found, "transfer_gate_request_seconds_count", endpoint="api.create_decision", method="POST") == 3
    assert value(found, "transfer_gate_http_responses_total", status="200", endpoint="api.create_decision") == 3


def test_group_commit_batch_sizes_are_observed(client):
    client.post("/v1/decisions/batch", json={"requests": [with_(destination=d) for d in ["US", "DE", "CN", "SG", "GB"]]})
    found = scrape(client)
    assert value(found, "transfer_gate_log_commit_entries_sum") == 5
    assert value(found, "transfer_gate_log_commit_entries_bucket", le="4.0") == 0
    assert value(found, "transfer_gate_log_commit_entries_bucket", le="8.0") == 1


def test_503_and_other_5xx_answers_are_counted(app, client, monkeypatch):
    def unavailable(rows):
        raise LogUnavailable("the store is down")

    monkeypatch.setattr(app.extensions["transfer_gate"].log, "append", unavailable)
    assert client.post("/v1/decisions", json=with_()).status_code == 503
    assert client.post("/v1/decisions", json=with_()).status_code == 503
    found = scrape(client)
    assert value(found, "transfer_gate_http_responses_total", status="503") == 2
    assert value(found, "transfer_gate_decisions_total") == 0  # a decision that was not logged is not counted
    assert value(found, "transfer_gate_log_commit_seconds_count") == 0


def test_metrics_are_served_only_to_the_configured_addresses(app, anonymous):
    resp = anonymous.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert resp.status_code == 403 and resp.mimetype == "application/problem+json"
    assert "TRANSFER_GATE_METRICS_ADDRESSES" in resp.get_json()["detail"]
    assert anonymous.get("/metrics").status_code == 200  # from 127.0.0.1, without a key
    app.config["METRICS_ADDRESSES"] = "192.0.2.7"
    assert anonymous.get("/metrics").status_code == 403
    assert anonymous.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 200


def test_metrics_of_all_gunicorn_workers_are_added_up_and_a_new_start_begins_at_zero(tmp_path):
    metrics_dir = tmp_path / "metrics"
    with Serve(tmp_path / "first", "--workers", "2", "--metrics-dir", str(metrics_dir)) as serve:
        answers = []
        for destination in ["US", "DE", "CN", "SG", "GB", "US"] * 3:
            status, _headers, body = fetch(serve.url + "/v1/decisions", method="POST",
                                           body=with_(destination=destination), headers=bearer("app"))
            assert status == 200
            answers.append(json.loads(body))
        # Any worker answers the scrape, with every worker's values.
        scrapes = [fetch(serve.url + "/metrics")[2].decode() for _ in range(4)]
    for text in scrapes:
        found = samples(text)
        assert value(found, "transfer_gate_decisions_total") == len(answers)
        assert value(found, "transfer_gate_decisions_total", outcome=answers[0]["outcome"]) == \
            sum(1 for a in answers if a["outcome"] == answers[0]["outcome"])
        # Each worker runs the engine for the first of each request it sees, and reuses that answer after.
        misses = value(found, "transfer_gate_answers_reused_total", result="miss")
        assert value(found, "transfer_gate_engine_seconds_count") == misses
        assert 5 <= misses <= 10 and misses + value(found, "transfer_gate_answers_reused_total", result="hit") == len(answers)
        assert value(found, "transfer_gate_log_commit_entries_sum") == len(answers)
    assert list(metrics_dir.glob("*.db"))
    with Serve(tmp_path / "second", "--workers", "2", "--metrics-dir", str(metrics_dir)) as serve:
        found = samples(fetch(serve.url + "/metrics")[2].decode())
    assert value(found, "transfer_gate_decisions_total") == 0
