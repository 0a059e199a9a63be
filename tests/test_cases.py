"""Every scenario case stored beside the rules, run through the real engine; every rule reached."""

import copy
import re

import pytest

from transfer_gate import engine, scenarios, service
from transfer_gate.facts import base_facts
from transfer_gate.rules import load_rulebook
from tests.conftest import RULESETS

BOOK = load_rulebook(RULESETS)
CASES = [(rs, case) for rs in BOOK.rulesets.values() for case in rs.cases]


def answer(runtime, request: dict, switch_on=()) -> dict:
    req = service.validate(runtime, request)
    book = runtime.book.switched_on(switch_on) if switch_on else None
    return service.answer(runtime, req, book=book).to_dict()  # a journey's answer holds every leg's


@pytest.mark.parametrize("ruleset,case", CASES, ids=[f"{rs.name}:{c.name}" for rs, c in CASES])
def test_case(runtime, ruleset, case):
    result = answer(runtime, case.request, case.switch_on)
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
        reached |= {t["rule"] for t in answer(runtime, case.request, case.switch_on)["trace"]}
    for rs in BOOK.rulesets.values():
        unreached = sorted(r.id for r in rs.rules if r.id not in reached)
        assert unreached == [], f"rules no case reaches in {rs.name}: {unreached}"


def test_every_rule_tied_to_a_change_is_reached_both_before_and_after_it(runtime):
    """A rule waiting for a registered change gives a notice now and its effect once switched on: both are cases."""
    noticed, decided = set(), set()
    for rs, case in CASES:
        result = answer(runtime, case.request, case.switch_on)
        noticed |= {n["rule"] for n in result["notices"]}
        if case.switch_on:
            decided |= {t["rule"] for t in result["trace"]}
    for rs in BOOK.rulesets.values():
        for rule in rs.rules:
            if rule.change and BOOK.changes.get(rule.change).in_force is None:
                assert rule.id in noticed, f"no case shows the notice of {rule.id}"
                assert rule.id in decided, f"no case decides {rule.id} with {rule.change} switched on"


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


# --- the answer explains itself ---------------------------------------------------------

ANSWERS = {}


def cached(runtime, case) -> dict:
    key = (case.file, case.name)
    if key not in ANSWERS:
        ANSWERS[key] = answer(runtime, case.request, case.switch_on)
    return ANSWERS[key]


def decisions(runtime, ruleset, case) -> list[tuple]:
    """The decisions a case's answer holds, each with its ruleset and request body: for a journey, every leg's."""
    result = cached(runtime, case)
    if "legs" not in result:
        return [(ruleset, case.request, result)]
    legs = service.leg_requests(runtime, service.validate(runtime, case.request))
    return [(BOOK.rulesets[leg["ruleset"]["name"]], req.to_dict(), leg) for req, leg in zip(legs, result["legs"])]


def patched(request: dict, changes: list[dict]) -> dict:
    """Return a copy of a request body with a remedy's `apply` changes made (`onward[0].basis.consent` too)."""
    body = copy.deepcopy(request)
    for change in changes:
        *parents, name = change["path"].split(".")
        target = body
        for part in parents:
            leg = re.fullmatch(r"onward\[(\d+)\]", part)
            if leg:
                target = target["onward"][int(leg.group(1))]
                continue
            target = target.setdefault(part, {})
        if "add" in change:
            values = target.setdefault(name, [])
            if change["add"] not in values:
                values.append(change["add"])
        else:
            target[name] = change["set"]
    return body


@pytest.mark.parametrize("ruleset,case", CASES, ids=[f"{rs.name}:{c.name}" for rs, c in CASES])
def test_every_answer_says_in_plain_words_what_may_be_done(runtime, ruleset, case):
    journey = cached(runtime, case)
    for ruleset, _, result in decisions(runtime, ruleset, case) + ([(None, None, journey)] if "legs" in journey else []):
        assert result["summary"].strip() and result["summary_ja"].strip()
        words = result["summary"] + result["summary_ja"]
        assert not FIELD_TOKEN.search(words), FIELD_TOKEN.search(words)
        if ruleset is None:  # the journey's own summary: every leg's regime, the deciding leg's route
            decisive = result["legs"][result["decided_by_leg"]]
            ruleset = BOOK.rulesets[decisive["ruleset"]["name"]]
            assert f"Leg {result['decided_by_leg'] + 1} decides" in result["summary"]
            assert len(re.findall(r"\bleg \d+, ", result["summary"])) == len(result["legs"])
            if result["outcome"] != "deny":
                continue
        title = ruleset.route(result["route"]).title if result["route"] != "none" else None
        if title:
            assert title in result["summary"]
        if result["records"]["required"]:
            assert "P3Y" not in result["summary"] and "3 years" in result["summary"]


DENIALS = [(rs, c) for rs, c in CASES if c.expect.get("outcome") == "deny"]


@pytest.mark.parametrize("ruleset,case", DENIALS, ids=[f"{rs.name}:{c.name}" for rs, c in DENIALS])
def test_every_denial_says_why_with_citations_and_ranks_its_remedies(runtime, ruleset, case):
    journey = cached(runtime, case)
    assert journey["outcome"] == "deny"
    checked = [(None, journey)] + [(rs, r) for rs, _, r in decisions(runtime, ruleset, case)
                                   if "legs" in journey and r["outcome"] == "deny"]
    for leg_ruleset, result in checked:  # a journey: its combined answer, then each denied leg
        rs = leg_ruleset or (BOOK.rulesets[result["legs"][result["decided_by_leg"]]["ruleset"]["name"]]
                             if "legs" in result else ruleset)
        assert result["deny_reasons"], "a deny without a reason"
        cited = {c["ref"] for c in result["citations"]}
        for reason in result["deny_reasons"]:
            assert reason["text"] and reason["text_ja"] and reason["citations"], reason
            assert set(reason["citations"]) <= cited, reason["rule"]
        assert result["deny_reasons"][0]["text"] in result["summary"]
        if not any(k["outcome"] == "deny" and any(rs.rule(r).deny for r in k["deny_reasons"]) for k in result["data_kinds"]):
            assert result["remedies"], "a default deny always has a route to offer"
        for remedy in result["remedies"]:
            assert set(c["path"] for c in remedy["apply"]) <= set(remedy["missing_fields"]), remedy["id"]
        if leg_ruleset is None and "legs" in journey:
            continue  # a journey's remedies are its denied legs' in leg order, each leg ranked (checked next)
        order = {r.id: i for i, r in enumerate(rs.routes)}
        keys = [(not r["apply"], len(r["missing_fields"]), order.get(r["route"], len(order))) for r in result["remedies"]]
        assert keys == sorted(keys), [r["id"] for r in result["remedies"]]


@pytest.mark.parametrize("ruleset,case", DENIALS, ids=[f"{rs.name}:{c.name}" for rs, c in DENIALS])
def test_applying_a_remedy_makes_the_transfer_lawful(runtime, ruleset, case):
    """Each remedy's `apply` is the whole cure: the patched request is no longer denied.

    In a journey the cure is for the leg the remedy comes from (`onward[n]` in its paths names
    leg n + 1): that leg is no longer denied, whatever the others say.
    """
    result = cached(runtime, case)
    for remedy in result["remedies"]:
        if not remedy["apply"]:
            continue
        after = answer(runtime, patched(case.request, remedy["apply"]), case.switch_on)
        if "legs" in result:
            legs = {int(m) + 1 for c in remedy["apply"] for m in re.findall(r"^onward\[(\d+)\]", c["path"])} or {0}
            after = after["legs"][max(legs)]
        assert after["outcome"] != "deny", (remedy["id"], remedy["apply"], after["deny_reasons"])


def _depends_on(ruleset, result: dict) -> list:
    """The rules the answer's outcome depends on (see the test's docstring)."""
    fired: dict[str, list] = {}
    for t in result["trace"]:
        fired.setdefault(t["data_kind"], []).append(ruleset.rule(t["rule"]))
    if result["outcome"] == "deny":
        rules = [r for k in result["data_kinds"] if k["outcome"] == "deny" for r in fired[k["kind"]] if r.deny]
        return rules + [ruleset.rule(d["rule"]) for d in result["deny_reasons"] if not d["rule"].endswith(".default-deny")]
    rules = []
    for k in result["data_kinds"]:
        route = k["route"]
        for r in fired[k["kind"]]:
            conditions = any(not c.on_route or route in c.on_route for c in r.conditions)
            records = r.records is not None and (not r.records.on_route or route in r.records.on_route)
            if r.route == route or conditions or records:
                rules.append(r)
    return rules


@pytest.mark.parametrize("ruleset,case", CASES, ids=[f"{rs.name}:{c.name}" for rs, c in CASES])
def test_every_answer_cites_what_it_rests_on(runtime, ruleset, case):
    """The answer's own `citations` list every authority its outcome depends on.

    "Depends on": for a deny, the deny rules of every denied kind and the rules that give the
    deny reasons; otherwise, per kind, the rules that satisfy the kind's route and the rules
    whose conditions or records apply on that route. In both, the taxonomy's mapping: a
    category that is its kind only because the data came from the EU or the UK (SR (1)) puts
    the category's citations among them.
    """
    for ruleset, request, result in decisions(runtime, ruleset, case):  # a journey: every leg
        cited = {c["ref"] for c in result["citations"]}
        needed = {ref: rule.id for rule in _depends_on(ruleset, result) for ref in rule.citations}
        origin = request.get("data_origin")
        counted = {k["kind"] for k in result["data_kinds"] if result["outcome"] != "deny" or k["outcome"] == "deny"}
        for key in request["data_categories"]:
            cat = BOOK.taxonomy.categories[key]
            if origin in ("EU", "UK") and cat.kind_eu_uk != cat.kind and cat.kind_eu_uk in counted:
                needed.update({ref: f"taxonomy {key}" for ref in cat.citations})
        missing = {ref: by for ref, by in needed.items() if ref not in cited}
        assert missing == {}


# Field paths, enum values and rule ids have no place in a text a person reads.
FIELD_TOKEN = re.compile(
    r"\b(?:recipient|basis)\.[a-z_]+|\b[a-z]+_[a-z_]+\b|=\s*(?:true|false|none|plain|informed)\b"
    r"|\broute none\b|\bappi\.[a-z0-9-]+\.|\bP\d+[YMD]\b"
)


def _people_texts(ruleset):
    for r in ruleset.routes:
        yield r.id, r.title
        yield r.id, r.missing.text
        yield r.id, r.remedy.text
    for rule in ruleset.rules:
        for m in rule.missing:
            yield rule.id, m.text
        for effect in (rule.deny, rule.reason):
            if effect:
                yield rule.id, effect.text
        for spec in rule.remedies:
            yield spec.id, spec.text
        for c in rule.conditions:
            yield c.id, c.text
            if c.summary:
                yield c.id, c.summary.text
        if rule.records:
            for item in rule.records.items:
                yield rule.id, item.text


def test_texts_people_read_carry_no_field_paths_or_enum_values():
    found = []
    for rs in BOOK.rulesets.values():
        for item, text in _people_texts(rs):
            plain = re.sub(r"\{[a-z_]+\}", "", text)
            if FIELD_TOKEN.search(plain):
                found.append((item, FIELD_TOKEN.search(plain).group(0)))
    assert found == []


# The APPI rules say how each missing item is cured (`apply`); a partner ruleset without cures
# yet would offer only `apply: []` remedies, which this test does not hold to the wording.
CURED = [(rs, c) for rs, c in DENIALS if rs.name == "appi"]


@pytest.mark.parametrize("ruleset,case", CURED, ids=[f"{rs.name}:{c.name}" for rs, c in CURED])
def test_a_remedy_no_request_change_reaches_says_so(runtime, ruleset, case):
    for remedy in cached(runtime, case)["remedies"]:
        if not remedy["apply"]:
            assert "request" in remedy["text"] and "依頼内容" in remedy["text_ja"], remedy["id"]
