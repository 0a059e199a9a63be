"""Bodies kept validated (service.Validated): a body that comes again is the request the schema makes of it."""

import copy
from datetime import date, datetime, timezone

import pytest

from transfer_gate import service
from transfer_gate.errors import RequestInvalid
from tests.test_answer_cache import fresh
from tests.test_api import EXAMPLE
from tests.test_cases import CASES

JOURNEY = {
    "origin": "FR", "destination": "JP", "data_categories": ["personal_data"], "as_of": "2026-11-27",
    "recipient": {"name": "Tokyo KK", "relationship": "third_party"}, "basis": {"consent": "informed"},
    "onward": [{"destination": "US", "recipient": {"name": "US Corp", "relationship": "outsourcee",
                                                  "safeguards": ["contract_measures"]}}],
    "reference": "journey-1",
}


def errors_of(rt, body) -> dict:
    with pytest.raises(RequestInvalid) as caught:
        service.validate(rt, body)
    return caught.value.errors


def renamed(body: dict, n: int) -> dict:
    """The same body with other free texts: a new reference and new recipients' names."""
    body = copy.deepcopy(body)
    body["reference"] = f"export-{n}"
    if isinstance(body.get("recipient"), dict):
        body["recipient"]["name"] = f"Recipient {n}"
    for i, leg in enumerate(body.get("onward") or []):
        leg.setdefault("recipient", {})["name"] = f"Onward {n}.{i}"
    return body


def test_every_case_validates_again_as_the_schema_makes_it(runtime):
    kept, anew = fresh(runtime), fresh(runtime, size=0)
    for _ruleset, case in CASES:
        for n in range(3):
            body = renamed(case.request, n) if n else case.request
            try:
                expected = service.validate(anew, body)
            except RequestInvalid as exc:
                assert errors_of(kept, body) == exc.errors, case.name
                continue
            request, key = service._validate_keyed(kept, body)
            assert request == expected and key == service.answer_key(expected), case.name
    assert len(anew.validated) == 0 and len(kept.validated) > 0


@pytest.mark.parametrize("body", [EXAMPLE, JOURNEY], ids=["single", "journey"])
def test_the_free_texts_of_each_body_are_its_own(runtime, body):
    rt = fresh(runtime)
    service.validate(rt, body)
    again = service.validate(rt, renamed(body, 7))
    assert again.reference == "export-7" and again.recipient.name == "Recipient 7"
    assert [leg.recipient.name for leg in again.onward] == [f"Onward 7.{i}" for i in range(len(body.get("onward", [])))]
    # And without any: nothing of the kept body's texts stays behind.
    bare = copy.deepcopy(body)
    bare.pop("reference")
    bare["recipient"].pop("name")
    for leg in bare.get("onward", []):
        leg["recipient"].pop("name")
    plain = service.validate(rt, bare)
    assert plain.reference is None and plain.recipient.name is None and all(l.recipient.name is None for l in plain.onward)
    assert len(rt.validated) == 1


@pytest.mark.parametrize("field, value", [
    ("reference", "x" * 201), ("reference", "nul\x00"), ("reference", "\udc80"), ("reference", 42),
    ("recipient.name", "y" * 201), ("recipient.name", ["a"]), ("onward[0].recipient.name", "\ud800"),
    ("onward[0].recipient.name", 1.5),
])
def test_a_bad_free_text_in_a_kept_body_is_named_as_the_schema_names_it(runtime, field, value):
    rt, anew = fresh(runtime), fresh(runtime, size=0)
    service.validate(rt, JOURNEY)
    body = copy.deepcopy(JOURNEY)
    if field == "reference":
        body["reference"] = value
    elif field == "recipient.name":
        body["recipient"]["name"] = value
    else:
        body["onward"][0]["recipient"]["name"] = value
    errors = errors_of(rt, body)
    assert field in errors and errors == errors_of(anew, body)


def test_values_that_only_look_alike_are_kept_apart(runtime):
    """JSON `true` and `1`, or a list and a text, are different bodies: the schema refuses the second."""
    rt = fresh(runtime)
    body = dict(EXAMPLE, principals_under_16=True)
    assert service.validate(rt, body).principals_under_16 is True
    assert "principals_under_16" in errors_of(rt, dict(body, principals_under_16=1))
    service.validate(rt, dict(EXAMPLE, data_categories=["personal_data"]))
    assert "data_categories" in errors_of(rt, dict(EXAMPLE, data_categories="personal_data"))


def test_a_body_without_a_date_is_dated_each_time_it_comes(runtime):
    now = [datetime(2026, 11, 27, 9, tzinfo=timezone.utc)]
    rt = fresh(runtime)
    rt.clock = lambda: now[0]
    body = {k: v for k, v in EXAMPLE.items() if k != "as_of"}
    assert service.validate(rt, body).as_of == date(2026, 11, 27)
    now[0] = datetime(2027, 4, 2, 9, tzinfo=timezone.utc)
    assert service.validate(rt, renamed(body, 1)).as_of == date(2027, 4, 2)
    assert service.validate(rt, dict(body, as_of="2026-01-05")).as_of == date(2026, 1, 5)


def test_a_body_that_is_not_json_values_is_validated_by_the_schema(runtime):
    rt, anew = fresh(runtime), fresh(runtime, size=0)
    body = dict(EXAMPLE, as_of=date(2026, 11, 27))  # a Python date, as no JSON body holds (the form's may)
    assert service.validate(rt, body) == service.validate(anew, body)
    assert "as_of" in errors_of(rt, dict(body, as_of=date(1999, 12, 31)))
    assert len(rt.validated) == 0
