"""Journeys (contract §8): data that goes on from the first destination, leg by leg — pure.

A request with `onward` legs is a journey. Leg 0 is the request itself; leg n is exported from
the destination of leg n−1, under the regime of that country, with the same data categories
and date. Combining, written down:

1. Each leg is decided on its own, as a request of its own would be (`leg_requests`).
2. The journey's outcome is the most restrictive leg's (deny > conditional > allow); among legs
   with that outcome the first one decides (`decided_by_leg`): data that cannot lawfully take
   an earlier step never reaches a later one. The journey's `route`, `paths`, `decided_by` and
   `data_kinds` are the deciding leg's.
3. A lawful journey carries every leg's conditions (deduplicated) and the union of their
   records (required when any leg requires one, kept for the longest period). A denied journey
   has no conditions and no records, like any denied decision; its remedies and deny reasons
   are those of the denied legs.
4. `citations` are every leg's, deduplicated, in statutory order; `trace` is every leg's trace
   in leg order. `regime`, `ruleset` and `country_profile` stay the top-level transfer's (leg
   0): they identify what the caller asked about, and each leg carries its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Callable

from .citations import statutory_order
from .model import Decision, Records, TransferRequest

SEVERITY = {"allow": 0, "conditional": 1, "deny": 2}
MAX_ONWARD = 10  # legs after the first; a journey longer than that is a data map, not a request
_DURATION = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?$")

# What a leg out of Japan carries as data_origin, by the regime of the leg before it
# (contract §8.2): data received from the EEA or the UK meets the Supplementary Rules.
_DATA_ORIGIN_AFTER = {"GDPR": "EU", "UK_GDPR": "UK"}


def leg_requests(request: TransferRequest, regime_of: Callable[[str], str | None]) -> tuple[TransferRequest, ...]:
    """Return one request per leg, the top-level transfer first; `regime_of(code)` names a country's regime.

    The caller has checked that every leg leaves a country with a regime. The exporter of leg n
    is the recipient of leg n−1, so its role is that recipient's role.
    """
    first = replace(request, onward=())
    legs = [first]
    for leg in request.onward:
        prev = legs[-1]
        origin = prev.destination
        data_origin = _DATA_ORIGIN_AFTER.get(regime_of(prev.origin)) if regime_of(origin) == "APPI" else None
        legs.append(TransferRequest(
            origin=origin, destination=leg.destination, data_categories=request.data_categories,
            as_of=request.as_of, data_origin=data_origin, recipient=leg.recipient, basis=leg.basis,
            reference=request.reference, exporter_role=prev.recipient.resolved_role,
        ))
    return tuple(legs)


@dataclass(frozen=True)
class LegDecision:
    """One leg of a journey: where it goes, under which data origin, and its decision."""

    index: int
    request: TransferRequest
    decision: Decision

    def to_dict(self) -> dict:
        out = {"leg": self.index, "origin": self.request.origin, "destination": self.request.destination,
               "data_origin": self.request.data_origin}
        out.update(self.decision.to_dict())
        return out


@dataclass(frozen=True)
class Journey:
    """The answer to a journey: the combined decision, and every leg's own."""

    decision: Decision
    legs: tuple[LegDecision, ...]
    decided_by_leg: int

    @property
    def outcome(self) -> str:
        return self.decision.outcome

    def to_dict(self) -> dict:
        out = self.decision.to_dict()
        out["legs"] = [leg.to_dict() for leg in self.legs]
        out["decided_by_leg"] = self.decided_by_leg
        return out


def deciding_leg(decisions) -> int:
    """Return the index of the first leg with the most restrictive outcome."""
    worst = max(SEVERITY[d.outcome] for d in decisions)
    return next(i for i, d in enumerate(decisions) if SEVERITY[d.outcome] == worst)


def combine(requests, decisions, citation) -> Journey:
    """Combine each leg's decision into the journey's; `citation(ref)` looks a ref up in the registry."""
    decisions = tuple(decisions)
    legs = tuple(LegDecision(i, r, d) for i, (r, d) in enumerate(zip(requests, decisions)))
    decisive_index = deciding_leg(decisions)
    decisive, first = decisions[decisive_index], decisions[0]
    denied = decisive.outcome == "deny"
    counted = [d for d in decisions if d.outcome == "deny"] if denied else list(decisions)

    conditions = () if denied else _unique(c for d in decisions for c in d.conditions)
    records = Records() if denied else _merge_records([d.records for d in decisions])
    remedies = _unique(r for d in counted for r in d.remedies) if denied else ()
    deny_reasons = tuple(dict(reason, leg=i) for i, d in enumerate(decisions) if d.outcome == "deny"
                         for reason in d.deny_reasons) if denied else ()
    refs = {c.ref for d in counted for c in d.citations}
    refs.update(ref for c in conditions for ref in c.citations)
    citations = tuple(citation(ref) for ref in sorted(refs, key=statutory_order))

    combined = replace(
        first,
        outcome=decisive.outcome,
        route=decisive.route,
        conditions=conditions,
        remedies=remedies,
        paths=decisive.paths,
        citations=citations,
        records=records,
        trace=tuple(t for d in decisions for t in d.trace),
        decided_by=decisive.decided_by,
        data_kinds=decisive.data_kinds,
        deny_reasons=deny_reasons,
    )
    return Journey(combined, legs, decisive_index)


def _unique(items) -> tuple:
    """Keep the first of each (id, text): the same obligation on two legs to different countries reads differently."""
    seen, out = set(), []
    for item in items:
        key = (item.id, item.text)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return tuple(out)


def _days(duration: str) -> int:
    y, m, d = (int(x or 0) for x in _DURATION.match(duration).groups())
    return y * 366 + m * 31 + d


def _merge_records(records) -> Records:
    required = [r for r in records if r.required]
    cites = tuple(dict.fromkeys(c for r in (required or records) for c in r.citations))
    if not required:
        return Records(False, None, (), cites)
    retention = max((r.retention for r in required if r.retention), key=_days, default=None)
    items = tuple(dict.fromkeys(i for r in required for i in r.items))
    return Records(True, retention, items, cites)
