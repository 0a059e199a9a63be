"""Scenario cases: what an answer is expected to contain, and how an answer is checked against it.

The same format serves the cases stored beside the rules (`rulesets/<name>/cases/*.yaml`) and the
scenarios privacy officers save from the form, so a saved scenario can become a permanent case.
"""

from __future__ import annotations

EXPECT_KEYS = {
    "outcome", "route", "decided_by", "conditions", "no_conditions", "citations", "records",
    "rules", "absent_rules", "paths", "missing", "remedies", "deny_reasons", "notices", "no_notices", "regime",
    "summary", "summary_ja", "deny_reason_text", "deny_reason_citations", "remedy_order",
    "legs", "decided_by_leg",
}
# What a journey case may expect of each leg: everything a decision is checked for, and where it goes.
LEG_KEYS = (EXPECT_KEYS - {"legs", "decided_by_leg"}) | {"origin", "destination", "data_origin"}


def check(expect: dict, answer: dict, allowed=EXPECT_KEYS) -> list[str]:
    """Return every way `answer` (a decision body) differs from `expect`; empty when it matches.

    A journey's expectation may list `legs`, one expectation per leg in order (each checked
    like a decision, and for its `origin`, `destination`, `data_origin`), and `decided_by_leg`.
    """
    problems = [f"unknown expectation {k!r}" for k in expect if k not in allowed]
    for key in ("outcome", "route", "decided_by", "regime", "decided_by_leg", "origin", "destination", "data_origin"):
        if key in expect and answer.get(key) != expect[key]:
            problems.append(f"{key}: expected {expect[key]!r}, got {answer.get(key)!r}")
    if "legs" in expect:
        legs = answer.get("legs") or []
        if len(legs) != len(expect["legs"]):
            problems.append(f"legs: expected {len(expect['legs'])}, got {len(legs)}")
        for i, (leg_expect, leg) in enumerate(zip(expect["legs"], legs)):
            problems += [f"legs[{i}]: {p}" for p in check(leg_expect, leg, LEG_KEYS)]
    conditions = {c["id"] for c in answer.get("conditions", [])}
    for cid in expect.get("conditions", []):
        if cid not in conditions:
            problems.append(f"condition {cid} missing (got {sorted(conditions)})")
    for cid in expect.get("no_conditions", []):
        if cid in conditions:
            problems.append(f"condition {cid} present but not expected")
    refs = {c["ref"] for c in answer.get("citations", [])}
    for ref in expect.get("citations", []):
        if ref not in refs:
            problems.append(f"citation {ref!r} missing (got {sorted(refs)})")
    for key, value in (expect.get("records") or {}).items():
        if answer.get("records", {}).get(key) != value:
            problems.append(f"records.{key}: expected {value!r}, got {answer.get('records', {}).get(key)!r}")
    fired = {t["rule"] for t in answer.get("trace", [])}
    for rid in expect.get("rules", []):
        if rid not in fired:
            problems.append(f"rule {rid} did not fire")
    for rid in expect.get("absent_rules", []):
        if rid in fired:
            problems.append(f"rule {rid} fired but should not")
    paths = {p["route"]: p for p in answer.get("paths", [])}
    for route, status in (expect.get("paths") or {}).items():
        if paths.get(route, {}).get("status") != status:
            problems.append(f"path {route}: expected {status!r}, got {paths.get(route, {}).get('status')!r}")
    for route, fragment in (expect.get("missing") or {}).items():
        texts = paths.get(route, {}).get("missing", [])
        if not any(fragment in t for t in texts):
            problems.append(f"path {route}: no missing text contains {fragment!r} (got {texts})")
    remedies = {r.get("route") for r in answer.get("remedies", [])} | {r["id"] for r in answer.get("remedies", [])}
    for rem in expect.get("remedies", []):
        if rem not in remedies:
            problems.append(f"remedy {rem!r} missing (got {sorted(x for x in remedies if x)})")
    reasons = {d["rule"] for d in answer.get("deny_reasons", [])}
    for rid in expect.get("deny_reasons", []):
        if rid not in reasons:
            problems.append(f"deny reason {rid} missing (got {sorted(reasons)})")
    notices = {n["change"] for n in answer.get("notices", [])}
    for change in expect.get("notices", []):
        if change not in notices:
            problems.append(f"notice of change {change} missing (got {sorted(notices)})")
    for change in expect.get("no_notices", []):
        if change in notices:
            problems.append(f"notice of change {change} present but not expected")
    for key in ("summary", "summary_ja"):
        if key in expect and expect[key] not in answer.get(key, ""):
            problems.append(f"{key}: no {expect[key]!r} in {answer.get(key)!r}")
    reason_texts = [d["text"] for d in answer.get("deny_reasons", [])]
    if "deny_reason_text" in expect and not any(expect["deny_reason_text"] in t for t in reason_texts):
        problems.append(f"no deny reason contains {expect['deny_reason_text']!r} (got {reason_texts})")
    reason_refs = {ref for d in answer.get("deny_reasons", []) for ref in d.get("citations", [])}
    for ref in expect.get("deny_reason_citations", []):
        if ref not in reason_refs:
            problems.append(f"no deny reason cites {ref!r} (got {sorted(reason_refs)})")
    order = expect.get("remedy_order")
    if order:
        first = answer.get("remedies", [])[:len(order)]
        if len(first) < len(order) or any(want not in (r.get("route"), r["id"]) for want, r in zip(order, first)):
            problems.append(f"remedy_order: expected the first remedies to be {order}, "
                            f"got {[(r.get('route'), r['id']) for r in first]}")
    return problems


def expectation_from(answer: dict) -> dict:
    """Build the expectation that pins an answer as it is now (for "save as test case")."""
    expect = {
        "outcome": answer["outcome"],
        "route": answer["route"],
        "decided_by": answer["decided_by"],
        "records": {"required": answer["records"]["required"], "retention": answer["records"]["retention"]},
    }
    if answer["outcome"] != "deny":
        expect["conditions"] = [c["id"] for c in answer["conditions"]]
    else:
        expect["remedies"] = [r["id"] for r in answer["remedies"]]
    expect["citations"] = [c["ref"] for c in answer["citations"]]
    if "legs" in answer:  # a journey: pin each leg's regime, outcome and route, and the deciding leg
        expect["decided_by_leg"] = answer["decided_by_leg"]
        expect["legs"] = [{"regime": leg["regime"], "outcome": leg["outcome"], "route": leg["route"]}
                          for leg in answer["legs"]]
    return expect
