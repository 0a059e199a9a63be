"""Fuzzing: schemathesis generates requests from /openapi.json; no input may crash the service.

Every operation the document describes is called with the key of a role allowed to use it,
with valid (positive) and invalid (negative) data. Every answer must be no server error, have
a status code, content type and body that the document declares, and invalid data must be
rejected. The run counts its cases; it fails below MIN_CASES, and reports the count in the
terminal summary.
"""

import json
from collections import Counter

import schemathesis
from hypothesis import HealthCheck, Phase, example, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import bearer
from tests.test_api import EXAMPLE, with_

MIN_CASES = 2000
# Cases per operation and generation mode. Operations without inputs have a single distinct
# case, which Hypothesis runs once; those with a body or parameters run this many.
EXAMPLES = 200
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection]
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=False,
                phases=[Phase.explicit, Phase.generate, Phase.shrink],
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])


def _json(body) -> bytes:
    return json.dumps(body).encode()


_GOOD = json.dumps(EXAMPLE)
# Inputs that once made the service answer 5xx (or quietly accept what it should refuse), run first
# as explicit examples of their operation, on top of the generated cases.
EXPLICIT = {
    "POST /v1/decisions": [
        {"body": b'{"origin": "JP", "\\udc80": 1}'},
        {"body": b'{"origin": "JP", "destination": "JP", "destination": "US", "data_categories": ["personal_data"]}'},
        {"body": _json(with_(recipient__handles_data=1))},
        {"body": _json(with_(basis__opt_out=0))},
        {"body": _json(with_(basis__public_announcement=1.0))},
        {"body": _json(with_(as_of="0001-01-01"))},
        {"body": _json(with_(as_of="9999-12-31"))},
        {"body": _json(with_(reference="crm\x00export"))},
    ],
    "POST /v1/decisions/batch": [
        {"body": ('{"requests": [' + ", ".join([_GOOD] * 3 + ['{"\\udc80": 1}']) + "]}").encode()},
        {"body": ('{"requests": [' + _GOOD + '], "requests": []}').encode()},
    ],
    "POST /v1/keys": [
        {"body": b'{"role": "app", "\\udc80": 1}'},
        {"body": b'{"role": "app", "role": "admin"}'},
    ],
    "GET /v1/decisions": [
        {"query": {"cursor": str(2**63)}},
        {"query": {"to": "9999-12-31"}},
        {"query": {"from": "0001-01-01T00:00:00+14:00"}},
        {"query": {"reference": "a\x00b"}},
        {"query": {"caller": "crm\x00"}},
    ],
    "GET /v1/decisions/{decision_id}": [
        {"path_parameters": {"decision_id": "01JD3Q8Z5T6W8Y9C0V1B2N3M4\x00"}},
        {"path_parameters": {"decision_id": "\x00" * 26}},
    ],
}


def mutates_authorization(case) -> bool:
    """Tell whether schemathesis made this case invalid by removing or changing the Authorization header."""
    data = getattr(getattr(case.meta, "phase", None), "data", None)
    names = [getattr(data, "parameter", None)] + [getattr(m, "parameter", None) for m in getattr(data, "mutations", ())]
    return any(isinstance(n, str) and n.lower() == "authorization" for n in names)


def has_inputs(operation) -> bool:
    raw = operation.definition.raw
    return bool(raw.get("parameters") or raw.get("requestBody"))


def fuzz(operation, mode, headers, counter, statuses):
    @given(case=operation.as_strategy(generation_mode=mode))
    @FUZZ
    def run(case):
        counter[operation.label] += 1
        # A negative case whose invalid part is the Authorization header must go out as generated:
        # adding our valid key would undo the mutation and make a correct 200 look like a failure.
        sent = {} if mode == GenerationMode.NEGATIVE and mutates_authorization(case) else headers
        response = case.call_and_validate(headers=sent, checks=CHECKS)
        statuses[response.status_code] += 1

    if mode == GenerationMode.POSITIVE:
        for parts in EXPLICIT.get(operation.label, ()):
            media = {"media_type": "application/json"} if "body" in parts else {}
            run = example(case=operation.Case(**parts, **media))(run)
    run()


def test_generated_requests_never_crash_the_service_and_answers_match_the_document(app, record_property):
    # Negative cases send wrong keys by the hundred; counting them would soon answer every case 429.
    app.config["RATE_LIMIT_FAILURES"] = 0
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    counter: Counter = Counter()
    statuses: Counter = Counter()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:
        role = operation.definition.raw["x-roles"][0]
        headers = {} if role == "anonymous" else bearer(role)
        modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if has_inputs(operation) else [])
        for mode in modes:
            fuzz(operation, mode, headers, counter, statuses)
    total = sum(counter.values())
    record_property("fuzz_cases", total)
    record_property("fuzz_operations", len(operations))
    record_property("fuzz_by_operation", ", ".join(f"{label}: {n}" for label, n in counter.items()))
    record_property("fuzz_statuses", ", ".join(f"{code}: {n}" for code, n in sorted(statuses.items())))
    assert total >= MIN_CASES, counter
    assert set(EXPLICIT) <= set(counter), "every explicit example names an operation of the document"
