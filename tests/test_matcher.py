"""The durable-rules matcher: every matching rule fires, failures fail closed, sessions never leak,
and results stay right under threads."""

import threading

import pytest

from bench.requestgen import random_requests
from transfer_gate import service
from transfer_gate.errors import EngineFailure
from transfer_gate.matcher import Matcher


class ReferenceMatcher:
    """The same conditions, evaluated in plain Python: what the engine must agree with."""

    def __init__(self, book):
        self.book = book

    def match(self, ruleset, facts):
        rules = self.book.rulesets[ruleset].rules
        return [(f["id"], r.id) for f in facts for r in rules if r.predicate(f)]


RULES = [
    ("r.one", {"kind": "a"}),
    ("r.two", {"$or": [{"kind": "a"}, {"flag": True}]}),
    ("r.three", {"kind": "b"}),
]


def test_every_matching_rule_fires_not_only_the_first():
    m = Matcher({"t": RULES})
    fired = m.match("t", [{"id": "x", "kind": "a", "flag": True}])
    assert sorted(r for _, r in fired) == ["r.one", "r.two"]  # r.two once, despite two true branches


def test_several_facts_in_one_session_are_told_apart():
    m = Matcher({"t": RULES})
    fired = m.match("t", [{"id": "x", "kind": "a", "flag": False}, {"id": "y", "kind": "b", "flag": False}])
    assert sorted(fired) == [("x", "r.one"), ("x", "r.two"), ("y", "r.three")]


def test_a_fact_no_rule_matches_fails_closed():
    m = Matcher({"t": RULES})
    with pytest.raises(EngineFailure, match="fired no rule"):
        m.match("t", [{"id": "x", "kind": "zzz", "flag": False}])


def tamper(replacement=None, raises=False, after=0, once=False):
    """Make the matcher read something else than the engine's (still real, still drained) answer."""
    seen = []

    def observe(message):
        seen.append(message)
        if len(seen) > after and not (once and len(seen) > after + 1):
            if raises:
                raise RuntimeError("engine crashed")
            return replacement
        return message

    return observe


@pytest.mark.parametrize("observe,message", [
    (tamper(raises=True), "durable-rules raised"),
    (tamper(raises=True, after=1), "durable-rules raised"),
    (tamper(None), "returned nothing"),
    (tamper(None, after=1), "returned nothing"),
    (tamper("garbage"), "unexpected action"),
    (tamper('{"r.forged":{"m":{"id": "x", "kind": "a"}}}', after=1, once=True), "unknown rule"),
    (tamper('{"r.one":{"m":{"id": "x", "kind": "a"}}}', after=3), "did not start"),
])
def test_an_engine_that_raises_returns_nothing_or_garbage_fails_closed(observe, message):
    m = Matcher({"t": RULES})
    m._observe = observe
    with pytest.raises(EngineFailure, match=message):
        m.match("t", [{"id": "x", "kind": "a", "flag": True}])
    del m._observe
    for _ in range(1100):  # the failed session was drained and deleted: no crash, no 1,024-session limit
        assert len(m.match("t", [{"id": "x", "kind": "a", "flag": True}])) == 2


def test_an_unknown_ruleset_fails_closed():
    with pytest.raises(EngineFailure):
        Matcher({"t": RULES}).match("other", [{"id": "x", "kind": "a"}])


def test_malformed_conditions_are_refused_at_compile_time():
    with pytest.raises(EngineFailure, match="could not compile"):
        Matcher({"t": [("r.bad", {"n": {"$gt": 1}})]})


def test_sessions_are_deleted_even_when_decisions_fail():
    """durable-rules allows 1,024 live sessions per ruleset; 3,000 decisions (a third failing) must pass."""
    m = Matcher({"t": RULES})
    for i in range(3000):
        if i % 3 == 0:
            with pytest.raises(EngineFailure):
                m.match("t", [{"id": "x", "kind": "none", "flag": False}])
        else:
            assert m.match("t", [{"id": "x", "kind": "a", "flag": False}])


def per_kind_order(decision: dict) -> dict:
    """durable-rules interleaves the facts of one session; within one kind the firing order is the rules' order."""
    return dict(decision, trace=sorted(decision["trace"], key=lambda t: t["data_kind"]))


def test_ten_thousand_decisions_from_four_threads_are_all_right(runtime):
    requests = [service.validate(runtime, r) for r in random_requests(10_000, seed=7)]
    reference = ReferenceMatcher(runtime.book)
    expected = [per_kind_order(service.evaluate(runtime, r, matcher=reference).to_dict()) for r in requests]
    results = [None] * len(requests)
    errors = []

    def work(offset):
        try:
            for i in range(offset, len(requests), 4):
                results[i] = per_kind_order(service.evaluate(runtime, requests[i]).to_dict())
        except Exception as exc:  # surfaced below, with the thread's failure
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    wrong = [i for i, (got, want) in enumerate(zip(results, expected)) if got != want]
    assert wrong == [], f"{len(wrong)} of {len(requests)} decisions differ from the reference, e.g. #{wrong[:3]}"
    assert {r["outcome"] for r in results} == {"allow", "conditional", "deny"}
