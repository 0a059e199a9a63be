"""The privacy officers' pages: the scenario form, the answer, the scenario library, the country profiles.

Views are thin: map the form, call one service (or library) function, render. Decisions made
here go through `service.decide`, so they are logged like any other, and the answer page reads
the logged decision back: what an officer sees is what the log holds.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from werkzeug.exceptions import NotFound

from .. import scenario_library, service
from ..errors import EngineFailure, LogUnavailable, RequestInvalid, UnknownCountry
from ..facts import CONSENTS, EXCEPTIONS, RELATIONSHIPS, SAFEGUARDS
from ..model import OUTCOMES
from . import transfer_form
from .identity import caller
from .tracing import request_id
from .translations import COOKIE, COOKIE_MAX_AGE, LANGUAGES, gettext, language, safe_next

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


@bp.app_context_processor
def _layout_context():
    """What the layout needs on every page, including pages of other blueprints that extend it."""
    def language_link(code):
        here = request.full_path.rstrip("?") if request.method == "GET" else url_for("ui.index")
        return url_for("ui.switch_language", code=code, next=here)

    return {"current_caller": caller, "language_link": language_link, "languages": LANGUAGES}


# --------------------------------------------------------------------------- the form


def render_form(values, errors=None, status=200, notice=None):
    rt = runtime()
    lang = language()
    return render_template(
        "form.html",
        values=values,
        errors=transfer_form.errors_by_field(errors or {}),
        notice=notice,
        origins=origins(),
        countries=countries(),
        unknown_label=transfer_form.unknown_label(lang),
        category_groups=transfer_form.category_groups(rt.book.taxonomy),
        kinds=rt.book.taxonomy.kinds,
        relationships=RELATIONSHIPS,
        safeguards=SAFEGUARDS,
        consents=CONSENTS,
        exceptions=EXCEPTIONS,
        data_origins=transfer_form.DATA_ORIGINS,
    ), status


@bp.get("/")
def index():
    """The scenario form; `?decision=<id>` or `?scenario=<id>` fills it from an earlier scenario."""
    lang = language()
    values = transfer_form.blank_form(origins()[0])
    notice = None
    decision_id = request.args.get("decision")
    scenario_id = request.args.get("scenario", type=int)
    if decision_id:
        entry = runtime().log.get(decision_id)
        if entry is None:
            raise NotFound(gettext("answer.not_found", id=decision_id))
        values = transfer_form.form_from_request(entry["request"], countries(), lang)
        notice = gettext("form.prefilled_decision", id=decision_id)
    elif scenario_id is not None:
        scenario = library().get(scenario_id)
        if scenario is None:
            raise NotFound()
        values = transfer_form.form_from_request(scenario["request"], countries(), lang)
        notice = gettext("form.prefilled_scenario", name=scenario["name"])
    return render_form(values, notice=notice)


@bp.post("/decisions")
def create_decision():
    """Decide the posted scenario and show the logged answer; errors go back next to their fields."""
    rt = runtime()
    body, errors = transfer_form.request_from_form(request.form, countries())
    who, role = caller()
    try:
        if errors:
            service.validate(rt, body)  # the contract's own errors for the other fields, nothing logged
        else:
            answer = service.decide(rt, body, caller=who, role=role, request_id=request_id())
            return redirect(url_for("ui.decision", decision_id=answer["decision_id"]), 303)
    except RequestInvalid as exc:
        note = gettext("error.field_prefix") if language() == "ja" else None  # the service's messages are English
        errors = transfer_form.merge_errors(errors, exc.errors, note=note)
    except UnknownCountry:
        errors = transfer_form.merge_errors(errors, {"destination": [gettext("error.unknown_profile")]})
    except LogUnavailable:
        return render_template("error.html", title=gettext("error.log_unavailable"),
                               detail=gettext("error.log_unavailable.detail")), 503
    except EngineFailure:
        return render_template("error.html", title=gettext("error.engine"), detail=gettext("error.engine.detail")), 500
    return render_form(request.form, errors, 422)


# --------------------------------------------------------------------------- the answer


def render_answer(entry: dict, save_values=None, save_errors=None, status=200):
    rt = runtime()
    answer, asked = entry["response"], entry["request"]
    ruleset = rt.book.rulesets.get(answer["ruleset"]["name"])
    routes = {r.id: r for r in ruleset.routes} if ruleset else {}
    listed = {c["ref"]: c for c in answer["citations"]}

    def cite(ref):
        """The answer's own citation entry; the registry's for refs only a record or a path names."""
        if ref in listed:
            return listed[ref]
        return rt.book.citations.get(ref).to_dict() if ref in rt.book.citations else {"ref": ref}

    profile = None
    if asked["destination"] != transfer_form.UNKNOWN:
        try:
            profile = rt.profiles.get(asked["destination"], date.fromisoformat(asked["as_of"]))
        except UnknownCountry:
            profile = None
    decided_with = (answer.get("country_profile") or {}).get("digest")
    return render_template(
        "answer.html",
        entry=entry,
        answer=answer,
        asked=asked,
        routes=routes,
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
        raise NotFound(gettext("answer.not_found", id=decision_id))
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
        errors["name"] = [gettext("save.name_required")]
    elif len(name) > scenario_library.NAME_MAX:
        errors["name"] = [gettext("save.name_too_long")]
    if expected not in OUTCOMES:
        errors["expected_outcome"] = [gettext("save.outcome_invalid")]
    if errors:
        return render_answer(entry, save_values=request.form, save_errors=errors, status=422)
    library().save(
        name=name, request=entry["request"], answer=entry["response"],
        expect=scenario_library.expectation_for(entry["response"], expected),
        decision_id=entry["decision_id"], saved_by=caller()[0],
        saved_at=runtime().clock().strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    flash(gettext("save.saved", name=name))
    return redirect(url_for("ui.scenarios"), 303)


@bp.get("/scenarios")
def scenarios():
    return render_template("scenarios.html", saved=library().all())


@bp.get("/scenarios/run")
def run_scenarios():
    """Re-run every saved scenario against the current rules and profiles; nothing is logged."""
    rt = runtime()
    results = scenario_library.rerun(rt, library())
    return render_template(
        "scenario_run.html", results=results, passed=sum(r.passed for r in results),
        failed=sum(not r.passed for r in results), rulesets=list(rt.book.rulesets.values()),
        routes={r.id: r for rs in rt.book.rulesets.values() for r in rs.routes},
    )


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
    flash(gettext("library.deleted", name=scenario["name"]))
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
            error = gettext("country.as_of_invalid")
    try:
        profile = service.country(rt, code.upper(), as_of)
    except UnknownCountry:
        raise NotFound() from None
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


@bp.errorhandler(404)
def _not_found(exc):
    detail = exc.description if exc.description != NotFound.description else None
    return render_template("error.html", title=gettext("error.not_found"), detail=detail), 404


