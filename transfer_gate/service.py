"""decide(): validate → evaluate → log → return — the one operation the API, the form and the CLI call."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Callable, Iterator, Mapping

from marshmallow import ValidationError
from ulid import ULID

from . import engine
from .decision_log import NO_MASK, DecisionLog, entry_for
from .errors import RequestInvalid, TransferGateError, UnknownCountry, UnsupportedOrigin
from .matcher import Matcher
from .model import Basis, Recipient, TransferRequest
from .rules import RuleBook, load_rulebook
from .schemas import DecisionFilterSchema, TransferRequestSchema, flatten_errors


TIMESTAMP = "%Y-%m-%dT%H:%M:%S.%fZ"  # evaluated_at, and the log's created_at: sorts as text


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Runtime:
    """What a decision needs, built once per worker by create_app (or by a CLI command)."""

    book: RuleBook
    profiles: object  # profiles.ProfileStore
    matcher: Matcher
    log: DecisionLog | None
    clock: Callable[[], datetime] = field(default=_utc_now)

    @classmethod
    def build(cls, rulesets_dir, profiles_dir, log: DecisionLog | None, clock=None) -> "Runtime":
        """Load rules and profiles and compile the matcher; raise on any invalid data file."""
        from .profiles import ProfileStore

        book = load_rulebook(rulesets_dir)
        profiles = ProfileStore.load(profiles_dir)
        return cls(book, profiles, compile_matcher(book), log, clock or _utc_now)

    def schema(self) -> TransferRequestSchema:
        """The request schema for this runtime's taxonomy, built once: building one costs more than a decision."""
        schema = self.__dict__.get("_schema")
        if schema is None:
            schema = self.__dict__["_schema"] = TransferRequestSchema(categories=self.book.taxonomy.categories)
        return schema


def compile_matcher(book: RuleBook) -> Matcher:
    """Compile every ruleset of a rule book into one durable-rules matcher."""
    return Matcher({name: [(r.id, r.condition) for r in rs.rules] for name, rs in book.rulesets.items()})


def validate(rt: Runtime, payload) -> TransferRequest:
    """Validate a request body against contract §2; raise RequestInvalid naming every bad field."""
    if not isinstance(payload, dict):
        raise RequestInvalid({"$": ["The request must be a JSON object."]})
    try:
        data = rt.schema().load(payload)
    except ValidationError as err:
        raise RequestInvalid(flatten_errors(err.messages)) from None
    if rt.book.for_origin(data["origin"]) is None:
        known = sorted(o for rs in rt.book.rulesets.values() for o in rs.origins)
        raise UnsupportedOrigin({"origin": [f"No regime is known for origin {data['origin']!r} (supported: {', '.join(known)})."]},
                                detail="The origin selects the regime, and none is known for it.")
    categories = tuple(dict.fromkeys(data["data_categories"]))
    recipient, basis = data["recipient"], data["basis"]
    return TransferRequest(
        origin=data["origin"],
        destination=data["destination"],
        data_categories=categories,
        as_of=data["as_of"] or rt.clock().date(),
        data_origin=data["data_origin"],
        recipient=Recipient(
            name=recipient["name"], relationship=recipient["relationship"],
            safeguards=tuple(dict.fromkeys(recipient["safeguards"])), handles_data=recipient["handles_data"],
            links_to_individuals=recipient["links_to_individuals"], academic_institution=recipient["academic_institution"],
        ),
        basis=Basis(consent=basis["consent"], exception=basis["exception"], opt_out=basis["opt_out"],
                    public_announcement=basis["public_announcement"]),
        reference=data["reference"],
    )


def evaluate(rt: Runtime, request: TransferRequest, book: RuleBook | None = None, profiles=None, matcher=None):
    """Run the engine on a validated request (optionally under candidate rules or profiles)."""
    book = book or rt.book
    profiles = profiles or rt.profiles
    ruleset = book.for_origin(request.origin)
    profile = None if request.destination == "unknown" else profiles.get(request.destination, request.as_of)
    return engine.evaluate(request, ruleset, book, profile, matcher or rt.matcher)


def _respond(rt: Runtime, request: TransferRequest) -> dict:
    decision = evaluate(rt, request)
    body = {"decision_id": str(ULID())}
    body.update(decision.to_dict())
    body["evaluated_at"] = rt.clock().strftime(TIMESTAMP)
    body["as_of"] = request.as_of.isoformat()
    return body


def _logged_row(rt: Runtime, request: TransferRequest, response: dict, caller: str, role: str | None) -> dict:
    """Build the log row of a decision, proving first that the answer can be sent and the row stored.

    Raise RequestInvalid when either cannot be (text that UTF-8 or PostgreSQL refuses), before
    anything is logged: a decision is logged only when it can also be returned.
    """
    row = entry_for(request.to_dict(), response, caller, role, rt.log.mask if rt.log else NO_MASK)
    try:
        json.dumps(response, ensure_ascii=False, allow_nan=False).encode("utf-8")
        for value in row.values():
            if isinstance(value, str):
                value.encode("utf-8")
                if "\x00" in value:
                    raise ValueError("PostgreSQL cannot store NUL in text")
    except (TypeError, ValueError):  # UnicodeEncodeError is a ValueError
        raise RequestInvalid({"$": ["The request holds text that cannot be stored or sent."]}) from None
    return row


def decide(rt: Runtime, payload, *, caller: str, role: str | None = None, dry_run: bool = False) -> dict:
    """Validate, evaluate, log, return. A decision that cannot be logged is not returned (LogUnavailable)."""
    request = validate(rt, payload)
    response = _respond(rt, request)
    row = _logged_row(rt, request, response, caller, role)
    if not dry_run:
        rt.log.append([row])
    return response


def decide_batch(rt: Runtime, payloads: list, *, caller: str, role: str | None = None,
                 problem: Callable[[TransferGateError], dict], dry_run: bool = False) -> list[dict]:
    """Decide each request in order; a bad item gets its problem document in place.

    Every answer is built, and every row proven storable, before anything is logged; then all
    decisions of the batch are logged in one transaction: either every one is logged and
    returned, or LogUnavailable (or EngineFailure, before logging) is raised and none is.
    """
    out, rows = [], []
    for payload in payloads:
        try:
            request = validate(rt, payload)
            response = _respond(rt, request)
            row = _logged_row(rt, request, response, caller, role)
        except (RequestInvalid, UnknownCountry) as exc:
            out.append(problem(exc))
            continue
        rows.append(row)
        out.append(response)
    if rows and not dry_run:
        rt.log.append(rows)
    return out


def country(rt: Runtime, code: str, as_of: date | None) -> dict:
    """Return a country profile as in force on a date."""
    return rt.profiles.get(code, as_of or rt.clock().date()).to_dict()


def rulesets(rt: Runtime) -> list[dict]:
    """Describe the loaded rulesets with version and digest."""
    return [rs.describe() for rs in rt.book.rulesets.values()]


# --------------------------------------------------------------------------- the decision log


@dataclass(frozen=True)
class LogFilter:
    """Validated filters over the decision log, in the log's own terms."""

    criteria: dict  # keyword arguments of DecisionLog.query: since, until, outcome, …
    limit: int = 100
    cursor: int | None = None
    newest_first: bool = True
    given: dict = field(default_factory=dict)  # the filters as given, to repeat them in links


def log_filter(args: Mapping, empty_is_absent: bool = True) -> LogFilter:
    """Validate log filters; raise RequestInvalid naming each bad one.

    A page's filter form sends every field, so there an empty value means "any"; the API
    (empty_is_absent=False) treats an empty value as the invalid value it is.
    """
    given = {k: v for k, v in args.items() if v is not None and (v != "" or not empty_is_absent)}
    try:
        data = DecisionFilterSchema().load(given)
    except ValidationError as err:
        raise RequestInvalid(flatten_errors(err.messages), detail="The filters are invalid.") from None
    criteria = {k: data[k] for k in ("outcome", "destination", "route", "reference", "caller") if data[k] is not None}
    if data["from_"] is not None and data["from_"] > datetime.min.replace(tzinfo=timezone.utc):
        criteria["since"] = _logged_time(data["from_"])
    if data["to"] is not None and data["to"] < datetime.max.replace(tzinfo=timezone.utc):
        # inclusive: everything up to and including that instant
        criteria["until"] = _logged_time(data["to"] + timedelta(microseconds=1))
    if data["records"] is not None:
        criteria["records_required"] = data["records"] == "required"
    keep = {k: v for k, v in given.items() if k not in ("cursor",)}
    return LogFilter(criteria, data["limit"], data["cursor"], data["order"] == "desc", keep)


def _logged_time(moment: datetime) -> str:
    """Format a UTC instant as the log stores it; isoformat, unlike strftime, pads years before 1000."""
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def find_decisions(rt: Runtime, flt: LogFilter) -> dict:
    """Return one page of logged decisions and the cursor of the next page (None on the last)."""
    rows = rt.log.query(**flt.criteria, after=flt.cursor, newest_first=flt.newest_first, limit=flt.limit + 1)
    more = len(rows) > flt.limit
    rows = rows[: flt.limit]
    return {"decisions": rows, "next_cursor": rows[-1]["seq"] if more else None}


def all_decisions(rt: Runtime, flt: LogFilter) -> Iterator[dict]:
    """Yield every logged decision matching the filter, oldest first, reading a page at a time."""
    return rt.log.scan(**flt.criteria)


DECISION_ID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")  # a ULID in Crockford's base32, as str(ULID()) writes it


def logged_decision(rt: Runtime, decision_id: str) -> dict | None:
    """Return one logged decision with its request, or None (also for anything that is not a decision id)."""
    if not isinstance(decision_id, str) or not DECISION_ID.fullmatch(decision_id):
        return None
    return rt.log.get(decision_id)
