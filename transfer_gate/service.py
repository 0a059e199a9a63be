"""decide(): validate → evaluate → log → return — the one operation the API, the form and the CLI call."""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from time import perf_counter
from typing import Callable, Iterator, Mapping

from marshmallow import ValidationError
from ulid import ULID

from . import engine, journeys
from .decision_log import NO_MASK, DecisionLog, answer_text, entry_for
from .log_entries import escaped, pack_middle, pack_parts
from .errors import RequestInvalid, TransferGateError, UnknownCountry, UnsupportedOrigin
from .matcher import Matcher
from .model import Basis, Leg, Recipient, TransferRequest, default_role
from .rules import RuleBook, load_rulebook
from .schemas import DecisionFilterSchema, TransferRequestSchema, domestic, flatten_errors, free_text


TIMESTAMP = "%Y-%m-%dT%H:%M:%S.%fZ"  # evaluated_at, and the log's created_at: sorts as text


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class Observer:
    """What the service reports as it decides (the metrics implement it); this one ignores it all."""

    def engine(self, seconds: float) -> None:
        """One engine step took `seconds`."""

    def decided(self, response: dict) -> None:
        """A decision was logged and is being returned (from a batch, only its outcome, regime and route)."""

    def reused(self, hit: bool) -> None:
        """A decision's answer was found worked out already (hit) or had to be worked out (miss)."""


# Answers a worker keeps worked out (TRANSFER_GATE_ANSWER_CACHE): about 25 KB each.
ANSWER_CACHE = 256


@dataclass(frozen=True)
class Worked:
    """A decision's answer as far as it follows from the request: the engine's decision and its JSON text.

    `fragment` is the text of `decision.to_dict()` without its braces (answer_text), so an answer's
    text is its decision id, this fragment, its time and its date, joined without serialising again.
    """

    decision: object  # model.Decision or journeys.Journey
    fragment: str
    head: dict  # what the log row and the metrics read of the answer (HEAD_FIELDS); never changed
    escaped: bytes  # the fragment as the inside of a JSON string (log_entries.escaped), for the entry's hash
    packed: bytes  # the fragment compressed for the log (log_entries.pack_middle), once for every decision


# The fields of an answer its log row and the metrics read (log_entries.entry_for, Observer.decided).
HEAD_FIELDS = ("outcome", "regime", "route", "ruleset", "country_profile", "records", "data_kinds")


class Kept:
    """A bounded LRU of things a worker worked out, valid for one set of rules and profiles (`owner`):
    a put under another owner empties it first (a reload starts new workers)."""

    def __init__(self, size: int = ANSWER_CACHE):
        self.size = max(0, int(size))
        self._entries: OrderedDict = OrderedDict()
        self._owner: tuple = ()
        self._lock = threading.Lock()

    def get(self, owner: tuple, key):
        with self._lock:
            if self._owner != owner or key not in self._entries:
                return None
            self._entries.move_to_end(key)
            return self._entries[key]

    def put(self, owner: tuple, key, value) -> None:
        if not self.size:
            return
        with self._lock:
            if self._owner != owner:
                self._entries.clear()
                self._owner = owner
            self._entries[key] = value
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class Answers(Kept):
    """The answers a worker has worked out, for the requests that come again (Worked, by answer_key).

    An answer follows from the request, the rules, the country profiles and the date `as_of` — the
    engine is pure and has no clock — and not from the recipient's name or the caller's
    `reference`, which it never reads. So a request that differs from an earlier one only in
    those gets the same decision without running the engine and building the answer again:
    the key is the validated request without them (its `as_of` already resolved to a date),
    and the entries belong to one set of rules and profiles — a runtime given others (a reload
    starts new workers) starts empty. Everything else of the answer is per decision: its id,
    its time, its date, and the log entry, which is written for each decision as before.
    """


class Validated(Kept):
    """The request bodies a worker has validated, for the bodies that come again (same bound as Answers).

    Validation follows from the body and the rule book's taxonomy and regimes alone. The key is the
    body without its free texts — `reference` and the recipients' names, which differ from one
    export to the next — as canonical JSON (so `1` and `true`, `1` and `1.0` stay apart); the value
    is the validated request without them, and whether the body gave its date. A body that comes
    again has only its free texts checked, by the same rules as the schema's (schemas.free_text);
    anything else about it — a free text that fails, a body not made of JSON values — goes through
    the schema, which names every bad field. Only bodies that validated are kept.
    """


@dataclass
class Runtime:
    """What a decision needs, built once per worker by create_app (or by a CLI command)."""

    book: RuleBook
    profiles: object  # profiles.ProfileStore
    matcher: Matcher
    log: DecisionLog | None
    clock: Callable[[], datetime] = field(default=_utc_now)
    observer: Observer = field(default_factory=Observer)
    answers: Answers = field(default_factory=Answers)
    validated: Validated = field(default_factory=Validated)

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


@dataclass(frozen=True)
class Loaded:
    """Rules and profiles loaded and checked once (by `serve`'s master process) and handed to the workers it starts.

    `reload` says how the last reload (SIGHUP) went: None before any, else a dict with
    `status` ("reloaded" or "failed": the previous rules and profiles stayed loaded) and `at`.
    """

    book: RuleBook
    profiles: object  # profiles.ProfileStore
    reload: dict | None = None

    @classmethod
    def load(cls, rulesets_dir, profiles_dir, reload: dict | None = None) -> "Loaded":
        """Load and check rules and profiles (compiling the rules too); raise on any invalid data file."""
        rt = Runtime.build(rulesets_dir, profiles_dir, log=None)
        return cls(rt.book, rt.profiles, reload)

    def runtime(self, log: DecisionLog) -> Runtime:
        """A worker's runtime over these rules and profiles, with its own compiled matcher."""
        return Runtime(self.book, self.profiles, compile_matcher(self.book), log)


def compile_matcher(book: RuleBook) -> Matcher:
    """Compile every ruleset of a rule book into one durable-rules matcher."""
    return Matcher({name: [(r.id, r.condition) for r in rs.rules] for name, rs in book.rulesets.items()})


def validate(rt: Runtime, payload) -> TransferRequest:
    """Validate a request body against contract §2; raise RequestInvalid naming every bad field.

    A body validated before but for its free texts is not validated again (Validated).
    """
    return _validate_keyed(rt, payload)[0]


def _validate_keyed(rt: Runtime, payload, keep: bool = True) -> tuple[TransferRequest, TransferRequest]:
    """validate(), and the request's answer_key, which a body validated before has already (kept unless `keep` is False)."""
    if not isinstance(payload, dict):
        raise RequestInvalid({"$": ["The request must be a JSON object."]})
    owner, key = (rt.book,), _without_free_texts(payload)
    if key is not None:
        kept = rt.validated.get(owner, key)
        if kept is not None:
            found = _with_free_texts(*kept, payload, rt.clock)
            if found is not None:
                return found
    request, dated = _validated(rt, payload)
    unnamed = answer_key(request)
    if key is not None and keep:
        rt.validated.put(owner, key, (unnamed, dated))
    return request, unnamed


def _validated(rt: Runtime, payload: dict) -> tuple[TransferRequest, bool]:
    """The schema's validation of a body, and whether the body gave its date (`as_of`)."""
    try:
        data = rt.schema().load(payload)
    except ValidationError as err:
        raise RequestInvalid(flatten_errors(err.messages)) from None
    if rt.book.for_origin(data["origin"]) is None:
        raise UnsupportedOrigin({"origin": [f"No regime is known for origin {data['origin']!r} ({supported(rt)})."]},
                                detail="The origin selects the regime, and none is known for it.")
    _check_legs(rt, data)
    categories = tuple(dict.fromkeys(data["data_categories"]))
    recipient, basis = data["recipient"], data["basis"]
    return TransferRequest(
        origin=data["origin"],
        destination=data["destination"],
        data_categories=categories,
        as_of=data["as_of"] or rt.clock().date(),
        data_origin=data["data_origin"],
        exporter_role=data["exporter_role"],
        recipient=_recipient(recipient),
        basis=_basis(basis),
        reference=data["reference"],
        onward=tuple(Leg(destination=leg["destination"], recipient=_recipient(leg["recipient"]), basis=_basis(leg["basis"]))
                     for leg in data["onward"]),
        principals_under_16=data["principals_under_16"],
    ), data["as_of"] is not None


def _unnamed_body(recipient):
    if isinstance(recipient, dict) and "name" in recipient:
        return {k: v for k, v in recipient.items() if k != "name"}
    return recipient


def _without_free_texts(payload: dict) -> str | None:
    """A body without `reference` and the recipients' names, as canonical JSON (None: not JSON values)."""
    body = dict(payload)
    body.pop("reference", None)
    if "recipient" in body:
        body["recipient"] = _unnamed_body(body["recipient"])
    if isinstance(body.get("onward"), list):
        body["onward"] = [dict(leg, recipient=_unnamed_body(leg["recipient"])) if isinstance(leg, dict) and "recipient" in leg
                          else leg for leg in body["onward"]]
    try:
        return json.dumps(body, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        return None


def _with_free_texts(unnamed: TransferRequest, dated: bool, payload: dict,
                     clock) -> tuple[TransferRequest, TransferRequest] | None:
    """A kept validation given this body's free texts, and its answer_key (None: a free text needs the schema's word)."""
    reference = payload.get("reference")
    name = payload["recipient"].get("name") if "recipient" in payload else None
    names = [leg["recipient"].get("name") if "recipient" in leg else None for leg in payload.get("onward") or ()]
    if not (free_text(reference) and free_text(name) and all(free_text(n) for n in names)):
        return None
    unnamed = unnamed if dated else replace(unnamed, as_of=clock().date())
    if reference is None and name is None and not any(n is not None for n in names):
        return unnamed, unnamed
    return replace(unnamed, reference=reference,
                   recipient=replace(unnamed.recipient, name=name) if name is not None else unnamed.recipient,
                   onward=tuple(replace(leg, recipient=replace(leg.recipient, name=n)) if n is not None else leg
                                for leg, n in zip(unnamed.onward, names))), unnamed


def _check_legs(rt: Runtime, data: dict) -> None:
    """Raise RequestInvalid naming each onward leg that leaves a country with no regime, or stays in it."""
    errors: dict[str, list[str]] = {}
    exporter = data["destination"]
    for i, leg in enumerate(data["onward"]):
        path = f"onward[{i}].destination"
        where = "the destination" if i == 0 else f"the destination of onward[{i - 1}]"
        if exporter == "unknown":
            errors[path] = [f"This leg leaves {where}, which is not identified (\"unknown\"): the regime that "
                            "governs it cannot be selected. Name that country, or end the journey there."]
        elif rt.book.for_origin(exporter) is None:
            errors[path] = [f"This leg leaves {where}, {exporter}, where no regime is known ({supported(rt)})."]
        elif leg["destination"] == exporter:
            errors[path] = [domestic(exporter)]
        exporter = leg["destination"]
    if errors:
        raise RequestInvalid(errors, detail="An onward leg cannot be decided.")


def _recipient(data: dict) -> Recipient:
    return Recipient(
        name=data["name"], relationship=data["relationship"],
        safeguards=tuple(dict.fromkeys(data["safeguards"])), handles_data=data["handles_data"],
        links_to_individuals=data["links_to_individuals"], academic_institution=data["academic_institution"],
        role=data["role"] or default_role(data["relationship"]), transfer_assessment=data["transfer_assessment"],
    )


def _basis(data: dict) -> Basis:
    return Basis(consent=data["consent"], exception=data["exception"], opt_out=data["opt_out"],
                 public_announcement=data["public_announcement"], derogation=data["derogation"],
                 occasional=data["occasional"])


def origins(rt: Runtime) -> list[str]:
    """Every origin a loaded ruleset decides for: the rulesets in order (APPI first), each one's as listed."""
    return list(dict.fromkeys(o for rs in rt.book.rulesets.values() for o in rs.origins))


def supported(rt: Runtime) -> str:
    """Name the regimes and the origins each one decides for, for messages."""
    return "supported: " + "; ".join(f"{rs.regime} for {', '.join(rs.origins)}" for rs in rt.book.rulesets.values())


def evaluate(rt: Runtime, request: TransferRequest, book: RuleBook | None = None, profiles=None, matcher=None):
    """Run the engine on a validated request (optionally under candidate rules or profiles)."""
    book = book or rt.book
    profiles = profiles or rt.profiles
    ruleset = book.for_origin(request.origin)
    profile = None if request.destination == "unknown" else profiles.get(request.destination, request.as_of)
    started = perf_counter()  # timed here: the engine itself knows no clocks
    decision = engine.evaluate(request, ruleset, book, profile, matcher or rt.matcher)
    rt.observer.engine(perf_counter() - started)
    return decision


def leg_requests(rt: Runtime, request: TransferRequest, book: RuleBook | None = None) -> tuple[TransferRequest, ...]:
    """Split a validated journey into one request per leg, the top-level transfer first."""
    book = book or rt.book
    return journeys.leg_requests(request, lambda code: getattr(book.for_origin(code), "regime", None))


def decide_journey(rt: Runtime, request: TransferRequest, book: RuleBook | None = None, profiles=None,
                   matcher=None) -> journeys.Journey:
    """Decide every leg of a journey under the regime of the country it leaves, and combine them."""
    book = book or rt.book
    legs = leg_requests(rt, request, book)
    for i, leg in enumerate(legs):
        if book.for_origin(leg.origin) is None:  # candidate rules in a replay may lack a regime
            raise RequestInvalid({f"onward[{i - 1}].destination" if i else "origin":
                                  [f"No regime is known for {leg.origin} ({supported(rt)})."]})
    decisions = [evaluate(rt, leg, book, profiles, matcher) for leg in legs]
    return journeys.combine(legs, decisions, book.citations.get, _labels(book, profiles or rt.profiles, request.as_of))


def _labels(book: RuleBook, profiles, as_of: date) -> journeys.Labels:
    """Name countries and routes as a journey's summary shows them."""

    def country(code: str) -> tuple[str, str]:
        if code == "unknown":
            return "a country not yet identified", "未特定の国"
        try:
            profile = profiles.get(code, as_of)
        except UnknownCountry:
            return code, code
        return profile.name, profile.name_ja

    def route(ruleset: str, route_id: str) -> tuple[str, str]:
        r = book.rulesets[ruleset].route(route_id)
        return r.title, r.title_ja

    return journeys.Labels(country, route)


def answer(rt: Runtime, request: TransferRequest, book: RuleBook | None = None, profiles=None, matcher=None):
    """Decide a request, or a journey when it has onward legs (both answer `.to_dict()`)."""
    if request.onward:
        return decide_journey(rt, request, book, profiles, matcher)
    return evaluate(rt, request, book, profiles, matcher)


def _unnamed(recipient: Recipient) -> Recipient:
    return replace(recipient, name=None) if recipient.name is not None else recipient


def answer_key(request: TransferRequest) -> TransferRequest:
    """The request as far as its answer depends on it: without `reference` and the recipients' names."""
    return replace(request, reference=None, recipient=_unnamed(request.recipient),
                   onward=tuple(replace(leg, recipient=_unnamed(leg.recipient)) for leg in request.onward))


def worked_out(rt: Runtime, request: TransferRequest, key: TransferRequest | None = None, keep: bool = True) -> Worked:
    """Decide a request under the runtime's rules and profiles, or find it decided already (Answers).

    `key`: the request's answer_key, when the caller has it; `keep` False: an answer worked out is not
    kept. Raise RequestInvalid when the answer cannot be sent as JSON, before anything is logged.
    """
    owner = (rt.book, rt.profiles, rt.matcher)
    key = answer_key(request) if key is None else key
    worked = rt.answers.get(owner, key)
    rt.observer.reused(worked is not None)
    if worked is None:
        decision = answer(rt, request)
        body = decision.to_dict()
        try:
            fragment = answer_text(body)[1:-1]
        except (TypeError, ValueError):
            raise RequestInvalid({"$": ["The request holds text that cannot be stored or sent."]}) from None
        worked = Worked(decision, fragment, {k: body[k] for k in HEAD_FIELDS}, escaped(fragment), pack_middle(fragment))
        if keep:
            rt.answers.put(owner, key, worked)
    return worked


@dataclass(frozen=True)
class Said:
    """An answer as it leaves: its dict (see _respond), its text (answer_text of it: the bytes sent,
    stored and hashed), that text escaped as inside a JSON string (log_entries.escaped), which the
    entry's hash covers, and the text as the log stores it (log_entries.pack_parts; None: pack it whole)."""

    body: dict
    text: str
    escaped: bytes
    stored: bytes | None


def _respond(rt: Runtime, request: TransferRequest, whole: bool = True, key: TransferRequest | None = None,
             keep: bool = True) -> Said:
    """The answer to a request, with its decision's part serialised, escaped and compressed once (Worked).

    With `whole` False the dict holds only what the log row and the metrics read of the answer
    (HEAD_FIELDS, shared with the kept answer: read, never changed): for callers that send the text.
    """
    worked = worked_out(rt, request, key, keep)
    decision_id, evaluated_at, as_of = str(ULID()), rt.clock().strftime(TIMESTAMP), request.as_of.isoformat()
    body = {"decision_id": decision_id}
    body.update(worked.decision.to_dict() if whole else worked.head)
    body["evaluated_at"] = evaluated_at
    body["as_of"] = as_of
    # A ULID, a timestamp and an ISO date need no escaping in JSON.
    head, tail = f'{{"decision_id":"{decision_id}",', f',"evaluated_at":"{evaluated_at}","as_of":"{as_of}"}}'
    return Said(body, head + worked.fragment + tail, escaped(head) + worked.escaped + escaped(tail),
                pack_parts(head, worked.packed, tail))


def _logged_row(rt: Runtime, request: TransferRequest, said: Said, caller: str, role: str | None,
                request_id: str | None = None, hashed_from_template: bool = True) -> dict:
    """Build the log row of a decision, proving first that it and the answer's text can be sent and stored.

    The answer is serialised once (`text`): the same text is sent, stored and hashed.
    Raise RequestInvalid when either cannot be (text that UTF-8 or PostgreSQL refuses), before
    anything is logged: a decision is logged only when it can also be returned.
    """
    try:
        row = entry_for(request.to_dict(), said.body, caller, role, rt.log.mask if rt.log else NO_MASK,
                        request_id=request_id, response_text=said.text,
                        response_escaped=said.escaped if hashed_from_template else None, response_z=said.stored)
        said.text.encode("utf-8")
        for value in row.values():
            if isinstance(value, str):
                value.encode("utf-8")
                if "\x00" in value:
                    raise ValueError("PostgreSQL cannot store NUL in text")
    except (TypeError, ValueError):  # UnicodeEncodeError is a ValueError
        raise RequestInvalid({"$": ["The request holds text that cannot be stored or sent."]}) from None
    return row


def _decide(rt: Runtime, payload, caller: str, role: str | None, dry_run: bool,
            request_id: str | None, whole: bool = True) -> tuple[dict, str]:
    request, key = _validate_keyed(rt, payload)
    said = _respond(rt, request, whole or _masking(rt), key)
    row = _logged_row(rt, request, said, caller, role, request_id)
    if not dry_run:
        rt.log.append([row])
        rt.observer.decided(said.body)
    return said.body, said.text


def decide(rt: Runtime, payload, *, caller: str, role: str | None = None, dry_run: bool = False,
           request_id: str | None = None) -> dict:
    """Validate, evaluate, log, return. A decision that cannot be logged is not returned (LogUnavailable).

    `request_id` (the HTTP request's, or the CLI run's) is stored with the log entry.
    """
    return _decide(rt, payload, caller, role, dry_run, request_id)[0]


def decide_text(rt: Runtime, payload, *, caller: str, role: str | None = None, request_id: str | None = None) -> str:
    """Like `decide`, but return the answer as the JSON text that was logged and hashed (the API sends it)."""
    return _decide(rt, payload, caller, role, False, request_id, whole=False)[1]


def _masking(rt: Runtime) -> bool:
    """Whether the log masks fields: the mask is applied to the whole answer, never to a part of it."""
    return bool(rt.log and rt.log.mask.fields)


def _decide_all(rt: Runtime, payloads: list, caller: str, role: str | None, problem: Callable[[TransferGateError], dict],
                dry_run: bool, request_id: str | None, keep_answers: bool = True) -> list[tuple[dict, str | None]]:
    """Decide each payload; with keep_answers False, keep of each answer only its text and what is counted."""
    out, rows = [], []
    # A batch larger than the kept answers would push out every one of them, and its own first ones before
    # its last: it uses what is kept, and adds nothing (the single requests' answers stay, and no worker's
    # memory holds a thousand answers' small objects spread among the batch's).
    keep = len(payloads) <= rt.answers.size
    for payload in payloads:
        try:
            request, key = _validate_keyed(rt, payload, keep)
            said = _respond(rt, request, keep_answers or _masking(rt), key, keep)
            response, text = said.body, said.text
            # No hash template here: a batch holds its rows until the commit, and a template is another
            # copy of the answer (13 KB a row); the writer hashes each row from its text instead.
            row = _logged_row(rt, request, said, caller, role, request_id, hashed_from_template=False)
        except (RequestInvalid, UnknownCountry) as exc:
            out.append((problem(exc), None))
            continue
        rows.append(row)
        # A batch holds every answer until its commit. Held as dicts, a batch of 1,000 is some 13 MB
        # of small objects spread over the allocator's arenas, which the worker then keeps for good.
        out.append((response if keep_answers else _counted(response), text))
    if rows and not dry_run:
        rt.log.append(rows)
        for answer, text in out:
            if text is not None:
                rt.observer.decided(answer)
    return out


def _counted(response: dict) -> dict:
    """What the observer counts of an answer (Observer.decided)."""
    return {"outcome": response["outcome"], "regime": response.get("regime"), "route": response.get("route")}


def decide_batch(rt: Runtime, payloads: list, *, caller: str, role: str | None = None,
                 problem: Callable[[TransferGateError], dict], dry_run: bool = False,
                 request_id: str | None = None) -> list[dict]:
    """Decide each request in order; a bad item gets its problem document in place.

    Every answer is built, and every row proven storable, before anything is logged; then all
    decisions of the batch are logged in one transaction: either every one is logged and
    returned, or LogUnavailable (or EngineFailure, before logging) is raised and none is.
    """
    return [answer for answer, _text in _decide_all(rt, payloads, caller, role, problem, dry_run, request_id)]


def decide_batch_text(rt: Runtime, payloads: list, *, caller: str, role: str | None = None,
                      problem: Callable[[TransferGateError], dict], request_id: str | None = None) -> str:
    """Like `decide_batch`, as the JSON text `{"decisions": [...]}` built from each answer's logged text."""
    done = _decide_all(rt, payloads, caller, role, problem, False, request_id, keep_answers=False)
    return '{"decisions":[' + ",".join(text if text is not None else answer_text(answer)
                                       for answer, text in done) + "]}"


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
    if data["regime"] is not None:  # the log's ruleset_name: the ruleset of the top-level transfer
        criteria["ruleset_name"] = data["regime"].lower()
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


# --------------------------------------------------------------------------- the law watch

LAW_WATCH_DAYS = 90  # how far back the law watch replays logged decisions
LAW_WATCH_MAX_ENTRIES = 20_000  # at most this many of them (the newest); the answer says when it stopped


def law_watch(rt: Runtime, today: date | None = None) -> dict:
    """Pending and recent law changes, each with how many recent logged decisions it would change.

    For a change that is not yet in force and has rules tied to it, the logged decisions of the
    last LAW_WATCH_DAYS days are replayed under the rules as they will be with that change
    switched on; a decision counts when its outcome, route or conditions would differ (the
    notice a change adds today is not a difference). In-force changes are listed without a count:
    the decisions already apply them. Curated country profiles whose review (or one of whose
    sections) is older than profiles' staleness limit are listed too.
    """
    from . import replay as replaying

    today = today or rt.clock().date()
    since = (today - timedelta(days=LAW_WATCH_DAYS)).strftime(TIMESTAMP)
    entries = rt.log.query(since=since, newest_first=True, limit=LAW_WATCH_MAX_ENTRIES) if rt.log else []
    tied = {}
    for rs in rt.book.rulesets.values():
        for rule in rs.rules:
            if rule.change:
                tied.setdefault(rule.change, []).append(rule.id)
    changes = []
    for change in rt.book.changes:
        item = change.to_dict(today)
        item["rules"] = sorted(tied.get(change.id, []))
        item["decisions_changed"] = None
        if item["status"] != "in_force" and item["rules"]:
            under = Runtime(rt.book.switched_on([change.id]), rt.profiles, rt.matcher, None, rt.clock)
            report = replaying.replay(under, entries)
            item["decisions_changed"] = len(report.changes)
            item["transitions"] = dict(sorted(report.transitions.items()))
        changes.append(item)
    order = {"pending": 0, "scheduled": 1, "in_force": 2}
    changes.sort(key=lambda c: (order[c["status"]], c["in_force"] or "9999"))
    return {
        "as_of": today.isoformat(),
        "window_days": LAW_WATCH_DAYS,
        "decisions_examined": len(entries),
        "examined_all": len(entries) < LAW_WATCH_MAX_ENTRIES,
        "changes": changes,
        "stale_profiles": stale_profiles(rt, today),
    }


def stale_profiles(rt: Runtime, today: date) -> list[dict]:
    """Curated country profiles with a section whose review is out of date on `today`."""
    out: dict[str, dict] = {}
    for stale in rt.profiles.stale_sections(today, curated_only=True):
        item = out.setdefault(stale.code, {"code": stale.code, "name": stale.name, "name_ja": stale.name_ja,
                                           "sections": []})
        item["sections"].append({"section": stale.section,
                                 "reviewed": stale.reviewed.isoformat() if stale.reviewed else None,
                                 "due": stale.due.isoformat() if stale.due else None})
    return list(out.values())
