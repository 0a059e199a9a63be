"""Replay: re-evaluate logged requests under the current or a candidate set of rules and profiles.

A logged request is replayed exactly as it was decided — same facts, same `as_of` date — so
the only thing that differs is the rules and country profiles it meets. Every decision whose
outcome, route or set of conditions would change is reported, with counts per kind of change,
and so is every logged request the candidate can no longer decide (it no longer validates, or
the destination has no profile): those are changes too, not something to skip. A journey is
re-evaluated leg by leg, and each leg that would change is reported with its own before and after.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable

from . import service
from .errors import RequestInvalid, TransferGateError, UnknownCountry, UnsupportedOrigin
from .profiles import ProfileStore
from .rules import load_rulebook

CHANGE_KINDS = ("outcome", "route", "conditions", "undecidable")


def candidate(rt: service.Runtime, rulesets_dir=None, profiles_dir=None) -> service.Runtime:
    """Build a runtime (without a log) from other rules and/or profiles; the current ones fill the gaps."""
    book = load_rulebook(rulesets_dir) if rulesets_dir else rt.book
    matcher = service.compile_matcher(book) if rulesets_dir else rt.matcher
    profiles = ProfileStore.load(profiles_dir) if profiles_dir else rt.profiles
    return service.Runtime(book, profiles, matcher, log=None, clock=rt.clock)


def describe(rt: service.Runtime) -> dict:
    """Name a runtime's rules and profiles by digest."""
    return {"rulesets": {name: rs.digest for name, rs in rt.book.rulesets.items()}, "profiles": rt.profiles.digest}


def _summary(response: dict) -> dict:
    return {"outcome": response["outcome"], "route": response["route"],
            "conditions": sorted({c["id"] for c in response.get("conditions", [])})}


def _leg_changes(before: dict, after: dict | None) -> tuple[dict, ...]:
    """Compare a journey's legs one by one; return each leg that would change, with what changes."""
    old, new = before.get("legs") or [], (after or {}).get("legs") or []
    out = []
    for i in range(max(len(old), len(new))):
        b = _summary(old[i]) if i < len(old) else None
        a = _summary(new[i]) if i < len(new) else None
        kinds = [k for k in ("outcome", "route", "conditions") if (b or {}).get(k) != (a or {}).get(k)]
        if kinds:
            leg = (old[i] if i < len(old) else new[i])
            out.append({"leg": i, "origin": leg.get("origin"), "destination": leg.get("destination"),
                        "changes": kinds, "before": b, "after": a})
    return tuple(out)


@dataclass(frozen=True)
class Change:
    """One logged decision that the candidate would decide differently."""

    decision_id: str
    created_at: str
    reference: str | None
    destination: str
    kinds: tuple[str, ...]
    before: dict
    after: dict | None  # None when the candidate cannot decide the request
    problem: str | None = None  # what the service answered, as the API and the CLI show it (field paths included)
    why: tuple[str, str] | None = None  # why it cannot be decided, for a person: (English, Japanese)
    legs: tuple[dict, ...] = ()  # for a journey: each leg that would change (leg, origin, destination, changes, before, after)

    @property
    def conditions_added(self) -> list[str]:
        return sorted(set(self.after["conditions"]) - set(self.before["conditions"])) if self.after else []

    @property
    def conditions_removed(self) -> list[str]:
        return sorted(set(self.before["conditions"]) - set(self.after["conditions"])) if self.after else []

    def to_dict(self) -> dict:
        return {"decision_id": self.decision_id, "created_at": self.created_at, "reference": self.reference,
                "destination": self.destination, "changes": list(self.kinds), "before": self.before,
                "after": self.after, "conditions_added": self.conditions_added,
                "conditions_removed": self.conditions_removed, "problem": self.problem, "legs": list(self.legs)}

    @property
    def problem_text(self) -> str | None:
        return self.why[0] if self.why else None

    @property
    def problem_text_ja(self) -> str | None:
        return self.why[1] if self.why else None


@dataclass
class ReplayReport:
    """What a replay found: how many decisions it examined, which would change, counted by kind."""

    under: dict
    examined: int = 0
    changes: list[Change] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)  # kind of change -> decisions
    transitions: Counter = field(default_factory=Counter)  # "conditional → allow" -> decisions

    def to_dict(self) -> dict:
        return {"under": self.under, "examined": self.examined, "changed": len(self.changes),
                "counts": {k: self.counts.get(k, 0) for k in CHANGE_KINDS},
                "transitions": dict(sorted(self.transitions.items())),
                "changes": [c.to_dict() for c in self.changes]}


def replay(under: service.Runtime, entries: Iterable[dict]) -> ReplayReport:
    """Re-evaluate each logged entry's request under `under`; report every change."""
    report = ReplayReport(describe(under))
    for entry in entries:
        report.examined += 1
        before = _summary(entry["response"])
        legs: tuple[dict, ...] = ()
        try:
            request = service.validate(under, entry["request"])
            answer = service.answer(under, request).to_dict()  # a journey: every leg re-evaluated
            after = _summary(answer)
        except TransferGateError as exc:
            after, problem, why = None, getattr(exc, "errors", None) or str(exc), undecidable(exc)
            kinds = ("undecidable",)
        else:
            problem, why = None, None
            legs = _leg_changes(entry["response"], answer)
            changed = {k for leg in legs for k in leg["changes"]}
            kinds = tuple(k for k in ("outcome", "route", "conditions") if before[k] != after[k] or k in changed)
        if not kinds:
            continue
        report.changes.append(Change(entry["decision_id"], entry["created_at"], entry["reference"],
                                     entry["destination"], kinds, before, after,
                                     None if problem is None else _problem_text(problem), why, legs))
        report.counts.update(kinds)
        if after and "outcome" in kinds:
            report.transitions[f"{before['outcome']} → {after['outcome']}"] += 1
        if after and "route" in kinds:
            report.transitions[f"route {before['route']} → {after['route']}"] += 1
    return report


def undecidable(exc: TransferGateError) -> tuple[str, str]:
    """Why a logged request cannot be decided under other rules or profiles, as a person reads it (English, Japanese)."""
    if isinstance(exc, UnknownCountry):
        return (f"The country profiles compared against have no profile for {exc.code}, where the data goes.",
                f"比較した国別プロファイルには、移転先 {exc.code} のプロファイルがありません。")
    if isinstance(exc, UnsupportedOrigin):
        return ("The rules compared against have no regime for the country the data leaves.",
                "比較したルールには、データの移転元の国を扱う法制度がありません。")
    if isinstance(exc, RequestInvalid):
        return ("Under the rules compared against, the logged request is no longer a valid request (for example, "
                "it names a kind of data or a safeguard they do not know).",
                "比較したルールの下では、記録された依頼が有効な依頼ではなくなっています（たとえば、ルールにないデータの"
                "種類や保護措置を指定しています）。")
    return ("The rules and profiles compared against cannot decide the logged request.",
            "比較したルールとプロファイルでは、記録された依頼を判断できません。")


def _problem_text(problem) -> str:
    if isinstance(problem, dict):
        return "; ".join(f"{path}: {' '.join(msgs)}" for path, msgs in problem.items())
    return str(problem)
