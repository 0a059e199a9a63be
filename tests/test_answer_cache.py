"""Answers kept worked out (service.Answers): a request that comes again gets exactly the answer it would get anew."""

import json
from datetime import date

import pytest

from transfer_gate import service
from transfer_gate.log_entries import answer_text
from transfer_gate.service import Answers, Runtime, Validated
from tests.test_api import EXAMPLE
from tests.test_cases import CASES

PER_DECISION = ("decision_id", "evaluated_at")


def fresh(runtime, size=service.ANSWER_CACHE) -> Runtime:
    """A runtime over the session's rules and profiles, with answers (and validated bodies) of its own."""
    return Runtime(runtime.book, runtime.profiles, runtime.matcher, log=None, answers=Answers(size),
                   validated=Validated(size))


def decided(rt, payload) -> tuple[dict, str]:
    return service._decide(rt, payload, "test", None, True, None)


def without_ids(answer: dict) -> dict:
    return {k: v for k, v in answer.items() if k not in PER_DECISION}


def test_every_case_answers_the_same_worked_out_again_and_anew(runtime):
    kept, anew = fresh(runtime), fresh(runtime, size=0)
    for _ruleset, case in CASES:
        if case.switch_on:
            continue  # decided under other rules: not through the runtime's own
        first, first_text = decided(kept, case.request)
        again, again_text = decided(kept, case.request)
        alone, _ = decided(anew, case.request)
        assert without_ids(first) == without_ids(again) == without_ids(alone), case.name
        # The text sent, hashed and stored is the answer's own serialisation, whichever way it was made.
        assert first_text == answer_text(first) and again_text == answer_text(again), case.name
        assert json.loads(again_text) == again
        assert again["decision_id"] != first["decision_id"]
    assert len(anew.answers) == 0


class Counting(service.Observer):
    def __init__(self):
        self.hits, self.misses, self.engine_steps = 0, 0, 0

    def reused(self, hit):
        if hit:
            self.hits += 1
        else:
            self.misses += 1

    def engine(self, seconds):
        self.engine_steps += 1


def test_only_the_reference_and_the_recipients_names_may_differ(runtime):
    rt = fresh(runtime)
    rt.observer = seen = Counting()
    decided(rt, dict(EXAMPLE, as_of="2026-11-27"))
    decided(rt, dict(EXAMPLE, as_of="2026-11-27", reference="another-export"))
    decided(rt, dict(EXAMPLE, as_of="2026-11-27", recipient=dict(EXAMPLE["recipient"], name="Other Corp.")))
    assert (seen.hits, seen.misses, seen.engine_steps) == (2, 1, 1)
    decided(rt, dict(EXAMPLE, as_of="2026-11-26"))  # another date
    decided(rt, dict(EXAMPLE, as_of="2026-11-27", destination="SG"))
    decided(rt, dict(EXAMPLE, as_of="2026-11-27", basis={"consent": "informed"}))
    assert (seen.hits, seen.misses) == (2, 4)


def test_a_request_without_a_date_is_kept_under_the_day_it_was_decided(runtime):
    from datetime import datetime, timezone

    rt = fresh(runtime)
    today = [date(2026, 11, 27)]
    rt.clock = lambda: datetime.combine(today[0], datetime.min.time(), timezone.utc)
    rt.observer = seen = Counting()
    payload = {k: v for k, v in EXAMPLE.items() if k != "as_of"}
    first, _ = decided(rt, payload)
    today[0] = date(2030, 1, 1)
    later, _ = decided(rt, payload)
    assert (seen.hits, seen.misses) == (0, 2)
    assert first["as_of"] == "2026-11-27" and later["as_of"] == "2030-01-01"


def test_a_journey_is_kept_whole(runtime):
    rt = fresh(runtime)
    journey = {"origin": "DE", "destination": "JP", "data_categories": ["personal_data"], "as_of": "2026-11-27",
               "recipient": {"relationship": "outsourcee", "name": "A"},
               "onward": [{"destination": "US", "recipient": {"relationship": "outsourcee", "name": "B",
                                                               "safeguards": ["contract_measures"]}}]}
    first, _ = decided(rt, journey)
    renamed = json.loads(json.dumps(journey))
    renamed["onward"][0]["recipient"]["name"] = "C"
    again, text = decided(rt, renamed)
    assert len(rt.answers) == 1 and without_ids(first) == without_ids(again) and "legs" in again
    assert text == answer_text(again)


def test_the_cache_is_bounded_and_forgets_the_least_recently_used(runtime):
    rt = fresh(runtime, size=2)
    rt.observer = seen = Counting()
    for destination in ("US", "SG", "US", "CN", "SG"):
        decided(rt, dict(EXAMPLE, as_of="2026-11-27", destination=destination))
    # US miss, SG miss, US hit, CN miss (SG forgotten), SG miss again
    assert (seen.hits, seen.misses, len(rt.answers)) == (1, 4, 2)


def test_a_batch_larger_than_the_cache_uses_it_and_adds_nothing(runtime):
    rt = fresh(runtime, size=2)
    rt.observer = seen = Counting()
    kinds = [dict(EXAMPLE, as_of="2026-11-27", destination=d) for d in ("US", "SG", "CN")]
    decided(rt, kinds[0])
    problem = lambda exc: {"status": 422}
    service.decide_batch(rt, kinds, caller="test", problem=problem, dry_run=True)
    assert (seen.hits, seen.misses) == (1, 3), "US found kept in the batch; SG and CN worked out"
    assert len(rt.answers) == 1 and len(rt.validated) == 1, "nothing of the larger batch was kept"
    service.decide_batch(rt, kinds[1:], caller="test", problem=problem, dry_run=True)
    assert len(rt.answers) == 2 and len(rt.validated) == 2, "a batch within the bound keeps its answers"


def test_other_rules_or_profiles_start_afresh(runtime, book):
    rt = fresh(runtime)
    rt.observer = seen = Counting()
    decided(rt, dict(EXAMPLE, as_of="2026-11-27"))
    rt.book = book  # another RuleBook object (a reload builds new ones)
    decided(rt, dict(EXAMPLE, as_of="2026-11-27"))
    assert (seen.hits, seen.misses) == (0, 2)


def test_a_decision_returned_to_a_caller_cannot_change_a_kept_answer(runtime):
    rt = fresh(runtime)
    first, _ = decided(rt, dict(EXAMPLE, as_of="2026-11-27"))
    first["conditions"].clear()
    first["ruleset"]["name"] = "tampered"
    again, text = decided(rt, dict(EXAMPLE, as_of="2026-11-27"))
    assert again["conditions"] and again["ruleset"]["name"] != "tampered" and text == answer_text(again)


@pytest.mark.parametrize("value", [-1, "many"])
def test_a_bad_cache_size_stops_the_start(make_app, tmp_path, value):
    from transfer_gate.errors import ConfigError

    with pytest.raises(ConfigError, match="ANSWER_CACHE"):
        make_app(f"sqlite:///{tmp_path / 'c.sqlite3'}", ANSWER_CACHE=value)


def test_the_fields_kept_beside_the_text_give_the_same_log_row_as_the_whole_answer(runtime):
    """The API sends the text and builds the log row from HEAD_FIELDS only: for every case, the same row."""
    from transfer_gate.log_entries import entry_for

    rt = fresh(runtime)
    for _ruleset, case in CASES:
        if case.switch_on:
            continue
        request = service.validate(rt, case.request)
        said = service._respond(rt, request)
        whole, text = said.body, said.text
        head = {k: whole[k] for k in ("decision_id", *service.HEAD_FIELDS, "evaluated_at", "as_of")}
        row = entry_for(request.to_dict(), whole, "test", "app", response_text=text)
        assert entry_for(request.to_dict(), head, "test", "app", response_text=text) == row, case.name
        again = service._respond(rt, request, whole=False).text
        assert json.loads(again).keys() == whole.keys()


def test_answers_never_echo_a_field_the_log_may_mask(runtime):
    """The log's mask (reference, recipient names) is applied to the request; were an answer to echo one of
    them, the text path, which builds the row from part of the answer, would store it unmasked."""
    rt = fresh(runtime)
    for _ruleset, case in CASES:
        payload = dict(case.request, reference="ref-echo-check-4711")
        payload["recipient"] = dict(payload.get("recipient") or {}, name="Echo Check Corp.")
        _, text = decided(rt, payload)
        assert "ref-echo-check-4711" not in text and "Echo Check Corp." not in text, case.name
