"""The privacy officers' pages: the scenario form, the answer, the scenario library, the country profiles.

Views are thin: map the form, call one service (or library) function, render. Decisions made
here go through `service.decide`, so they are logged like any other, and the answer page reads
the logged decision back: what an officer sees is what the log holds.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import NotFound

from .. import scenario_library, service
from ..errors import EngineFailure, LogUnavailable, RequestInvalid, UnknownCountry
from ..facts import CONSENTS, EXCEPTIONS, RELATIONSHIPS, SAFEGUARDS
from ..model import DEROGATIONS, OUTCOMES, PARTNER_SAFEGUARDS, PARTY_ROLES, TRANSFER_ASSESSMENTS
from . import problems, transfer_form
from .access import HOME, allowed, session_identity
from .identity import caller
from .tracing import request_id
from .translations import (COOKIE, COOKIE_MAX_AGE, LANGUAGES, date_words, duration, label, language, localized,
                           safe_next)

bp = Blueprint("ui", __name__)


def runtime() -> service.Runtime:
    return current_app.extensions["transfer_gate"]


def library() -> scenario_library.ScenarioLibrary:
    return current_app.extensions["scenario_library"]


def countries() -> transfer_form.CountryIndex:
    """The destination list, built on first use (names do not change with the date)."""
    index = current_app.extensions.get("country_index")
    if index is None:
        rt = runtime()
        index = current_app.extensions["country_index"] = transfer_form.CountryIndex.from_profiles(
            rt.profiles, rt.clock().date())
    return index


def origins() -> list[str]:
    """The origins a loaded ruleset decides for, JP (the APPI) first."""
    return service.origins(runtime())


def registry_citation(ref: str) -> dict:
    """The citation registry's entry for `ref` (title, Japanese notation, URL), or just the ref."""
    citations = runtime().book.citations
    return citations.get(ref).to_dict() if ref in citations else {"ref": ref}


@bp.app_context_processor
def _layout_context():
    """What the layout needs on every page, including pages of other blueprints that extend it."""
    def language_link(code):
        here = request.full_path.rstrip("?") if request.method == "GET" else url_for("ui.index")
        return url_for("ui.switch_language", code=code, next=here)

    return {"current_caller": caller, "language_link": language_link, "languages": LANGUAGES,
            "nav_links": nav_links, "home_url": home_url,
            "ref_words": lambda ref: localized(registry_citation(ref), "ref")}


# The main navigation: (endpoint, text, the endpoints under which the link is the current page).
NAVIGATION = (
    ("ui.index", _l("New scenario"), ("ui.index", "ui.create_decision", "ui.decision")),
    ("ui.scenarios", _l("Scenario library"), ("ui.scenarios", "ui.run_scenarios")),
    ("ui.country_list", _l("Countries"), ("ui.country_list", "ui.country")),
    ("audit.decisions", _l("Audit"), ()),
    ("law_watch.page", _l("Law watch"), ()),
)


def viewer_role() -> str | None:
    """The role of whoever views the page: the guard's caller, or the browser session on open pages."""
    role = caller()[1]
    if role is None:
        identity = session_identity()
        role = identity.role if identity else None
    return role


def nav_links() -> list[dict]:
    """The navigation the viewer's role may follow: no link that would answer 401 or 403."""
    role = viewer_role()
    links = []
    for endpoint, text, current in NAVIGATION:
        if role is not None and allowed(role, endpoint):
            here = request.endpoint in current or (not current and request.blueprint == endpoint.split(".")[0])
            links.append({"url": url_for(endpoint), "text": str(text), "current": here})
    return links


def home_url() -> str:
    """Where the brand link goes: the role's home page, or sign-in."""
    return HOME.get(viewer_role() or "", url_for("account.signin"))


# --------------------------------------------------------------------------- the form


def leg_origins(values) -> list[str]:
    """Where each onward leg of the form leaves from, in words: the previous destination's name."""
    index, lang = countries(), language()
    out = []
    previous = values.get("destination", "")
    for i in transfer_form.leg_indexes(values):
        code = index.resolve(previous)
        country = index.get(code) if code else None
        out.append(localized(country, "name") if country else (previous.strip() or gettext("the previous destination")))
        previous = values.get(transfer_form.leg_name(i, "destination"), "")
    return out


def field_label(name: str) -> str:
    """A form field's name in words; a leg's field says which onward transfer it belongs to."""
    leg = transfer_form.LEG_KEY.match(name)
    if leg:
        field = label("field", leg["field"]) or gettext("Another field")
        return gettext("Onward transfer %(number)d", number=int(leg["index"]) + 1) + ": " + field
    return label("field", name)


def render_form(values, errors=None, status=200, notice=None, notice_items=()):
    rt = runtime()
    lang = language()
    return render_template(
        "form.html",
        values=values,
        legs=list(enumerate(leg_origins(values))),
        max_legs=transfer_form.MAX_LEGS,
        field_label=field_label,
        errors=transfer_form.errors_by_field(errors or {}),
        notice=notice,
        notice_items=notice_items,
        origins=origins(),
        countries=countries(),
        unknown_label=transfer_form.unknown_label(lang),
        category_groups=transfer_form.category_groups(rt.book.taxonomy),
        kinds=rt.book.taxonomy.kinds,
        relationships=RELATIONSHIPS,
        safeguards=SAFEGUARDS,
        partner_safeguards=PARTNER_SAFEGUARDS,
        party_roles=PARTY_ROLES,
        transfer_assessments=TRANSFER_ASSESSMENTS,
        derogations=DEROGATIONS,
        consents=CONSENTS,
        exceptions=EXCEPTIONS,
        data_origins=transfer_form.DATA_ORIGINS,
    ), status


@bp.get("/")
def index():
    """The scenario form; `?decision=<id>` or `?scenario=<id>` fills it from an earlier scenario.

    `?decision=<id>&remedy=<remedy id>` ("Try it" on an answer) fills it from the decision with the
    remedy's changes applied, and says what was changed.
    """
    lang = language()
    values = transfer_form.blank_form(origins()[0])
    notice, notice_items = None, []
    decision_id = request.args.get("decision")
    scenario_id = request.args.get("scenario", type=int)
    if decision_id:
        entry = runtime().log.get(decision_id)
        if entry is None:
            raise NotFound(gettext("No logged decision has the id %(id)s.", id=decision_id))
        body = entry["request"]
        remedy_id = request.args.get("remedy")
        if remedy_id:
            remedy = next((r for r in entry["response"].get("remedies", []) if r.get("id") == remedy_id), None)
            if remedy is None:
                raise NotFound(gettext("That decision has no such remedy."))
            body, applied = transfer_form.apply_changes(body, remedy.get("apply", []))
            notice = gettext("Prefilled from decision %(id)s with the remedy applied: “%(remedy)s” "
                             "Check the changes below, then decide again.", id=decision_id, remedy=localized(remedy))
            notice_items = [describe_change(c) for c in applied] or [gettext("Nothing in the form needed to change.")]
        else:
            notice = gettext("Prefilled from decision %(id)s.", id=decision_id)
        values = transfer_form.form_from_request(body, countries(), lang)
    elif scenario_id is not None:
        scenario = library().get(scenario_id)
        if scenario is None:
            raise NotFound()
        values = transfer_form.form_from_request(scenario["request"], countries(), lang)
        notice = gettext("Prefilled from saved scenario “%(name)s”.", name=scenario["name"])
    return render_form(values, notice=notice, notice_items=notice_items)


def value_words(path: str, value) -> str:
    """A request field's value in words: the label of a contract value, a country's or category's name, yes or no."""
    kinds = {"basis.consent": "consent", "basis.exception": "exception", "recipient.relationship": "relationship",
             "recipient.safeguards": "safeguard", "data_origin": "data_origin", "exporter_role": "party_role",
             "recipient.role": "party_role", "recipient.transfer_assessment": "transfer_assessment",
             "basis.derogation": "derogation"}
    if path in kinds:
        return label(kinds[path], value if value is not None else "none") or gettext("None")
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if path == "data_categories":
        category = runtime().book.taxonomy.categories.get(value)
        return localized(category, "title") if category else ""
    if path in ("destination", "origin"):
        return countries().label(value, language())
    if path == "as_of":
        return date_words(value)
    return "" if value is None else str(value)


def describe_change(change: dict) -> str:
    """One change a remedy made to the form, in words."""
    field = field_label(change["path"])
    leg = transfer_form.LEG_KEY.match(change["path"])
    value = value_words(leg["field"] if leg else change["path"], change["value"])
    if change["op"] == "add":
        return gettext("%(field)s: “%(value)s” added", field=field, value=value)
    return gettext("%(field)s: now “%(value)s”", field=field, value=value)


@bp.post("/decisions")
def create_decision():
    """Decide the posted scenario and show the logged answer; errors go back next to their fields."""
    rt = runtime()
    form = transfer_form.renumber_legs(request.form, transfer_form.leg_indexes(request.form))
    action = request.form.get("action", "")
    if action == "add-leg":
        return render_form(transfer_form.renumber_legs(form, transfer_form.leg_indexes(form), add=True))
    if action.startswith("remove-leg-"):
        gone = action.removeprefix("remove-leg-")
        keep = [i for i in transfer_form.leg_indexes(form) if str(i) != gone]
        return render_form(transfer_form.renumber_legs(form, keep))
    body, errors = transfer_form.request_from_form(form, countries())
    who, role = caller()
    try:
        if errors:
            service.validate(rt, body)  # the contract's own errors for the other fields, nothing logged
        else:
            answer = service.decide(rt, body, caller=who, role=role, request_id=request_id())
            return redirect(url_for("ui.decision", decision_id=answer["decision_id"]), 303)
    except RequestInvalid as exc:
        # The service speaks the API's English; a Japanese page says in Japanese that the value was refused.
        instead = gettext("This value cannot be used: check it against the hint.") if language() == "ja" else None
        errors = transfer_form.merge_errors(errors, exc.errors, instead=instead)
    except UnknownCountry:
        errors = transfer_form.merge_errors(errors, {"destination": [gettext("No country profile exists for this destination.")]})
    except LogUnavailable:
        return render_template("error.html", title=gettext("The decision could not be logged"),
                               detail=gettext("Every decision is logged before it is shown, and the log is not available now, so no answer is shown. Try again shortly.")), 503
    except EngineFailure:
        return render_template("error.html", title=gettext("The rules engine failed"), detail=gettext("The rules engine failed on this scenario, so no decision was made: an answer is never guessed.")), 500
    return render_form(form, errors, 422)


# --------------------------------------------------------------------------- the answer


def country_name(code: str | None) -> str:
    """A country's name in the reader's language (its code when no profile names it)."""
    if code == transfer_form.UNKNOWN:
        return gettext("a country not yet identified")
    country = countries().get(code or "")
    return localized(country, "name") if country else (code or "")


def render_answer(entry: dict, save_values=None, save_errors=None, status=200):
    rt = runtime()
    answer, asked = entry["response"], entry["request"]
    ruleset = rt.book.rulesets.get(answer["ruleset"]["name"])
    routes = {r.id: r for r in ruleset.routes} if ruleset else {}
    listed = {c["ref"]: c for c in answer["citations"]}

    def cite(ref):
        """The answer's own citation entry over the registry's (which has `ref_ja` for decisions logged before it)."""
        return {**registry_citation(ref), **{k: v for k, v in listed.get(ref, {}).items() if v}}

    profile = None
    if asked["destination"] != transfer_form.UNKNOWN:
        try:
            profile = rt.profiles.get(asked["destination"], date.fromisoformat(asked["as_of"]))
        except UnknownCountry:
            profile = None
    decided_with = (answer.get("country_profile") or {}).get("digest")
    leg_routes = []  # each leg's routes, from the ruleset that decided it
    for leg in answer.get("legs") or []:
        leg_ruleset = rt.book.rulesets.get((leg.get("ruleset") or {}).get("name"))
        leg_routes.append({r.id: r for r in leg_ruleset.routes} if leg_ruleset else {})
    return render_template(
        "answer.html",
        entry=entry,
        answer=answer,
        asked=asked,
        routes=routes,
        leg_routes=leg_routes,
        country_name=country_name,
        cite=cite,
        taxonomy=rt.book.taxonomy,
        profile=profile,
        profile_changed=bool(profile and decided_with and profile.digest != decided_with),
        countries=countries(),
        outcomes=OUTCOMES,
        save_values=save_values or {"name": asked.get("reference") or "", "expected_outcome": answer["outcome"]},
        save_errors=save_errors or {},
    ), status


@bp.get("/decisions/<decision_id>")
def decision(decision_id):
    """The answer page, read from the decision log: the permalink of a decision."""
    entry = runtime().log.get(decision_id)
    if entry is None:
        raise NotFound(gettext("No logged decision has the id %(id)s.", id=decision_id))
    return render_answer(entry)


# --------------------------------------------------------------------------- the scenario library


@bp.post("/scenarios")
def save_scenario():
    """Save a logged decision's scenario with the outcome the officer expects."""
    entry = runtime().log.get(request.form.get("decision_id", ""))
    if entry is None:
        raise NotFound()
    name = request.form.get("name", "").strip()
    expected = request.form.get("expected_outcome", "")
    errors = {}
    if not name:
        errors["name"] = [gettext("Give the scenario a name.")]
    elif len(name) > scenario_library.NAME_MAX:
        errors["name"] = [gettext("At most 200 characters.")]
    if expected not in OUTCOMES:
        errors["expected_outcome"] = [gettext("Choose the outcome you expect.")]
    if errors:
        return render_answer(entry, save_values=request.form, save_errors=errors, status=422)
    library().save(
        name=name, request=entry["request"], answer=entry["response"],
        expect=scenario_library.expectation_for(entry["response"], expected),
        decision_id=entry["decision_id"], saved_by=caller()[0],
        saved_at=runtime().clock().strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    flash(gettext("Saved “%(name)s” to the scenario library.", name=name))
    return redirect(url_for("ui.scenarios"), 303)


@bp.get("/scenarios")
def scenarios():
    return render_template("scenarios.html", saved=library().all())


@bp.get("/scenarios/run")
def run_scenarios():
    """Re-run every saved scenario against the current rules and profiles; nothing is logged."""
    rt = runtime()
    results = scenario_library.rerun(rt, library())
    words = RunWords(rt)
    return render_template(
        "scenario_run.html", results=results, passed=sum(r.passed for r in results),
        failed=sum(not r.passed for r in results), rulesets=list(rt.book.rulesets.values()),
        routes=words.routes, unmet=words.unmet, changed=words.changed,
    )


class RunWords:
    """A re-run's failures and changes in words: never the expectation's ids, rule ids or raw values."""

    def __init__(self, rt: service.Runtime):
        self.routes = {r.id: r for rs in rt.book.rulesets.values() for r in rs.routes}
        self.kinds = rt.book.taxonomy.kinds
        self._index_rulesets(rt)

    def _index_rulesets(self, rt):
        self.by_ruleset = {name: {r.id: r for r in rs.routes} for name, rs in rt.book.rulesets.items()}

    def route(self, route_id, ruleset: str | None = None) -> str:
        """A route's title; `ruleset` (a journey leg's) picks the regime's own title for an id regimes share."""
        if route_id == "none":
            return gettext("No lawful route")
        routes = self.by_ruleset.get(ruleset) or self.routes
        return localized(routes[route_id], "title") if route_id in routes else gettext("an unknown route")

    @staticmethod
    def leg_name(index: int, origin: str | None, destination: str | None) -> str:
        return gettext("Transfer %(number)d: %(origin)s to %(destination)s", number=index + 1,
                       origin=country_name(origin), destination=country_name(destination))

    def kind(self, kind) -> str:
        return localized(self.kinds[kind], "title") if kind in self.kinds else ""

    @staticmethod
    def records(records: dict) -> str:
        if records.get("required"):
            return gettext("A record of this provision is required, kept for %(retention)s.",
                           retention=duration(records.get("retention")))
        return gettext("No record of this provision is required.")

    @staticmethod
    def text_of(answer: dict, key: str, ident: str, value: str) -> str:
        """The words of a condition, remedy or citation `value` as `answer` has them."""
        for item in (answer or {}).get(key, []):
            if item.get(ident) == value:
                return localized(item, "ref") if key == "citations" else localized(item)
        return localized(registry_citation(value), "ref") if key == "citations" else gettext("(no longer described)")

    def unmet(self, result) -> list[str]:
        """What a saved scenario expected and did not get, in words."""
        expect, saved, now = result.scenario["expect"], result.scenario.get("answer") or {}, result.answer or {}
        lines = []
        if "outcome" in expect and now.get("outcome") != expect["outcome"]:
            lines.append(gettext("Expected “%(expected)s”; the answer now is “%(got)s”.",
                                 expected=label("outcome", expect["outcome"]), got=label("outcome", now.get("outcome"))))
        if "route" in expect and now.get("route") != expect["route"]:
            lines.append(gettext("Expected the route “%(expected)s”; now “%(got)s”.",
                                 expected=self.route(expect["route"]), got=self.route(now.get("route"))))
        if "decided_by" in expect and now.get("decided_by") != expect["decided_by"]:
            lines.append(gettext("Expected the answer to be decided by “%(expected)s”; now by “%(got)s”.",
                                 expected=self.kind(expect["decided_by"]), got=self.kind(now.get("decided_by"))))
        have = {c["id"] for c in now.get("conditions", [])}
        for cid in expect.get("conditions", []):
            if cid not in have:
                lines.append(gettext("This condition no longer applies: %(text)s",
                                     text=self.text_of(saved, "conditions", "id", cid)))
        have = {r["id"] for r in now.get("remedies", [])} | {r.get("route") for r in now.get("remedies", [])}
        for rid in expect.get("remedies", []):
            if rid not in have:
                lines.append(gettext("This remedy is no longer offered: %(text)s",
                                     text=self.text_of(saved, "remedies", "id", rid)))
        have = {c["ref"] for c in now.get("citations", [])}
        for ref in expect.get("citations", []):
            if ref not in have:
                lines.append(gettext("No longer cited: %(ref)s", ref=self.text_of(saved, "citations", "ref", ref)))
        records = expect.get("records") or {}
        if records and any((now.get("records") or {}).get(k) != v for k, v in records.items()):
            lines.append(gettext("Expected: %(expected)s Now: %(got)s",
                                 expected=self.records(records), got=self.records(now.get("records") or {})))
        legs_now = now.get("legs") or []
        for i, leg_expect in enumerate(expect.get("legs") or []):
            leg = legs_now[i] if i < len(legs_now) else {}
            ruleset = (leg.get("ruleset") or {}).get("name")
            name = self.leg_name(i, leg.get("origin"), leg.get("destination"))
            if "outcome" in leg_expect and leg.get("outcome") != leg_expect["outcome"]:
                lines.append(name + ": " + gettext("Expected “%(expected)s”; the answer now is “%(got)s”.",
                                                   expected=label("outcome", leg_expect["outcome"]),
                                                   got=label("outcome", leg.get("outcome"))))
            if "route" in leg_expect and leg.get("route") != leg_expect["route"]:
                lines.append(name + ": " + gettext("Expected the route “%(expected)s”; now “%(got)s”.",
                                                   expected=self.route(leg_expect["route"], ruleset),
                                                   got=self.route(leg.get("route"), ruleset)))
        if "decided_by_leg" in expect and now.get("decided_by_leg") != expect["decided_by_leg"]:
            lines.append(gettext("Expected transfer %(expected)d to decide the journey; now transfer %(got)d.",
                                 expected=expect["decided_by_leg"] + 1, got=(now.get("decided_by_leg") or 0) + 1))
        if result.failures and not lines:
            lines.append(gettext("The answer differs from what was saved in a detail of the rules: "
                                 "export the scenario to compare it with the cases."))
        return lines

    def changed(self, result) -> list[dict]:
        """What changed since the scenario was saved: one {title, lines} per part of the answer, and per leg of a journey."""
        saved, now = result.scenario.get("answer") or {}, result.answer or {}
        return self._changed(result.changes, saved, now)

    def _changed(self, changes, saved, now, ruleset=None) -> list[dict]:
        out = []
        for c in changes:
            field = c["field"]
            if field == "legs":
                for leg in c["legs"]:
                    name = self.leg_name(leg["leg"], leg["origin"], leg["destination"])
                    for part in self._changed(leg["changes"], leg["before"], leg["after"], leg.get("ruleset")):
                        out.append({"title": f"{name} · {part['title']}", "lines": part["lines"]})
                continue
            if field == "decided_by_leg":
                lines = [gettext("Transfer %(before)d → transfer %(after)d",
                                 before=(c["before"] or 0) + 1, after=(c["after"] or 0) + 1)]
            elif field == "outcome":
                lines = [f"{label('outcome', c['before'])} → {label('outcome', c['after'])}"]
            elif field == "route":
                lines = [f"{self.route(c['before'], ruleset)} → {self.route(c['after'], ruleset)}"]
            elif field == "decided_by":
                lines = [f"{self.kind(c['before'])} → {self.kind(c['after'])}"]
            elif field == "records":
                lines = [f"{self.records(c['before'])} → {self.records(c['after'])}"]
            elif field == "paths":
                lines = [f"{self.route(p['route'], ruleset)}: {label('status', p['before']) or '—'} → "
                         f"{label('status', p['after']) or '—'}" for p in c["routes"]]
            else:
                key, ident = field, "ref" if field == "citations" else "id"
                lines = [gettext("Added: %(text)s", text=self.text_of(now, key, ident, x)) for x in c["added"]]
                lines += [gettext("Removed: %(text)s", text=self.text_of(saved, key, ident, x)) for x in c["removed"]]
            out.append({"title": label("change", field), "lines": lines})
        return out


def _yaml_download(text: str, filename: str):
    return current_app.response_class(
        text, mimetype="application/yaml",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.get("/scenarios/export.yaml")
def export_scenarios():
    return _yaml_download(scenario_library.export_yaml(library().all(), runtime().clock().date()),
                          "scenario-library.yaml")


@bp.get("/scenarios/<int:scenario_id>/export.yaml")
def export_scenario(scenario_id):
    scenario = library().get(scenario_id)
    if scenario is None:
        raise NotFound()
    return _yaml_download(scenario_library.export_yaml([scenario], runtime().clock().date()),
                          f"scenario-{scenario_id}.yaml")


@bp.post("/scenarios/<int:scenario_id>/delete")
def delete_scenario(scenario_id):
    scenario = library().get(scenario_id)
    if scenario is None or not library().delete(scenario_id):
        raise NotFound()
    flash(gettext("Deleted “%(name)s”.", name=scenario["name"]))
    return redirect(url_for("ui.scenarios"), 303)


# --------------------------------------------------------------------------- countries


@bp.get("/countries")
def country_list():
    """Every country profile; `?q=` filters by code or name in either language (no script needed)."""
    rt = runtime()
    today = rt.clock().date()
    query = request.args.get("q", "").strip()
    needle = query.casefold()
    rows = []
    for country in countries().countries:
        names = (country.code, country.name, country.name_ja) + country.aliases
        if needle and not any(needle in n.casefold() for n in names):
            continue
        rows.append(rt.profiles.get(country.code, today))
    return render_template("countries.html", rows=rows, query=query)


@bp.get("/countries/<code>")
def country(code):
    """One country's profile as in force on a date (`?as_of=`, default today), with its sources."""
    rt = runtime()
    error = None
    as_of = rt.clock().date()
    if request.args.get("as_of"):
        try:
            as_of = date.fromisoformat(request.args["as_of"])
        except ValueError:
            error = gettext("Not a valid date (YYYY-MM-DD): showing today's profile.")
    try:
        profile = service.country(rt, code.upper(), as_of)
    except UnknownCountry:
        raise NotFound() from None
    profile.setdefault("eea", rt.profiles.get(code.upper(), as_of).eea)  # for the adequacy panel
    return render_template("country.html", profile=profile, as_of=as_of, as_of_error=error), 422 if error else 200


# --------------------------------------------------------------------------- language and errors


@bp.get("/language/<code>")
def switch_language(code):
    """Remember the chosen language in a cookie and go back to the page the link was on."""
    if code not in LANGUAGES:
        raise NotFound()
    response = redirect(safe_next(request.args.get("next")), 303)
    response.set_cookie(COOKIE, code, max_age=COOKIE_MAX_AGE, samesite="Lax", httponly=True,
                        secure=request.is_secure)
    return response


API_PATHS = ("/v1/", "/healthz", "/readyz", "/openapi.json")


@bp.app_errorhandler(NotFound)
def _not_found(exc):
    """A page in the reader's language for every unknown page a browser asks for; problem+json for the API."""
    if request.path.startswith(API_PATHS) or request.accept_mimetypes.best in ("application/json", problems.MEDIA_TYPE):
        return problems.respond(problems.problem_body(404, exc.name, exc.description or exc.name, "not-found"))
    detail = exc.description if exc.description != NotFound.description else None
    return render_template("error.html", title=gettext("Page not found"),
                           detail=detail or gettext("There is no page at this address. It may have been mistyped, "
                                                    "or the link that led here is out of date.")), 404


