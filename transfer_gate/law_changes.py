"""The law-change register: amendments and guideline revisions, with their status and the rules they switch on.

`rulesets/law_changes.yaml` lists what changed, or is changing, in the law the rules encode:
each change with its sources, how sure we are of it, when it was promulgated and when it takes
(or took) effect. A rule may name a change (`change: <id>` in a rule file): such a rule decides
nothing until the change is in force, and from that day it decides like any other rule. While
the change is pending, a rule that would apply adds a "changes ahead" notice to the answer
instead — so an officer sees what will change for this very transfer, and the answer today
stays what the law in force says.

Switching a change on is one edit: set its `in_force` date when the Cabinet Order (or the
revision) fixes it. Nothing else moves; the ruleset's digest changes, so replay can measure it.

Statuses, for a given date:

    pending     promulgated, entry into force still to be set (`in_force: null`)
    scheduled   entry into force set, but later than the date
    in_force    in force on the date
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from . import datafiles
from .errors import DataFileError

CHANGE_ID = re.compile(r"^[a-z0-9]+(?:[.-][a-z0-9]+)*$")
CONFIDENCE = ("P", "S→P", "S", "NF")  # as research/law-watch marks them: read officially … not found
KINDS = ("amendment", "guideline", "adequacy", "designation")
_KEYS = {"id", "kind", "title", "title_ja", "instrument", "instrument_ja", "summary", "summary_ja", "promulgated",
         "in_force", "in_force_by", "in_force_note", "in_force_note_ja", "confidence", "citations", "sources"}
_SOURCE_KEYS = {"url", "title", "note"}


@dataclass(frozen=True)
class Source:
    url: str
    title: str
    note: str | None = None


@dataclass(frozen=True)
class LawChange:
    id: str
    kind: str
    title: str
    title_ja: str
    instrument: str
    instrument_ja: str
    summary: str
    summary_ja: str
    promulgated: date | None
    in_force: date | None  # None: to be set (by Cabinet Order)
    in_force_by: date | None  # the latest date the law allows, where it sets one
    in_force_note: str | None
    in_force_note_ja: str | None
    confidence: str
    citations: tuple[str, ...]
    sources: tuple[Source, ...]

    def status(self, on: date) -> str:
        """pending, scheduled or in_force on a date."""
        if self.in_force is None:
            return "pending"
        return "in_force" if on >= self.in_force else "scheduled"

    def to_dict(self, on: date) -> dict:
        return {
            "id": self.id, "kind": self.kind, "title": self.title, "title_ja": self.title_ja,
            "instrument": self.instrument, "instrument_ja": self.instrument_ja,
            "summary": self.summary, "summary_ja": self.summary_ja,
            "status": self.status(on),
            "promulgated": self.promulgated.isoformat() if self.promulgated else None,
            "in_force": self.in_force.isoformat() if self.in_force else None,
            "in_force_by": self.in_force_by.isoformat() if self.in_force_by else None,
            "in_force_note": self.in_force_note, "in_force_note_ja": self.in_force_note_ja,
            "confidence": self.confidence, "citations": list(self.citations),
            "sources": [{"url": s.url, "title": s.title, "note": s.note} for s in self.sources],
        }


class LawChangeRegister:
    """Every registered change, by id, in file order."""

    def __init__(self, changes: dict[str, LawChange], source: bytes):
        self._changes = changes
        self.source = source

    @classmethod
    def empty(cls) -> "LawChangeRegister":
        return cls({}, b"")

    @classmethod
    def load(cls, path: Path, citations) -> "LawChangeRegister":
        """Load and validate the register; a missing file is an empty register."""
        if not path.is_file():
            return cls.empty()
        raw = path.read_bytes()
        data = datafiles.parse(raw, path, DataFileError)
        if not isinstance(data, dict) or set(data) != {"changes"} or not isinstance(data["changes"], list):
            raise DataFileError(path, "expected one key, 'changes', holding a list")
        changes: dict[str, LawChange] = {}
        for raw_change in data["changes"]:
            change = _change(raw_change, path, citations)
            if change.id in changes:
                raise DataFileError(path, "change id listed twice", change.id)
            changes[change.id] = change
        return cls(changes, raw)

    def __contains__(self, change_id: str) -> bool:
        return change_id in self._changes

    def __iter__(self):
        return iter(self._changes.values())

    def __len__(self) -> int:
        return len(self._changes)

    def get(self, change_id: str) -> LawChange:
        return self._changes[change_id]


def _date(value, path, item, key) -> date | None:
    if value is None:
        return None
    if not isinstance(value, date):
        raise DataFileError(path, f"{key} must be a date (YYYY-MM-DD) or null", item)
    return value


def _text(raw, key, path, item, required=True) -> str | None:
    value = raw.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise DataFileError(path, f"missing {key!r}", item)
    return value.strip()


def _change(raw, path, citations) -> LawChange:
    item = raw.get("id") if isinstance(raw, dict) else None
    if not isinstance(item, str) or not CHANGE_ID.match(item):
        raise DataFileError(path, f"a change needs an id of lower-case words: {raw!r}")
    unknown = set(raw) - _KEYS
    if unknown:
        raise DataFileError(path, f"unknown keys {sorted(unknown)}", item)
    kind = raw.get("kind")
    if kind not in KINDS:
        raise DataFileError(path, f"kind must be one of {list(KINDS)}", item)
    confidence = raw.get("confidence")
    if confidence not in CONFIDENCE:
        raise DataFileError(path, f"confidence must be one of {list(CONFIDENCE)}", item)
    promulgated = _date(raw.get("promulgated"), path, item, "promulgated")
    in_force = _date(raw.get("in_force"), path, item, "in_force")
    in_force_by = _date(raw.get("in_force_by"), path, item, "in_force_by")
    if promulgated and in_force and in_force < promulgated:
        raise DataFileError(path, "in_force is before promulgated", item)
    if in_force and in_force_by and in_force > in_force_by:
        raise DataFileError(path, "in_force is after in_force_by, the latest date the law allows", item)
    note, note_ja = _text(raw, "in_force_note", path, item, False), _text(raw, "in_force_note_ja", path, item, False)
    if (note is None) != (note_ja is None):
        raise DataFileError(path, "in_force_note needs both languages", item)
    if in_force is None and note is None:
        raise DataFileError(path, "a change without an in_force date must say how it will be set (in_force_note)", item)
    sources = []
    for s in raw.get("sources") or []:
        if not isinstance(s, dict) or set(s) - _SOURCE_KEYS or not s.get("url") or not s.get("title"):
            raise DataFileError(path, "a source has url, title and an optional note", item)
        if not str(s["url"]).startswith("https://"):
            raise DataFileError(path, f"source url must be https: {s['url']!r}", item)
        sources.append(Source(s["url"], s["title"], s.get("note")))
    if not sources:
        raise DataFileError(path, "a change needs at least one source", item)
    return LawChange(
        id=item, kind=kind,
        title=_text(raw, "title", path, item), title_ja=_text(raw, "title_ja", path, item),
        instrument=_text(raw, "instrument", path, item), instrument_ja=_text(raw, "instrument_ja", path, item),
        summary=_text(raw, "summary", path, item), summary_ja=_text(raw, "summary_ja", path, item),
        promulgated=promulgated, in_force=in_force, in_force_by=in_force_by,
        in_force_note=note, in_force_note_ja=note_ja, confidence=confidence,
        citations=citations.check(raw.get("citations"), path, item), sources=tuple(sources),
    )
