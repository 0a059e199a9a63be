"""The GDPR and UK GDPR rulesets as a whole: what people read, and the dates the law changed on."""

import re

import pytest

from tests.test_cases import BOOK, answer

PARTNER_CASES = [(rs, c) for name in ("gdpr", "uk_gdpr") for rs in [BOOK.rulesets[name]] for c in rs.cases]
# a field path (recipient.safeguards) or an enum value (transfer_assessment, no_impinging_law)
MACHINE_WORDS = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b|\b(?:recipient|basis|onward)\.[a-z]")


def shown_to_people(result: dict) -> list[str]:
    texts = []
    for c in result["conditions"]:
        texts += [c["text"], c["text_ja"]]
    for p in result["paths"]:
        texts += p["missing"] + p["missing_ja"]
    for r in result["remedies"]:
        texts += [r["text"], r["text_ja"]] + r["missing"] + r["missing_ja"]
    for d in result["deny_reasons"]:
        texts += [d["text"], d["text_ja"]]
    return texts


@pytest.mark.parametrize("ruleset,case", PARTNER_CASES, ids=[f"{rs.name}:{c.name}" for rs, c in PARTNER_CASES])
def test_partner_answers_name_no_field_paths_or_enum_values(runtime, ruleset, case):
    offending = [t for t in shown_to_people(answer(runtime, case.request)) if MACHINE_WORDS.search(t)]
    assert offending == []


def test_the_partner_rulesets_cover_the_thirty_eea_states_and_gb():
    assert len(BOOK.rulesets["gdpr"].origins) == 30 and BOOK.rulesets["gdpr"].regime == "GDPR"
    assert BOOK.rulesets["uk_gdpr"].origins == ("GB",) and BOOK.rulesets["uk_gdpr"].regime == "UK_GDPR"
    assert [r.id for r in BOOK.rulesets["gdpr"].routes] == [
        "not_personal_data", "not_a_transfer", "adequacy", "appropriate_safeguards", "derogation"]
    assert [r.id for r in BOOK.rulesets["uk_gdpr"].routes] == [
        "not_personal_data", "adequacy", "appropriate_safeguards", "derogation"]


@pytest.mark.parametrize("as_of,cited,not_cited", [
    ("2026-02-04", {"UK GDPR 45(1)", "DPA 2018 17A", "UK GDPR 44"}, {"UK GDPR 45A", "UK GDPR 44A"}),
    ("2026-02-05", {"UK GDPR 45A", "UK GDPR 44A"}, {"UK GDPR 45(1)", "DPA 2018 17A", "UK GDPR 44"}),
])
def test_uk_adequacy_answers_cite_the_articles_in_force_on_their_date(runtime, as_of, cited, not_cited):
    for destination, safeguards in (("FR", []), ("US", ["dpf"]), ("JP", []), ("CA", []), ("KR", [])):
        refs = {c["ref"] for c in answer(runtime, {
            "origin": "GB", "destination": destination, "data_categories": ["personal_data"],
            "recipient": {"safeguards": safeguards}, "as_of": as_of})["citations"]}
        assert cited <= refs and not (not_cited & refs), destination


@pytest.mark.parametrize("assessment,outcome", [
    ("no_impinging_law", "conditional"), ("supplementary_measures", "conditional"),
    ("not_done", "deny"), ("cannot_protect", "deny"),
])
@pytest.mark.parametrize("origin,safeguards", [("DE", ["scc"]), ("DE", ["bcr"]), ("GB", ["idta"]),
                                               ("GB", ["scc", "uk_addendum"])])
def test_every_transfer_tool_rests_on_the_assessment(runtime, origin, safeguards, assessment, outcome):
    result = answer(runtime, {"origin": origin, "destination": "IN", "data_categories": ["personal_data"],
                              "recipient": {"safeguards": safeguards, "transfer_assessment": assessment},
                              "as_of": "2026-11-27"})
    assert result["outcome"] == outcome
    assert result["route"] == ("appropriate_safeguards" if outcome == "conditional" else "none")


def test_the_same_request_from_japan_is_answered_as_v1(runtime):
    request = {"origin": "JP", "destination": "US", "data_categories": ["personal_data"],
               "recipient": {"relationship": "outsourcee", "safeguards": ["contract_measures"]}, "as_of": "2026-11-27"}
    result = answer(runtime, request)
    assert (result["regime"], result["route"], result["outcome"]) == ("APPI", "equivalent_measures", "conditional")
    assert not any(c["ref"].startswith(("GDPR", "UK GDPR")) for c in result["citations"])


def test_a_v1_request_builds_the_partner_facts_at_their_defaults(runtime):
    from transfer_gate import service
    from transfer_gate.facts import FACTS, base_facts

    req = service.validate(runtime, {"origin": "JP", "destination": "US", "data_categories": ["personal_data"],
                                     "recipient": {"relationship": "outsourcee"}, "as_of": "2026-11-27"})
    facts = base_facts(req, runtime.profiles.get("US", req.as_of))
    assert set(facts) == set(FACTS) - {"kind"}
    assert {k: facts[k] for k in ("exporter_role", "recipient_role", "transfer_assessment", "derogation", "occasional",
                                  "destination_eea", "eu_adequacy", "eu_adequacy_scope", "safeguard_scc")} == {
        "exporter_role": "controller", "recipient_role": "processor", "transfer_assessment": "not_done",
        "derogation": "none", "occasional": False, "destination_eea": False, "eu_adequacy": "scoped",
        "eu_adequacy_scope": "dpf_certified", "safeguard_scc": False}
    assert all(facts[k] in FACTS[k] for k in facts)


def test_an_unknown_destination_has_no_adequacy_and_is_not_in_the_eea(runtime):
    from transfer_gate import service
    from transfer_gate.facts import base_facts

    req = service.validate(runtime, {"origin": "DE", "destination": "unknown", "data_categories": ["personal_data"],
                                     "as_of": "2026-11-27"})
    facts = base_facts(req, None)
    assert (facts["destination_eea"], facts["eu_adequacy"], facts["uk_adequacy"]) == (False, "none", "none")


def test_the_country_endpoint_shows_both_adequacy_statuses(client):
    body = client.get("/v1/countries/US?as_of=2026-11-27").get_json()
    assert body["eu_adequacy"]["status"] == "scoped" and body["eu_adequacy"]["scope"] == "dpf_certified"
    assert body["uk_adequacy"]["since"] == "2023-10-12"
    assert client.get("/v1/countries/US?as_of=2023-07-09").get_json()["eu_adequacy"]["status"] == "none"


@pytest.mark.parametrize("code, as_of, eea", [("FR", "2026-11-27", True), ("NO", "2026-11-27", True),
                                               ("GB", "2026-11-27", False), ("US", "2026-11-27", False),
                                               ("HR", "2013-06-30", False), ("HR", "2014-04-12", True)])
def test_the_country_endpoint_says_whether_the_country_is_in_the_eea(client, code, as_of, eea):
    body = client.get(f"/v1/countries/{code}?as_of={as_of}").get_json()
    assert body["eea"] is eea


def test_the_gdpr_origins_are_the_eea_group_and_none_holds_eu_adequacy(runtime):
    from transfer_gate.profiles import load_yaml
    from tests.conftest import PROFILES

    eea = {m["code"] for m in load_yaml(PROFILES / "groups" / "eea.yaml")["members"]}
    assert set(BOOK.rulesets["gdpr"].origins) == eea
    eu = {m["code"] for m in load_yaml(PROFILES / "groups" / "eu_adequacy.yaml")["members"]}
    uk = {m["code"] for m in load_yaml(PROFILES / "groups" / "uk_adequacy.yaml")["members"]}
    assert not eu & eea and eea <= uk and "GB" in eu and "GB" not in uk
