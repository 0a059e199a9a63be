"""The auditors' pages under /audit: overview, the decision log, a decision, exports, the records
register, chain status, replay, and a country profile as of a date.

Views are thin: they validate filters, ask the decision log, label what they show and render.
Access is decided by the central access policy (every endpoint of this blueprint is
auditor-only), not here. Dates an auditor types (`from`, `to`) are days of the configured time
zone, and every time shown is local: an auditor in Tokyo reads Tokyo days.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import (Blueprint, Response, abort, current_app, redirect, render_template, request, stream_with_context,
                   url_for)
from werkzeug.exceptions import NotFound

from .. import log_export, log_overview, service
from .. import replay as replaying
from ..errors import DataFileError, RequestInvalid, UnknownCountry
from babel.dates import format_skeleton
from flask_babel import format_date, format_datetime, get_locale, gettext, lazy_gettext

from .translations import duration, language
from .identity import caller

bp = Blueprint("audit", __name__, url_prefix="/audit")

FILTER_FIELDS = ("from", "to", "outcome", "destination", "route", "regime", "reference", "caller", "records")
REGISTER_FIELDS = ("from", "to", "destination", "reference")
OVERVIEW_FIELDS = ("from", "to", "outcome", "destination", "route", "regime", "caller", "by")
PAGE_SIZE = 50
EXPORT_PAGE = 500
DEFAULT_ZONE = "Asia/Tokyo"
DECISION_ID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")

OUTCOME_LABELS = {"allow": lazy_gettext("Allowed"), "conditional": lazy_gettext("Allowed on conditions"),
                  "deny": lazy_gettext("Not allowed")}
# Regimes by ruleset name; a ruleset not listed here shows its own `regime` field.
REGIME_LABELS = {"appi": lazy_gettext("APPI"), "gdpr": lazy_gettext("GDPR"), "uk_gdpr": lazy_gettext("UK GDPR")}
STATUS_LABELS = {"satisfied": lazy_gettext("Satisfied"), "unsatisfied": lazy_gettext("Not satisfied"),
                 "not_applicable": lazy_gettext("Not applicable")}
RELATIONSHIP_LABELS = {"third_party": lazy_gettext("Third party"), "outsourcee": lazy_gettext("Outsourcee (processor)"),
                       "joint_use": lazy_gettext("Joint use"), "business_succession": lazy_gettext("Business succession")}
# What each filter needs, said in the reader's language (the schema's own messages are English).
FILTER_HINTS = {
    "from": lazy_gettext("Enter a date as YYYY-MM-DD."),
    "to": lazy_gettext("Enter a date as YYYY-MM-DD, on or after the start."),
    "outcome": lazy_gettext("Choose an outcome from the list."),
    "destination": lazy_gettext("Choose a destination from the list."),
    "route": lazy_gettext("Choose a route from the list."),
    "regime": lazy_gettext("Choose a regime from the list."),
    "reference": lazy_gettext("A reference is at most 200 characters."),
    "caller": lazy_gettext("A caller is at most 200 characters."),
    "records": lazy_gettext("Choose whether a record is required."),
    "cursor": lazy_gettext("That page does not exist; start again from the first page."),
    "by": lazy_gettext("Count per day or per week."),
}
FIELD_LABELS = {
    "from": lazy_gettext("From"), "to": lazy_gettext("To"), "outcome": lazy_gettext("Outcome"),
    "destination": lazy_gettext("Destination"), "route": lazy_gettext("Route"), "regime": lazy_gettext("Regime"),
    "reference": lazy_gettext("Reference"), "caller": lazy_gettext("Caller"), "records": lazy_gettext("Record"),
    "cursor": lazy_gettext("Page"), "by": lazy_gettext("Count per"),
}


def runtime() -> service.Runtime:
    return current_app.extensions["transfer_gate"]


# --------------------------------------------------------------------------- labels and times


def zone() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("TIMEZONE") or DEFAULT_ZONE)


def today() -> date:
    return runtime().clock().astimezone(zone()).date()


def pick(item, field: str = "title"):
    """Pick `field` or its `_ja` twin (dict or object) for the reader's language."""
    def read(name):
        return item.get(name) if isinstance(item, dict) else getattr(item, name, None)

    if language() == "ja" and read(field + "_ja"):
        return read(field + "_ja")
    return read(field)


def local_time(logged: str | None) -> str:
    """A logged UTC timestamp as a local date and time in the reader's language."""
    if not logged:
        return ""
    return format_datetime(log_overview.parse_logged(logged), "medium")  # Flask-Babel moves it to TIMEZONE


def long_date(iso: str | date | None) -> str:
    if not iso:
        return ""
    return format_date(iso if isinstance(iso, date) else date.fromisoformat(iso), "long")


class Labels:
    """Readable names for the log's codes: outcomes, routes, regimes, countries, data categories."""

    def __init__(self, rt: service.Runtime):
        self.rt = rt
        self.routes = {}  # route id -> {ruleset name: route}: regimes share some ids with other titles
        for name, ruleset in rt.book.rulesets.items():
            for route in ruleset.routes:
                self.routes.setdefault(route.id, {})[name] = route

    def outcome(self, key: str) -> str:
        return str(OUTCOME_LABELS.get(key, key))

    def route(self, key, ruleset: str | None = None) -> str:
        """A route's title in the regime that decided (`key` may be a (ruleset, route) pair)."""
        if isinstance(key, tuple):
            ruleset, key = key
        if key == "none":
            return gettext("No lawful route")
        by_ruleset = self.routes.get(key, {})
        if ruleset in by_ruleset:
            return pick(by_ruleset[ruleset])
        titles = list(dict.fromkeys(pick(r) for r in by_ruleset.values()))
        return " / ".join(titles) if titles else key

    def regime(self, name: str) -> str:
        if name in REGIME_LABELS:
            return str(REGIME_LABELS[name])
        ruleset = self.rt.book.rulesets.get(name)
        return ruleset.regime if ruleset else name

    def country(self, code: str) -> str:
        if code == "unknown":
            return gettext("Not yet identified")
        names = country_names()
        return pick(names[code], "name") if code in names else code

    def category(self, key: str) -> str:
        category = self.rt.book.taxonomy.categories.get(key)
        return pick(category) if category else key

    def relationship(self, key: str) -> str:
        return str(RELATIONSHIP_LABELS.get(key, key))

    def status(self, key: str) -> str:
        return str(STATUS_LABELS.get(key, key))

    def outcome_choices(self) -> list[tuple[str, str]]:
        return [(k, self.outcome(k)) for k in OUTCOME_LABELS]

    def route_choices(self) -> list[tuple[str, str]]:
        return sorted(((k, self.route(k)) for k in self.routes), key=lambda kv: kv[1]) + [("none", self.route("none"))]

    def country_choices(self) -> list[tuple[str, str]]:
        names = country_names()
        return sorted(((c, pick(n, "name")) for c, n in names.items()), key=lambda kv: kv[1]) + \
            [("unknown", self.country("unknown"))]

    def regime_choices(self) -> list[tuple[str, str]]:
        return [(name, self.regime(name)) for name in sorted(self.rt.book.rulesets)]


def country_names() -> dict[str, dict]:
    """Every profiled country's names in both languages, read once per app."""
    names = current_app.extensions.get("audit.country_names")
    if names is None:
        rt = runtime()
        on = rt.clock().date()
        names = {}
        for code in rt.profiles.codes():
            profile = rt.profiles.get(code, on)
            names[code] = {"name": profile.name, "name_ja": profile.name_ja}
        current_app.extensions["audit.country_names"] = names
    return names


@bp.context_processor
def _audit_context():
    return {"labels": Labels(runtime()), "local_time": local_time, "long_date": long_date, "pick": pick,
            "field_labels": FIELD_LABELS}


# --------------------------------------------------------------------------- filters


def _local_bound(value: str, end: bool) -> str:
    """A date typed on a page is a local day: its first (or, for `to`, last) instant in the zone."""
    if len(value) != 10:
        return value
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return value
    moment = datetime.combine(day, time(), zone())
    if end:
        moment += timedelta(days=1, microseconds=-1)
    return moment.isoformat()


def _criteria(args, fields=FILTER_FIELDS, **fixed):
    """Validate a page's filters into the log's criteria; on bad input return (None, given, errors)."""
    given = {k: args.get(k, "").strip() for k in fields if args.get(k, "").strip()}
    if "destination" in given and given["destination"] != "unknown":
        given["destination"] = given["destination"].upper()
    regime = given.get("regime")
    if regime is not None:  # the API's regime names (APPI, GDPR, UK_GDPR) work as well as the rulesets'
        regime = next((name for name, rs in runtime().book.rulesets.items() if rs.regime == regime), regime)
    schema_args = {k: v for k, v in given.items() if k not in ("regime", "by")}
    for key in ("from", "to"):
        if key in schema_args:
            schema_args[key] = _local_bound(schema_args[key], end=key == "to")
    errors = {}
    if args.get("cursor"):
        schema_args["cursor"] = args["cursor"]
        if not _fits_seq(args["cursor"]):
            errors["cursor"] = [str(FILTER_HINTS["cursor"])]
    try:
        flt = service.log_filter(schema_args)
    except RequestInvalid as exc:
        errors.update({k: [str(FILTER_HINTS.get(k, v[0] if v else ""))] for k, v in exc.errors.items()})
        flt = None
    if regime is not None and regime not in runtime().book.rulesets:
        errors["regime"] = [str(FILTER_HINTS["regime"])]
    if errors:
        return None, given, errors
    criteria = dict(flt.criteria)
    if "reference" in criteria:
        criteria["reference_contains"] = criteria.pop("reference")
    if regime:
        criteria["ruleset_name"] = regime
    criteria.update(fixed)
    return (criteria, flt.cursor), given, {}


def _fits_seq(text: str) -> bool:
    """Tell whether `text` is a chain position the store can compare (a signed 64-bit integer)."""
    return text.isdigit() and int(text) < 2 ** 63


def _audit_trail(action: str, given: dict) -> None:
    who, role = caller()
    current_app.logger.info("audit %s by %s (%s) with filters %s", action, who, role,
                            json.dumps(given, sort_keys=True))


def _all(criteria: dict):
    """Every matching entry, oldest first, read a page at a time."""
    log, after = runtime().log, None
    while True:
        rows = log.search(after=after, newest_first=False, limit=EXPORT_PAGE, **criteria)
        yield from rows
        if len(rows) < EXPORT_PAGE:
            return
        after = rows[-1]["seq"]


# --------------------------------------------------------------------------- the decision log


def _page(endpoint: str, parsed, given: dict, newest_first: bool):
    """One page of the log matching the criteria: (rows, the next page's URL or None, how many match)."""
    criteria, cursor = parsed
    log = runtime().log
    size = _page_size()
    rows = log.search(after=cursor, newest_first=newest_first, limit=size + 1, **criteria)
    next_url = None
    if len(rows) > size:
        rows = rows[:size]
        next_url = url_for(endpoint, **_paging(given), cursor=rows[-1]["seq"])
    return rows, next_url, log.count(**criteria)


@bp.get("")
def decisions():
    parsed, given, errors = _criteria(request.args)
    rows, next_url, total = _page("audit.decisions", parsed, given, newest_first=True) if parsed else ([], None, 0)
    return render_template("audit/decisions.html", zone_name=zone().key, rows=rows, errors=errors, args=given, total=total,
                           next_url=next_url, first_url=url_for("audit.decisions", **_paging(given))
                           if request.args.get("cursor") else None,
                           masked_references=_references_hashed()), 422 if errors else 200


def _page_size() -> int:
    """Rows per page: `?limit=` from 1 to 200, else PAGE_SIZE."""
    wanted = request.args.get("limit", "")
    return min(max(int(wanted), 1), 200) if wanted.isdigit() else PAGE_SIZE


def _paging(given: dict) -> dict:
    """The filters plus the page size, to repeat in the links between pages."""
    return dict(given, limit=request.args["limit"]) if request.args.get("limit") else given


def _references_hashed() -> bool:
    mask = runtime().log.mask
    return "reference" in mask.fields and mask.mode == "hash"


@bp.get("/jump")
def jump():
    """Go to a decision by its id (any case) or by its position in the chain."""
    wanted = request.args.get("id", "").strip()
    log = runtime().log
    if wanted.isdigit():
        entry = log.at(int(wanted)) if _fits_seq(wanted) else None
    elif DECISION_ID.match(wanted.upper()):
        entry = log.get(wanted.upper())
    else:
        entry = None
    if entry is not None:
        return redirect(url_for("audit.decision", decision_id=entry["decision_id"]), 303)
    return render_template("audit/not_found.html", wanted=wanted,
                           detail=gettext("No logged decision has the id or number “%(id)s”.", id=wanted)), 404


@bp.get("/decisions/<decision_id>")
def decision(decision_id):
    log = runtime().log
    entry = log.get(decision_id)
    if entry is None and DECISION_ID.match(decision_id.upper()):
        entry = log.get(decision_id.upper())
    if entry is None:
        abort(404, gettext("No logged decision has the id “%(id)s”.", id=decision_id))
    before, after = log.neighbours(entry["seq"])
    answer = entry["response"]
    listed = {c["ref"]: c for c in answer.get("citations", [])}
    book = runtime().book

    def cite(ref):
        if ref in listed:
            return listed[ref]
        return book.citations.get(ref).to_dict() if ref in book.citations else {"ref": ref}

    labels = Labels(runtime())

    def leg_recipient(index: int) -> str:
        """A journey leg's recipient as the request has it: its name (or —) and relationship in words."""
        asked = entry["request"]
        party = asked.get("recipient") if index == 0 else ((asked.get("onward") or [{}] * index)[index - 1] or {}).get("recipient")
        party = party or {}
        return f"{party.get('name') or '—'} ({labels.relationship(party.get('relationship') or 'third_party')})"

    return render_template("audit/decision.html", entry=entry, answer=answer, asked=entry["request"], cite=cite,
                           before=before, after=after, leg_recipient=leg_recipient,
                           request_json=json.dumps(entry["request"], ensure_ascii=False, indent=2),
                           response_json=json.dumps(answer, ensure_ascii=False, indent=2))


# --------------------------------------------------------------------------- exports


def _export(kind: str, lines, mimetype: str):
    parsed, given, errors = _criteria(request.args)
    if errors:
        return _filters_refused(errors)
    criteria, _ = parsed
    _audit_trail(f"export {kind}", given)
    body = stream_with_context(lines(_all(criteria)))
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="decision-log.{kind}"'})


def _filters_refused(errors):
    return render_template("audit/not_found.html", title=gettext("The filters are invalid"),
                           errors=errors, detail=None), 422


CSV_HEADERS = {
    "caller": lazy_gettext("Caller"), "reference": lazy_gettext("Reference"), "origin": lazy_gettext("Origin"),
    "destination": lazy_gettext("Destination"), "data_categories": lazy_gettext("Data categories"),
    "outcome": lazy_gettext("Outcome"), "route": lazy_gettext("Route"), "regime": lazy_gettext("Regime"),
    "conditions": lazy_gettext("Condition ids"), "citations": lazy_gettext("Citations"),
    "retention_until": lazy_gettext("Record until"), "decision_id": lazy_gettext("Decision id"),
    "seq": lazy_gettext("Chain position"), "hash": lazy_gettext("Hash"), "request": lazy_gettext("Request (JSON)"),
    "response": lazy_gettext("Answer (JSON)"), "provided_on": lazy_gettext("Provided on"),
    "recipient": lazy_gettext("Recipient"), "relationship": lazy_gettext("Relationship"),
    "items": lazy_gettext("Items to record"), "retention": lazy_gettext("Retention"),
    "kept": lazy_gettext("Still to be kept"),
}


def _readable_columns() -> log_export.Readable:
    labels, zone_ = Labels(runtime()), zone()

    def header(key):
        if key == "created_at":
            return gettext("Date (%(zone)s)", zone=zone_.key)
        return str(CSV_HEADERS.get(key, key))

    return log_export.Readable(
        local_time=lambda ts: log_overview.parse_logged(ts).astimezone(zone_).strftime("%Y-%m-%d %H:%M:%S"),
        outcome=labels.outcome, route=labels.route, country=labels.country, category=labels.category,
        regime=labels.regime, relationship=labels.relationship, duration=duration,
        yes_no=lambda b: gettext("yes") if b else gettext("no"), header=header, japanese=language() == "ja",
    )


@bp.get("/export.csv")
def export_csv():
    readable = _readable_columns()
    return _export("csv", lambda entries: log_export.csv_lines(entries, readable), "text/csv")


@bp.get("/export.jsonl")
def export_jsonl():
    return _export("jsonl", log_export.jsonl_lines, "application/jsonl")


# --------------------------------------------------------------------------- chain, records, replay


@bp.get("/chain")
def chain():
    result = runtime().log.verify()
    return render_template("audit/chain.html", result=result)


@bp.get("/records")
def records():
    parsed, given, errors = _criteria(request.args, REGISTER_FIELDS, records_required=True)
    lines, next_url, total = [], None, 0
    if parsed:
        rows, next_url, total = _page("audit.records", parsed, given, newest_first=False)
        lines = list(log_export.records_register(rows, today(), parsed[0].get("destination")))
    return render_template("audit/records.html", lines=lines, errors=errors, args=given, total=total,
                           next_url=next_url, first_url=url_for("audit.records", **_paging(given))
                           if request.args.get("cursor") else None), 422 if errors else 200


@bp.get("/records.csv")
def records_csv():
    parsed, given, errors = _criteria(request.args, REGISTER_FIELDS, records_required=True)
    if errors:
        return _filters_refused(errors)
    criteria, _ = parsed
    _audit_trail("export records register", given)
    readable = _readable_columns()
    lines = log_export.records_register(_all(criteria), today(), criteria.get("destination"))
    return Response(stream_with_context(log_export.register_csv_lines(lines, readable)), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="records-register.csv"'})


@bp.get("/replay")
def replay():
    config = current_app.config
    candidate_dirs = {"rulesets": config["CANDIDATE_RULESETS_DIR"], "profiles": config["CANDIDATE_PROFILES_DIR"]}
    has_candidate = any(candidate_dirs.values())
    under = request.args.get("under", "")
    args = {k: v for k, v in request.args.items() if k in ("from", "to") and v}
    context = {"args": args, "under": under, "candidate_dirs": candidate_dirs, "has_candidate": has_candidate,
               "report": None, "errors": {}}
    if not under:
        return render_template("audit/replay.html", **context)
    parsed, given, errors = _criteria(args, ("from", "to"))
    if under not in ("current", "candidate") or (under == "candidate" and not has_candidate):
        errors = dict(errors, under=[gettext("Choose the current rules and profiles or the staged candidate.")])
    if errors:
        return render_template("audit/replay.html", **dict(context, errors=errors)), 422
    rt = runtime()
    try:
        target = replaying.candidate(rt, candidate_dirs["rulesets"], candidate_dirs["profiles"]) \
            if under == "candidate" else rt
    except DataFileError as exc:
        return render_template("audit/replay.html", **dict(context, errors={"candidate": [str(exc)]})), 422
    _audit_trail(f"replay under {under}", given)
    report = replaying.replay(target, _all(parsed[0]))
    return render_template("audit/replay.html", **dict(context, report=report))


# --------------------------------------------------------------------------- overview


@bp.get("/overview")
def overview():
    """Counts by outcome, destination, route and regime per day or week, drawn as SVG with tables."""
    args = {k: request.args.get(k, "").strip() for k in OVERVIEW_FIELDS if request.args.get(k, "").strip()}
    end = today()
    start = end - timedelta(days=29)
    range_args = dict(args)
    range_args.setdefault("from", start.isoformat())
    range_args.setdefault("to", end.isoformat())
    parsed, given, errors = _criteria(range_args, OVERVIEW_FIELDS)
    if args.get("by") not in (None, "day", "week"):
        errors = dict(errors, by=[str(FILTER_HINTS["by"])])
    charts, by, periods = [], "day", []
    if not errors:
        try:
            start, end = date.fromisoformat(range_args["from"][:10]), date.fromisoformat(range_args["to"][:10])
        except ValueError:
            pass
        if (end - start).days > log_overview.MAX_RANGE_DAYS:
            errors = {"from": [gettext("Choose a range of at most three years.")]}
    if not errors:
        by = log_overview.choose_period(start, end, args.get("by"))
        periods = log_overview.period_starts(start, end, by)
        counters = log_overview.count(runtime().log.tallies(**parsed[0]), zone(), periods, by)
        labels = Labels(runtime())
        label_of = {"outcome": labels.outcome, "destination": labels.country, "route": labels.route,
                    "ruleset_name": labels.regime}

        def period_label(start_day):
            return format_date(start_day, "medium") if by == "day" else \
                gettext("week of %(date)s", date=format_date(start_day, "medium"))

        def tick_label(start_day):  # short enough for the axis: "Nov 3", "11月3日"
            return format_skeleton("MMMd", start_day, locale=get_locale())

        def count_title(period, series, n):
            return gettext("%(period)s · %(series)s: %(count)s", period=period, series=series, count=n)

        for dimension in log_overview.DIMENSIONS:
            charts.append(log_overview.chart(dimension, counters[dimension], periods, period_label,
                                             label_of[dimension], gettext("Other"), count_title, tick_label))
    chart_titles = {"outcome": gettext("Decisions by outcome"), "destination": gettext("Decisions by destination"),
                    "route": gettext("Decisions by route"), "ruleset_name": gettext("Decisions by regime")}
    return render_template("audit/overview.html", charts=charts, chart_titles=chart_titles, errors=errors,
                           args=args, by=by, start=start, end=end, zone_name=zone().key,
                           list_args={k: v for k, v in dict(range_args).items() if k != "by"},
                           total=charts[0].total if charts else 0), 422 if errors else 200


# --------------------------------------------------------------------------- country profiles


@bp.get("/countries/<code>")
def country(code):
    """A country's profile as in force on a date (`?as_of=`): what a decision of that date relied on."""
    rt = runtime()
    as_of, error = today(), None
    if request.args.get("as_of"):
        try:
            as_of = date.fromisoformat(request.args["as_of"])
        except ValueError:
            error = gettext("Enter a date as YYYY-MM-DD.")
    try:
        profile = service.country(rt, code.upper(), as_of)
    except UnknownCountry:
        abort(404, gettext("No country profile has the code “%(code)s”.", code=code))
    profile.setdefault("eea", rt.profiles.get(code.upper(), as_of).eea)  # for the adequacy panel
    return render_template("audit/country.html", profile=profile, as_of=as_of, as_of_error=error), \
        422 if error else 200


# --------------------------------------------------------------------------- errors


@bp.get("/<path:unknown>")
def unknown_page(unknown):
    """Any other address under /audit: the auditors' own 404 page, not the framework's."""
    abort(404)


@bp.errorhandler(404)
def _not_found(exc):
    detail = exc.description if exc.description != NotFound.description else \
        gettext("There is no page at this address.")
    return render_template("audit/not_found.html", detail=detail), 404
