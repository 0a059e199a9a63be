"""The auditors' pages under /audit: the decision log, its chain, exports, the records register, replay.

Views are thin: they validate filters through the service and render. Access is decided by
the central access policy (every endpoint of this blueprint is auditor-only), not here.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, current_app, render_template, request, stream_with_context, url_for

from .. import log_export, service
from .. import replay as replaying
from ..errors import DataFileError, RequestInvalid
from .identity import caller

bp = Blueprint("audit", __name__, url_prefix="/audit")

FILTER_FIELDS = ("from", "to", "outcome", "destination", "route", "reference", "caller", "records")


def runtime() -> service.Runtime:
    return current_app.extensions["transfer_gate"]


def _filters(args, **fixed):
    """Validate the page's filters; on bad input return (None, errors) so the page can show them."""
    given = {k: v for k, v in args.items() if k in FILTER_FIELDS + ("cursor", "order", "limit")}
    given.update(fixed)
    try:
        return service.log_filter(given), {}
    except RequestInvalid as exc:
        return None, exc.errors


def _audit_trail(action: str, flt) -> None:
    who, role = caller()
    current_app.logger.info("audit %s by %s (%s) with filters %s", action, who, role,
                            json.dumps(flt.given if flt else {}, sort_keys=True))


@bp.get("")
def decisions():
    flt, errors = _filters(request.args, limit=request.args.get("limit") or "50")
    page = service.find_decisions(runtime(), flt) if flt else {"decisions": [], "next_cursor": None}
    args = {k: v for k, v in request.args.items() if k in FILTER_FIELDS and v}
    return render_template("audit/decisions.html", page=page, errors=errors, args=args,
                           next_url=url_for("audit.decisions", **args, cursor=page["next_cursor"])
                           if page["next_cursor"] is not None else None), 422 if errors else 200


@bp.get("/decisions/<decision_id>")
def decision(decision_id):
    entry = service.logged_decision(runtime(), decision_id)
    if entry is None:
        abort(404, f"No logged decision has the id {decision_id!r}.")
    citations = {c["ref"]: c for c in entry["response"].get("citations", [])}
    return render_template("audit/decision.html", entry=entry, citations=citations,
                           request_json=json.dumps(entry["request"], ensure_ascii=False, indent=2),
                           response_json=json.dumps(entry["response"], ensure_ascii=False, indent=2))


def _export(kind: str, lines, mimetype: str):
    flt, errors = _filters(request.args, order="asc")
    if errors:
        return render_template("audit/decisions.html", page={"decisions": [], "next_cursor": None},
                               errors=errors, args=request.args, next_url=None), 422
    _audit_trail(f"export {kind}", flt)
    body = stream_with_context(lines(service.all_decisions(runtime(), flt)))
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="decision-log.{kind}"'})


@bp.get("/export.csv")
def export_csv():
    return _export("csv", log_export.csv_lines, "text/csv")


@bp.get("/export.jsonl")
def export_jsonl():
    return _export("jsonl", log_export.jsonl_lines, "application/jsonl")


@bp.get("/chain")
def chain():
    result = runtime().log.verify()
    return render_template("audit/chain.html", result=result)


def _register(args):
    flt, errors = _filters(args, records="required", order="asc")
    lines = log_export.records_register(service.all_decisions(runtime(), flt), runtime().clock().date()) if flt else []
    return flt, errors, lines


@bp.get("/records")
def records():
    flt, errors, lines = _register(request.args)
    args = {k: v for k, v in request.args.items() if k in ("from", "to", "destination", "reference") and v}
    return render_template("audit/records.html", lines=list(lines), errors=errors, args=args), 422 if errors else 200


@bp.get("/records.csv")
def records_csv():
    flt, errors, lines = _register(request.args)
    if errors:
        abort(422, "; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
    _audit_trail("export records register", flt)
    return Response(stream_with_context(log_export.register_csv_lines(lines)), mimetype="text/csv",
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
    flt, errors = _filters(args, order="asc")
    if under not in ("current", "candidate") or (under == "candidate" and not has_candidate):
        errors = dict(errors, under=["Choose the current rules and profiles or the configured candidate."])
    if errors:
        return render_template("audit/replay.html", **dict(context, errors=errors)), 422
    rt = runtime()
    try:
        target = replaying.candidate(rt, candidate_dirs["rulesets"], candidate_dirs["profiles"]) \
            if under == "candidate" else rt
    except DataFileError as exc:
        return render_template("audit/replay.html", **dict(context, errors={"candidate": [str(exc)]})), 422
    _audit_trail(f"replay under {under}", flt)
    report = replaying.replay(target, service.all_decisions(rt, flt))
    return render_template("audit/replay.html", **dict(context, report=report))
