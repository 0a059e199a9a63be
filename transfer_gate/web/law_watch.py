"""The law watch page (/law-watch): pending and recent changes of the law, for officers and auditors.

Thin: one service call (`service.law_watch`), rendered. The JSON form is GET /v1/law-changes.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template
from flask_babel import lazy_gettext as _l

from .. import service
from .translations import label, language

bp = Blueprint("law_watch", __name__)

STATUS = {
    "pending": _l("Pending: entry into force not yet set"),
    "scheduled": _l("Scheduled"),
    "in_force": _l("In force"),
}
NO_ROUTE = _l("no lawful route")
CONFIDENCE = {
    "P": _l("Read in an official source"),
    "S→P": _l("From a secondary source quoting an official one"),
    "S": _l("From secondary sources only"),
    "NF": _l("Not found in any source"),
}


def _transition(text: str, routes: dict) -> str:
    """Put a replay transition ("conditional → deny", "route a → b") in the reader's words."""
    is_route = text.startswith("route ")
    before, _, after = text.removeprefix("route ").partition(" → ")

    def words(value):
        if is_route:
            route = routes.get(value)
            if route is None:
                return str(NO_ROUTE) if value == "none" else value
            return route.title_ja if language() == "ja" else route.title
        return str(label("outcome", value))

    return f"{words(before)} → {words(after)}"


@bp.get("/law-watch")
def page():
    rt = current_app.extensions["transfer_gate"]
    routes = {r.id: r for rs in rt.book.rulesets.values() for r in rs.routes}

    def cite_ref(citation) -> str:
        ref_ja = getattr(citation, "ref_ja", None)
        return ref_ja if language() == "ja" and ref_ja else citation.ref

    return render_template("law_watch.html", watch=service.law_watch(rt), citations=rt.book.citations,
                           statuses=STATUS, confidences=CONFIDENCE, cite_ref=cite_ref,
                           transition_words=lambda text: _transition(text, routes))
