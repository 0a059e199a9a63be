"""The engine's combining rule and what the destination's profile adds to an answer."""

import random

import pytest

from transfer_gate import service
from transfer_gate.errors import EngineFailure


def decide(runtime, **body):
    body = {"origin": "JP", "as_of": "2026-11-27", **body}
    return service.evaluate(runtime, service.validate(runtime, body)).to_dict()


def test_china_informed_consent_tells_the_exporter_about_government_access_and_localization(runtime):
    answer = decide(runtime, destination="CN", data_categories=["personal_data"], basis={"consent": "informed"})
    assert answer["outcome"] == "conditional" and answer["route"] == "informed_consent"
    by_id = {c["id"]: c for c in answer["conditions"]}
    notice = by_id["appi.28-2.information-given"]
    topics = {d["topic"]: d for d in notice["details"]}
    assert {"system", "government_access", "localization"} <= set(topics)
    for topic in ("government_access", "localization"):
        detail = topics[topic]
        assert detail["text"] and detail["text_ja"] and detail["sources"]
        assert all(s.startswith("http") for s in detail["sources"])
    assert "Intelligence" in topics["government_access"]["text"]
    assert "国家情報法" in topics["government_access"]["text_ja"]
    gov = by_id["appi.17-2.government-access"]
    assert "China" in gov["text"] and "中国" in gov["text_ja"]
    assert [d["topic"] for d in gov["details"]] == ["government_access"]
    assert [d["topic"] for d in by_id["appi.17-2.localization"]["details"]] == ["localization"]


def test_a_designated_destination_needs_no_country_notice(runtime):
    answer = decide(runtime, destination="DE", data_categories=["personal_data"], basis={"consent": "informed"})
    assert answer["route"] == "designated_country"
    assert not any(c.get("details") for c in answer["conditions"])


def test_an_uncurated_destination_says_what_must_be_researched_in_both_languages(runtime):
    answer = decide(runtime, destination="BO", data_categories=["personal_data"], basis={"consent": "informed"})
    [research] = [c for c in answer["conditions"] if c["id"] == "appi.profile.research-system"]
    assert "Bolivia" in research["text"] and "government-access" in research["text"]
    assert "ボリビア" in research["text_ja"] and "政府" in research["text_ja"]
    assert answer["country_profile"]["curated"] is False and answer["country_profile"]["stale"] is True


def test_the_designation_follows_as_of(runtime):
    before = decide(runtime, destination="GB", data_categories=["personal_data"], basis={"consent": "plain"},
                    as_of="2018-06-01")
    after = decide(runtime, destination="GB", data_categories=["personal_data"], basis={"consent": "plain"})
    assert before["outcome"] == "deny" and after["route"] == "designated_country"


def test_a_deny_carries_remedies_with_what_is_missing_and_citations_but_no_conditions(runtime):
    answer = decide(runtime, destination="US", data_categories=["personal_data"])
    assert answer["outcome"] == "deny" and answer["route"] == "none" and answer["conditions"] == []
    assert answer["records"]["required"] is False
    routes = {r["route"]: r for r in answer["remedies"]}
    assert {"designated_country", "equivalent_measures", "certified_recipient", "informed_consent"} <= set(routes)
    for remedy in answer["remedies"]:
        assert remedy["citations"] and remedy["text"] and remedy["text_ja"]
    assert routes["informed_consent"]["missing"]
    cited = {c["ref"] for c in answer["citations"]}
    assert {"APPI 28(1)", "PPC Rules 15"} <= cited


def test_conditions_shared_by_several_kinds_are_listed_once_naming_each_kind(runtime):
    answer = decide(runtime, destination="US", data_categories=["personal_data", "special_care.race"],
                    recipient={"relationship": "outsourcee", "safeguards": ["contract_measures"]})
    check = [c for c in answer["conditions"] if c["id"] == "appi.28-3.periodic-check"]
    assert len(check) == 1 and check[0]["data_kinds"] == ["personal_data", "special_care"]
    assert answer["decided_by"] == "special_care"
    assert [k["kind"] for k in answer["data_kinds"]] == ["personal_data", "special_care"]


def test_an_unknown_destination_is_stamped_without_a_profile(runtime):
    answer = decide(runtime, destination="unknown", data_categories=["personal_data"], basis={"consent": "informed"})
    assert answer["country_profile"] == {"code": "unknown", "digest": None, "reviewed": None,
                                         "curated": False, "stale": True}


class SilentMatcher:
    """An engine that sees a fact but answers nothing for it."""

    def match(self, ruleset, facts):
        return []


def test_a_kind_no_rule_speaks_to_fails_closed(runtime):
    request = service.validate(runtime, {"origin": "JP", "destination": "US", "data_categories": ["personal_data"]})
    with pytest.raises(EngineFailure, match="gap"):
        service.evaluate(runtime, request, matcher=SilentMatcher())


def test_sr1_is_cited_by_the_deny_reason_only_when_the_origin_makes_the_data_special_care(runtime):
    eu = decide(runtime, destination="FR", data_categories=["special_care.sexual_orientation"], data_origin="EU",
                basis={"opt_out": True})
    [reason] = eu["deny_reasons"]
    assert "SR (1)" in reason["citations"] and "Sexual orientation counts as special care" in reason["text"]
    assert "性的指向は要配慮個人情報" in reason["text_ja"]
    medical = decide(runtime, destination="FR", data_categories=["special_care.medical_history"], data_origin="EU",
                     basis={"opt_out": True})
    assert all("SR (1)" not in r["citations"] for r in medical["deny_reasons"])


def test_eu_origin_data_without_an_sr4_route_is_denied_citing_sr4(runtime):
    answer = decide(runtime, destination="SG", data_categories=["personal_data"], data_origin="EU", basis={"consent": "plain"})
    assert answer["outcome"] == "deny"
    sr4 = [r for r in answer["deny_reasons"] if r["rule"] == "appi.sr4.onward-needs-route"]
    assert sr4 and "SR (4)" in sr4[0]["citations"]
    assert {"appi.remedy.sr4-consent", "appi.remedy.sr4-contract"} <= {r["id"] for r in answer["remedies"]}
    assert "SR (4)" in {c["ref"] for c in answer["citations"]}


def test_remedies_are_ranked_closest_first(runtime):
    answer = decide(runtime, destination="US", data_categories=["personal_data"])
    ranked = [(r["route"], len(r["missing_fields"]), bool(r["apply"])) for r in answer["remedies"]]
    assert ranked[0] == ("informed_consent", 1, True)
    assert ranked[1][:2] == ("equivalent_measures", 2)
    assert [r for r, _, cures in ranked if not cures] == ["not_a_provision", "exception", "designated_country"]


def test_a_summary_is_memoised_but_follows_the_destination(runtime):
    us = decide(runtime, destination="US", data_categories=["personal_data"], basis={"consent": "informed"})
    cn = decide(runtime, destination="CN", data_categories=["personal_data"], basis={"consent": "informed"})
    again = decide(runtime, destination="US", data_categories=["personal_data"], basis={"consent": "informed"})
    assert us["summary"] == again["summary"] and "United States" in us["summary"]
    assert "China" in cn["summary"] and "中国" in cn["summary_ja"]


def _generated_requests(runtime, count: int, seed: int):
    """Requests drawn (reproducibly) from the whole request vocabulary, many of them denied."""
    from transfer_gate.facts import EXCEPTIONS, SAFEGUARDS

    rnd = random.Random(seed)
    categories = sorted(runtime.book.taxonomy.categories)
    for _ in range(count):
        yield {
            "origin": "JP", "as_of": rnd.choice(["2026-11-27", "2025-06-01"]),
            "destination": rnd.choice(["US", "DE", "GB", "unknown", "SG", "CN", "BO", "CH"]),
            "data_categories": rnd.sample(categories, rnd.choice([1, 1, 2])),
            "data_origin": rnd.choice([None, None, "EU", "UK"]),
            "recipient": {"relationship": rnd.choice(["third_party", "third_party", "outsourcee", "joint_use",
                                                      "business_succession"]),
                          "safeguards": rnd.sample(sorted(SAFEGUARDS), rnd.choice([0, 0, 1, 2])),
                          "handles_data": rnd.random() > 0.15, "links_to_individuals": rnd.random() > 0.5,
                          "academic_institution": rnd.random() > 0.85},
            "basis": {"consent": rnd.choice(["none", "plain", "informed"]), "opt_out": rnd.random() > 0.7,
                      "exception": rnd.choice([None] * 6 + list(EXCEPTIONS)), "public_announcement": rnd.random() > 0.6},
        }


def test_every_generated_denial_has_a_rule_given_reason_and_remedies_that_cure_it(runtime):
    """Beyond the cases: a denial's reasons come from rules, and applying any remedy's changes lifts it."""
    from tests.test_cases import patched

    denials = 0
    for body in _generated_requests(runtime, 800, seed=11):
        answer = service.evaluate(runtime, service.validate(runtime, body)).to_dict()
        if answer["outcome"] != "deny":
            continue
        denials += 1
        assert answer["deny_reasons"] and not any(r["rule"].endswith(".default-deny") for r in answer["deny_reasons"]), body
        for remedy in answer["remedies"]:
            if remedy["apply"]:
                after = service.evaluate(runtime, service.validate(runtime, patched(body, remedy["apply"])))
                assert after.outcome != "deny", (body, remedy["id"], remedy["apply"])
    assert denials > 100


def _clear_engine_memos():
    from transfer_gate import engine

    for memo in (engine._views, engine._conditions, engine._explained, engine._summaries):
        memo.clear()


@pytest.mark.parametrize("destination", ["US", "GB", "AU", "BR", "AE", "CN", "BM"])
def test_a_destinations_texts_are_worked_out_once_per_content_and_every_date_still_gets_its_own(runtime, destination):
    """The engine renders what a destination's profile contributes once per content of the profile
    (CountryProfile.content_digest), not once per day asked for. Over twelve years of days a profile's
    history, designations and reviews change it, and on each day the answer with warm memos must be
    the answer worked out from nothing."""
    from datetime import date, timedelta

    from transfer_gate import engine

    days = [date(2015, 1, 1) + timedelta(days=d) for d in range(0, 12 * 366, 23)]
    bodies = [dict(destination=destination, data_categories=["personal_data"], basis={"consent": "informed"}),
              dict(destination=destination, data_categories=["personal_data"],
                   recipient={"relationship": "outsourcee", "safeguards": ["contract_measures"]})]
    _clear_engine_memos()
    warm = [decide(runtime, as_of=day.isoformat(), **body) for day in days for body in bodies]
    contents = {runtime.profiles.get(destination, day).content_digest for day in days}
    assert 1 < len(contents) < len(days) and len(engine._views) == len(contents)
    cold = []
    for day in days:
        for body in bodies:
            _clear_engine_memos()
            cold.append(decide(runtime, as_of=day.isoformat(), **body))
    assert warm == cold
    for day in days[::40]:  # the content digest is the data's: the same digest, the same data
        a, b = runtime.profiles.get(destination, day), runtime.profiles.get(destination, days[-1])
        assert (a.content_digest == b.content_digest) == (a.data == b.data)
