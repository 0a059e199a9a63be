"""Replay: logged requests re-evaluated under the current or a candidate set of rules and profiles."""

import json
import shutil
from datetime import datetime, timezone

import pytest
import yaml
from click.testing import CliRunner

from tests.conftest import PROFILES, RULESETS
from tests.test_api import EXAMPLE, with_
from transfer_gate import replay, service
from transfer_gate.cli import main
from transfer_gate.profiles import load_yaml

# Plain consent to a third party: enough in a designated country, a deny anywhere else.
PLAIN_CONSENT_DE = with_(destination="DE", recipient__relationship="third_party", recipient__safeguards=[],
                         basis__consent="plain", data_categories=["personal_data"], reference="de-plain")
# An outsourcee with contract measures: designated_country in DE, equivalent_measures otherwise.
OUTSOURCED_DE = with_(destination="DE", reference="de-outsourced")
UNCHANGED = [EXAMPLE, with_(destination="FR"), with_(destination="CN", reference="cn")]


def undesignate(profiles_dir, code):
    """Write a candidate profile directory in which `code` is no longer designated under PPC Rules 15."""
    path = profiles_dir / f"{code}.yaml"
    profile = load_yaml(path)
    profile["designated"] = {"value": False, "since": None, "instrument": None}
    path.write_text(yaml.safe_dump(profile, allow_unicode=True, sort_keys=False))
    group_path = profiles_dir / "groups" / "ppc_designated.yaml"
    group = load_yaml(group_path)
    group["members"] = [m for m in group["members"] if m["code"] != code]
    group_path.write_text(yaml.safe_dump(group, allow_unicode=True, sort_keys=False))


@pytest.fixture
def candidate_profiles(tmp_path):
    directory = tmp_path / "candidate-profiles"
    shutil.copytree(PROFILES, directory)
    undesignate(directory, "DE")
    return directory


@pytest.fixture
def logged(store_app):
    rt = store_app.extensions["transfer_gate"]
    days = ["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04", "2026-11-05"]
    ids = {}
    for day, body in zip(days, [PLAIN_CONSENT_DE, OUTSOURCED_DE, *UNCHANGED]):
        moment = datetime.fromisoformat(day + "T10:00:00").replace(tzinfo=timezone.utc)
        rt.clock = lambda moment=moment: moment
        ids[body["reference"] or body["destination"]] = service.decide(rt, body, caller="app-1", role="app")["decision_id"]
    return ids


def replay_cli(monkeypatch, url, *args):
    monkeypatch.setenv("TRANSFER_GATE_DATABASE_URL", url)
    result = CliRunner().invoke(main, ["replay", *args], catch_exceptions=False)
    return result


def test_replay_under_the_current_rules_finds_no_change(store_app, store_url, logged, monkeypatch):
    result = replay_cli(monkeypatch, store_url, "--json")
    assert result.exit_code == 0
    report = json.loads(result.output)
    assert report["examined"] == 5 and report["changed"] == 0 and report["changes"] == []
    assert report["under"]["profiles"] == store_app.extensions["transfer_gate"].profiles.digest


def test_replay_reports_the_flips_when_a_country_loses_its_designation(store_url, logged, monkeypatch,
                                                                       candidate_profiles):
    result = replay_cli(monkeypatch, store_url, "--profiles", str(candidate_profiles), "--json")
    assert result.exit_code == 0
    report = json.loads(result.output)
    assert report["examined"] == 5 and report["changed"] == 2
    assert report["counts"] == {"outcome": 1, "route": 2, "conditions": 1, "undecidable": 0}
    assert report["transitions"] == {"conditional → deny": 1,
                                     "route designated_country → equivalent_measures": 1,
                                     "route designated_country → none": 1}
    flips = {c["decision_id"]: c for c in report["changes"]}
    plain = flips[logged["de-plain"]]
    assert plain["before"]["outcome"] == "conditional" and plain["after"]["outcome"] == "deny"
    assert plain["changes"] == ["outcome", "route"]
    outsourced = flips[logged["de-outsourced"]]
    assert outsourced["changes"] == ["route", "conditions"]
    assert "appi.28-3.periodic-check" in outsourced["conditions_added"]
    assert report["under"]["profiles"] != json.loads(replay_cli(monkeypatch, store_url, "--json").output)["under"]["profiles"]


def test_replay_prints_each_change_for_a_terminal(store_url, logged, monkeypatch, candidate_profiles):
    result = replay_cli(monkeypatch, store_url, "--profiles", str(candidate_profiles))
    assert result.exit_code == 0
    assert "replayed 5 logged decisions" in result.output
    assert "2 would change: outcome 1, route 2, conditions 1, undecidable 0" in result.output
    line = next(ln for ln in result.output.splitlines() if ln.startswith(logged["de-plain"]))
    assert "outcome conditional → deny" in line and "de-plain" in line


def test_replay_is_limited_to_the_range_asked_for(store_url, logged, monkeypatch, candidate_profiles):
    report = json.loads(replay_cli(monkeypatch, store_url, "--profiles", str(candidate_profiles),
                                   "--from", "2026-11-02", "--to", "2026-11-03", "--json").output)
    assert report["examined"] == 2 and [c["decision_id"] for c in report["changes"]] == [logged["de-outsourced"]]


def rules_without_medical_history(tmp_path):
    """A copy of the rules whose taxonomy no longer knows the category special_care.medical_history."""
    rulesets = tmp_path / "candidate-rulesets"
    shutil.copytree(RULESETS, rulesets)
    taxonomy = rulesets / "taxonomy.yaml"
    data = yaml.safe_load(taxonomy.read_text())
    del data["categories"]["special_care.medical_history"]
    taxonomy.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    return rulesets


def test_a_request_the_candidate_cannot_decide_is_reported_not_skipped(store_url, logged, monkeypatch, tmp_path):
    rulesets = rules_without_medical_history(tmp_path)
    report = json.loads(replay_cli(monkeypatch, store_url, "--rulesets", str(rulesets), "--json").output)
    undecidable = [c for c in report["changes"] if c["changes"] == ["undecidable"]]
    assert report["counts"]["undecidable"] == len(undecidable) == 4  # every request naming medical history
    assert all("data_categories" in c["problem"] for c in undecidable) and undecidable[0]["after"] is None


def test_a_bad_range_or_candidate_is_refused(store_url, logged, monkeypatch, tmp_path):
    result = replay_cli(monkeypatch, store_url, "--from", "last week")
    assert result.exit_code == 2 and "from" in result.output
    broken = tmp_path / "broken-profiles"
    shutil.copytree(PROFILES, broken)
    (broken / "groups" / "oecd.yaml").unlink()
    result = replay_cli(monkeypatch, store_url, "--profiles", str(broken))
    assert result.exit_code == 1 and "the candidate cannot be loaded" in result.output


def test_replay_is_a_service_module_the_cli_and_page_share(runtime, candidate_profiles):
    under = replay.candidate(runtime, profiles_dir=candidate_profiles)
    assert under.book is runtime.book and under.matcher is runtime.matcher and under.log is None
    entry = {"decision_id": "x", "created_at": "2026-11-01T00:00:00.000000Z", "reference": None, "destination": "DE",
             "request": service.validate(runtime, PLAIN_CONSENT_DE).to_dict(),
             "response": service.evaluate(runtime, service.validate(runtime, PLAIN_CONSENT_DE)).to_dict()}
    report = replay.replay(under, [entry])
    assert [c.kinds for c in report.changes] == [("outcome", "route")]
