"""Rule files: load, validate, compile conditions, digest.

A ruleset is a directory (`rulesets/<name>/`) holding `ruleset.yaml` (name, version, regime,
origins, the routes the regime knows), `rules/*.yaml` (lists of rules) and `cases/*.yaml`
(scenario cases, run by the tests). `rulesets/citations.yaml` and `rulesets/taxonomy.yaml` are
shared by every ruleset. The format is documented in `rulesets/README.md`.

Conditions are compiled twice from the same data: to the durable-rules JSON form the matcher
registers, and to a plain-Python predicate that the tests use to check every engine result.
"""

from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, Callable

from . import datafiles
from .citations import CitationRegistry
from .errors import RuleFileError
from .facts import ALL_SAFEGUARDS, CONSENTS, EXCEPTIONS, FACTS, RELATIONSHIPS
from .law_changes import LawChangeRegister
from .model import DEROGATIONS, PARTY_ROLES, TRANSFER_ASSESSMENTS, Change
from .taxonomy import Taxonomy

RULE_ID = re.compile(r"^[a-z0-9]+(?:\.[a-z0-9][a-z0-9-]*)+$")
DURATION = re.compile(r"^P(?:\d+Y)?(?:\d+M)?(?:\d+D)?$")
PLACEHOLDERS = {"destination", "destination_name", "destination_name_ja", "profile_missing", "profile_missing_ja", "profile_reviewed"}
DETAILS = {"destination_system", "system", "oecd8_gaps", "government_access", "localization"}
RULE_KEYS = {"id", "why", "when", "then", "citations", "effective_from", "effective_to", "change"}
THEN_KEYS = {"route", "not_applicable", "missing", "deny", "reason", "conditions", "records", "remedies", "notice"}
CONDITION_KEYS = {"id", "text", "text_ja", "citations", "recheck_within_days", "on_route", "details", "summary", "summary_ja"}
RECORDS_KEYS = {"required", "retention", "items", "on_route", "citations"}
REMEDY_KEYS = {"id", "route", "text", "text_ja", "citations", "fields", "apply"}
MISSING_KEYS = {"route", "text", "text_ja", "fields", "apply"}
ROUTE_KEYS = {"id", "title", "title_ja", "citations", "missing", "remedy"}
RULESET_KEYS = {"name", "version", "regime", "origins", "title", "title_ja", "description", "routes", "default_deny"}

# The request fields a remedy may name (`fields`) or change (`apply`), with the values a change may
# set or add (None: the field can be named as missing but no remedy can change it for the caller).
# Other `recipient.*` / `basis.*` / top-level names are accepted unchecked, for the partner
# regimes' fields.
REQUEST_FIELDS: dict[str, tuple | None] = {
    "origin": None, "destination": None, "data_categories": None, "data_origin": None, "as_of": None,
    "recipient.name": None,
    "recipient.relationship": RELATIONSHIPS,
    "recipient.safeguards": ALL_SAFEGUARDS,
    "recipient.handles_data": (True, False),
    "recipient.links_to_individuals": (True, False),
    "recipient.academic_institution": (True, False),
    "basis.consent": CONSENTS,
    "basis.exception": EXCEPTIONS,
    "basis.opt_out": (True, False),
    "basis.public_announcement": (True, False),
    # contract §8.2: the partner regimes' fields
    "exporter_role": PARTY_ROLES,
    "recipient.role": PARTY_ROLES,
    "recipient.transfer_assessment": TRANSFER_ASSESSMENTS,
    "basis.derogation": DEROGATIONS,
    "basis.occasional": (True, False),
}
LIST_FIELDS = {"recipient.safeguards", "data_categories"}
FIELD_PATH = re.compile(r"^(?:(?:recipient|basis)\.)?[a-z][a-z_]*$")


@dataclass(frozen=True)
class Text:
    text: str
    text_ja: str


@dataclass(frozen=True)
class ConditionSpec:
    id: str
    text: str
    text_ja: str
    citations: tuple[str, ...]
    recheck_within_days: int | None
    on_route: tuple[str, ...]
    details: str | None
    summary: Text | None = None  # the obligation as a short clause for the answer's summary


@dataclass(frozen=True)
class RecordsSpec:
    required: bool
    retention: str | None
    items: tuple[Text, ...]
    on_route: tuple[str, ...]
    citations: tuple[str, ...]


@dataclass(frozen=True)
class RemedySpec:
    id: str
    route: str | None
    text: str
    text_ja: str
    citations: tuple[str, ...]
    fields: tuple[str, ...] = ()
    apply: tuple[Change, ...] | None = None  # None: taken from what the route's path is missing


@dataclass(frozen=True)
class MissingSpec:
    route: str
    text: str
    text_ja: str
    fields: tuple[str, ...] = ()  # the request fields this item is about (missing_fields)
    apply: tuple[Change, ...] = ()  # the changes that cure this item; () when no request change can


@dataclass(frozen=True)
class Rule:
    id: str
    why: str
    citations: tuple[str, ...]
    condition: dict  # durable-rules JSON condition
    predicate: Callable[[dict], bool] = field(compare=False, repr=False)
    route: str | None = None
    not_applicable: tuple[str, ...] = ()
    missing: tuple[MissingSpec, ...] = ()
    deny: Text | None = None
    reason: Text | None = None  # the headline of a default deny this rule explains
    conditions: tuple[ConditionSpec, ...] = ()
    records: RecordsSpec | None = None
    remedies: tuple[RemedySpec, ...] = ()
    effective_from: date | None = None
    effective_to: date | None = None
    source: str = ""
    # A rule tied to an entry of the law-change register decides only from the change's entry
    # into force (None: not yet set); before that it contributes its `notice` to the answer.
    change: str | None = None
    change_in_force: date | None = None
    notice: Text | None = None

    def awaits_change(self, on: date) -> bool:
        """Tell whether, on `on`, the rule waits for its registered change to come into force."""
        return self.change is not None and (self.change_in_force is None or on < self.change_in_force)

    def in_force(self, on: date) -> bool:
        """Tell whether the rule applies to a decision evaluated as of `on`."""
        if self.awaits_change(on):
            return False
        if self.effective_from and on < self.effective_from:
            return False
        if self.effective_to and on > self.effective_to:
            return False
        return True


@dataclass(frozen=True)
class Route:
    id: str
    title: str
    title_ja: str
    citations: tuple[str, ...]
    missing: MissingSpec
    remedy: Text


@dataclass(frozen=True)
class Case:
    name: str
    source: str
    request: dict
    expect: dict
    file: str
    switch_on: tuple[str, ...] = ()  # registered changes the case is decided with, as if in force


@dataclass(frozen=True)
class Ruleset:
    name: str
    version: str
    regime: str
    origins: tuple[str, ...]
    title: str
    routes: tuple[Route, ...]
    rules: tuple[Rule, ...]
    cases: tuple[Case, ...]
    digest: str
    directory: str
    title_ja: str = ""
    default_deny: "RemedySpec | None" = None  # the deny reason when no rule gives one

    def rule(self, rule_id: str) -> Rule:
        return self._by_id[rule_id]

    @property
    def _by_id(self) -> dict[str, Rule]:
        cache = self.__dict__.get("_rule_index")
        if cache is None:
            cache = {r.id: r for r in self.rules}
            object.__setattr__(self, "_rule_index", cache)
        return cache

    def route(self, route_id: str) -> Route:
        for r in self.routes:
            if r.id == route_id:
                return r
        raise KeyError(route_id)

    def rule_rank(self, rule_id: str) -> int:
        """Return a rule's position in the ruleset (file order), which orders reasons and remedy texts."""
        ranks = self.__dict__.get("_rule_ranks")
        if ranks is None:
            ranks = {r.id: i for i, r in enumerate(self.rules)}
            object.__setattr__(self, "_rule_ranks", ranks)
        return ranks[rule_id]

    def describe(self) -> dict:
        return {
            "name": self.name,
            "version": self.version,
            "regime": self.regime,
            "origins": list(self.origins),
            "title": self.title,
            "digest": self.digest,
            "rules": len(self.rules),
            "routes": [r.id for r in self.routes],
        }


@dataclass(frozen=True)
class RuleBook:
    """Everything loaded from a rulesets directory: the registry, the taxonomy, the rulesets."""

    citations: CitationRegistry
    taxonomy: Taxonomy
    rulesets: dict[str, Ruleset]
    directory: str
    changes: LawChangeRegister = field(default_factory=LawChangeRegister.empty)

    def switched_on(self, change_ids) -> "RuleBook":
        """Return the book as it would be with the given changes in force from the beginning of time.

        The rules keep their ids and conditions, so the compiled matcher serves both books; only
        the dates differ. Replay uses this to count what a pending change would alter.
        """
        ids = frozenset(change_ids)
        rulesets = {}
        for name, rs in self.rulesets.items():
            rules = tuple(replace(r, change_in_force=date.min) if r.change in ids else r for r in rs.rules)
            rulesets[name] = replace(rs, rules=rules)
        return replace(self, rulesets=rulesets)

    def for_origin(self, origin: str) -> Ruleset | None:
        for rs in self.rulesets.values():
            if origin in rs.origins:
                return rs
        return None


# --- conditions --------------------------------------------------------------------------


def _check_value(path, rule_id, name, value):
    if name not in FACTS:
        raise RuleFileError(path, f"unknown fact {name!r} in 'when'", rule_id)
    if value not in FACTS[name] or (isinstance(value, bool) != isinstance(FACTS[name][0], bool)):
        raise RuleFileError(path, f"value {value!r} is not allowed for fact {name!r} (allowed: {list(FACTS[name])})", rule_id)


def compile_when(when: Any, path, rule_id) -> tuple[dict, Callable[[dict], bool]]:
    """Compile a `when` mapping to (durable-rules JSON condition, Python predicate)."""
    if when is None or when == {}:
        return {"$ex": {"kind": 1}}, lambda f: True
    if not isinstance(when, dict):
        raise RuleFileError(path, "'when' must be a mapping", rule_id)
    parts: list[dict] = []
    preds: list[Callable[[dict], bool]] = []
    for key, value in when.items():
        if key in ("any", "all"):
            if not isinstance(value, list) or not value:
                raise RuleFileError(path, f"'{key}' needs a non-empty list of mappings", rule_id)
            subs = [compile_when(v, path, rule_id) for v in value]
            op = "$or" if key == "any" else "$and"
            parts.append({op: [s[0] for s in subs]})
            sub_preds = [s[1] for s in subs]
            preds.append((lambda ps: lambda f: any(p(f) for p in ps))(sub_preds) if key == "any"
                         else (lambda ps: lambda f: all(p(f) for p in ps))(sub_preds))
            continue
        if isinstance(value, dict):
            if set(value) != {"not"}:
                raise RuleFileError(path, f"fact {key!r}: only {{not: …}} is allowed as a mapping", rule_id)
            excluded = value["not"] if isinstance(value["not"], list) else [value["not"]]
            for v in excluded:
                _check_value(path, rule_id, key, v)
            parts.extend({"$neq": {key: v}} for v in excluded)
            preds.append((lambda k, ex: lambda f: f[k] not in ex)(key, tuple(excluded)))
        elif isinstance(value, list):
            if not value:
                raise RuleFileError(path, f"fact {key!r}: empty list", rule_id)
            for v in value:
                _check_value(path, rule_id, key, v)
            parts.append({"$or": [{key: v} for v in value]} if len(value) > 1 else {key: value[0]})
            preds.append((lambda k, vals: lambda f: f[k] in vals)(key, tuple(value)))
        else:
            _check_value(path, rule_id, key, value)
            parts.append({key: value})
            preds.append((lambda k, v: lambda f: f[k] == v and type(f[k]) is type(v))(key, value))
    condition = parts[0] if len(parts) == 1 else {"$and": parts}
    return condition, (lambda ps: lambda f: all(p(f) for p in ps))(preds)


# --- loading -------------------------------------------------------------------------------


def _need(mapping, key, path, item, kind=str):
    value = mapping.get(key)
    if value is None or (kind is str and not str(value).strip()):
        raise RuleFileError(path, f"missing {key!r}", item)
    if not isinstance(value, kind):
        raise RuleFileError(path, f"{key!r} must be {kind.__name__}", item)
    return value


def _keys(mapping, allowed, path, item, what):
    if not isinstance(mapping, dict):
        raise RuleFileError(path, f"{what} must be a mapping", item)
    unknown = set(mapping) - allowed
    if unknown:
        raise RuleFileError(path, f"unknown keys in {what}: {sorted(unknown)}", item)


def _text(mapping, path, item) -> Text:
    texts = Text(_need(mapping, "text", path, item), _need(mapping, "text_ja", path, item))
    for t in (texts.text, texts.text_ja):
        names = {n for _, n, _, _ in string.Formatter().parse(t) if n is not None}
        if names - PLACEHOLDERS:
            raise RuleFileError(path, f"unknown placeholders {sorted(names - PLACEHOLDERS)} in text", item)
    return texts


def _fields(value, path, item) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RuleFileError(path, "fields must be a list of request field paths", item)
    for name in value:
        if name not in REQUEST_FIELDS and not FIELD_PATH.match(name):
            raise RuleFileError(path, f"fields: {name!r} is not a request field path", item)
    return tuple(value)


def _changes(value, path, item) -> tuple[Change, ...]:
    """Validate `apply`: a list of {path, set: value} or {path, add: value} on request fields."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise RuleFileError(path, "apply must be a list of {path, set} or {path, add}", item)
    out = []
    for change in value:
        if not isinstance(change, dict) or "path" not in change or len(set(change) & {"set", "add"}) != 1 \
                or set(change) - {"path", "set", "add"}:
            raise RuleFileError(path, f"apply: {change!r} must be {{path, set}} or {{path, add}}", item)
        name = change["path"]
        op = "set" if "set" in change else "add"
        if name not in REQUEST_FIELDS and not FIELD_PATH.match(name):
            raise RuleFileError(path, f"apply: {name!r} is not a request field path", item)
        allowed = REQUEST_FIELDS.get(name, ())
        if name in REQUEST_FIELDS and allowed is None:
            raise RuleFileError(path, f"apply: {name!r} is not something a remedy can change", item)
        if name in REQUEST_FIELDS and (op == "add") != (name in LIST_FIELDS):
            raise RuleFileError(path, f"apply: use 'add' for list fields and 'set' for the others ({name!r})", item)
        if allowed and (change[op] not in allowed or type(change[op]) is not type(allowed[0])):
            raise RuleFileError(path, f"apply: {change[op]!r} is not a value of {name!r} (allowed: {list(allowed)})", item)
        out.append(Change(name, op, change[op]))
    return tuple(out)


def _missing(m, route_ids, path, item) -> MissingSpec:
    _keys(m, MISSING_KEYS, path, item, "missing")
    t = _text(m, path, item)
    apply = _changes(m.get("apply"), path, item)
    fields = _fields(m.get("fields"), path, item)
    fields += tuple(c.path for c in apply if c.path not in fields)
    route = _routes_list(m.get("route"), route_ids, path, item, "missing")[0] if "route" in m else ""
    return MissingSpec(route, t.text, t.text_ja, fields, apply)


def _routes_list(value, route_ids, path, item, what) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    for r in values:
        if r not in route_ids:
            raise RuleFileError(path, f"{what}: unknown route {r!r}", item)
    return tuple(values)


def _load_rule(raw, path, route_ids, citations, changes: LawChangeRegister) -> Rule:
    rule_id = raw.get("id") if isinstance(raw, dict) else None
    if not rule_id:
        raise RuleFileError(path, f"rule without an id: {raw!r}")
    _keys(raw, RULE_KEYS, path, rule_id, "rule")
    if not RULE_ID.match(rule_id):
        raise RuleFileError(path, "rule id must be dotted lower-case words, e.g. appi.route.designated-country", rule_id)
    why = _need(raw, "why", path, rule_id)
    cites = citations.check(_need(raw, "citations", path, rule_id, list), path, rule_id)
    if not cites:
        raise RuleFileError(path, "a rule needs at least one citation", rule_id)
    condition, predicate = compile_when(raw.get("when"), path, rule_id)
    then = raw.get("then")
    _keys(then, THEN_KEYS, path, rule_id, "'then'")
    if not then:
        raise RuleFileError(path, "'then' has no effect", rule_id)
    route = then.get("route")
    if route is not None:
        _routes_list(route, route_ids, path, rule_id, "route")
    not_applicable = ()
    if "not_applicable" in then:
        na = then["not_applicable"]
        not_applicable = tuple(route_ids) if na == "*" else _routes_list(na, route_ids, path, rule_id, "not_applicable")
    missing = []
    for m in then.get("missing") or []:
        if not isinstance(m, dict) or "route" not in m:
            raise RuleFileError(path, "a missing item needs its route", rule_id)
        missing.append(_missing(m, route_ids, path, rule_id))
    deny = None
    if "deny" in then:
        _keys(then["deny"], {"text", "text_ja"}, path, rule_id, "deny")
        deny = _text(then["deny"], path, rule_id)
    reason = None
    if "reason" in then:
        _keys(then["reason"], {"text", "text_ja"}, path, rule_id, "reason")
        reason = _text(then["reason"], path, rule_id)
        if not missing and not deny:
            raise RuleFileError(path, "a reason explains why routes are missing: give it with 'missing'", rule_id)
    conditions = []
    for c in then.get("conditions") or []:
        _keys(c, CONDITION_KEYS, path, rule_id, "condition")
        cid = _need(c, "id", path, rule_id)
        if not RULE_ID.match(cid):
            raise RuleFileError(path, f"condition id {cid!r} must be dotted lower-case words", rule_id)
        t = _text(c, path, f"{rule_id} / {cid}")
        recheck = c.get("recheck_within_days")
        if recheck is not None and (not isinstance(recheck, int) or recheck <= 0):
            raise RuleFileError(path, "recheck_within_days must be a positive integer", rule_id)
        details = c.get("details")
        if details is not None and details not in DETAILS:
            raise RuleFileError(path, f"details must be one of {sorted(DETAILS)}", rule_id)
        summary = None
        if "summary" in c or "summary_ja" in c:
            summary = _text({"text": c.get("summary"), "text_ja": c.get("summary_ja")}, path, f"{rule_id} / {cid} summary")
        conditions.append(ConditionSpec(
            id=cid, text=t.text, text_ja=t.text_ja,
            citations=citations.check(_need(c, "citations", path, rule_id, list), path, f"{rule_id} / {cid}"),
            recheck_within_days=recheck,
            on_route=_routes_list(c["on_route"], route_ids, path, rule_id, "on_route") if "on_route" in c else (),
            details=details, summary=summary,
        ))
    records = None
    if "records" in then:
        r = then["records"]
        _keys(r, RECORDS_KEYS, path, rule_id, "records")
        required = r.get("required")
        if not isinstance(required, bool):
            raise RuleFileError(path, "records.required must be true or false", rule_id)
        retention = r.get("retention")
        if retention is not None and not (isinstance(retention, str) and DURATION.match(retention) and retention != "P"):
            raise RuleFileError(path, "records.retention must be an ISO 8601 duration such as P3Y", rule_id)
        if required and not retention:
            raise RuleFileError(path, "a required record needs a retention period", rule_id)
        items = []
        for i in r.get("items") or []:
            _keys(i, {"text", "text_ja"}, path, rule_id, "records item")
            items.append(_text(i, path, rule_id))
        if required and not items:
            raise RuleFileError(path, "a required record needs its items", rule_id)
        records = RecordsSpec(
            required=required, retention=retention, items=tuple(items),
            on_route=_routes_list(r["on_route"], route_ids, path, rule_id, "on_route") if "on_route" in r else (),
            citations=citations.check(r.get("citations"), path, rule_id),
        )
    remedies = []
    for m in then.get("remedies") or []:
        _keys(m, REMEDY_KEYS, path, rule_id, "remedy")
        mid = _need(m, "id", path, rule_id)
        t = _text(m, path, f"{rule_id} / {mid}")
        apply = _changes(m["apply"], path, f"{rule_id} / {mid}") if "apply" in m else None
        fields = _fields(m.get("fields"), path, f"{rule_id} / {mid}")
        fields += tuple(c.path for c in apply or () if c.path not in fields)
        remedies.append(RemedySpec(
            id=mid,
            route=_routes_list(m["route"], route_ids, path, rule_id, "remedy route")[0] if m.get("route") else None,
            text=t.text, text_ja=t.text_ja,
            citations=citations.check(_need(m, "citations", path, rule_id, list), path, f"{rule_id} / {mid}"),
            fields=fields, apply=apply,
        ))
    if not any((route, not_applicable, missing, deny, conditions, records, remedies)):
        raise RuleFileError(path, "'then' has no effect", rule_id)
    notice = None
    if "notice" in then:
        _keys(then["notice"], {"text", "text_ja"}, path, rule_id, "notice")
        notice = _text(then["notice"], path, rule_id)
    change = raw.get("change")
    if change is not None and change not in changes:
        raise RuleFileError(path, f"change {change!r} is not in the law-change register (rulesets/law_changes.yaml)",
                            rule_id)
    if (change is None) != (notice is None):
        raise RuleFileError(path, "a rule tied to a registered change needs a notice, and only such a rule has one",
                            rule_id)
    dates = {}
    for key in ("effective_from", "effective_to"):
        value = raw.get(key)
        if value is not None and not isinstance(value, date):
            raise RuleFileError(path, f"{key} must be a date (YYYY-MM-DD)", rule_id)
        dates[key] = value
    return Rule(
        id=rule_id, why=why.strip(), citations=cites, condition=condition, predicate=predicate,
        route=route, not_applicable=not_applicable, missing=tuple(missing), deny=deny, reason=reason,
        conditions=tuple(conditions), records=records, remedies=tuple(remedies),
        source=str(path), change=change, change_in_force=changes.get(change).in_force if change else None,
        notice=notice, **dates,
    )


def _yaml(path: Path):
    return datafiles.read(path, RuleFileError)


def _load_routes(raw, path, citations) -> tuple[Route, ...]:
    routes = []
    for r in raw or []:
        rid = r.get("id") if isinstance(r, dict) else None
        if not rid:
            raise RuleFileError(path, f"route without an id: {r!r}")
        _keys(r, ROUTE_KEYS, path, rid, "route")
        _keys(r.get("missing"), MISSING_KEYS - {"route"}, path, rid, "route missing")
        _keys(r.get("remedy"), {"text", "text_ja"}, path, rid, "route remedy")
        routes.append(Route(
            id=rid, title=_need(r, "title", path, rid), title_ja=_need(r, "title_ja", path, rid),
            citations=citations.check(_need(r, "citations", path, rid, list), path, rid),
            missing=_missing(r["missing"], [], path, rid), remedy=_text(r["remedy"], path, rid),
        ))
    if not routes:
        raise RuleFileError(path, "a ruleset must list its routes")
    return tuple(routes)


def load_ruleset(directory: Path, citations: CitationRegistry, shared_digest: "hashlib._Hash",
                 changes: LawChangeRegister | None = None) -> Ruleset:
    """Load one ruleset directory, validating every rule and case file."""
    meta_path = directory / "ruleset.yaml"
    meta = _yaml(meta_path)
    _keys(meta, RULESET_KEYS, meta_path, None, "ruleset.yaml")
    routes = _load_routes(meta.get("routes"), meta_path, citations)
    route_ids = [r.id for r in routes]
    digest = shared_digest.copy()
    digest.update(b"ruleset.yaml\0" + meta_path.read_bytes() + b"\0")
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for path in sorted((directory / "rules").glob("*.yaml")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        raw = _yaml(path)
        if not isinstance(raw, list):
            raise RuleFileError(path, "a rule file is a list of rules")
        for item in raw:
            rule = _load_rule(item, path, route_ids, citations, changes or LawChangeRegister.empty())
            if rule.id in seen:
                raise RuleFileError(path, f"rule id also used in {seen[rule.id]}", rule.id)
            seen[rule.id] = str(path)
            rules.append(rule)
    if not rules:
        raise RuleFileError(directory, "no rules found in rules/*.yaml")
    cases = []
    for path in sorted((directory / "cases").glob("*.yaml")):
        for i, raw in enumerate(_yaml(path) or []):
            if not isinstance(raw, dict) or set(raw) - {"name", "source", "request", "expect", "switch_on"} \
                    or "request" not in raw or "expect" not in raw:
                raise RuleFileError(path, "a case has name, source, request, expect and optionally switch_on",
                                    f"case {i + 1}")
            switch_on = raw.get("switch_on") or []
            if not isinstance(switch_on, list) or any(c not in (changes or ()) for c in switch_on):
                raise RuleFileError(path, "switch_on lists ids of the law-change register", f"case {i + 1}")
            cases.append(Case(name=raw.get("name") or f"{path.stem} #{i + 1}", source=raw.get("source", ""),
                              request=raw["request"], expect=raw["expect"], file=str(path),
                              switch_on=tuple(switch_on)))
    default_deny = None
    if "default_deny" in meta:
        d = meta["default_deny"]
        _keys(d, {"text", "text_ja", "citations"}, meta_path, "default_deny", "default_deny")
        t = _text(d, meta_path, "default_deny")
        default_deny = RemedySpec(f"{meta.get('name')}.default-deny", None, t.text, t.text_ja,
                                  citations.check(_need(d, "citations", meta_path, "default_deny", list), meta_path, "default_deny"))
    return Ruleset(
        name=_need(meta, "name", meta_path, None), version=str(_need(meta, "version", meta_path, None)),
        regime=_need(meta, "regime", meta_path, None), origins=tuple(_need(meta, "origins", meta_path, None, list)),
        title=meta.get("title", ""), routes=routes, rules=tuple(rules), cases=tuple(cases),
        digest="sha256:" + digest.hexdigest(), directory=str(directory),
        title_ja=meta.get("title_ja", ""), default_deny=default_deny,
    )


def load_rulebook(directory) -> RuleBook:
    """Load the citation registry, the taxonomy and every ruleset under a rulesets directory."""
    directory = Path(directory)
    if not directory.is_dir():
        raise RuleFileError(directory, "rulesets directory not found")
    citations = CitationRegistry.load(directory / "citations.yaml")
    taxonomy = Taxonomy.load(directory / "taxonomy.yaml", citations)
    changes = LawChangeRegister.load(directory / "law_changes.yaml", citations)
    shared = hashlib.sha256()
    shared.update(b"citations.yaml\0" + citations.source + b"\0taxonomy.yaml\0" + taxonomy.source + b"\0")
    if changes.source:  # switching a change on (its in_force date) changes every ruleset's answers
        shared.update(b"law_changes.yaml\0" + changes.source + b"\0")
    rulesets = {}
    for sub in sorted(p for p in directory.iterdir() if (p / "ruleset.yaml").is_file()):
        rs = load_ruleset(sub, citations, shared, changes)
        if rs.name in rulesets:
            raise RuleFileError(sub, f"ruleset name {rs.name!r} used twice")
        rulesets[rs.name] = rs
    if not rulesets:
        raise RuleFileError(directory, "no ruleset directories (with a ruleset.yaml) found")
    return RuleBook(citations=citations, taxonomy=taxonomy, rulesets=rulesets, directory=str(directory),
                    changes=changes)
