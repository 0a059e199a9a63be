"""`transfer-gate decide`: one request or JSON Lines in, one decision per line out, logged."""

import json

import pytest
from click.testing import CliRunner

from tests.conftest import API_KEYS, bearer
from tests.test_api import EXAMPLE
from transfer_gate import create_app
from transfer_gate.cli import main


@pytest.fixture
def db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("TRANSFER_GATE_DATABASE_URL", url)
    monkeypatch.setenv("TRANSFER_GATE_API_KEYS", API_KEYS)
    return url


def log_entries(url):
    return create_app({"DATABASE_URL": url}).extensions["transfer_gate"].log.query()


def run(args, stdin):
    return CliRunner().invoke(main, args, input=stdin, catch_exceptions=False)


def test_decide_answers_the_contract_example_and_logs_it_as_cli(db):
    result = run(["decide"], json.dumps(EXAMPLE, indent=2))
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    decision = json.loads(lines[0])
    assert decision["outcome"] == "conditional" and decision["route"] == "equivalent_measures"
    [entry] = log_entries(db)
    assert entry["decision_id"] == decision["decision_id"] and entry["caller"] == "cli"


def test_decide_gives_the_same_answer_as_the_api(db, tmp_path):
    cli = json.loads(run(["decide", "--dry-run"], json.dumps(EXAMPLE)).output)
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'api.sqlite3'}"})
    api = app.test_client().post("/v1/decisions", json=EXAMPLE, headers=bearer("app")).get_json()
    for volatile in ("decision_id", "evaluated_at"):
        cli.pop(volatile), api.pop(volatile)
    assert cli == api


def test_dry_run_does_not_log(db):
    result = run(["decide", "--dry-run"], json.dumps(EXAMPLE))
    assert result.exit_code == 0 and json.loads(result.output)["outcome"] == "conditional"
    assert log_entries(db) == []


def test_json_lines_with_an_invalid_line_exit_2_with_the_problem_in_place(db, tmp_path):
    bad = dict(EXAMPLE, destination="XX")
    path = tmp_path / "requests.jsonl"
    path.write_text("\n".join([json.dumps(EXAMPLE), json.dumps(bad), "{not json", json.dumps(dict(EXAMPLE, destination="DE"))]))
    result = run(["decide", str(path)], None)
    assert result.exit_code == 2
    out = [json.loads(line) for line in result.output.strip().splitlines()]
    assert [o.get("outcome") for o in out] == ["conditional", None, None, "conditional"]
    assert out[1]["status"] == 422 and list(out[1]["errors"]) == ["destination"]
    assert out[2]["status"] == 400
    assert len(log_entries(db)) == 2


def test_decide_answers_a_journey_leg_by_leg_and_logs_it_once(db, tmp_path, monkeypatch):
    from tests.partner_rules import write_partner_rulesets
    from tests.test_journeys import EU_JP_US

    monkeypatch.setenv("TRANSFER_GATE_RULESETS_DIR", str(write_partner_rulesets(tmp_path / "rulesets")))
    bad = dict(EU_JP_US, onward=[{"destination": "US"}, {"destination": "CA"}])
    result = run(["decide"], "\n".join([json.dumps(EU_JP_US), json.dumps(bad)]))
    assert result.exit_code == 2
    decision, problem = [json.loads(line) for line in result.output.strip().splitlines()]
    assert [(leg["origin"], leg["destination"], leg["regime"]) for leg in decision["legs"]] == [
        ("DE", "JP", "GDPR"), ("JP", "US", "APPI")]
    assert decision["decided_by_leg"] == 1 and decision["outcome"] == "conditional"
    assert problem["status"] == 422 and list(problem["errors"]) == ["onward[1].destination"]
    [entry] = log_entries(db)
    assert entry["decision_id"] == decision["decision_id"] and len(entry["response"]["legs"]) == 2
