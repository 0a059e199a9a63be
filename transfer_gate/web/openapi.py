"""GET /openapi.json: the OpenAPI 3 description of the API, generated, never written by hand.

apispec builds it from three sources, so it cannot drift from the code:
- the marshmallow schemas: the request contract (`transfer_gate.schemas`) and the answers
  (`web.response_schemas`), with the taxonomy's category keys and the supported origins of the
  loaded rules filled in;
- the YAML after ``---`` in each view's docstring (every view that has one is included, from
  whichever blueprint): operation, parameters, body and the responses peculiar to it;
- the access policy (`web.access`): which roles may call each operation (``x-roles``), its
  security requirement, and the responses every protected operation can give (401, 403, 503)
  and every operation can give (500).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import pycountry
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec_webframeworks.flask import FlaskPlugin
from flask import Blueprint, Flask, current_app, jsonify

from ..schemas import NewKeySchema
from . import response_schemas as answers
from .access import ANONYMOUS, roles_for
from .problems import MEDIA_TYPE

bp = Blueprint("openapi", __name__)

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")

# name: (status, description, problem schema)
RESPONSES = {
    "MalformedJson": (400, "The body is not valid JSON, repeats a key in an object, or has a key that cannot be "
                           "stored; `errors` names each such key.", "Problem"),
    "Unauthorized": (401, "No API key was sent, or the key is unknown or revoked.", "Problem"),
    "Forbidden": (403, "The key's role may not use this operation.", "Problem"),
    "NotFound": (404, "Nothing has this id or code.", "Problem"),
    "BodyTooLarge": (413, "The body is larger than the configured limit (1 MiB by default).", "Problem"),
    "NotJson": (415, "The body is not declared as application/json.", "Problem"),
    "InvalidRequest": (422, "Invalid fields, each named in `errors` with its messages.", "ValidationProblem"),
    "TooManyFailures": (429, "Too many unknown or revoked keys came from this address: wait the seconds in "
                             "`Retry-After`.", "Problem"),
    "InternalError": (500, "The request could not be completed; nothing was decided or changed.", "Problem"),
    "Unavailable": (503, "A store the operation needs (decision log, keys) cannot be used now; retry later.",
                    "Problem"),
}
STANDARD = {"protected": ("Unauthorized", "Forbidden", "TooManyFailures", "Unavailable"), "all": ("InternalError",)}

SCHEMAS = {
    "LegDecision": answers.LegDecisionSchema,
    "Decision": answers.DecisionSchema,
    "LoggedDecision": answers.LoggedDecisionSchema,
    "Problem": answers.ProblemSchema,
    "ValidationProblem": answers.ValidationProblemSchema,
    "CountryProfile": answers.CountryProfileSchema,
    "RulesetList": answers.RulesetListSchema,
    "Health": answers.HealthSchema,
    "Readiness": answers.ReadinessSchema,
    "NewKey": NewKeySchema,
    "Key": answers.KeySchema,
    "CreatedKey": answers.CreatedKeySchema,
    "KeyList": answers.KeyListSchema,
}


def _version() -> str:
    try:
        return version("transfer-gate")
    except PackageNotFoundError:  # running from a source tree that was not installed
        return "0"


def build_spec(app: Flask) -> dict:
    """Describe every documented view of `app` as an OpenAPI 3.0 document."""
    rt = app.extensions["transfer_gate"]
    spec = APISpec(
        title="transfer-gate",
        version=_version(),
        openapi_version="3.0.3",
        plugins=[FlaskPlugin(), MarshmallowPlugin()],
        info={"description": "Decisions on cross-border transfers of personal data under Japan's APPI. "
                             "Every error is an RFC 9457 problem document (application/problem+json)."},
    )
    spec.components.security_scheme("bearerAuth", {
        "type": "http", "scheme": "bearer",
        "description": "An API key: TRANSFER_GATE_API_KEYS, POST /v1/keys or `transfer-gate keys create`."})
    spec.components.schema("TransferRequest", schema=rt.schema())
    for name, schema in SCHEMAS.items():
        spec.components.schema(name, schema=schema)
    spec.components.schema("BatchRequest", {
        "type": "object", "additionalProperties": False, "required": ["requests"],
        "properties": {"requests": {
            "type": "array", "minItems": 1, "maxItems": app.config["MAX_BATCH"],
            "description": "Each item is checked on its own: a valid TransferRequest is decided, anything "
                           "else gets its problem document in its place in the answer.",
            "items": {"anyOf": [{"$ref": "#/components/schemas/TransferRequest"}, {}]}}}})
    spec.components.schema("BatchAnswer", {
        "type": "object", "additionalProperties": False, "required": ["decisions"],
        "properties": {"decisions": {"type": "array", "description": "One entry per request, in order: its "
                                     "decision, or its problem document if the request was invalid.",
                                     "items": {"oneOf": [{"$ref": "#/components/schemas/Decision"},
                                                         {"$ref": "#/components/schemas/Problem"}]}}}})
    for name, (_status, description, schema) in RESPONSES.items():
        spec.components.response(name, {"description": description,
                                        "content": {MEDIA_TYPE: {"schema": {"$ref": f"#/components/schemas/{schema}"}}}})

    documented, owner = set(), {}  # owner: (path, method) -> the endpoint that answers it
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            view = app.view_functions.get(rule.endpoint)
            if view is None or "---" not in (view.__doc__ or ""):
                continue
            path = FlaskPlugin.flaskpath2openapi(rule.rule)
            for method in rule.methods or ():
                owner[(path, method.lower())] = rule.endpoint
            if rule.endpoint not in documented:
                spec.path(view=view, app=app)
                documented.add(rule.endpoint)
    document = spec.to_dict()
    document["security"] = [{"bearerAuth": []}]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method in METHODS and (path, method) in owner:
                _apply_policy(owner[(path, method)], operation)
    _describe_request_values(document, rt)
    return document


def _apply_policy(endpoint: str, operation: dict) -> None:
    """Add who may call the operation, and the responses the access policy itself can give."""
    responses = operation.setdefault("responses", {})
    responses = operation["responses"] = {str(k): v for k, v in responses.items()}
    standard = list(STANDARD["all"])
    if endpoint in ANONYMOUS:
        operation["security"] = []
        operation["x-roles"] = ["anonymous"]
        note = "No key needed."
    else:
        roles = roles_for(endpoint)
        operation["x-roles"] = roles
        note = "Roles: " + ", ".join(roles) + "."
        standard = list(STANDARD["protected"]) + standard
    operation["description"] = (operation.get("description", "") + "\n\n" + note).strip()
    for name in standard:
        responses.setdefault(str(RESPONSES[name][0]), {"$ref": f"#/components/responses/{name}"})
    operation["responses"] = dict(sorted(responses.items()))


def _describe_request_values(document: dict, rt) -> None:
    """Fill in what the request schema checks in code: known category keys, origins and countries."""
    props = document["components"]["schemas"]["TransferRequest"]["properties"]
    origins = sorted({o for rs in rt.book.rulesets.values() for o in rs.origins})
    countries = sorted(c.alpha_2 for c in pycountry.countries)
    props["data_categories"]["items"]["enum"] = sorted(rt.book.taxonomy.categories)
    props["origin"]["enum"] = origins
    props["origin"]["description"] = ("ISO 3166-1 alpha-2 country of the exporter; it selects the regime, "
                                      "so only the origins of the loaded rulesets are accepted.")
    props["destination"]["enum"] = countries + ["unknown"]
    props["destination"]["description"] = ("ISO 3166-1 alpha-2 country of the recipient, or 'unknown'; "
                                           "it must differ from the origin.")
    leg = document["components"]["schemas"]["Leg"]["properties"]
    leg["destination"]["enum"] = countries + ["unknown"]
    leg["destination"]["description"] = ("ISO 3166-1 alpha-2 country of this leg's recipient; the leg is exported "
                                         "from the previous destination, which must have a regime, and must differ "
                                         "from it.")
    # schemas.storable refuses NUL and unpaired surrogates in free text; JSON Schema can say the first.
    recipient = document["components"]["schemas"]["Recipient"]["properties"]
    for text in (props["reference"], recipient["name"]):
        text["pattern"] = "^[^\\u0000]*$"


def spec_for(app: Flask) -> dict:
    """Return the app's OpenAPI document, built once on first use (after every blueprint is registered)."""
    cached = app.extensions.get("transfer_gate.openapi")
    if cached is None:
        cached = app.extensions["transfer_gate.openapi"] = build_spec(app)
    return cached


@bp.get("/openapi.json")
def spec():
    """The OpenAPI 3 description of this API.
    ---
    get:
      tags: [meta]
      summary: This document
      responses:
        200:
          description: OpenAPI 3.0 document.
          content:
            application/json:
              schema: {type: object}
    """
    return jsonify(spec_for(current_app))
