"""Country profiles: load and validate the files in `country_profiles/`, resolve them at a date.

One YAML file per ISO 3166-1 alpha-2 code (`country_profiles/<CODE>.yaml`) plus group files
(`country_profiles/groups/*.yaml`). The format is described field by field in
`country_profiles/README.md`. `ProfileStore.load` parses and validates everything once;
`ProfileStore.get(code, as_of)` is then a cache lookup.

Every profile and the store as a whole are versioned by content digest: the sha256 of the
canonical JSON form of the parsed files, so re-indenting a file or editing a comment does not
change a digest, and any change of meaning does.
"""

from __future__ import annotations

import calendar
import copy
import functools
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pycountry

from transfer_gate import datafiles
from transfer_gate.errors import ProfileError, UnknownCountry

STALE_AFTER_MONTHS = 18

OECD8_PRINCIPLES = (
    "collection_limitation",
    "data_quality",
    "purpose_specification",
    "use_limitation",
    "security_safeguards",
    "openness",
    "individual_participation",
    "accountability",
)

GLOBAL_CBPR_STATUSES = ("member", "associate", "none")

GROUP_FILES = ("ppc_designated", "eea", "apec", "apec_cbpr", "global_cbpr", "oecd")

# The partner regimes' adequacy findings (contract §8): effective-dated data the GDPR and UK GDPR
# rules read, one file per regime. `scope` is `full` or the part of the destination covered.
ADEQUACY_FILES = ("eu_adequacy", "uk_adequacy")
ADEQUACY_SCOPES = ("full", "dpf_certified", "commercial_organisations", "excluding_academic", "pipa_regulated",
                   "lgpd_regulated")
NO_ADEQUACY = {"status": "none", "scope": None, "instrument": None, "since": None, "until": None}
# The parts of a profile that are reviewed, and dated, one by one (`section_reviews`).
SECTIONS = (
    "designated", "law", "authority", "system_summary", "oecd8_gaps", "government_access",
    "localization",
)

# What a section left null ("not assessed") still needs researched, in both languages. A null
# is never shown as "none": the reader is told that nobody looked, and what to look for.
_NOT_ASSESSED = {
    "law": (
        "Not assessed: whether {name} has a comprehensive data-protection law, and which "
        "authority supervises it, has not been researched.",
        "未評価：{name_ja}に個人情報の保護に関する包括的な法律があるか、どの機関が監督するかは"
        "調査されていない。",
    ),
    "oecd8_gaps": (
        "Not assessed: which of the eight OECD Privacy Guidelines principles have no "
        "counterpart in the law of {name} has not been researched.",
        "未評価：{name_ja}の法令にOECDプライバシーガイドライン8原則のどれに対応する規定が"
        "ないかは調査されていない。",
    ),
    "government_access": (
        "Not assessed: whether businesses in {name} must cooperate with government "
        "intelligence gathering in a way that may significantly affect the principal's rights "
        "(PPC GL Offshore 5-2) has not been researched. This is not a finding that there is "
        "no such system: research it before relying on a notice.",
        "未評価：{name_ja}において、事業者に政府の情報収集活動への協力義務を課す制度であって"
        "本人の権利利益に重大な影響を及ぼす可能性のあるもの（外国第三者提供ガイドライン5-2）が"
        "あるかは調査されていない。制度がないという意味ではないため、情報提供の前に調査すること。",
    ),
    "localization": (
        "Not assessed: whether {name} requires personal data to be stored within its "
        "territory in a way that may significantly affect the principal's rights (PPC GL "
        "Offshore 5-2) has not been researched. This is not a finding that there is no such "
        "duty: research it before relying on a notice.",
        "未評価：{name_ja}に、本人の権利利益に重大な影響を及ぼす可能性のある個人情報の域内保存"
        "義務に係る制度（外国第三者提供ガイドライン5-2）があるかは調査されていない。制度がない"
        "という意味ではないため、情報提供の前に調査すること。",
    ),
}

_NOT_NEEDED_UNDER_CBPR = (
    " A notice for a recipient there does not need it while {name} takes part in the APEC "
    "CBPR System: participation is indicator information (PPC GL Offshore 5-2).",
    "なお、{name_ja}はAPECのCBPRシステムに参加しており、これは指標となり得る情報であるため"
    "（外国第三者提供ガイドライン5-2）、情報提供にこの比較は必要ない。",
)

PPC_SURVEY_INDEX = "https://www.ppc.go.jp/enforcement/infoprovision/laws/"

# Fields a history entry may not change: identity and review metadata describe the file,
# not the country at a date.
_HISTORY_FROZEN = (
    "code", "name", "curated", "reviewed", "reviewer", "section_reviews", "sources", "history",
)

_CODE_FILE = re.compile(r"^[A-Z]{2}\.yaml$")


# --------------------------------------------------------------------------- YAML reading


def load_yaml(path) -> object:
    """Parse one profile or group file as YAML (no yes/no booleans, no duplicate keys)."""
    return datafiles.read(path, ProfileError)


# --------------------------------------------------------------------------- canonical form


def _jsonable(value):
    """Return `value` with dates as ISO strings and tuples as lists (a deep copy)."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _digest(content) -> str:
    text = json.dumps(_jsonable(content), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


class _FrozenDict(dict):
    """A dict that refuses changes, so cached profiles cannot be altered by a caller.

    It is still a dict, so `json.dumps` serialises it as is.
    """

    def _refuse(self, *args, **kwargs):
        raise TypeError("country profile data is read-only; use CountryProfile.to_dict()")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _refuse
    __ior__ = _refuse

    def __copy__(self):
        return _thaw(self)

    def __deepcopy__(self, memo):
        return _thaw(self)

    def __reduce__(self):
        return (dict, (_thaw(self),))


def _freeze(value):
    if isinstance(value, dict):
        return _FrozenDict((k, _freeze(v)) for k, v in value.items())
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value):
    if isinstance(value, dict):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_thaw(v) for v in value]
    return value


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


# --------------------------------------------------------------------------- validation


class _Checker:
    """Checks one parsed file; every error names the file and the field path."""

    def __init__(self, path: Path, prefix: str = ""):
        self.path = path
        self.prefix = prefix

    def fail(self, item: str, message: str):
        item = f"{self.prefix}{item}" if item else (self.prefix.rstrip(".") or None)
        raise ProfileError(self.path, message, item=item)

    def mapping(self, value, item: str, required: tuple, optional: tuple = ()):
        if not isinstance(value, dict):
            self.fail(item, f"must be a mapping, got {type(value).__name__}")
        where = f"{item}." if item else ""
        for key in value:
            if key not in required and key not in optional:
                self.fail(f"{where}{key}", "unknown field")
        for key in required:
            if key not in value:
                self.fail(f"{where}{key}", "required field is missing")
        return value

    def text(self, value, item: str, nullable: bool = False):
        if value is None and nullable:
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail(item, "must be a non-empty string" + (" or null" if nullable else ""))
        return value

    def boolean(self, value, item: str, nullable: bool = False):
        if value is None and nullable:
            return None
        if not isinstance(value, bool):
            self.fail(item, "must be true or false" + (" or null" if nullable else ""))
        return value

    def day(self, value, item: str, nullable: bool = True):
        if value is None and nullable:
            return None
        if isinstance(value, datetime):
            self.fail(item, "must be a date (YYYY-MM-DD), not a timestamp")
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        self.fail(item, "must be a date (YYYY-MM-DD)" + (" or null" if nullable else ""))

    def url(self, value, item: str, nullable: bool = True):
        if value is None and nullable:
            return None
        if not isinstance(value, str) or not value.startswith(("https://", "http://")):
            self.fail(item, "must be an http(s) URL" + (" or null" if nullable else ""))
        return value

    def code(self, value, item: str):
        if not isinstance(value, str) or not re.fullmatch(r"[A-Z]{2}", value):
            self.fail(item, f"must be an upper-case ISO 3166-1 alpha-2 code, got {value!r}")
        if pycountry.countries.get(alpha_2=value) is None:
            self.fail(item, f"{value!r} is not an ISO 3166-1 alpha-2 code")
        return value

    def urls(self, value, item: str):
        if not isinstance(value, list):
            self.fail(item, "must be a list of URLs")
        for i, url in enumerate(value):
            self.url(url, f"{item}[{i}]", nullable=False)
        return value


_PROFILE_KEYS = (
    "code", "name", "name_ja", "curated", "reviewed", "reviewer", "designated", "apec_member",
    "apec_cbpr", "global_cbpr", "oecd", "law", "authority", "system_summary",
    "system_summary_ja", "oecd8_gaps", "government_access", "localization", "ppc_survey_url",
    "sources", "notes",
)


def _check_profile(data, path: Path, prefix: str = "") -> dict:
    """Validate one profile mapping (history excluded) and normalise its dates in place."""
    c = _Checker(path, prefix)
    c.mapping(data, "", _PROFILE_KEYS,
              ("section_reviews", "history") if not prefix else ("section_reviews",))
    c.code(data["code"], "code")
    c.text(data["name"], "name")
    c.text(data["name_ja"], "name_ja")
    curated = c.boolean(data["curated"], "curated")
    data["reviewed"] = c.day(data["reviewed"], "reviewed", nullable=not curated)
    c.text(data["reviewer"], "reviewer", nullable=not curated)
    if not curated:
        if data["reviewed"] is not None:
            c.fail("reviewed", "must be null when curated is false")
        if data["reviewer"] is not None:
            c.fail("reviewer", "must be null when curated is false")
        if data.get("section_reviews") is not None:
            c.fail("section_reviews", "must be left out when curated is false")
    else:
        _check_section_reviews(c, data)

    d = c.mapping(data["designated"], "designated", ("value", "since", "instrument"))
    c.boolean(d["value"], "designated.value")
    d["since"] = c.day(d["since"], "designated.since")
    c.text(d["instrument"], "designated.instrument", nullable=True)
    if d["value"] and (d["since"] is None or d["instrument"] is None):
        c.fail("designated", "a designation needs its since date and instrument")
    if not d["value"] and (d["since"] is not None or d["instrument"] is not None):
        c.fail("designated", "since and instrument must be null when value is false")

    c.boolean(data["apec_member"], "apec_member")
    a = c.mapping(data["apec_cbpr"], "apec_cbpr", ("participant", "since"))
    c.boolean(a["participant"], "apec_cbpr.participant")
    a["since"] = c.day(a["since"], "apec_cbpr.since")
    g = c.mapping(data["global_cbpr"], "global_cbpr", ("status", "since"))
    if g["status"] not in GLOBAL_CBPR_STATUSES:
        c.fail("global_cbpr.status", f"must be one of {', '.join(GLOBAL_CBPR_STATUSES)}")
    g["since"] = c.day(g["since"], "global_cbpr.since")
    o = c.mapping(data["oecd"], "oecd", ("member", "since"))
    c.boolean(o["member"], "oecd.member")
    o["since"] = c.day(o["since"], "oecd.since")
    for key, flag, value in (
        ("apec_cbpr", "participant", a["participant"]),
        ("global_cbpr", "status", g["status"] != "none"),
        ("oecd", "member", o["member"]),
    ):
        if not value and data[key]["since"] is not None:
            c.fail(f"{key}.since", f"must be null when {key}.{flag} says no membership")

    law = c.mapping(data["law"], "law", ("exists", "name", "name_ja", "url", "in_force_since"))
    exists = c.boolean(law["exists"], "law.exists", nullable=not curated)
    c.text(law["name"], "law.name", nullable=True)
    c.text(law["name_ja"], "law.name_ja", nullable=True)
    c.url(law["url"], "law.url")
    law["in_force_since"] = c.day(law["in_force_since"], "law.in_force_since")
    if curated and exists:
        c.text(law["name"], "law.name")
        c.text(law["name_ja"], "law.name_ja")

    if data["authority"] is not None:
        au = c.mapping(data["authority"], "authority", ("name", "name_ja", "independent", "url"))
        c.text(au["name"], "authority.name")
        c.text(au["name_ja"], "authority.name_ja", nullable=not curated)
        c.boolean(au["independent"], "authority.independent", nullable=True)
        c.url(au["url"], "authority.url")

    c.text(data["system_summary"], "system_summary", nullable=not curated)
    c.text(data["system_summary_ja"], "system_summary_ja", nullable=not curated)

    gaps = data["oecd8_gaps"]
    if gaps is not None:
        if not isinstance(gaps, list):
            c.fail("oecd8_gaps", "must be a list of OECD-8 principle keys or null")
        for i, key in enumerate(gaps):
            if key not in OECD8_PRINCIPLES:
                c.fail(f"oecd8_gaps[{i}]", f"unknown principle {key!r}")
        if len(set(gaps)) != len(gaps):
            c.fail("oecd8_gaps", "lists a principle twice")

    for key in ("government_access", "localization"):
        s = c.mapping(data[key], key, ("present", "summary", "summary_ja", "sources"))
        present = c.boolean(s["present"], f"{key}.present", nullable=True)
        c.text(s["summary"], f"{key}.summary", nullable=True)
        c.text(s["summary_ja"], f"{key}.summary_ja", nullable=True)
        c.urls(s["sources"], f"{key}.sources")
        if present or s["summary"] is not None or s["summary_ja"] is not None:
            # Shown to the principal (present) or to the officer (what is missing): both languages.
            c.text(s["summary"], f"{key}.summary")
            c.text(s["summary_ja"], f"{key}.summary_ja")
        if present and not s["sources"]:
            c.fail(f"{key}.sources", "a present system needs at least one source")

    url = c.url(data["ppc_survey_url"], "ppc_survey_url")
    if url is not None and not url.startswith("https://www.ppc.go.jp/"):
        c.fail("ppc_survey_url", "must be a page on https://www.ppc.go.jp/")

    if not isinstance(data["sources"], list):
        c.fail("sources", "must be a list")
    for i, src in enumerate(data["sources"]):
        item = f"sources[{i}]"
        c.mapping(src, item, ("url", "title", "retrieved"), ("note",))
        c.url(src["url"], f"{item}.url", nullable=False)
        c.text(src["title"], f"{item}.title")
        src["retrieved"] = c.day(src["retrieved"], f"{item}.retrieved")
        c.text(src.get("note"), f"{item}.note", nullable=True)
        if src["retrieved"] is None and not src.get("note"):
            c.fail(f"{item}.retrieved", "a source that was not retrieved needs a note saying why")
    if curated and not data["sources"]:
        c.fail("sources", "a curated profile needs at least one source")
    c.text(data["notes"], "notes", nullable=True)
    return data


def _check_section_reviews(c: _Checker, data: dict):
    """A curated profile dates each section's review; none can be later than the file's."""
    if "section_reviews" not in data:
        c.fail("section_reviews", "required field is missing (a review date for each section)")
    reviews = c.mapping(data["section_reviews"], "section_reviews", SECTIONS)
    for key in SECTIONS:
        day = reviews[key] = c.day(reviews[key], f"section_reviews.{key}", nullable=False)
        if data["reviewed"] is not None and day > data["reviewed"]:
            c.fail(f"section_reviews.{key}", f"is later than reviewed ({data['reviewed']})")


def _set_path(data: dict, dotted: str, value, checker: _Checker, item: str):
    keys = dotted.split(".")
    target = data
    for key in keys[:-1]:
        target = target.get(key) if isinstance(target, dict) else None
        if not isinstance(target, dict):
            checker.fail(item, f"cannot set {dotted!r}: {key!r} is not a mapping here")
    if keys[-1] not in target:
        checker.fail(item, "unknown field")
    target[keys[-1]] = copy.deepcopy(value)


def _check_history(raw: dict, path: Path) -> list:
    c = _Checker(path)
    history = raw.get("history", [])
    if not isinstance(history, list):
        c.fail("history", "must be a list")
    entries = []
    for i, entry in enumerate(history):
        item = f"history[{i}]"
        c.mapping(entry, item, ("effective_from", "effective_to", "set"), ("note",))
        start = c.day(entry["effective_from"], f"{item}.effective_from")
        end = c.day(entry["effective_to"], f"{item}.effective_to")
        if start and end and start > end:
            c.fail(item, "effective_from is after effective_to")
        if not isinstance(entry["set"], dict) or not entry["set"]:
            c.fail(f"{item}.set", "must be a non-empty mapping of field paths to values")
        c.text(entry.get("note"), f"{item}.note", nullable=True)
        overlay = {}
        for dotted, value in entry["set"].items():
            where = f"{item}.set.{dotted}"
            if not isinstance(dotted, str) or dotted.split(".")[0] in _HISTORY_FROZEN:
                c.fail(where, "this field cannot change over time")
            overlay[dotted] = value
        # The profile as it stood in this period must itself be valid.
        trial = {k: copy.deepcopy(v) for k, v in raw.items() if k != "history"}
        for dotted, value in overlay.items():
            _set_path(trial, dotted, value, c, f"{item}.set.{dotted}")
        _check_profile(trial, path, prefix=f"{item}.set:")
        # Keep the normalised (date-typed) values of the trial for the overlay.
        for dotted in overlay:
            node = trial
            for key in dotted.split("."):
                node = node[key]
            overlay[dotted] = node
        entries.append((start, end, overlay))
    for i, (s1, e1, o1) in enumerate(entries):
        for j in range(i):
            s2, e2, o2 = entries[j]
            overlap = (s1 or date.min) <= (e2 or date.max) and (s2 or date.min) <= (e1 or date.max)
            if overlap and set(o1) & set(o2):
                c.fail(f"history[{i}]", f"overlaps history[{j}] for {sorted(set(o1) & set(o2))}")
    return entries


_MEMBER_EXTRAS = {
    "ppc_designated": ("instrument",),
    "global_cbpr": ("status",),
}


def _check_group(raw, path: Path, name: str) -> dict:
    c = _Checker(path)
    c.mapping(raw, "", ("name", "name_ja", "source", "members"), ("notes",))
    c.text(raw["name"], "name")
    c.text(raw["name_ja"], "name_ja")
    c.text(raw.get("notes"), "notes", nullable=True)
    src = c.mapping(raw["source"], "source", ("url", "title", "retrieved"), ("note",))
    c.url(src["url"], "source.url", nullable=False)
    c.text(src["title"], "source.title")
    src["retrieved"] = c.day(src["retrieved"], "source.retrieved")
    if not isinstance(raw["members"], list):
        c.fail("members", "must be a list")
    members = {}
    for i, member in enumerate(raw["members"]):
        item = f"members[{i}]"
        c.mapping(member, item, ("code", "since") + _MEMBER_EXTRAS.get(name, ()), ("notes",))
        code = c.code(member["code"], f"{item}.code")
        if code in members:
            c.fail(f"{item}.code", f"{code} is listed twice")
        member["since"] = c.day(member["since"], f"{item}.since")
        c.text(member.get("notes"), f"{item}.notes", nullable=True)
        if name == "ppc_designated":
            c.text(member["instrument"], f"{item}.instrument")
            if member["since"] is None:
                c.fail(f"{item}.since", "a designation needs the date it took effect")
        if name == "global_cbpr" and member["status"] not in ("member", "associate"):
            c.fail(f"{item}.status", "must be member or associate")
        members[code] = member
    return members


def _check_adequacy(raw, path: Path, eea: dict) -> dict:
    """Validate an adequacy group file; return code -> its periods, sorted by start."""
    c = _Checker(path)
    c.mapping(raw, "", ("name", "name_ja", "source", "members"), ("notes",))
    c.text(raw["name"], "name")
    c.text(raw["name_ja"], "name_ja")
    c.text(raw.get("notes"), "notes", nullable=True)
    src = c.mapping(raw["source"], "source", ("url", "title", "retrieved"), ("note",))
    c.url(src["url"], "source.url", nullable=False)
    c.text(src["title"], "source.title")
    src["retrieved"] = c.day(src["retrieved"], "source.retrieved")
    if not isinstance(raw["members"], list):
        c.fail("members", "must be a list")
    periods: dict[str, list] = {}
    for i, member in enumerate(raw["members"]):
        item = f"members[{i}]"
        c.mapping(member, item, ("code", "instrument", "scope", "since", "until", "source"), ("notes",))
        code = c.code(member["code"], f"{item}.code")
        c.text(member["instrument"], f"{item}.instrument")
        if member["scope"] not in ADEQUACY_SCOPES:
            c.fail(f"{item}.scope", f"must be one of {', '.join(ADEQUACY_SCOPES)}")
        since = member["since"] = c.day(member["since"], f"{item}.since", nullable=False)
        until = member["until"] = c.day(member["until"], f"{item}.until")
        if until is not None and until < since:
            c.fail(f"{item}.until", "is before since")
        c.url(member["source"], f"{item}.source", nullable=False)
        c.text(member.get("notes"), f"{item}.notes", nullable=True)
        if path.stem == "eu_adequacy" and code in eea:
            c.fail(f"{item}.code", f"{code} is in the EEA: a disclosure there is not a transfer (GDPR 44)")
        for other in periods.get(code, []):
            if since <= (other["until"] or date.max) and other["since"] <= (until or date.max):
                c.fail(f"{item}.since", f"{code} is listed for an overlapping period")
        periods.setdefault(code, []).append(member)
    return {code: sorted(ps, key=lambda m: m["since"]) for code, ps in periods.items()}


def _adequacy_on(periods, as_of: date) -> dict:
    """Return {status, scope, instrument, since, until} of the adequacy in force on `as_of`."""
    for m in periods or ():
        if m["since"] <= as_of and (m["until"] is None or as_of <= m["until"]):
            full = m["scope"] == "full"
            return {"status": "full" if full else "scoped", "scope": None if full else m["scope"],
                    "instrument": m["instrument"], "since": m["since"].isoformat(),
                    "until": m["until"].isoformat() if m["until"] else None}
    return dict(NO_ADEQUACY)


# --------------------------------------------------------------------------- public API


@dataclass(frozen=True)
class CountryProfile:
    """One country's profile, resolved at a date."""

    code: str
    name: str
    name_ja: str
    curated: bool
    reviewed: date | None
    stale: bool
    designated: bool
    designated_since: date | None
    designation_instrument: str | None
    apec_member: bool
    apec_cbpr: bool
    global_cbpr: str
    oecd_member: bool
    law_exists: bool | None
    government_access: bool | None
    localization: bool | None
    missing: tuple[str, ...]
    digest: str
    data: Mapping = field(repr=False)
    as_of: date | None = None
    eea: bool = False  # in groups/eea.yaml on as_of: a disclosure there is no GDPR transfer
    eu_adequacy: Mapping = field(default_factory=lambda: _freeze(NO_ADEQUACY))
    uk_adequacy: Mapping = field(default_factory=lambda: _freeze(NO_ADEQUACY))
    stale_sections: tuple[str, ...] = ()
    not_assessed: tuple[Mapping, ...] = ()
    # SHA-256 of `data` as resolved for as_of: the same on every day the profile says the same (the
    # engine renders a destination's texts once per content, not once per day; "" when not resolved).
    content_digest: str = field(default="", compare=False)

    @property
    def oldest_review(self) -> date | None:
        """Return the date of the least recently reviewed section (None when never reviewed)."""
        reviews = self.data.get("section_reviews")
        if not reviews:
            return self.reviewed
        return min(date.fromisoformat(day) for day in reviews.values())

    def to_dict(self) -> dict:
        """Return what GET /v1/countries/<code> shows: the data plus derived fields.

        The derived fields are as_of, stale, stale_sections, digest, missing, eea, eu_adequacy,
        uk_adequacy and not_assessed.
        """
        out = _thaw(self.data)
        out.update(
            as_of=self.as_of.isoformat() if self.as_of else None,
            eea=self.eea,
            stale=self.stale,
            stale_sections=list(self.stale_sections),
            digest=self.digest,
            missing=list(self.missing),
            eu_adequacy=_thaw(self.eu_adequacy),
            uk_adequacy=_thaw(self.uk_adequacy),
            not_assessed=_thaw(self.not_assessed),
        )
        return out


@dataclass(frozen=True)
class StaleSection:
    """One section of a profile whose review is older than STALE_AFTER_MONTHS on a date."""

    code: str
    name: str
    name_ja: str
    section: str
    reviewed: date | None
    due: date | None

    def to_dict(self) -> dict:
        return {
            "code": self.code, "name": self.name, "name_ja": self.name_ja,
            "section": self.section,
            "reviewed": self.reviewed.isoformat() if self.reviewed else None,
            "due": self.due.isoformat() if self.due else None,
        }


@dataclass(frozen=True)
class _Entry:
    raw: dict
    history: list
    digest: str


class ProfileStore:
    """All country profiles of one directory, validated, with resolution cached per date."""

    def __init__(self, entries: dict, groups: dict, digest: str, directory: Path, adequacy: dict | None = None):
        self._entries = entries
        self._adequacy = adequacy or {name: {} for name in ADEQUACY_FILES}
        self._groups = groups
        self.digest = digest
        self.directory = directory
        self._apec_since = {code: m["since"] for code, m in groups["apec"].items()}
        self._resolve = functools.lru_cache(maxsize=8192)(self._resolve_uncached)
        # A country's profile is the same on most days: the resolved profiles of one country, one per
        # day asked for, share one copy of each content they have in common (`_shared`), instead of
        # a 9 KiB copy per day (the cache's 8,192 days were most of a long-running worker's memory).
        self._contents: dict[tuple[str, str], object] = {}

    @classmethod
    def load(cls, directory) -> ProfileStore:
        """Parse and validate every profile and group file in `directory`."""
        directory = Path(directory)
        if not directory.is_dir():
            raise ProfileError(directory, "profile directory does not exist")
        file_digests = {}
        groups = {}
        for name in GROUP_FILES:
            path = directory / "groups" / f"{name}.yaml"
            if not path.is_file():
                raise ProfileError(path, "group file is missing")
            raw = load_yaml(path)
            file_digests[f"groups/{name}.yaml"] = _digest(raw)
            groups[name] = _check_group(raw, path, name)
        adequacy = {}
        for name in ADEQUACY_FILES:
            path = directory / "groups" / f"{name}.yaml"
            if not path.is_file():
                raise ProfileError(path, "group file is missing")
            raw = load_yaml(path)
            file_digests[f"groups/{name}.yaml"] = _digest(raw)
            adequacy[name] = _check_adequacy(raw, path, groups["eea"])
        extra = sorted(
            p.name for p in (directory / "groups").iterdir()
            if p.suffix == ".yaml" and p.stem not in GROUP_FILES + ADEQUACY_FILES
        )
        if extra:
            raise ProfileError(directory / "groups" / extra[0], "unknown group file")

        entries = {}
        for path in sorted(directory.glob("*.yaml")):
            if not _CODE_FILE.match(path.name):
                raise ProfileError(path, "profile file names are <ISO alpha-2 code>.yaml")
            raw = load_yaml(path)
            digest = _digest(raw)
            raw = _check_profile(raw, path)
            if raw["code"] != path.stem:
                raise ProfileError(path, f"code {raw['code']!r} does not match the file name",
                                   item="code")
            history = _check_history(raw, path)
            raw.pop("history", None)
            entries[raw["code"]] = _Entry(raw, history, digest)
            file_digests[path.name] = digest

        _check_groups_agree(entries, groups, directory)
        for name, periods in adequacy.items():
            for code in periods:
                if code not in entries:
                    raise ProfileError(directory / "groups" / f"{name}.yaml",
                                       f"{code} is listed but has no profile file", item="members")
        listing = "".join(f"{name}\t{digest}\n" for name, digest in sorted(file_digests.items()))
        store_digest = "sha256:" + hashlib.sha256(listing.encode("utf-8")).hexdigest()
        return cls(entries, groups, store_digest, directory, adequacy)

    def codes(self) -> list[str]:
        """Return the codes of every loaded profile, sorted."""
        return sorted(self._entries)

    def stale_sections(self, as_of: date, curated_only: bool = True) -> tuple[StaleSection, ...]:
        """List every profile section whose review is out of date on `as_of`.

        Generated profiles were never reviewed, so every section of theirs is stale; they are
        left out unless `curated_only` is false.
        """
        out = []
        for code in self.codes():
            entry = self._entries[code]
            if curated_only and not entry.raw["curated"]:
                continue
            profile = self.get(code, as_of)
            reviews = entry.raw.get("section_reviews") or {}
            for section in profile.stale_sections:
                reviewed = reviews.get(section)
                due = _add_months(reviewed, STALE_AFTER_MONTHS) if reviewed else None
                out.append(StaleSection(code, profile.name, profile.name_ja, section, reviewed,
                                        due))
        return tuple(out)

    def get(self, code: str, as_of: date) -> CountryProfile:
        """Return the profile of `code` as it stood on `as_of`."""
        if isinstance(as_of, datetime):
            as_of = as_of.date()
        if not isinstance(code, str) or code.upper() not in self._entries:
            raise UnknownCountry(code)
        return self._resolve(code.upper(), as_of)

    def _shared(self, code: str, content):
        """The frozen copy of `content` (JSON-able), shared with every other resolution of `code` that has it.

        Equal content in the same order (the key is its JSON text, key order kept): the same object.
        """
        return self._shared_digested(code, content)[0]

    def _shared_digested(self, code: str, content) -> tuple[object, str]:
        """`_shared`'s copy and the SHA-256 of its JSON text (CountryProfile.content_digest)."""
        text = json.dumps(content, ensure_ascii=False, separators=(",", ":"), default=repr)
        key = (code, text)
        shared = self._contents.get(key)
        if shared is None:
            shared = self._contents.setdefault(key, (_freeze(content), hashlib.sha256(text.encode("utf-8")).hexdigest()))
        return shared

    def _resolve_uncached(self, code: str, as_of: date) -> CountryProfile:
        entry = self._entries[code]
        data = copy.deepcopy(entry.raw)
        for start, end, overlay in entry.history:
            if (start is None or start <= as_of) and (end is None or as_of <= end):
                for dotted, value in overlay.items():
                    node = data
                    keys = dotted.split(".")
                    for key in keys[:-1]:
                        node = node[key]
                    node[keys[-1]] = copy.deepcopy(value)

        def in_effect(since):
            return since is None or since <= as_of

        designated = data["designated"]["value"] and in_effect(data["designated"]["since"])
        data["designated"]["value"] = designated
        apec_cbpr = data["apec_cbpr"]["participant"] and in_effect(data["apec_cbpr"]["since"])
        data["apec_cbpr"]["participant"] = apec_cbpr
        if not in_effect(data["global_cbpr"]["since"]):
            data["global_cbpr"]["status"] = "none"
        oecd = data["oecd"]["member"] and in_effect(data["oecd"]["since"])
        data["oecd"]["member"] = oecd
        apec = data["apec_member"] and in_effect(self._apec_since.get(code))
        data["apec_member"] = apec

        reviewed = data["reviewed"]
        stale_sections = _stale_sections(data, as_of)
        stale = not data["curated"] or bool(stale_sections) or (
            reviewed is not None and as_of > _add_months(reviewed, STALE_AFTER_MONTHS)
        )
        missing = _missing(data, designated, apec_cbpr)
        not_assessed = _not_assessed(data, apec_cbpr)
        shared_data, content_digest = self._shared_digested(code, _jsonable(data))
        return CountryProfile(
            code=code,
            name=data["name"],
            name_ja=data["name_ja"],
            curated=data["curated"],
            reviewed=reviewed,
            stale=stale,
            designated=designated,
            designated_since=data["designated"]["since"] if designated else None,
            designation_instrument=data["designated"]["instrument"] if designated else None,
            apec_member=apec,
            apec_cbpr=apec_cbpr,
            global_cbpr=data["global_cbpr"]["status"],
            oecd_member=oecd,
            law_exists=data["law"]["exists"],
            government_access=data["government_access"]["present"],
            localization=data["localization"]["present"],
            missing=missing,
            digest=entry.digest,
            data=shared_data,
            as_of=as_of,
            eea=in_effect(self._groups["eea"][code]["since"]) if code in self._groups["eea"] else False,
            eu_adequacy=self._shared(code, _jsonable(_adequacy_on(self._adequacy["eu_adequacy"].get(code), as_of))),
            uk_adequacy=self._shared(code, _jsonable(_adequacy_on(self._adequacy["uk_adequacy"].get(code), as_of))),
            stale_sections=stale_sections,
            not_assessed=self._shared(code, not_assessed),
            content_digest=content_digest,
        )


def _stale_sections(data: dict, as_of: date) -> tuple[str, ...]:
    """Sections reviewed more than STALE_AFTER_MONTHS before `as_of` (all, if never reviewed)."""
    reviews = data.get("section_reviews")
    if not data["curated"] or not reviews:
        return SECTIONS
    return tuple(key for key in SECTIONS
                 if as_of > _add_months(reviews[key], STALE_AFTER_MONTHS))


_NAMES_WITH_THE = {"Netherlands", "Philippines", "Bahamas", "Gambia", "Maldives", "Comoros",
                   "Seychelles", "Holy See"}


def _in_a_sentence(name: str) -> str:
    """Return a country's short name as it reads mid-sentence ("the United Kingdom")."""
    if (name in _NAMES_WITH_THE or name.startswith("United ")
            or name.endswith((" Islands", " Republic"))):
        return "the " + name
    return name


def _not_assessed(data: dict, apec_cbpr: bool) -> list[dict]:
    """Say, in both languages, what each section left null still needs researched."""
    nulls = []
    if data["law"]["exists"] is None:
        nulls.append("law")
    if data["oecd8_gaps"] is None:
        nulls.append("oecd8_gaps")
    for key in ("government_access", "localization"):
        if data[key]["present"] is None:
            nulls.append(key)
    names = {"name": _in_a_sentence(data["name"]), "name_ja": data["name_ja"]}
    out = []
    for key in nulls:
        text, text_ja = (t.format(**names) for t in _NOT_ASSESSED[key])
        sources = [data["ppc_survey_url"] or PPC_SURVEY_INDEX]
        if key == "oecd8_gaps" and apec_cbpr:
            text += _NOT_NEEDED_UNDER_CBPR[0].format(**names)
            text_ja += _NOT_NEEDED_UNDER_CBPR[1].format(**names)
        if key in ("government_access", "localization") and data[key]["summary"]:
            # A curated profile says why the section is open and what to look at first.
            text += " " + data[key]["summary"]
            text_ja += data[key]["summary_ja"]
            sources += [url for url in data[key]["sources"] if url not in sources]
        out.append({"section": key, "text": text, "text_ja": text_ja, "sources": sources})
    return out


def _missing(data: dict, designated: bool, apec_cbpr: bool) -> tuple[str, ...]:
    """What a PPC Rules 17(2) notice for this country would still need researched.

    A designated country needs no such notice (APPI 28(1) does not apply), and a country that
    takes part in APEC CBPR gives indicator information, which replaces the OECD-8 comparison
    (PPC GL Offshore 5-2).
    """
    if designated:
        return ()
    missing = []
    if data["law"]["exists"] is None:
        missing.append("law")
    if data["government_access"]["present"] is None:
        missing.append("government_access")
    if data["localization"]["present"] is None:
        missing.append("localization")
    if data["oecd8_gaps"] is None and not apec_cbpr:
        missing.append("oecd8_gaps")
    return tuple(missing)


_GROUP_FLAGS = {
    # group file: (field in the profile that says "member", how to read it, since field)
    "ppc_designated": ("designated.value", lambda p: p["designated"]["value"], "designated"),
    "apec": ("apec_member", lambda p: p["apec_member"], None),
    "apec_cbpr": ("apec_cbpr.participant", lambda p: p["apec_cbpr"]["participant"], "apec_cbpr"),
    "global_cbpr": ("global_cbpr.status", lambda p: p["global_cbpr"]["status"] != "none",
                    "global_cbpr"),
    "oecd": ("oecd.member", lambda p: p["oecd"]["member"], "oecd"),
}


def _check_groups_agree(entries: dict, groups: dict, directory: Path):
    for name, (item, is_member, since_key) in _GROUP_FLAGS.items():
        members = groups[name]
        group_path = directory / "groups" / f"{name}.yaml"
        for code in members:
            if code not in entries:
                raise ProfileError(group_path, f"{code} is listed but has no profile file",
                                   item="members")
        for code, entry in entries.items():
            path = directory / f"{code}.yaml"
            listed = code in members
            if is_member(entry.raw) != listed:
                where = "listed" if listed else "not listed"
                raise ProfileError(path, f"disagrees with groups/{name}.yaml, where {code} is "
                                   f"{where}", item=item)
            if not listed or since_key is None:
                continue
            member = members[code]
            if entry.raw[since_key]["since"] != member["since"]:
                raise ProfileError(path, f"since differs from groups/{name}.yaml "
                                   f"({member['since']})", item=f"{since_key}.since")
            if name == "ppc_designated" and entry.raw["designated"]["instrument"] != member[
                    "instrument"]:
                raise ProfileError(path, "instrument differs from groups/ppc_designated.yaml",
                                   item="designated.instrument")
            if name == "global_cbpr" and entry.raw["global_cbpr"]["status"] != member["status"]:
                raise ProfileError(path, f"status differs from groups/global_cbpr.yaml "
                                   f"({member['status']})", item="global_cbpr.status")
