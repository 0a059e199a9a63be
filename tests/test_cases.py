"""Every scenario case stored beside the rules, run through the real engine; every rule reached."""

import pytest

from transfer_gate import engine, scenarios, service
from transfer_gate.facts import base_facts
from transfer_gate.rules import load_rulebook
from tests.conftest import RULESETS

BOOK = load_rulebook(RULESETS)
CASES = [(rs, case) for rs in BOOK.rulesets.values() for case in rs.cases]


def answer(runtime, request: dict) -> dict:
    req = service.validate(runtime, request)
    return service.answer(runtime, req).to_dict()  # a journey's answer holds every leg's


@pytest.mark.parametrize("ruleset,case", CASES, ids=[f"{rs.name}:{c.name}" for rs, c in CASES])
def test_case(runtime, ruleset, case):
    result = answer(runtime, case.request)
    assert scenarios.check(case.expect, result) == []


@pytest.mark.parametrize("ruleset,case", CASES, ids=[f"{rs.name}:{c.name}" for rs, c in CASES])
def test_matcher_fires_exactly_the_rules_whose_conditions_hold(runtime, ruleset, case):
    """durable-rules and the plain-Python reading of the same conditions agree on every case."""
    for req in service.leg_requests(runtime, service.validate(runtime, case.request)):  # a journey: every leg
        leg_ruleset = runtime.book.for_origin(req.origin)
        profile = None if req.destination == "unknown" else runtime.profiles.get(req.destination, req.as_of)
        kinds = runtime.book.taxonomy.kinds_of(req.data_categories, req.data_origin, leg_ruleset.regime)
        facts = [dict(base_facts(req, profile), kind=k, id=k) for k in kinds]
        fired = set(runtime.matcher.match(leg_ruleset.name, facts))
        expected = {(f["id"], r.id) for f in facts for r in leg_ruleset.rules if r.predicate(f)}
        assert fired == expected


def test_every_rule_is_reached_by_a_case(runtime):
    reached = set()
    for rs, case in CASES:
        reached |= {t["rule"] for t in answer(runtime, case.request)["trace"]}
    for rs in BOOK.rulesets.values():
        unreached = sorted(r.id for r in rs.rules if r.id not in reached)
        assert unreached == [], f"rules no case reaches in {rs.name}: {unreached}"


def test_every_case_pins_as_of_so_it_does_not_drift_with_the_calendar():
    assert [c.name for _, c in CASES if "as_of" not in c.request] == []


def test_every_condition_and_remedy_cites_registered_authorities(runtime):
    for rs, case in CASES:
        result = answer(runtime, case.request)
        refs = {c["ref"] for c in result["citations"]}
        for item in result["conditions"] + result["remedies"]:
            assert item["citations"], item["id"]
            assert set(item["citations"]) <= refs, (case.name, item["id"])
            assert item["text"] and item["text_ja"]
