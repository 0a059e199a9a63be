"""GET /openapi.json: a valid OpenAPI 3 document, true to the routes, the roles and the answers."""

import re

import pytest
import schemathesis
from openapi_spec_validator import validate

from tests.test_api import EXAMPLE
from transfer_gate import service

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def document(anonymous):
    resp = anonymous.get("/openapi.json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    return resp.get_json()


def operations(document):
    for path, item in document["paths"].items():
        for method, op in item.items():
            if method in HTTP_METHODS:
                yield path, method, op


def test_the_document_is_valid_openapi_3(document):
    assert document["openapi"].startswith("3.")
    validate(document)


def test_every_api_route_and_method_is_documented(app, document):
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/v1") or rule.rule in ("/healthz", "/readyz", "/openapi.json"):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)  # <string(length=26):id> -> {id}
            routes |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert {(path, method) for path, method, _op in operations(document)} == routes


def test_the_bearer_scheme_is_required_except_for_health_and_the_document(document):
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": document["components"]["securitySchemes"]["bearerAuth"][
            "description"]}
    assert document["security"] == [{"bearerAuth": []}]
    open_paths = {path for path, _m, op in operations(document) if op.get("security") == []}
    assert open_paths == {"/healthz", "/readyz", "/openapi.json"}


def test_every_operation_documents_the_errors_it_can_give(document):
    for path, method, op in operations(document):
        codes = set(op["responses"])
        assert "500" in codes, (method, path)
        if op.get("security") != []:
            assert {"401", "403", "503"} <= codes, (method, path)
        if method == "post":
            assert {"400", "413", "415", "422"} <= codes and op["requestBody"]["required"], (method, path)
        if "{" in path:
            assert "404" in codes, (method, path)


def test_each_operation_names_the_roles_that_may_call_it(document):
    roles = {(method, path): op["x-roles"] for path, method, op in operations(document)}
    assert roles[("post", "/v1/decisions")] == ["app", "officer"]
    assert roles[("post", "/v1/decisions/batch")] == ["app", "officer"]
    assert roles[("get", "/v1/decisions/{decision_id}")] == ["auditor"]
    assert roles[("get", "/v1/countries/{code}")] == ["app", "officer", "auditor", "admin"]
    assert roles[("post", "/v1/keys")] == roles[("get", "/v1/keys")] == roles[("delete", "/v1/keys/{key_id}")] == ["admin"]
    assert roles[("get", "/healthz")] == ["anonymous"]


def test_the_request_schema_carries_the_contract_and_the_loaded_vocabulary(document, app):
    request = document["components"]["schemas"]["TransferRequest"]
    props = request["properties"]
    assert request["additionalProperties"] is False
    assert sorted(request["required"]) == ["data_categories", "destination", "origin"]
    assert props["data_categories"]["items"]["enum"] == sorted(app.extensions["transfer_gate"].book.taxonomy.categories)
    assert props["data_categories"]["minItems"] == 1
    assert props["origin"]["enum"] == sorted(service.origins(app.extensions["transfer_gate"]))
    assert {"JP", "DE", "NO", "GB"} <= set(props["origin"]["enum"])
    assert len(props["origin"]["enum"]) == 32  # APPI's JP, GDPR's 30 EEA states, UK GDPR's GB
    assert "US" in props["destination"]["enum"] and "unknown" in props["destination"]["enum"]
    assert props["reference"]["maxLength"] == 200
    recipient = document["components"]["schemas"]["Recipient"]
    assert recipient["properties"]["relationship"]["enum"][0] == "third_party"
    assert recipient["additionalProperties"] is False


def test_real_answers_conform_to_the_document_and_a_drifted_one_would_not(app, client, client_for):
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    decide = schema["/v1/decisions"]["POST"]
    answer = client.post("/v1/decisions", json=EXAMPLE)
    decide.validate_response(answer)
    decide.validate_response(client.post("/v1/decisions", json=dict(EXAMPLE, destination="XX")))
    denied = client.post("/v1/decisions", json={"origin": "JP", "destination": "unknown", "as_of": "2026-11-27",
                                                 "data_categories": ["personal_data"]})
    assert denied.get_json()["remedies"][0]["apply"] and denied.get_json()["deny_reasons"]
    decide.validate_response(denied)
    decide.validate_response(client_for(None).post("/v1/decisions", json=EXAMPLE))
    decide.validate_response(client_for("auditor").post("/v1/decisions", json=EXAMPLE))
    schema["/v1/decisions/{decision_id}"]["GET"].validate_response(
        client_for("auditor").get(f"/v1/decisions/{answer.get_json()['decision_id']}"))
    schema["/v1/countries/{code}"]["GET"].validate_response(client.get("/v1/countries/US"))
    schema["/v1/keys"]["GET"].validate_response(client_for("admin").get("/v1/keys"))

    drifted = client.post("/v1/decisions", json=EXAMPLE)
    drifted.set_data(drifted.get_data().replace(b'"outcome":', b'"verdict":'))
    with pytest.raises(BaseExceptionGroup) as failures:
        decide.validate_response(drifted)
    found = " ".join(str(e) for e in failures.value.exceptions)
    assert "'verdict' was unexpected" in found and '"outcome" is a required property' in found
