"""Answers of every kind and the officer pages that show them, for the page-wide checks (server and browser)."""

from __future__ import annotations

from transfer_gate import scenario_library, service

ANSWERS = {
    "allow": {"origin": "JP", "destination": "DE", "data_categories": ["statistical"], "as_of": "2026-11-27"},
    "conditional": {
        "origin": "JP", "destination": "US", "data_categories": ["personal_data", "special_care.medical_history"],
        "recipient": {"name": "Acme Cloud Inc.", "relationship": "outsourcee", "safeguards": ["contract_measures"]},
        "as_of": "2026-11-27", "reference": "crm-export-4711",
    },
    # the longest answer the rules give: four kinds of data, a dozen conditions, thirty citations, records
    "long_conditional": {
        "origin": "JP", "destination": "CN",
        "data_categories": ["personal_data", "special_care.medical_history", "pseudonymized", "personally_referable"],
        "recipient": {"name": "Acme Cloud Inc.", "relationship": "outsourcee", "safeguards": ["contract_measures"],
                      "links_to_individuals": True},
        "basis": {"consent": "informed"}, "as_of": "2026-11-27",
    },
    "deny": {"origin": "JP", "destination": "CN", "data_categories": ["personal_data"], "as_of": "2026-11-27"},
}


def record_answers(app) -> dict[str, str]:
    """Decide and log each of ANSWERS as an officer would; return {kind: decision id}, each checked for its outcome."""
    rt = app.extensions["transfer_gate"]
    ids = {}
    with app.app_context():
        for kind, body in ANSWERS.items():
            answer = service.decide(rt, body, caller="env-officer-1", role="officer")
            assert answer["outcome"] == kind.split("_")[-1], (kind, answer["outcome"])
            ids[kind] = answer["decision_id"]
            if kind == "deny":
                tried = [r["id"] for r in answer["remedies"] if r.get("apply")]
                if tried:
                    ids["deny_remedy"] = tried[0]
        entry = rt.log.get(ids["conditional"])
        app.extensions["scenario_library"].save(
            name="Medical records to a US processor", request=entry["request"], answer=entry["response"],
            expect=scenario_library.expectation_for(entry["response"], "allow"), decision_id=ids["conditional"],
            saved_by="env-officer-1", saved_at="2026-11-27T03:01:23Z")
    return ids


def officer_pages(ids: dict[str, str]) -> dict[str, str]:
    """Every page an officer sees, by name: path."""
    first_remedy = "?decision={}&remedy={}"
    return {
        "form": "/",
        "answer-allow": f"/decisions/{ids['allow']}",
        "answer-conditional": f"/decisions/{ids['conditional']}",
        "answer-long": f"/decisions/{ids['long_conditional']}",
        "answer-deny": f"/decisions/{ids['deny']}",
        "form-from-decision": f"/?decision={ids['conditional']}",
        "scenarios": "/scenarios",
        "scenario-run": "/scenarios/run",
        "countries": "/countries",
        "country": "/countries/US",
        "country-unreviewed": "/countries/AF",
        "not-found": "/no-such-page",
        "unknown-decision": "/decisions/01ZZZZZZZZZZZZZZZZZZZZZZZZ",
    } | ({"try-remedy": "/" + first_remedy.format(ids["deny"], ids["deny_remedy"])} if "deny_remedy" in ids else {})
