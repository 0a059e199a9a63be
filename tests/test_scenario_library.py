"""The scenario library: save from an answer, re-run against changed rules, export as a permanent case."""

import re
import shutil
from datetime import date

import pytest
import yaml

from transfer_gate import create_app, scenario_library, scenarios, service
from transfer_gate.rules import load_rulebook
from transfer_gate.web.translations import LABELS
from tests.conftest import API_KEYS, PROFILES, RULESETS, sign_in


@pytest.fixture
def client(officer):
    """The officer pages are used signed in."""
    return officer
from tests.test_ui import csrf_token, decide, text_of


def save(client, location, name, expected):
    decision_id = location.rsplit("/", 1)[1]
    return client.post("/scenarios", data={"csrf_token": csrf_token(client, location), "decision_id": decision_id,
                                           "name": name, "expected_outcome": expected})


def library(app) -> scenario_library.ScenarioLibrary:
    return app.extensions["scenario_library"]


def test_saving_the_answer_it_got_pins_that_answer(client, app):
    location = decide(client).headers["Location"]
    resp = save(client, location, "medical records to a US processor", "conditional")
    assert resp.status_code == 303 and resp.headers["Location"] == "/scenarios"
    [saved] = library(app).all()
    entry = app.extensions["transfer_gate"].log.get(location.rsplit("/", 1)[1])
    assert saved["request"] == entry["request"]
    assert saved["expect"] == scenarios.expectation_from(entry["response"])
    assert saved["expect"]["conditions"] and "APPI 28(3)" in saved["expect"]["citations"]
    assert saved["decision_id"] == entry["decision_id"] and saved["saved_by"] == "env-officer-1"
    page = text_of(client.get("/scenarios"))
    assert "Saved “medical records to a US processor” to the scenario library." in page
    assert "medical records to a US processor" in page


def test_expecting_another_outcome_pins_only_that_outcome_and_fails_until_the_rules_give_it(client, app):
    location = decide(client).headers["Location"]
    save(client, location, "we think this must be denied", "deny")
    assert library(app).all()[0]["expect"] == {"outcome": "deny"}
    text = text_of(client.get("/scenarios/run"))
    assert "0 passed, 1 failed" in text
    assert "Expected “Not allowed”; the answer now is “Allowed on conditions”." in text


def test_saving_needs_a_name_and_an_outcome(client, app):
    location = decide(client).headers["Location"]
    resp = save(client, location, "  ", "maybe")
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert 'id="name-error"' in html and "Give the scenario a name." in html
    assert 'id="expected_outcome-error"' in html
    assert library(app).all() == []
    resp = client.post("/scenarios", data={"csrf_token": csrf_token(client), "decision_id": "01ZZZZZZZZZZZZZZZZZZZZZZZZ",
                                           "name": "x", "expected_outcome": "allow"})
    assert resp.status_code == 404


def test_saving_without_a_csrf_token_is_refused(client, app):
    location = decide(client).headers["Location"]
    resp = client.post("/scenarios", data={"decision_id": location.rsplit("/", 1)[1], "name": "x",
                                           "expected_outcome": "conditional"})
    assert resp.status_code == 400
    assert library(app).all() == []


def test_a_rerun_passes_when_the_rules_have_not_changed(client, app):
    for changes, name in (({}, "contract"), ({"destination": "DE", "recipient.safeguards": []}, "Germany")):
        location = decide(client, **changes).headers["Location"]
        save(client, location, name, _outcome(app, location))
    before = len(app.extensions["transfer_gate"].log.query())
    text = text_of(client.get("/scenarios/run"))
    assert "2 passed, 0 failed" in text
    assert text.count("Nothing changed.") == 2
    assert len(app.extensions["transfer_gate"].log.query()) == before  # re-runs are not logged decisions


def _outcome(app, location):
    return app.extensions["transfer_gate"].log.get(location.rsplit("/", 1)[1])["response"]["outcome"]


def rules_without_the_yearly_check(tmp_path):
    """A copy of the shipped rules in which the APPI 28(3) yearly check is no longer a condition."""
    copy = tmp_path / "rulesets"
    shutil.copytree(RULESETS, copy)
    path = copy / "appi" / "rules" / "40-recipient-system.yaml"
    rules = yaml.safe_load(path.read_text())
    for rule in rules:
        conditions = (rule.get("then") or {}).get("conditions") or []
        rule["then"]["conditions"] = [c for c in conditions if c["id"] != "appi.28-3.periodic-check"] if conditions else conditions
        if not rule["then"]["conditions"]:
            rule["then"].pop("conditions")
    path.write_text(yaml.safe_dump(rules, allow_unicode=True, sort_keys=False))
    return copy


def test_a_rerun_under_changed_rules_fails_and_says_what_changed(tmp_path):
    db = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    secret = "s" * 40
    before = create_app({"TESTING": True, "DATABASE_URL": db, "SECRET_KEY": secret, "API_KEYS": API_KEYS})
    client = sign_in(before.test_client(), "officer")
    location = decide(client).headers["Location"]
    save(client, location, "medical records to a US processor", "conditional")

    after = create_app({"TESTING": True, "DATABASE_URL": db, "SECRET_KEY": secret, "API_KEYS": API_KEYS,
                        "RULESETS_DIR": str(rules_without_the_yearly_check(tmp_path)), "PROFILES_DIR": str(PROFILES)})
    [result] = scenario_library.rerun(after.extensions["transfer_gate"], library(after))
    assert not result.passed
    assert any("condition appi.28-3.periodic-check missing" in f for f in result.failures)
    assert {"field": "conditions", "added": [], "removed": ["appi.28-3.periodic-check"]} in result.changes

    text = text_of(sign_in(after.test_client(), "officer").get("/scenarios/run"))
    assert "0 passed, 1 failed" in text
    # in words: the condition's own text, never its id
    assert "This condition no longer applies: Check at least once a year how the recipient implements" in text
    assert "Conditions Removed: Check at least once a year how the recipient implements" in text
    assert "appi.28-3" not in text


def test_a_saved_request_the_current_rules_reject_is_reported_not_crashed(app):
    lib = library(app)
    bad = dict(service.validate(app.extensions["transfer_gate"], {"origin": "JP", "destination": "US",
                                                                   "data_categories": ["personal_data"]}).to_dict())
    bad["data_categories"] = ["personal_data.retired_key"]
    lib.save(name="old taxonomy", request=bad, expect={"outcome": "deny"}, answer={"outcome": "deny"},
             decision_id=None, saved_by="test", saved_at="2026-01-01T00:00:00Z")
    [result] = scenario_library.rerun(app.extensions["transfer_gate"], lib)
    assert not result.passed and "data_categories[0]" in result.errors
    resp = sign_in(app.test_client(), "officer").get("/scenarios/run")
    assert resp.status_code == 200 and "The saved request is no longer valid" in text_of(resp)


def test_every_kind_of_change_has_a_label():
    before = {"outcome": "allow", "route": "exception", "decided_by": "personal_data",
              "records": {"required": False, "retention": None}, "conditions": [{"id": "a"}],
              "remedies": [{"id": "r"}], "citations": [{"ref": "APPI 25"}],
              "paths": [{"route": "exception", "status": "satisfied"}]}
    after = {"outcome": "deny", "route": "none", "decided_by": "special_care",
             "records": {"required": True, "retention": "P3Y"}, "conditions": [], "remedies": [],
             "citations": [{"ref": "APPI 28(1)"}], "paths": [{"route": "exception", "status": "unsatisfied"}]}
    found = scenario_library.changes(before, after)
    assert {c["field"] for c in found} == {"outcome", "route", "decided_by", "records", "conditions", "remedies",
                                           "citations", "paths"}
    assert [c["field"] for c in found if c["field"] not in LABELS["change"]] == []
    assert scenario_library.changes(before, before) == []


def test_a_scenario_can_be_deleted(client, app):
    save(client, decide(client).headers["Location"], "temporary", "conditional")
    [saved] = library(app).all()
    token = csrf_token(client, "/scenarios")
    assert client.post(f"/scenarios/{saved['id']}/delete").status_code == 400  # no token
    resp = client.post(f"/scenarios/{saved['id']}/delete", data={"csrf_token": token})
    assert resp.status_code == 303 and library(app).all() == []
    assert client.post(f"/scenarios/{saved['id']}/delete", data={"csrf_token": token}).status_code == 404


def test_the_form_opens_a_saved_scenario(client, app):
    save(client, decide(client, destination="DE").headers["Location"], "to Germany", "conditional")
    [saved] = library(app).all()
    html = client.get(f"/?scenario={saved['id']}").get_data(as_text=True)
    assert "Prefilled from saved scenario “to Germany”." in html
    assert 'value="Germany · ドイツ (DE)"' in html
    assert client.get("/?scenario=999").status_code == 404


# --------------------------------------------------------------------------- export


def load_exported_cases(tmp_path, exported: str):
    """Paste an export into a copy of the rulesets, as a privacy officer's colleague would, and load it."""
    copy = tmp_path / "pasted-rulesets"
    shutil.copytree(RULESETS, copy)
    (copy / "appi" / "cases" / "zz-from-the-library.yaml").write_text(exported, encoding="utf-8")
    book = load_rulebook(copy)
    return [c for c in book.rulesets["appi"].cases if c.file.endswith("zz-from-the-library.yaml")]


@pytest.mark.parametrize("changes,expected", [
    ({}, "conditional"),
    ({"destination": "NO", "recipient.safeguards": []}, "conditional"),  # 'NO' must stay Norway in YAML
    ({"recipient.safeguards": [], "data_categories": ["personal_data", "anonymized"]}, "deny"),
    ({"destination": "unknown", "basis.consent": "informed", "recipient.safeguards": []}, None),
])
def test_an_exported_scenario_loads_with_the_rules_loader_and_passes_as_a_case(client, app, runtime, tmp_path,
                                                                             changes, expected):
    location = decide(client, **changes).headers["Location"]
    expected = expected or _outcome(app, location)
    save(client, location, "exported scenario", expected)
    resp = client.get("/scenarios/export.yaml")
    assert resp.status_code == 200 and resp.mimetype == "application/yaml"
    assert "attachment" in resp.headers["Content-Disposition"]
    exported = resp.get_data(as_text=True)
    assert exported.startswith("# Exported from the transfer-gate scenario library")

    [case] = load_exported_cases(tmp_path, exported)
    assert case.name == "exported scenario"
    assert "as_of" in case.request  # cases pin their date (tests/test_cases.py checks this of every case)
    saved = library(app).all()[0]
    assert service.validate(runtime, case.request).to_dict() == saved["request"]
    # checked exactly as tests/test_cases.py checks every case beside the rules
    answer = service.evaluate(runtime, service.validate(runtime, case.request)).to_dict()
    assert scenarios.check(case.expect, answer) == []


def test_export_drops_what_the_contract_defaults(client, app):
    save(client, decide(client).headers["Location"], "compact", "conditional")
    [scenario] = library(app).all()
    case = scenario_library.as_case(scenario)
    assert case["request"] == {
        "origin": "JP", "destination": "US", "data_categories": ["personal_data", "special_care.medical_history"],
        "recipient": {"name": "Acme Cloud Inc.", "relationship": "outsourcee", "safeguards": ["contract_measures"]},
        "as_of": "2026-11-27", "reference": "crm-export-4711",
    }
    assert re.match(r"scenario library #\d+, saved \d{4}-\d\d-\d\d by env-officer-1 from decision \w{26}$", case["source"])


def test_one_scenario_can_be_exported_alone(client, app, tmp_path):
    save(client, decide(client).headers["Location"], "first", "conditional")
    save(client, decide(client, destination="DE").headers["Location"], "second", "conditional")
    second = library(app).all()[1]
    exported = client.get(f"/scenarios/{second['id']}/export.yaml").get_data(as_text=True)
    assert [c.name for c in load_exported_cases(tmp_path, exported)] == ["second"]
    assert client.get("/scenarios/999/export.yaml").status_code == 404


def test_an_empty_library_exports_an_empty_case_file(tmp_path):
    exported = scenario_library.export_yaml([], date(2026, 11, 27))
    assert load_exported_cases(tmp_path, exported) == []


def test_the_library_table_is_created_beside_the_log(app):
    import sqlalchemy as sa

    engine = app.extensions["transfer_gate"].log.engine
    assert {"decision_log", "saved_scenarios"} <= set(sa.inspect(engine).get_table_names())
