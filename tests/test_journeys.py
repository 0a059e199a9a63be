"""Journeys (contract §8): each onward leg decided under the regime of the country it leaves, one log entry.

The partner regimes here are the stand-ins of tests/partner_rules.py (EEA and UK destinations
are not a transfer, Japan is adequate, a contract is a safeguard, anything else is denied), so
these tests check how legs are split, decided, combined, logged and replayed, not the law.
"""

import json

import pytest

from tests.test_api import logged
from transfer_gate import journeys, service
from transfer_gate.errors import RequestInvalid

PROCESSOR = {"name": "Acme Cloud Inc.", "relationship": "outsourcee", "safeguards": ["contract_measures"]}

# A German subsidiary's HR data to its Tokyo parent, which has a US processor host it.
EU_JP_US = {
    "origin": "DE", "destination": "JP", "data_categories": ["personal_data"],
    "recipient": {"name": "Parent KK", "relationship": "third_party"},
    "onward": [{"destination": "US", "recipient": PROCESSOR}],
    "as_of": "2026-11-27", "reference": "hr-sync-7",
}


def journey(**changes):
    body = json.loads(json.dumps(EU_JP_US))
    body.update(changes)
    return body


def post(client, body, status=200):
    resp = client.post("/v1/decisions", json=body)
    assert resp.status_code == status, resp.get_json()
    return resp.get_json()


def test_each_leg_is_decided_under_the_regime_of_the_country_it_leaves(partner_client):
    body = post(partner_client, EU_JP_US)
    legs = body["legs"]
    assert [(leg["leg"], leg["origin"], leg["destination"], leg["regime"]) for leg in legs] == [
        (0, "DE", "JP", "GDPR"), (1, "JP", "US", "APPI")]
    assert [(leg["outcome"], leg["route"]) for leg in legs] == [("allow", "adequacy"),
                                                                ("conditional", "equivalent_measures")]
    assert legs[0]["ruleset"]["name"] == "gdpr" and legs[1]["ruleset"]["name"] == "appi"
    assert legs[1]["country_profile"]["code"] == "US"


def test_a_leg_out_of_japan_after_a_leg_out_of_the_eea_meets_the_supplementary_rules(partner_client):
    body = post(partner_client, EU_JP_US)
    assert [leg["data_origin"] for leg in body["legs"]] == [None, "EU"]
    assert "appi.sr4.contract-covers-sr" in {t["rule"] for t in body["legs"][1]["trace"]}
    uk = post(partner_client, journey(origin="GB"))
    assert [leg["regime"] for leg in uk["legs"]] == ["UK_GDPR", "APPI"]
    assert [leg["data_origin"] for leg in uk["legs"]] == [None, "UK"]


def test_the_same_request_from_japan_without_eu_origin_does_not_meet_them(partner_client):
    alone = post(partner_client, {"origin": "JP", "destination": "US", "data_categories": ["personal_data"],
                                  "recipient": PROCESSOR, "as_of": "2026-11-27"})
    assert "appi.sr4.contract-covers-sr" not in {t["rule"] for t in alone["trace"]}


def test_the_most_restrictive_leg_decides_and_the_top_level_is_the_journeys(partner_client):
    body = post(partner_client, EU_JP_US)
    assert body["outcome"] == "conditional" and body["decided_by_leg"] == 1
    assert body["route"] == "equivalent_measures" and body["regime"] == "GDPR"  # regime: the top-level transfer's
    leg_conditions = {c["id"] for leg in body["legs"] for c in leg["conditions"]}
    assert {c["id"] for c in body["conditions"]} == leg_conditions and "appi.28-3.periodic-check" in leg_conditions
    refs = [c["ref"] for c in body["citations"]]
    assert len(refs) == len(set(refs))
    assert set(refs) == {c["ref"] for leg in body["legs"] for c in leg["citations"]}
    assert body["trace"] == body["legs"][0]["trace"] + body["legs"][1]["trace"]
    assert body["paths"] == body["legs"][1]["paths"] and body["decided_by"] == body["legs"][1]["decided_by"]
    assert body["ruleset"] == body["legs"][0]["ruleset"] and body["country_profile"]["code"] == "JP"


def test_a_denied_leg_denies_the_journey_with_that_legs_remedies_and_reasons(partner_client):
    body = post(partner_client, journey(onward=[{"destination": "CN"}]))
    assert [leg["outcome"] for leg in body["legs"]] == ["allow", "deny"]
    assert body["outcome"] == "deny" and body["route"] == "none" and body["decided_by_leg"] == 1
    assert body["conditions"] == [] and body["records"]["required"] is False
    assert body["remedies"] and [(r["id"], r["text"]) for r in body["remedies"]] == [
        (r["id"], r["text"]) for r in body["legs"][1]["remedies"]]
    assert body["deny_reasons"] and {r["leg"] for r in body["deny_reasons"]} == {1}
    assert [r["text"] for r in body["deny_reasons"]] == [r["text"] for r in body["legs"][1]["deny_reasons"]]


def test_among_denied_legs_the_first_decides(partner_client):
    body = post(partner_client, {"origin": "JP", "destination": "DE", "data_categories": ["personal_data"],
                                 "onward": [{"destination": "US"}], "as_of": "2026-11-27"})
    assert [leg["outcome"] for leg in body["legs"]] == ["deny", "deny"]
    assert body["decided_by_leg"] == 0
    ids = {r["id"] for r in body["remedies"]}
    assert ids == {r["id"] for leg in body["legs"] for r in leg["remedies"]}


def test_a_three_leg_journey_is_decided_leg_by_leg(partner_client):
    body = post(partner_client, {"origin": "FR", "destination": "JP", "data_categories": ["personal_data"],
                                 "onward": [{"destination": "DE", "recipient": PROCESSOR}, {"destination": "US"}],
                                 "as_of": "2026-11-27"})
    assert [(leg["regime"], leg["outcome"]) for leg in body["legs"]] == [
        ("GDPR", "allow"), ("APPI", "conditional"), ("GDPR", "deny")]
    assert body["outcome"] == "deny" and body["decided_by_leg"] == 2


def test_a_journey_is_one_log_entry_holding_every_leg(partner_client, partner_app):
    body = post(partner_client, EU_JP_US)
    [entry] = logged(partner_app)
    assert entry["decision_id"] == body["decision_id"] and entry["response"] == body
    assert entry["request"]["onward"][0]["destination"] == "US"
    assert entry["request"]["onward"][0]["recipient"]["role"] == "processor"
    assert entry["ruleset_name"] == "gdpr" and entry["destination"] == "JP"
    assert entry["outcome"] == "conditional" and entry["route"] == "equivalent_measures"
    assert [leg["outcome"] for leg in entry["response"]["legs"]] == ["allow", "conditional"]


def test_a_batch_logs_one_entry_per_journey(partner_client, partner_app):
    resp = partner_client.post("/v1/decisions/batch", json={"requests": [EU_JP_US, journey(onward=[])]})
    out = resp.get_json()["decisions"]
    assert "legs" in out[0] and "legs" not in out[1]
    assert [e["decision_id"] for e in logged(partner_app)] == [d["decision_id"] for d in out]


def test_a_request_without_onward_legs_answers_as_in_v1(partner_client):
    body = post(partner_client, journey(onward=[]))
    assert "legs" not in body and "decided_by_leg" not in body


INVALID = [
    ("bad leg destination", journey(onward=[{"destination": "XX"}]), ["onward[0].destination"]),
    ("missing leg destination", journey(onward=[{}]), ["onward[0].destination"]),
    ("unknown safeguard in the second leg",
     journey(onward=[{"destination": "FR"}, {"destination": "US", "recipient": {"safeguards": ["scc", "iso"]}}]),
     ["onward[1].recipient.safeguards[1]"]),
    ("unknown field in a leg", journey(onward=[{"destination": "US", "origin": "JP"}]), ["onward[0].origin"]),
    ("a leg out of a country with no regime",
     journey(onward=[{"destination": "US", "recipient": PROCESSOR}, {"destination": "CA"}]), ["onward[1].destination"]),
    ("a leg after an unidentified destination", journey(destination="unknown", onward=[{"destination": "US"}]),
     ["onward[0].destination"]),
    ("a leg after an unidentified leg destination",
     journey(onward=[{"destination": "unknown"}, {"destination": "US"}]), ["onward[1].destination"]),
    ("a leg that stays in the country", journey(onward=[{"destination": "JP"}]), ["onward[0].destination"]),
    ("not a list", journey(onward={"destination": "US"}), ["onward"]),
    ("too many legs", journey(onward=[{"destination": d} for d in ["FR", "JP"] * 6]), ["onward"]),
]


@pytest.mark.parametrize("name,body,fields", INVALID, ids=[i[0] for i in INVALID])
def test_an_invalid_leg_is_a_422_naming_the_leg_and_nothing_is_logged(partner_client, partner_app, name, body, fields):
    problem = post(partner_client, body, status=422)
    assert sorted(problem["errors"]) == fields
    assert logged(partner_app) == []


def test_the_leg_error_says_which_country_has_no_regime(partner_client):
    problem = post(partner_client, journey(onward=[{"destination": "US"}, {"destination": "CA"}]), status=422)
    [message] = problem["errors"]["onward[1].destination"]
    assert "US" in message and "onward[0]" in message and "APPI for JP" in message


def test_leg_requests_carry_categories_date_and_the_previous_recipients_role(partner_runtime):
    with pytest.raises(RequestInvalid):  # US has no regime: the second onward leg cannot be split off
        service.validate(partner_runtime, journey(onward=[{"destination": "US"}, {"destination": "FR"}]))
    request = service.validate(partner_runtime, journey(
        data_categories=["personal_data", "special_care.sex_life"], recipient={"relationship": "outsourcee"},
        onward=[{"destination": "FR", "recipient": {"relationship": "third_party"}}, {"destination": "JP"}]))
    legs = service.leg_requests(partner_runtime, request)
    assert [(leg.origin, leg.destination) for leg in legs] == [("DE", "JP"), ("JP", "FR"), ("FR", "JP")]
    assert {leg.data_categories for leg in legs} == {("personal_data", "special_care.sex_life")}
    assert {leg.as_of for leg in legs} == {request.as_of}
    assert [leg.exporter_role for leg in legs] == ["controller", "processor", "controller"]
    assert [leg.data_origin for leg in legs] == [None, "EU", None]
    assert all(leg.onward == () for leg in legs)


def test_combining_is_pure_and_picks_the_first_most_restrictive_leg():
    from types import SimpleNamespace as D

    assert journeys.deciding_leg([D(outcome="allow"), D(outcome="conditional"), D(outcome="conditional")]) == 1
    assert journeys.deciding_leg([D(outcome="conditional"), D(outcome="deny"), D(outcome="deny")]) == 1
    assert journeys.deciding_leg([D(outcome="allow"), D(outcome="allow")]) == 0


def test_masked_recipient_names_are_masked_in_every_leg(tmp_path, partner_runtime, monkeypatch):
    from tests.conftest import API_KEYS, bearer
    from transfer_gate import create_app
    from transfer_gate.service import Runtime

    shared = (partner_runtime.book, partner_runtime.profiles, partner_runtime.matcher)
    monkeypatch.setattr(Runtime, "build", classmethod(lambda cls, r, p, log, clock=None: cls(*shared, log)))
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'm.sqlite3'}", "API_KEYS": API_KEYS,
                      "SECRET_KEY": "test-secret-key-of-at-least-32-chars", "LOG_MASK": "recipient.name",
                      "LOG_MASK_MODE": "redact"})
    app.test_client().post("/v1/decisions", json=EU_JP_US, headers=bearer("app"))
    [entry] = logged(app)
    assert entry["request"]["recipient"]["name"] == "[redacted]"
    assert entry["request"]["onward"][0]["recipient"]["name"] == "[redacted]"
    assert "Acme Cloud" not in json.dumps(entry)


def test_a_journey_is_replayed_leg_by_leg_and_each_changed_leg_reported(partner_client, partner_app, tmp_path):
    import shutil

    from tests.conftest import PROFILES
    from tests.test_replay import undesignate
    from transfer_gate import replay
    from transfer_gate.cli import replay_text

    body = post(partner_client, journey(onward=[{"destination": "FR", "recipient": PROCESSOR}]))
    assert [(leg["regime"], leg["route"]) for leg in body["legs"]] == [("GDPR", "adequacy"),
                                                                       ("APPI", "designated_country")]
    rt = partner_app.extensions["transfer_gate"]
    assert replay.replay(replay.candidate(rt), rt.log.scan()).changes == []

    profiles = tmp_path / "profiles"
    shutil.copytree(PROFILES, profiles)
    undesignate(profiles, "FR")  # the APPI leg out of Japan loses its designated-country route
    report = replay.replay(replay.candidate(rt, profiles_dir=profiles), rt.log.scan())
    [change] = report.changes
    assert change.decision_id == body["decision_id"] and "route" in change.kinds
    [leg] = change.legs
    assert (leg["leg"], leg["origin"], leg["destination"]) == (1, "JP", "FR")
    assert leg["before"]["route"] == "designated_country" and leg["after"]["route"] == "equivalent_measures"
    assert change.to_dict()["legs"][0]["leg"] == 1
    assert any(line.strip().startswith("leg 1 JP → FR: route designated_country → equivalent_measures")
               for line in replay_text(report))


def test_journey_answers_conform_to_the_openapi_document(partner_app, partner_client):
    import schemathesis

    from tests.conftest import bearer

    schema = schemathesis.openapi.from_wsgi("/openapi.json", partner_app)
    decide = schema["/v1/decisions"]["POST"]
    decide.validate_response(partner_client.post("/v1/decisions", json=EU_JP_US))
    decide.validate_response(partner_client.post("/v1/decisions", json=journey(onward=[{"destination": "CN"}])))
    decide.validate_response(partner_client.post("/v1/decisions", json=journey(onward=[{"destination": "XX"}])))
    answer = partner_client.post("/v1/decisions", json=EU_JP_US).get_json()
    schema["/v1/decisions/{decision_id}"]["GET"].validate_response(partner_app.test_client().get(
        f"/v1/decisions/{answer['decision_id']}", headers=bearer("auditor")))
    request = schema.raw_schema["components"]["schemas"]["TransferRequest"]["properties"]
    assert request["onward"]["items"] == {"$ref": "#/components/schemas/Leg"} and request["onward"]["maxItems"] == 10


def searching(app):
    """An auditor's client, and the ids of the logged decisions a query of GET /v1/decisions finds."""
    from tests.conftest import bearer

    auditor = app.test_client()
    auditor.environ_base["HTTP_AUTHORIZATION"] = bearer("auditor")["Authorization"]

    def found(query):
        resp = auditor.get(f"/v1/decisions?{query}")
        assert resp.status_code == 200, resp.get_json()
        return {e["decision_id"] for e in resp.get_json()["decisions"]}

    return auditor, found


def test_the_log_can_be_filtered_by_the_regime_of_the_first_leg(partner_client, partner_app):
    ids = {name: post(partner_client, body)["decision_id"] for name, body in [
        ("eu-journey", EU_JP_US), ("uk-journey", journey(origin="GB")),
        ("jp", {"origin": "JP", "destination": "US", "data_categories": ["personal_data"], "as_of": "2026-11-27"})]}
    auditor, found = searching(partner_app)
    assert found("regime=GDPR") == found("regime=gdpr") == {ids["eu-journey"]}
    assert found("regime=UK_GDPR") == {ids["uk-journey"]}
    assert found("regime=APPI") == {ids["jp"]}  # the APPI leg of a journey does not make it an APPI decision
    assert found("regime=GDPR&outcome=deny") == set()
    resp = auditor.get("/v1/decisions?regime=EU")
    assert resp.status_code == 422 and list(resp.get_json()["errors"]) == ["regime"]


def test_a_case_can_expect_each_legs_answer_and_a_wrong_one_fails(partner_client):
    from transfer_gate import scenarios

    body = post(partner_client, EU_JP_US)
    right = {"decided_by_leg": 1, "legs": [{"regime": "GDPR", "route": "adequacy", "data_origin": None},
                                           {"origin": "JP", "regime": "APPI", "data_origin": "EU",
                                            "conditions": ["appi.28-3.periodic-check"]}]}
    assert scenarios.check(right, body) == []
    wrong = {"decided_by_leg": 0, "legs": [{"regime": "APPI"}, {"data_origin": "UK", "rules": ["appi.nothing"],
                                                                 "legs": []}]}
    problems = scenarios.check(wrong, body)
    assert "decided_by_leg: expected 0, got 1" in problems
    assert "legs[0]: regime: expected 'APPI', got 'GDPR'" in problems
    assert "legs[1]: data_origin: expected 'UK', got 'EU'" in problems
    assert "legs[1]: rule appi.nothing did not fire" in problems
    assert "legs[1]: unknown expectation 'legs'" in problems
    assert scenarios.check({"legs": [{}]}, body) == ["legs: expected 1, got 2"]
    pinned = scenarios.expectation_from(body)
    assert pinned["decided_by_leg"] == 1 and [leg["regime"] for leg in pinned["legs"]] == ["GDPR", "APPI"]
    assert scenarios.check(pinned, body) == []


def test_the_journey_summary_says_leg_by_leg_which_regime_decided_what_and_which_leg_decides(partner_client):
    body = post(partner_client, EU_JP_US)
    assert body["summary"].startswith("Leg by leg: leg 1, Germany → Japan, under the GDPR: allowed (Adequacy); "
                                      "leg 2, Japan → United States, under the APPI: allowed on conditions (")
    assert body["summary"].endswith("Leg 2 decides: the journey may go ahead provided every listed condition of "
                                    "every leg is met.")
    assert body["summary_ja"].startswith("区間ごとの結論：第1区間（ドイツ→日本、GDPR）は可（十分性）、"
                                         "第2区間（日本→アメリカ合衆国、個人情報保護法）は条件付きで可（")
    assert "第2区間が結論を決めます" in body["summary_ja"]
    assert all(leg["summary"] and leg["summary_ja"] for leg in body["legs"])
    assert body["summary"] not in {leg["summary"] for leg in body["legs"]}

    denied = post(partner_client, journey(onward=[{"destination": "CN"}]))
    assert "leg 2, Japan → China, under the APPI: not allowed." in denied["summary"]
    assert "Leg 2 decides: the journey may not go ahead" in denied["summary"]
    assert "第2区間（日本→中国、個人情報保護法）は不可" in denied["summary_ja"]


def test_the_journeys_remedies_name_the_onward_legs_fields(partner_client):
    body = post(partner_client, journey(onward=[{"destination": "FR"}, {"destination": "US"}]))
    assert body["decided_by_leg"] in (1, 2)
    leg = body["legs"][body["decided_by_leg"]]
    prefix = f"onward[{body['decided_by_leg'] - 1}]."
    changes = [c["path"] for r in body["remedies"] for c in r["apply"]]
    assert changes and all(p.startswith(prefix) or p.split(".")[0] not in ("recipient", "basis") for p in changes)
    own = [c["path"] for r in leg["remedies"] for c in r["apply"]]
    assert own and not any(p.startswith("onward[") for p in own)  # a leg's own answer keeps its own paths


def test_a_saved_journey_scenario_re_runs_leg_by_leg_and_exports_as_a_case(partner_client, partner_app):
    from tests.conftest import sign_in
    from tests.test_ui import csrf_token
    from transfer_gate import scenario_library

    body = post(partner_client, EU_JP_US)
    officer = sign_in(partner_app.test_client(), "officer")
    location = f"/decisions/{body['decision_id']}"
    resp = officer.post("/scenarios", data={"csrf_token": csrf_token(officer, location), "decision_id": body["decision_id"],
                                            "name": "EU to JP to US", "expected_outcome": "conditional"})
    assert resp.status_code == 303
    [saved] = partner_app.extensions["scenario_library"].all()
    assert saved["request"]["onward"][0]["destination"] == "US"
    assert [leg["regime"] for leg in saved["expect"]["legs"]] == ["GDPR", "APPI"]
    [result] = scenario_library.rerun(partner_app.extensions["transfer_gate"], partner_app.extensions["scenario_library"])
    assert result.passed, result.failures
    case = scenario_library.as_case(saved)
    assert case["request"]["onward"] == [{"destination": "US", "recipient": {
        "name": "Acme Cloud Inc.", "relationship": "outsourcee", "safeguards": ["contract_measures"]}}]


def test_the_log_finds_a_journey_by_any_legs_destination(partner_client, partner_app):
    three_legs = {"origin": "FR", "destination": "JP", "data_categories": ["personal_data"],
                  "onward": [{"destination": "DE", "recipient": PROCESSOR}, {"destination": "US"}], "as_of": "2026-11-27"}
    ids = {name: post(partner_client, body)["decision_id"] for name, body in [
        ("eu-jp-us", EU_JP_US), ("fr-jp-de-us", three_legs),
        ("jp-us", {"origin": "JP", "destination": "US", "data_categories": ["personal_data"], "as_of": "2026-11-27"}),
        ("de-jp", journey(onward=[]))]}
    auditor, found = searching(partner_app)
    assert found("destination=US") == {ids["eu-jp-us"], ids["fr-jp-de-us"], ids["jp-us"]}
    assert found("destination=DE") == {ids["fr-jp-de-us"]}  # a leg's destination, not the journey's origin
    assert found("destination=JP") == {ids["eu-jp-us"], ids["fr-jp-de-us"], ids["de-jp"]}
    assert found("destination=US&regime=APPI") == {ids["jp-us"]}
    assert found("destination=CN") == set()
    resp = auditor.get("/v1/decisions?destination=%25")
    assert resp.status_code == 422 and list(resp.get_json()["errors"]) == ["destination"]
    log = partner_app.extensions["transfer_gate"].log
    assert {e["decision_id"]: e["onward_destinations"] for e in log.query()} == {
        ids["eu-jp-us"]: ",US,", ids["fr-jp-de-us"]: ",DE,US,", ids["jp-us"]: "", ids["de-jp"]: ""}
    assert log.count(destination="US") == 3 and log.verify().ok

