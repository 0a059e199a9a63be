"""The privacy officers' scenario library: scenarios saved from the form with the answer they expect.

A saved scenario is a logged request (its `as_of` resolved, so it does not drift with the
calendar), an expectation in the rulesets' case format (checked by `scenarios.check`), and the
answer it got when it was saved, so a re-run can say what changed. The library lives in the
decision log's database, in its own table with its own MetaData, created by the Alembic
revision `migrations/versions/0002_saved_scenarios.py` that `create_app()` applies.

Export writes the case format of `rulesets/<name>/cases/*.yaml`, so a scenario can become a
permanent case beside the rules.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
import yaml

from . import scenarios, service
from .errors import RequestInvalid, UnknownCountry
from .model import Basis, Recipient, TransferRequest, default_role

metadata = sa.MetaData()
saved_scenarios = sa.Table(
    "saved_scenarios",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("saved_at", sa.String(32), nullable=False),
    sa.Column("saved_by", sa.String(64), nullable=False),
    sa.Column("decision_id", sa.String(26), nullable=True),
    sa.Column("request", sa.Text, nullable=False),  # the request body as logged
    sa.Column("expect", sa.Text, nullable=False),  # the expectation, in the case format
    sa.Column("answer", sa.Text, nullable=False),  # the answer when saved
)

NAME_MAX = 200


class ScenarioLibrary:
    """Saved scenarios behind `save`, `all`, `get` and `delete`."""

    def __init__(self, engine: sa.engine.Engine):
        self.engine = engine

    def save(self, *, name: str, request: dict, expect: dict, answer: dict, decision_id: str | None,
             saved_by: str, saved_at: str) -> int:
        """Store a scenario and return its id."""
        with self.engine.begin() as conn:
            result = conn.execute(saved_scenarios.insert().values(
                name=name, saved_at=saved_at, saved_by=saved_by, decision_id=decision_id,
                request=_dump(request), expect=_dump(expect), answer=_dump(answer),
            ))
            return result.inserted_primary_key[0]

    def all(self) -> list[dict]:
        """Return every saved scenario, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(saved_scenarios).order_by(saved_scenarios.c.id)).mappings()
            return [_parsed(r) for r in rows]

    def get(self, scenario_id: int) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(saved_scenarios).where(saved_scenarios.c.id == scenario_id)).mappings().first()
        return _parsed(row) if row else None

    def delete(self, scenario_id: int) -> bool:
        """Remove a scenario; tell whether there was one."""
        with self.engine.begin() as conn:
            return conn.execute(saved_scenarios.delete().where(saved_scenarios.c.id == scenario_id)).rowcount > 0


def _dump(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True)


def _parsed(row) -> dict:
    out = dict(row)
    for key in ("request", "expect", "answer"):
        out[key] = json.loads(out[key])
    return out


def expectation_for(answer: dict, expected_outcome: str) -> dict:
    """Build what a saved scenario expects.

    Expecting the answer it got pins that answer (outcome, route, conditions or remedies,
    citations, records); expecting another outcome pins only that outcome, so the scenario
    fails until the rules give it.
    """
    if expected_outcome == answer["outcome"]:
        return scenarios.expectation_from(answer)
    return {"outcome": expected_outcome}


@dataclass(frozen=True)
class RunResult:
    """One saved scenario re-run: the answer now, how it fails its expectation, what changed."""

    scenario: dict
    answer: dict | None
    failures: list[str] = field(default_factory=list)
    changes: list[dict] = field(default_factory=list)
    errors: dict | None = None  # the saved request is no longer valid under the current rules

    @property
    def passed(self) -> bool:
        return self.errors is None and not self.failures


def rerun(rt: service.Runtime, library: ScenarioLibrary) -> list[RunResult]:
    """Decide every saved scenario again under the current rules and profiles (not logged)."""
    results = []
    for scenario in library.all():
        try:
            answer = service.decide(rt, scenario["request"], caller="scenario-library", dry_run=True)
        except RequestInvalid as exc:
            results.append(RunResult(scenario, None, errors=exc.errors))
            continue
        except UnknownCountry as exc:
            results.append(RunResult(scenario, None, errors={"destination": [str(exc)]}))
            continue
        results.append(RunResult(scenario, answer, scenarios.check(scenario["expect"], answer),
                                 changes(scenario["answer"], answer)))
    return results


def changes(before: dict, after: dict) -> list[dict]:
    """List how `after` differs from `before`: scalar changes, items added and removed, route status."""
    out = []
    for key in ("outcome", "route", "decided_by"):
        if before.get(key) != after.get(key):
            out.append({"field": key, "before": before.get(key), "after": after.get(key)})
    records = [{k: (a.get("records") or {}).get(k) for k in ("required", "retention")} for a in (before, after)]
    if records[0] != records[1]:
        out.append({"field": "records", "before": records[0], "after": records[1]})
    for key, ident in (("conditions", "id"), ("remedies", "id"), ("citations", "ref")):
        was = [item[ident] for item in before.get(key, [])]
        now = [item[ident] for item in after.get(key, [])]
        added, removed = [x for x in now if x not in was], [x for x in was if x not in now]
        if added or removed:
            out.append({"field": key, "added": added, "removed": removed})
    was = {p["route"]: p["status"] for p in before.get("paths", [])}
    now = {p["route"]: p["status"] for p in after.get("paths", [])}
    moved = [{"route": r, "before": was.get(r), "after": now.get(r)} for r in dict.fromkeys([*was, *now])
             if was.get(r) != now.get(r)]
    if moved:
        out.append({"field": "paths", "routes": moved})
    if before.get("decided_by_leg") != after.get("decided_by_leg") and "legs" in after:
        out.append({"field": "decided_by_leg", "before": before.get("decided_by_leg"), "after": after.get("decided_by_leg")})
    legs = []  # a journey: what changed in each leg, leg by leg (the request, so the legs, are the same)
    for i, (was_leg, now_leg) in enumerate(zip(before.get("legs") or [], after.get("legs") or [])):
        leg_changes = changes(was_leg, now_leg)
        if leg_changes:
            legs.append({"leg": i, "origin": now_leg.get("origin"), "destination": now_leg.get("destination"),
                         "ruleset": (now_leg.get("ruleset") or {}).get("name"), "before": was_leg, "after": now_leg,
                         "changes": leg_changes})
    if legs:
        out.append({"field": "legs", "legs": legs})
    return out


def compact_request(body: dict) -> dict:
    """Drop what the contract defaults anyway (nulls, default values), as the case files are written."""
    defaults = {"recipient": _defaults(Recipient()), "basis": _defaults(Basis())}
    top = {f.name: list(f.default) if isinstance(f.default, tuple) else f.default
           for f in dataclasses.fields(TransferRequest) if f.default is not dataclasses.MISSING}
    out = {}
    for key, value in body.items():
        if key in defaults:
            implied = dict(defaults[key])
            if key == "recipient":  # the role the relationship implies is the default
                implied["role"] = default_role(value.get("relationship", "third_party"))
            kept = {k: v for k, v in value.items() if v is not None and v != implied.get(k)}
            if kept:
                out[key] = kept
        elif key == "onward":
            if value:  # each leg compacted like the top level; no legs is the default
                out[key] = [compact_request(leg) for leg in value]
        elif value is not None and (key not in top or value != top[key]):
            out[key] = value
    return out


def _defaults(obj) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in vars(obj).items()}


def as_case(scenario: dict) -> dict:
    """Turn a saved scenario into a case of `rulesets/<name>/cases/*.yaml`."""
    source = f"scenario library #{scenario['id']}, saved {scenario['saved_at'][:10]} by {scenario['saved_by']}"
    if scenario.get("decision_id"):
        source += f" from decision {scenario['decision_id']}"
    return {"name": scenario["name"], "source": source, "request": compact_request(scenario["request"]),
            "expect": scenario["expect"]}


def export_yaml(saved: list[dict], exported_on: date) -> str:
    """Write scenarios as a case file that can be pasted into `rulesets/<name>/cases/`."""
    rulesets = sorted({s["answer"].get("ruleset", {}).get("name") for s in saved} - {None})
    where = f"rulesets/{rulesets[0]}/cases/" if len(rulesets) == 1 else "rulesets/<ruleset>/cases/"
    header = (
        f"# Exported from the transfer-gate scenario library on {exported_on.isoformat()}.\n"
        f"# Save as {where}<topic>.yaml to keep these scenarios as permanent cases.\n"
    )
    if not saved:
        return header + "[]\n"
    return header + yaml.safe_dump([as_case(s) for s in saved], allow_unicode=True, sort_keys=False,
                                   default_flow_style=None, width=110)
