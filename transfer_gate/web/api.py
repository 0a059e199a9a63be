"""The JSON API (contract §4). Views are thin: parse, call one service function, answer."""

from __future__ import annotations

import json
from datetime import date

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import BadRequest, NotFound, RequestEntityTooLarge, UnsupportedMediaType

from .. import allocator, service
from ..errors import RequestInvalid
from ..schemas import AS_OF_RANGE
from .identity import caller
from .problems import problem_body, problem_for, respond
from .tracing import request_id

bp = Blueprint("api", __name__)


def runtime() -> service.Runtime:
    return current_app.extensions["transfer_gate"]


def json_body():
    """Return the parsed JSON body; 415 unless it is JSON, 413 over the limit, 400 when it does not parse.

    Stricter than json.loads: a repeated key is an error (never "the last one wins"), and an
    object key must be text the service can echo and store (no NUL, no unpaired surrogate).
    """
    if not request.is_json:
        raise UnsupportedMediaType("Send the request as application/json.")
    raw = request.get_data(cache=True)
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if request.content_length is None and limit is not None and len(raw) >= limit:
        # A chunked body is read up to the limit and silently cut there: reaching it means "too large".
        raise RequestEntityTooLarge()
    try:
        data = json.loads(raw, object_pairs_hook=_object)
    except RecursionError:
        # Python's json parser recurses per nesting level; a body of 100,000 '[' exhausts the stack.
        raise BadRequest("The body is nested too deeply.") from None
    except ValueError:  # JSONDecodeError, and UnicodeDecodeError for bytes that are not UTF-8
        raise BadRequest("The body is not valid JSON.") from None
    errors = bad_keys(data)
    if errors:
        raise MalformedBody(errors)
    return data


class MalformedBody(BadRequest):
    """A body that parses as JSON but repeats a key or has a key that cannot be stored (400, naming each)."""

    description = "The body repeats a key, or has a key that cannot be stored."

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__()
        self.errors = errors


class _Pairs(dict):
    """An object as parsed, remembering the keys it repeated."""

    repeated: tuple = ()


def _object(pairs):
    obj = _Pairs(pairs)
    if len(obj) != len(pairs):
        seen, repeated = set(), []
        for key, _value in pairs:
            if key in seen and key not in repeated:
                repeated.append(key)
            seen.add(key)
        obj.repeated = tuple(repeated)
    return obj


def _shown(key: str) -> str:
    """A key as it can be shown in a path: unprintable characters escaped (\\x00, \\udc80)."""
    return key if key.isprintable() else repr(key)[1:-1]


def bad_keys(body) -> dict[str, list[str]]:
    """Name every repeated or unstorable object key in a parsed body, by its escaped path.

    A loop, not recursion: the parser accepts nesting close to Python's recursion limit.
    """
    errors: dict[str, list[str]] = {}
    # A path is kept as its parts and joined only for an error: most bodies have none.
    stack: list[tuple[object, tuple]] = [(body, ())]
    while stack:
        value, parts = stack.pop()
        if isinstance(value, dict):
            for key in getattr(value, "repeated", ()):
                errors.setdefault(_path(parts + (key,)), []).append("This key appears more than once in the object.")
            for key, item in value.items():
                if "\x00" in key or not key.isascii() and any("\ud800" <= ch <= "\udfff" for ch in key):
                    errors.setdefault(_path(parts + (key,)), []).append(
                        "The key contains a character that cannot be stored (NUL or an unpaired UTF-16 surrogate).")
                elif isinstance(item, (dict, list)):
                    stack.append((item, parts + (key,)))
        elif isinstance(value, list):
            stack.extend((item, parts + (i,)) for i, item in enumerate(value) if isinstance(item, (dict, list)))
    return dict(sorted(errors.items()))


def _path(parts: tuple) -> str:
    """A path as errors name it: keys joined by dots, list items as [i] (the body itself as $)."""
    path = ""
    for part in parts:
        path = f"{path or '$'}[{part}]" if isinstance(part, int) else _join(path, part)
    return path


def _join(path: str, key: str) -> str:
    return f"{path}.{_shown(key)}" if path else _shown(key)


@bp.post("/v1/decisions")
def create_decision():
    """Decide one transfer request; the decision is logged before it is returned.
    ---
    post:
      tags: [decisions]
      summary: Decide one request
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/TransferRequest'}
      responses:
        200:
          description: The decision, already in the decision log.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Decision'}
        400: {$ref: '#/components/responses/MalformedJson'}
        404:
          description: No country profile exists for the destination.
          content:
            application/problem+json:
              schema: {$ref: '#/components/schemas/Problem'}
        413: {$ref: '#/components/responses/BodyTooLarge'}
        415: {$ref: '#/components/responses/NotJson'}
        422: {$ref: '#/components/responses/InvalidRequest'}
        500:
          description: The rules engine failed on this request; no decision was made.
          content:
            application/problem+json:
              schema: {$ref: '#/components/schemas/Problem'}
        503:
          description: The decision could not be logged, so it is not returned (or API keys cannot be checked).
          content:
            application/problem+json:
              schema: {$ref: '#/components/schemas/Problem'}
    """
    who, role = caller()
    return _json(service.decide_text(runtime(), json_body(), caller=who, role=role, request_id=request_id()))


@bp.post("/v1/decisions/batch")
def create_batch():
    """Decide up to MAX_BATCH requests in order; all decisions of a batch are logged in one transaction.
    ---
    post:
      tags: [decisions]
      summary: Decide a batch of requests
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/BatchRequest'}
      responses:
        200:
          description: One entry per request, in order; an invalid request gets its problem document in place.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/BatchAnswer'}
        400: {$ref: '#/components/responses/MalformedJson'}
        413: {$ref: '#/components/responses/BodyTooLarge'}
        415: {$ref: '#/components/responses/NotJson'}
        422: {$ref: '#/components/responses/InvalidRequest'}
        500:
          description: The rules engine failed; nothing of the batch was decided or logged.
          content:
            application/problem+json:
              schema: {$ref: '#/components/schemas/Problem'}
        503:
          description: The decisions could not be logged, so none is returned (or API keys cannot be checked).
          content:
            application/problem+json:
              schema: {$ref: '#/components/schemas/Problem'}
    """
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
    answer = _json(service.decide_batch_text(runtime(), items, caller=who, role=role, problem=problem_for,
                                             request_id=request_id()))
    if answer.content_length >= GIVE_BACK_AFTER:  # once it has been sent: see allocator.py
        answer.call_on_close(allocator.give_back_free_memory)
    return answer


GIVE_BACK_AFTER = 1024 * 1024  # bytes of a batch answer (about 100 decisions)


def _json(text: str) -> Response:
    """Send JSON text as it was logged: the answer is serialised once, and these are its bytes."""
    return Response(text + "\n", mimetype="application/json")


@bp.get("/v1/decisions/<string(length=26):decision_id>")  # a ULID; never "batch"
def get_decision(decision_id):
    """Return a logged decision with the request it answered.
    ---
    get:
      tags: [decision log]
      summary: Read one logged decision
      parameters:
        - name: decision_id
          in: path
          required: true
          schema: {type: string}
      responses:
        200:
          description: The log entry.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/LoggedDecision'}
        404: {$ref: '#/components/responses/NotFound'}
    """
    entry = service.logged_decision(runtime(), decision_id)
    if entry is None:
        raise NotFound(f"No logged decision has the id {decision_id!r}.")
    return jsonify(entry)


@bp.get("/v1/decisions")
def list_decisions():
    """Logged decisions matching filters, one page at a time (auditor).
    ---
    get:
      summary: Search the decision log
      tags: [decision log]
      parameters:
        - {in: query, name: from, schema: {type: string}, description: "Date (YYYY-MM-DD, from its start) or date-time with zone; inclusive."}
        - {in: query, name: to, schema: {type: string}, description: "Date (to its end) or date-time with zone; inclusive."}
        - {in: query, name: outcome, schema: {type: string, enum: [allow, conditional, deny]}}
        - {in: query, name: destination, schema: {type: string}, description: "ISO 3166-1 alpha-2 code or unknown. A journey matches if any of its legs goes there."}
        - {in: query, name: route, schema: {type: string}}
        - {in: query, name: reference, schema: {type: string}, description: "The caller's reference; matches masked (hash mode) entries too."}
        - {in: query, name: caller, schema: {type: string}, description: The key id that asked.}
        - {in: query, name: records, schema: {type: string, enum: [required, not_required]}}
        - {in: query, name: regime, schema: {type: string, enum: [APPI, GDPR, UK_GDPR, appi, gdpr, uk_gdpr]}, description: "The regime of the top-level transfer (a journey's first leg), or its ruleset's name."}
        - {in: query, name: order, schema: {type: string, enum: [desc, asc], default: desc}}
        - {in: query, name: limit, schema: {type: integer, minimum: 1, maximum: 1000, default: 100}}
        - {in: query, name: cursor, schema: {type: integer}, description: next_cursor of the previous page.}
      responses:
        200:
          description: "{decisions: [log entries as in GET /v1/decisions/{id}], next_cursor: integer or null}"
          content:
            application/json:
              schema: {type: object}
        422:
          description: A filter is invalid or unknown; `errors` names each.
          content:
            application/problem+json:
              schema: {type: object}
    """
    return jsonify(service.find_decisions(runtime(), service.log_filter(request.args, empty_is_absent=False)))


@bp.get("/v1/countries/<code>")
def get_country(code):
    """Return a country profile as in force on a date (default today).
    ---
    get:
      tags: [reference]
      summary: Read a country profile
      parameters:
        - name: code
          in: path
          required: true
          schema: {type: string}
          description: ISO 3166-1 alpha-2 code (case does not matter).
        - name: as_of
          in: query
          required: false
          schema: {type: string, format: date}
      responses:
        200:
          description: The profile in force on `as_of`.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/CountryProfile'}
        404: {$ref: '#/components/responses/NotFound'}
        422: {$ref: '#/components/responses/InvalidRequest'}
    """
    as_of = request.args.get("as_of")
    if as_of is not None:
        try:
            as_of = date.fromisoformat(as_of)
        except ValueError:
            raise RequestInvalid({"as_of": ["Not a valid date (YYYY-MM-DD)."]}) from None
        if not AS_OF_RANGE[0] <= as_of <= AS_OF_RANGE[1]:  # the same range a decision may be asked for
            raise RequestInvalid({"as_of": [f"Must be a date from {AS_OF_RANGE[0]} to {AS_OF_RANGE[1]}."]})
    return jsonify(service.country(runtime(), code.upper(), as_of))


@bp.get("/v1/rulesets")
def list_rulesets():
    """List the loaded rulesets with version and digest.
    ---
    get:
      tags: [reference]
      summary: List rulesets
      responses:
        200:
          description: Every loaded ruleset.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/RulesetList'}
    """
    return jsonify({"rulesets": service.rulesets(runtime())})


@bp.get("/v1/law-changes")
def list_law_changes():
    """Pending and recent changes of the law the rules encode, and what each would change.
    ---
    get:
      tags: [reference]
      summary: The law watch
      description: >-
        Every entry of the law-change register with its status on today's date (pending: promulgated,
        entry into force still to be set; scheduled; in_force), sources and confidence, the rules tied
        to it, and — for a change not yet in force — how many decisions logged in the last 90 days
        would change once it is switched on. Curated country profiles whose review is stale are listed.
      responses:
        200:
          description: The law watch.
          content:
            application/json:
              schema: {type: object}
    """
    return jsonify(service.law_watch(runtime()))


@bp.get("/healthz")
def healthz():
    """Liveness: the process answers.
    ---
    get:
      tags: [health]
      summary: Liveness
      responses:
        200:
          description: The process is alive.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Health'}
    """
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    """Readiness: rules are loaded and the decision log accepts writes.
    ---
    get:
      tags: [health]
      summary: Readiness
      responses:
        200:
          description: Ready to decide.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Readiness'}
        503:
          description: Not ready; `detail` says why.
          content:
            application/problem+json:
              schema: {$ref: '#/components/schemas/Problem'}
    """
    rt = runtime()
    if not rt.book.rulesets:
        return respond(problem_body(503, "Not ready", "No ruleset is loaded.", "not-ready"))
    if not rt.log.writable():
        return respond(problem_body(503, "Not ready", "The decision log is not writable.", "not-ready"))
    reload = current_app.extensions.get("transfer_gate.reload")  # the last SIGHUP's outcome, if any (serve)
    return jsonify({"status": "ready", "rulesets": {n: rs.digest for n, rs in rt.book.rulesets.items()},
                    "profiles": rt.profiles.digest, **({"reload": reload} if reload else {})})
