"""Fuzzing: schemathesis generates requests from /openapi.json; no input may crash the service.

Every operation the document describes is called with the key of a role allowed to use it,
with valid (positive) and invalid (negative) data. Every answer must be no server error, have
a status code, content type and body that the document declares, and invalid data must be
rejected. The run counts its cases; it fails below MIN_CASES, and reports the count in the
terminal summary.
"""

from collections import Counter

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import bearer

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

    run()


def test_generated_requests_never_crash_the_service_and_answers_match_the_document(app, record_property):
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
