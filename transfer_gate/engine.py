"""evaluate(request, …) -> Decision: the pure core. No Flask, no database, no clock.

Combining, written down (and inverted from Cedar where Cedar is lax):

1. One fact per kind of data in the request; the matcher returns every rule that fires.
2. Per kind: a deny reason beats any route; otherwise the first satisfied route in the ruleset's
   route order (least burdensome first) is the route; no satisfied route is a deny (default
   deny). Conditions and records apply when their `on_route` includes the chosen route.
3. Across kinds: the most restrictive result wins (deny > conditional > allow, then the more
   burdensome route, then more conditions); the answer names the kind that decided it and
   lists every kind's own result. A conditional answer carries every kind's conditions.
4. A rule that errors, an unknown rule id, or a kind no rule speaks to fails the whole
   decision (EngineFailure) — it is never skipped.

How a denial explains itself:

5. `deny_reasons`: the deny rules of every denied kind; for a kind denied by default (no route
   satisfied), the rules whose `reason` effect fired for it, in ruleset order, else the
   ruleset's `default_deny`. A kind that is special care only because the data came from the
   EU or the UK (the taxonomy's `kind_eu_uk`) says so in its first reason, with the category's
   citations (SR (1)).
6. `remedies`: one per unsatisfied route of a kind denied by default — worded by the first
   fired rule (in ruleset order) with a `remedies` entry for that route, else by the route —
   plus the rules' other remedies. Each carries `missing_fields` and `apply`, the request
   changes that cure every missing item on its path (`[]` when one of them no request change
   can cure). With several denied kinds, `apply` also takes the closest agreeing cure of every
   other denied kind, so it lifts the whole denial. Ranked: those a change reaches first, then
   fewest missing fields, then route order.
7. `summary`: one or two sentences built from the outcome, the route's title, the conditions'
   `summary` clauses and the record's retention; on a deny, the first reason and the first
   remedy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from .citations import statutory_order
from .errors import EngineFailure
from .facts import base_facts
from .model import (
    Change,
    Condition,
    Decision,
    KindResult,
    Path,
    RecordItem,
    Records,
    Remedy,
    TraceEntry,
    TransferRequest,
)
from .rules import RuleBook, Ruleset

_DURATION = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?$")
SEVERITY = {"allow": 0, "conditional": 1, "deny": 2}
# Ties between kinds with the same outcome and route go to the kind the law treats more strictly.
KIND_RANK = {"statistical": 0, "anonymized": 1, "personally_referable": 2, "personal_data": 3,
             "pseudonymized": 4, "special_care": 5}

_PROFILE_TOPICS = {
    "law": ("the comprehensive data-protection law", "包括的な個人情報保護法制の有無"),
    "oecd8_gaps": ("which OECD-8 principles lack a counterpart", "OECD8原則に対応する義務・権利の欠如"),
    "government_access": ("government-access duties that may significantly affect the principal",
                          "本人の権利利益に重大な影響を及ぼし得る政府の情報収集への協力義務"),
    "localization": ("data-localization duties", "データの国内保存義務（データローカライゼーション）"),
    "system_summary": ("a summary of the protection system", "個人情報保護制度の概要"),
}


@dataclass
class _KindAnswer:
    kind: str
    categories: tuple[str, ...]
    outcome: str
    route: str
    deny_rules: list
    conditions: list
    records: list
    used: list  # rules whose effect the answer rests on
    satisfied: set
    not_applicable: set
    missing: dict  # route -> [MissingSpec]
    remedy_specs: list
    rules: list
    reasons: list  # rules whose `reason` explains a default deny of this kind


def _render(text: str, ctx: dict) -> str:
    return text.format_map(ctx) if "{" in text else text


# Pure memos (the engine stays a function of its inputs): what a destination profile contributes
# to an answer, and the rendered conditions, depend only on the profile's content and date.
_MEMO_LIMIT = 4096
_views: dict = {}
_conditions: dict = {}


def _view(request: TransferRequest, profile) -> tuple[tuple, dict, tuple]:
    """Return (memo key, text context, destination details) for a request's destination."""
    # What a profile contributes follows from its code and its data as resolved for the date (the
    # missing topics, the sections not assessed and the oldest review are worked out from it): one
    # view per content, not one per day asked for. A profile without a content digest (one built
    # otherwise) is keyed as before, by everything that may differ from one day to the next.
    content = getattr(profile, "content_digest", "") if profile is not None else ""
    key = ("unknown",) if profile is None else (
        (profile.code, profile.digest, content) if content
        else (profile.code, profile.digest, profile.reviewed, profile.stale, getattr(profile, "as_of", None)))
    view = _views.get(key)
    if view is None:
        if len(_views) > _MEMO_LIMIT:
            _views.clear()
        view = _views[key] = (key, _context(request, profile), destination_details(profile))
    return view


def _condition(spec, kind: str, view) -> Condition:
    key = (spec, kind, view[0])
    cond = _conditions.get(key)
    if cond is None:
        if len(_conditions) > _MEMO_LIMIT:
            _conditions.clear()
        ctx, details = view[1], view[2]
        cond = _conditions[key] = Condition(
            id=spec.id, text=_render(spec.text, ctx), text_ja=_render(spec.text_ja, ctx),
            citations=spec.citations, recheck_within_days=spec.recheck_within_days,
            kinds=(kind,), details=_details_for(spec.details, details),
            summary=_render(spec.summary.text, ctx) if spec.summary else "",
            summary_ja=_render(spec.summary.text_ja, ctx) if spec.summary else "",
        )
    return cond


def _context(request: TransferRequest, profile) -> dict:
    if profile is None:
        return {
            "destination": request.destination,
            "destination_name": "a country not yet identified",
            "destination_name_ja": "未特定の国",
            "profile_missing": "the destination country", "profile_missing_ja": "移転先国",
            "profile_reviewed": "never",
        }
    missing = getattr(profile, "missing", ()) or ()
    # A profile is as old as its least recently reviewed section.
    oldest = getattr(profile, "oldest_review", profile.reviewed)
    return {
        "destination": profile.code,
        "destination_name": profile.name,
        "destination_name_ja": profile.name_ja,
        "profile_missing": ", ".join(_PROFILE_TOPICS.get(m, (m, m))[0] for m in missing) or "nothing",
        "profile_missing_ja": "、".join(_PROFILE_TOPICS.get(m, (m, m))[1] for m in missing) or "なし",
        "profile_reviewed": oldest.isoformat() if oldest else "never",
    }


def destination_details(profile) -> tuple[dict, ...]:
    """Return the country-specific content a PPC Rules 17(2) notice or a Rules 18 check needs."""
    if profile is None:
        return ()
    data = profile.data
    out = []

    def add(topic, text, text_ja, sources):
        if text or text_ja:
            out.append({"topic": topic, "text": text or "", "text_ja": text_ja or "", "sources": list(sources or [])})

    law = data.get("law") or {}
    srcs = [s.get("url") for s in data.get("sources") or [] if isinstance(s, dict) and s.get("url")]
    add("system", data.get("system_summary"), data.get("system_summary_ja"),
        ([law["url"]] if law.get("url") else []) + ([data["ppc_survey_url"]] if data.get("ppc_survey_url") else []) or srcs)
    gaps = data.get("oecd8_gaps")
    if gaps is not None:
        add("oecd8_gaps",
            "OECD-8 principles without a counterpart: " + (", ".join(g.replace("_", " ") for g in gaps) if gaps else "none (all eight have a counterpart)"),
            "対応する規定が見当たらないOECD8原則: " + ("、".join(gaps) if gaps else "なし（8原則すべてに対応する規定あり）"),
            [data["ppc_survey_url"]] if data.get("ppc_survey_url") else srcs)
    for topic in ("government_access", "localization"):
        entry = data.get(topic) or {}
        if entry.get("present"):
            add(topic, entry.get("summary"), entry.get("summary_ja"), entry.get("sources"))
    # A section nobody researched is said to be "not assessed", never left out or shown as none.
    for item in getattr(profile, "not_assessed", ()):
        add(item["section"], item["text"], item["text_ja"], item["sources"])
    return tuple(out)


def _decide_kind(kind, categories, rules, ruleset: Ruleset, view) -> _KindAnswer:
    """Apply the combining rule to one kind's fired rules (one pass over them)."""
    deny_rules, satisfied, not_applicable, missing, remedy_specs, reasons = [], set(), set(), {}, [], []
    for rule in rules:
        if rule.deny:
            deny_rules.append(rule)
        if rule.reason:
            reasons.append(rule)
        if rule.route:
            satisfied.add(rule.route)
        if rule.not_applicable:
            not_applicable.update(rule.not_applicable)
        for m in rule.missing:
            missing.setdefault(m.route, []).append(m)
        if rule.remedies:
            remedy_specs.extend(rule.remedies)
    not_applicable -= satisfied
    route = "none"
    if not deny_rules:
        route = next((r.id for r in ruleset.routes if r.id in satisfied), "none")
    used, conditions, records = [], [], []
    if route != "none":
        for rule in rules:
            contributes = rule.route == route
            for spec in rule.conditions:
                if not spec.on_route or route in spec.on_route:
                    conditions.append(_condition(spec, kind, view))
                    contributes = True
            if rule.records and (not rule.records.on_route or route in rule.records.on_route):
                records.append(rule.records)
                contributes = True
            if contributes:
                used.append(rule)
        outcome = "conditional" if conditions or any(rec.required for rec in records) else "allow"
    else:
        outcome = "deny"
        used.extend(deny_rules)
        used.extend(rule for rule in rules if (rule.missing or rule.remedies) and not rule.deny)
    return _KindAnswer(kind, categories, outcome, route, deny_rules, conditions, records, used,
                       satisfied, not_applicable, missing, remedy_specs, rules, reasons)


def _details_for(selector, details) -> tuple:
    if selector is None:
        return ()
    if selector == "destination_system":
        return details
    return tuple(d for d in details if d["topic"] == selector)


def _items(answer: _KindAnswer, route) -> list:
    """What a route is missing for one kind: the rules' missing items, else the route's default."""
    return answer.missing.get(route.id) or [route.missing]


def _union(values) -> tuple:
    return tuple(dict.fromkeys(v for group in values for v in group))


def _paths(answer: _KindAnswer, ruleset: Ruleset, ctx) -> list[Path]:
    """Every route of the regime for one kind: satisfied, not applicable, or what is missing."""
    paths = []
    for r in ruleset.routes:
        if r.id in answer.satisfied:
            paths.append(Path(r.id, "satisfied"))
        elif r.id in answer.not_applicable:
            paths.append(Path(r.id, "not_applicable"))
        else:
            items = _items(answer, r)
            texts = list(dict.fromkeys((_render(m.text, ctx), _render(m.text_ja, ctx)) for m in items))
            paths.append(Path(r.id, "unsatisfied", tuple(t for t, _ in texts), tuple(j for _, j in texts),
                              _union(m.fields for m in items)))
    return paths


def _cure(items) -> tuple[Change, ...]:
    """The changes that cure every item, or () when some item no request change can cure."""
    if not all(m.apply for m in items):
        return ()
    return _union(m.apply for m in items)


def _remedies(answer: _KindAnswer, paths, ruleset: Ruleset, ctx) -> list[Remedy]:
    """Each way a denied kind could become lawful, worded for the case, with what is missing and the cure."""
    unsatisfied = {p.route: p for p in paths if p.status == "unsatisfied"} if not answer.deny_rules else {}
    wording, remedies = {}, []
    for spec in sorted(answer.remedy_specs, key=lambda sp: _spec_rank(ruleset, answer, sp)):
        if spec.route in unsatisfied:
            wording.setdefault(spec.route, spec)
        elif spec.route and not answer.deny_rules:
            continue  # it words a route that is satisfied or cannot apply
        else:
            remedies.append(Remedy(spec.id, spec.route, _render(spec.text, ctx), _render(spec.text_ja, ctx), (), (),
                                   spec.citations, spec.fields, spec.apply or ()))
    for r in ruleset.routes:
        p = unsatisfied.get(r.id)
        if p is None:
            continue
        items = _items(answer, r)
        spec = wording.get(r.id)
        if spec is None:
            remedies.append(Remedy(f"{ruleset.name}.remedy.{r.id}", r.id, _render(r.remedy.text, ctx),
                                   _render(r.remedy.text_ja, ctx), p.missing, p.missing_ja, r.citations,
                                   p.missing_fields, _cure(items)))
        else:
            remedies.append(Remedy(spec.id, r.id, _render(spec.text, ctx), _render(spec.text_ja, ctx), p.missing,
                                   p.missing_ja, spec.citations, _union((p.missing_fields, spec.fields)),
                                   _cure(items) if spec.apply is None else spec.apply))
    return remedies


def _spec_rank(ruleset: Ruleset, answer: _KindAnswer, spec) -> int:
    for rule in answer.rules:
        if spec in rule.remedies:
            return ruleset.rule_rank(rule.id)
    return 0


def _merge_remedy(prior: Remedy, other: Remedy) -> Remedy:
    """One remedy for a route across several denied kinds: it must cure every one of them."""
    apply = _union((prior.apply, other.apply)) if prior.apply and other.apply else ()
    return replace(prior, missing=_union((prior.missing, other.missing)), missing_ja=_union((prior.missing_ja, other.missing_ja)),
                   missing_fields=_union((prior.missing_fields, other.missing_fields)),
                   citations=_union((prior.citations, other.citations)), apply=apply)


def _cure_every_kind(remedy: Remedy, covered: set, own: dict) -> Remedy:
    """Complete a remedy's changes with the closest cure of every other denied kind, if they agree."""
    if not remedy.apply or covered >= set(own):
        return remedy
    changes = list(remedy.apply)
    for kind, theirs in own.items():
        if kind in covered:
            continue
        cure = next((r.apply for r in theirs if r.apply and _compatible(changes, r.apply)), None)
        if cure is None:
            return replace(remedy, apply=())
        changes.extend(c for c in cure if c not in changes)
    fields = _union((remedy.missing_fields, [c.path for c in changes]))
    return replace(remedy, apply=tuple(changes), missing_fields=fields)


def _compatible(changes, more) -> bool:
    """Two sets of changes agree when no field is set to two different values."""
    set_to = {c.path: c.value for c in changes if c.op == "set"}
    return all(set_to.get(c.path, c.value) == c.value for c in more if c.op == "set")


def _ranked(remedies, ruleset: Ruleset) -> list[Remedy]:
    """Closest first: a remedy some request change reaches, then fewest missing fields, then route order."""
    order = {r.id: i for i, r in enumerate(ruleset.routes)}
    return sorted(remedies, key=lambda r: (not r.apply, len(r.missing_fields), order.get(r.route, len(order))))


def _sr1_categories(book: RuleBook, request: TransferRequest, kind: str) -> list:
    """The categories of a kind that are that kind only because the data came from the EU or the UK."""
    if request.data_origin not in ("EU", "UK"):
        return []
    cats = [book.taxonomy.categories[k] for k in request.data_categories]
    return [c for c in cats if c.kind_eu_uk == kind and c.kind != kind]


def _short_title(title: str) -> str:
    return re.sub(r"\s*[(（].*$", "", title)


def _deny_reasons(counted, ruleset: Ruleset, book: RuleBook, request: TransferRequest, ctx) -> tuple[dict, ...]:
    out = []
    for a in counted:
        rules = a.deny_rules or sorted(a.reasons, key=lambda r: ruleset.rule_rank(r.id))
        mine = [{"rule": r.id, "data_kind": a.kind,
                 "text": _render((r.deny or r.reason).text, ctx), "text_ja": _render((r.deny or r.reason).text_ja, ctx),
                 "citations": list(r.citations)} for r in rules]
        if not mine:
            fallback = ruleset.default_deny
            cites = list(fallback.citations) if fallback else list(
                _union(r.citations for r in a.rules if r.missing) or _union(r.citations for r in a.rules))
            mine = [{"rule": f"{ruleset.name}.default-deny", "data_kind": a.kind,
                     "text": fallback.text if fallback else "No lawful route is satisfied on the facts given.",
                     "text_ja": fallback.text_ja if fallback else "与えられた事実では、いずれの適法な根拠も満たされていない。",
                     "citations": cites}]
        sr1 = _sr1_categories(book, request, a.kind)
        if sr1:
            names = [_short_title(c.title) for c in sr1]
            names_ja = [_short_title(c.title_ja) for c in sr1]
            first = mine[0]
            lead = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1].lower()
            first["text"] += (f" {lead} {'counts' if len(names) == 1 else 'count'} as {book.taxonomy.kinds[a.kind]['title'].lower()}"
                              " here because the data came from the EU or the UK (SR (1)).")
            first["text_ja"] += f"EU又は英国から移転を受けたデータであるため、{'、'.join(names_ja)}は{book.taxonomy.kinds[a.kind]['title_ja']}として扱われる（補完的ルール(1)）。"
            first["citations"] = list(_union((first["citations"], *(c.citations for c in sr1))))
        out.extend(mine)
    return tuple(out)


def _reason_rules(answer: _KindAnswer, ruleset: Ruleset) -> tuple[str, ...]:
    """The ids of the rules that explain a denied kind (its deny rules, else its reasons)."""
    if answer.outcome != "deny":
        return ()
    if answer.deny_rules:
        return tuple(r.id for r in answer.deny_rules)
    return tuple(r.id for r in sorted(answer.reasons, key=lambda r: ruleset.rule_rank(r.id)))


_DURATION_WORDS = (("Y", "year", "年"), ("M", "month", "か月"), ("D", "day", "日"))


def duration_words(duration: str) -> tuple[str, str]:
    """Write an ISO 8601 duration in words: P3Y -> ("3 years", "3年")."""
    en, ja = [], []
    for unit, word, word_ja in _DURATION_WORDS:
        m = re.search(rf"(\d+){unit}", duration)
        if m:
            n = int(m.group(1))
            en.append(f"{n} {word}{'s' if n != 1 else ''}")
            ja.append(f"{n}{word_ja}")
    return " and ".join(en), "".join(ja)


_explained: dict = {}


def _explained_key(what: str, answer: _KindAnswer, ruleset: Ruleset, view) -> tuple:
    # A kind's paths and remedies follow from the rules that fired for it and the destination.
    return (what, ruleset.digest, frozenset(r.id for r in answer.rules), view[0])


def _kind_paths(answer: _KindAnswer, ruleset: Ruleset, view) -> tuple[Path, ...]:
    """A kind's paths, memoised per ruleset, fired rules and destination profile."""
    key = _explained_key("paths", answer, ruleset, view)
    found = _explained.get(key)
    if found is None:
        if len(_explained) > _MEMO_LIMIT:
            _explained.clear()
        found = _explained[key] = tuple(_paths(answer, ruleset, view[1]))
    return found


def _kind_remedies(answer: _KindAnswer, ruleset: Ruleset, view) -> list[Remedy]:
    """A denied kind's remedies, closest first, memoised as its paths are."""
    key = _explained_key("remedies", answer, ruleset, view)
    found = _explained.get(key)
    if found is None:
        if len(_explained) > _MEMO_LIMIT:
            _explained.clear()
        found = _explained[key] = tuple(_ranked(_remedies(answer, _kind_paths(answer, ruleset, view), ruleset, view[1]), ruleset))
    return list(found)


_summaries: dict = {}
_MAX_CLAUSES = 3


def _summary(outcome, route_id, conditions, records, ruleset: Ruleset, view) -> tuple[str, str]:
    """The plain sentences for an answer that may go ahead (memoised per ruleset, route, conditions and profile)."""
    key = (ruleset.digest, outcome, route_id, tuple(c.id for c in conditions), records.required, records.retention, view[0])
    found = _summaries.get(key)
    if found is not None:
        return found
    route = ruleset.route(route_id)
    ranked = sorted((c for c in conditions if c.summary), key=lambda c: c.recheck_within_days is None)
    clauses = list(dict.fromkeys(c.summary for c in ranked))[:_MAX_CLAUSES]
    clauses_ja = list(dict.fromkeys(c.summary_ja for c in ranked))[:_MAX_CLAUSES]
    if records.required:
        words, words_ja = duration_words(records.retention)
        clauses.append(f"keep a record of the provision for {words}")
        clauses_ja.append(f"提供の記録を{words_ja}間保存すること")
    if outcome == "allow":
        found = (f"The transfer may go ahead on this basis: {route.title}. No transfer-specific obligation applies.",
                 f"この移転は「{route.title_ja}」により可能です。移転に固有の義務はありません。")
    else:
        found = (f"The transfer may go ahead on this basis: {route.title}, provided every listed condition is met. "
                 + (f"Above all: {'; '.join(clauses)}." if clauses else "Read the conditions before providing."),
                 f"この移転は「{route.title_ja}」により、記載の条件をすべて満たす限り可能です。"
                 + (f"特に重要な義務：{'、'.join(clauses_ja)}。" if clauses_ja else "提供前に条件を確認してください。"))
    if len(_summaries) > _MEMO_LIMIT:
        _summaries.clear()
    _summaries[key] = found
    return found


def _deny_summary(reasons, remedies) -> tuple[str, str]:
    first = reasons[0]
    text, text_ja = f"The transfer may not go ahead. {first['text']}", f"この移転はできません。{first['text_ja']}"
    closest = next((r for r in remedies if r.apply), remedies[0] if remedies else None)
    if closest is not None:
        text += f" Closest way forward: {closest.text}"
        text_ja += f"最も近い方法：{closest.text_ja}"
    return text, text_ja


def _duration_days(duration: str) -> int:
    """Order ISO 8601 durations of years, months and days (an upper bound in days is enough)."""
    y, m, d = (int(x or 0) for x in _DURATION.match(duration).groups())
    return y * 366 + m * 31 + d


def _merge_records(specs, ctx) -> Records:
    if not any(s.required for s in specs):
        return Records(False, None, (), tuple(dict.fromkeys(c for s in specs for c in s.citations)))
    required = [s for s in specs if s.required]

    retention = max((s.retention for s in required), key=_duration_days)
    items = tuple(dict.fromkeys(RecordItem(_render(i.text, ctx), _render(i.text_ja, ctx)) for s in required for i in s.items))
    cites = tuple(dict.fromkeys(c for s in required for c in s.citations))
    return Records(True, retention, items, cites)


def evaluate(request: TransferRequest, ruleset: Ruleset, book: RuleBook, profile, matcher) -> Decision:
    """Decide one request under one ruleset; `profile` is the destination's profile or None if unknown."""
    kinds = book.taxonomy.kinds_of(request.data_categories, request.data_origin, ruleset.regime)
    base = base_facts(request, profile)
    facts = [dict(base, kind=kind, id=kind) for kind in kinds]
    fired = matcher.match(ruleset.name, facts)
    per_kind: dict[str, list] = {kind: [] for kind in kinds}
    trace = []
    ahead: dict[str, list] = {}  # rules waiting for a registered change -> the kinds they would touch
    for fact_id, rule_id in fired:
        if fact_id not in per_kind:
            raise EngineFailure(f"the matcher answered for an unknown fact {fact_id!r}")
        try:
            rule = ruleset.rule(rule_id)
        except KeyError:
            raise EngineFailure(f"the matcher fired an unknown rule {rule_id!r}") from None
        if rule.in_force(request.as_of):
            per_kind[fact_id].append(rule)
            trace.append(TraceEntry(rule.id, fact_id, rule.citations))
        elif rule.awaits_change(request.as_of):
            ahead.setdefault(rule.id, []).append(fact_id)
    empty = [k for k, rules in per_kind.items() if not rules]
    if empty:
        raise EngineFailure(f"no rule in force on {request.as_of} speaks to {empty}: the ruleset has a gap")

    view = _view(request, profile)
    ctx = view[1]
    route_rank = {r.id: i for i, r in enumerate(ruleset.routes)}
    answers = [_decide_kind(k, kinds[k], per_kind[k], ruleset, view) for k in kinds]
    decisive = max(answers, key=lambda a: (SEVERITY[a.outcome], route_rank.get(a.route, -1), len(a.conditions),
                                           KIND_RANK.get(a.kind, 0)))
    outcome = decisive.outcome
    counted = [a for a in answers if a.outcome == "deny"] if outcome == "deny" else answers

    conditions: dict[str, Condition] = {}
    if outcome != "deny":
        for a in answers:
            for c in a.conditions:
                prior = conditions.get(c.id)
                conditions[c.id] = c if prior is None else replace(prior, kinds=tuple(dict.fromkeys(prior.kinds + c.kinds)))
    records = _merge_records([s for a in answers for s in a.records], ctx) if outcome != "deny" else Records()
    decisive_paths = _kind_paths(decisive, ruleset, view)
    remedies: list[Remedy] = []
    deny_reasons: tuple[dict, ...] = ()
    if outcome == "deny":
        by_key: dict = {}
        covers: dict = {}  # remedy key -> the denied kinds it speaks to
        own: dict = {}  # denied kind -> its own remedies, closest first
        for a in counted:
            own[a.kind] = _kind_remedies(a, ruleset, view)
            for r in own[a.kind]:
                key = r.route or r.id
                by_key[key] = r if key not in by_key else _merge_remedy(by_key[key], r)
                covers.setdefault(key, set()).add(a.kind)
        if len(own) > 1:
            by_key = {key: _cure_every_kind(r, covers[key], own) for key, r in by_key.items()}
        remedies = _ranked(by_key.values(), ruleset)
        deny_reasons = _deny_reasons(counted, ruleset, book, request, ctx)

    refs: list[str] = []
    for a in counted:
        for rule in a.used:
            refs.extend(rule.citations)
    for r in remedies:
        refs.extend(r.citations)
    for d in deny_reasons:
        refs.extend(d["citations"])
    for a in counted:
        for cat in _sr1_categories(book, request, a.kind):
            refs.extend(cat.citations)
    for c in conditions.values():
        refs.extend(c.citations)
    refs.extend(records.citations)
    citations = tuple(book.citations.get(ref) for ref in sorted(set(refs), key=statutory_order))
    if outcome == "deny":
        summary = _deny_summary(deny_reasons, remedies)
    else:
        summary = _summary(outcome, decisive.route, tuple(conditions.values()), records, ruleset, view)

    return Decision(
        outcome=outcome,
        regime=ruleset.regime,
        route=decisive.route,
        conditions=tuple(conditions.values()),
        remedies=tuple(remedies),
        paths=tuple(decisive_paths),
        citations=citations,
        records=records,
        trace=tuple(trace),
        ruleset={"name": ruleset.name, "version": ruleset.version, "digest": ruleset.digest},
        country_profile=_profile_stamp(request, profile),
        decided_by=decisive.kind,
        data_kinds=tuple(KindResult(a.kind, a.categories, a.outcome, a.route, _reason_rules(a, ruleset)) for a in answers),
        deny_reasons=deny_reasons,
        notices=_notices(ahead, ruleset, book, ctx),
        summary=summary[0],
        summary_ja=summary[1],
    )


def _notices(ahead: dict, ruleset: Ruleset, book: RuleBook, ctx) -> tuple[dict, ...]:
    """The "changes ahead" a registered but not yet effective change would bring to this answer."""
    out = []
    for rule_id, kinds in ahead.items():
        rule = ruleset.rule(rule_id)
        change = book.changes.get(rule.change)
        out.append({
            "change": change.id, "title": change.title, "title_ja": change.title_ja,
            "status": "pending" if change.in_force is None else "scheduled",
            "in_force": change.in_force.isoformat() if change.in_force else None,
            "text": _render(rule.notice.text, ctx), "text_ja": _render(rule.notice.text_ja, ctx),
            "citations": list(rule.citations), "rule": rule.id, "data_kinds": kinds,
        })
    return tuple(out)


def _profile_stamp(request, profile) -> dict:
    if profile is None:
        return {"code": request.destination, "digest": None, "reviewed": None, "curated": False, "stale": True}
    return {
        "code": profile.code,
        "digest": profile.digest,
        "reviewed": profile.reviewed.isoformat() if profile.reviewed else None,
        "curated": profile.curated,
        "stale": profile.stale,
    }
