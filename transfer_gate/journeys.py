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
4. `citations` are every leg's (a denied journey's: its denied legs', as a denied decision cites
   only its denied kinds), deduplicated, in statutory order; `trace` is every leg's trace
   in leg order. `regime`, `ruleset` and `country_profile` stay the top-level transfer's (leg
   0): they identify what the caller asked about, and each leg carries its own.
5. The journey's remedies name the journey's request fields: a change to an onward leg's
   recipient or basis is a change to `onward[n]` (each leg's own answer keeps its own paths).
6. `summary`: leg by leg, which regime decided what, then which leg decides and what that
   means for the journey; each leg's own summary says why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Callable

from .citations import statutory_order
from .model import Change, Decision, Records, Remedy, TransferRequest

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


# How a person reads a regime's name, an outcome, a leg's direction (English, Japanese).
REGIME_NAMES = {"APPI": ("the APPI", "個人情報保護法"), "GDPR": ("the GDPR", "GDPR"), "UK_GDPR": ("the UK GDPR", "英国GDPR")}
OUTCOME_WORDS = {"allow": ("allowed", "可"), "conditional": ("allowed on conditions", "条件付きで可"),
                 "deny": ("not allowed", "不可")}


@dataclass(frozen=True)
class Labels:
    """What the summary needs to name things as people do: `country(code)` and `route(ruleset, route)`, each (en, ja)."""

    country: Callable[[str], tuple[str, str]]
    route: Callable[[str, str], tuple[str, str]]


def combine(requests, decisions, citation, labels: Labels | None = None) -> Journey:
    """Combine each leg's decision into the journey's; `citation(ref)` looks a ref up in the registry."""
    decisions = tuple(decisions)
    legs = tuple(LegDecision(i, r, d) for i, (r, d) in enumerate(zip(requests, decisions)))
    decisive_index = deciding_leg(decisions)
    decisive, first = decisions[decisive_index], decisions[0]
    denied = decisive.outcome == "deny"
    counted = [d for d in decisions if d.outcome == "deny"] if denied else list(decisions)

    conditions = () if denied else _unique(c for d in decisions for c in d.conditions)
    records = Records() if denied else _merge_records([d.records for d in decisions])
    remedies = _unique(_for_journey(r, i) for i, d in enumerate(decisions) if d.outcome == "deny"
                       for r in d.remedies) if denied else ()
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
        notices=tuple(dict(n, leg=i) for i, d in enumerate(decisions) for n in d.notices),
    )
    if labels is not None:
        text, text_ja = summary(legs, decisive_index, labels)
        combined = replace(combined, summary=text, summary_ja=text_ja)
    return Journey(combined, legs, decisive_index)


def summary(legs, decisive_index: int, labels: Labels) -> tuple[str, str]:
    """Say leg by leg which regime decided what, and which leg decides the journey (English, Japanese)."""
    parts, parts_ja = [], []
    for leg in legs:
        d, r = leg.decision, leg.request
        (origin, origin_ja), (dest, dest_ja) = labels.country(r.origin), labels.country(r.destination)
        regime, regime_ja = REGIME_NAMES.get(d.regime, (d.regime, d.regime))
        word, word_ja = OUTCOME_WORDS[d.outcome]
        how, how_ja = ("", "")
        if d.outcome != "deny":
            title, title_ja = labels.route(d.ruleset["name"], d.route)
            how, how_ja = f" ({title})", f"（{title_ja}）"
        parts.append(f"leg {leg.index + 1}, {origin} → {dest}, under {regime}: {word}{how}")
        parts_ja.append(f"第{leg.index + 1}区間（{origin_ja}→{dest_ja}、{regime_ja}）は{word_ja}{how_ja}")
    decisive = legs[decisive_index].decision
    n = decisive_index + 1
    if decisive.outcome == "deny":
        reason = decisive.deny_reasons[0] if decisive.deny_reasons else {"text": "", "text_ja": ""}
        verdict = f"Leg {n} decides: the journey may not go ahead. {reason['text']}".rstrip()
        verdict_ja = f"第{n}区間が結論を決めます。この経路での移転はできません。{reason['text_ja']}"
    elif decisive.outcome == "conditional":
        verdict = (f"Leg {n} decides: the journey may go ahead provided every listed condition of every leg is met.")
        verdict_ja = f"第{n}区間が結論を決めます。すべての区間の条件を満たす限り、この経路での移転は可能です。"
    else:
        verdict = "No leg sets a transfer-specific obligation: the journey may go ahead."
        verdict_ja = "いずれの区間にも移転に固有の義務はなく、この経路での移転は可能です。"
    return ("Leg by leg: " + "; ".join(parts) + ". " + verdict,
            "区間ごとの結論：" + "、".join(parts_ja) + "。" + verdict_ja)


def _onward_path(path: str, index: int) -> str:
    """Name a leg's request field as a field of the journey's request."""
    if index == 0:
        return path
    if path == "exporter_role":  # leg n's exporter is leg n−1's recipient
        return "recipient.role" if index == 1 else f"onward[{index - 2}].recipient.role"
    if path == "destination" or path.split(".")[0] in ("recipient", "basis"):
        return f"onward[{index - 1}].{path}"
    return path


def _for_journey(remedy: Remedy, index: int) -> Remedy:
    """Rewrite a leg's remedy so that its field paths name the journey's request."""
    if index == 0:
        return remedy
    return replace(remedy,
                   missing_fields=tuple(_onward_path(f, index) for f in remedy.missing_fields),
                   apply=tuple(Change(_onward_path(c.path, index), c.op, c.value) for c in remedy.apply))


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
