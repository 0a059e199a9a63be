"""The JSON API (contract §4). Views are thin: parse, call one service function, answer."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import BadRequest, NotFound, UnsupportedMediaType

from .. import service
from ..errors import RequestInvalid
from .identity import caller
from .problems import problem_body, problem_for, respond

bp = Blueprint("api", __name__)


def runtime() -> service.Runtime:
    return current_app.extensions["transfer_gate"]


def json_body():
    """Return the parsed JSON body; 415 unless it is JSON, 400 when it does not parse."""
    if not request.is_json:
        raise UnsupportedMediaType("Send the request as application/json.")
    data = request.get_json(silent=True)
    if data is None:
        raw = request.get_data(cache=True)
        if raw.strip() != b"null":
            raise BadRequest("The body is not valid JSON.")
    return data


@bp.post("/v1/decisions")
def create_decision():
    who, role = caller()
    return jsonify(service.decide(runtime(), json_body(), caller=who, role=role))


@bp.post("/v1/decisions/batch")
def create_batch():
    body = json_body()
    limit = current_app.config["MAX_BATCH"]
    if not isinstance(body, dict):
        raise RequestInvalid({"$": ["The request must be a JSON object with a 'requests' list."]})
    errors = {k: ["Unknown field."] for k in body if k != "requests"}
    items = body.get("requests")
    if not isinstance(items, list):
        errors["requests"] = ["Missing data for required field." if items is None else "Not a valid list."]
    elif not 1 <= len(items) <= limit:
        errors["requests"] = [f"Send between 1 and {limit} requests."]
    if errors:
        raise RequestInvalid(errors)
    who, role = caller()
    return jsonify({"decisions": service.decide_batch(runtime(), items, caller=who, role=role, problem=problem_for)})


@bp.get("/v1/decisions/<decision_id>")
def get_decision(decision_id):
    entry = runtime().log.get(decision_id)
    if entry is None:
        raise NotFound(f"No logged decision has the id {decision_id!r}.")
    return jsonify(entry)


@bp.get("/v1/countries/<code>")
def get_country(code):
    as_of = request.args.get("as_of")
    if as_of is not None:
        try:
            as_of = date.fromisoformat(as_of)
        except ValueError:
            raise RequestInvalid({"as_of": ["Not a valid date (YYYY-MM-DD)."]}) from None
    return jsonify(service.country(runtime(), code.upper(), as_of))


@bp.get("/v1/rulesets")
def list_rulesets():
    return jsonify({"rulesets": service.rulesets(runtime())})


@bp.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    rt = runtime()
    if not rt.book.rulesets:
        return respond(problem_body(503, "Not ready", "No ruleset is loaded.", "not-ready"))
    if not rt.log.writable():
        return respond(problem_body(503, "Not ready", "The decision log is not writable.", "not-ready"))
    return jsonify({"status": "ready", "rulesets": {n: rs.digest for n, rs in rt.book.rulesets.items()},
                    "profiles": rt.profiles.digest})
