"""The citation registry: every authority a rule may cite, in the contract's ref grammar."""

from __future__ import annotations

import functools
import re
from pathlib import Path


from . import datafiles
from .errors import CitationError
from .model import Citation

# Contract §3: <instrument> <article>[(<paragraph>)][(<item in lower-case roman>)], plus the
# instrument-specific forms the contract lists (SR (n), Basic Policy sections, GL sections, QA numbers).
REF_GRAMMAR = re.compile(
    r"^(?:"
    r"(?:APPI|Cabinet Order|PPC Rules) \d+(?:\(\d+\))?(?:\((?:i|ii|iii|iv|v|vi|vii|viii|ix|x|xi|xii)\))?"
    r"|SR \([1-5]\)"
    r"|Basic Policy \d+(?:\(\d+\))?[①②③④⑤⑥⑦⑧⑨⑩]?"
    r"|PPC GL (?:Offshore|General|Anonymized) \d+(?:-\d+)*"
    r"|PPC QA \d+-\d+"
    # Contract §8.3: the partner regimes' instruments.
    r"|(?:UK )?GDPR \d+[A-Z]?(?:\(\d+\))?(?:\([a-z]\))?"
    r"|DPA 2018 \d+[A-Z]*(?:\(\d+\))?"
    r"|Decision \(EU\) \d{4}/\d+"
    r"|EDPB (?:Rec|GL) \d{1,2}/\d{4}"
    r")$"
)

_ENTRY_KEYS = {"ref", "title", "title_ja", "url", "verified", "note"}
_INSTRUMENT_KEYS = {"title", "title_ja", "url"}


_INSTRUMENT_ORDER = ("APPI", "Cabinet Order", "PPC Rules", "SR", "Basic Policy", "PPC GL Offshore",
                     "PPC GL General", "PPC GL Anonymized", "PPC QA", "GDPR", "UK GDPR", "DPA 2018",
                     "Decision (EU)", "EDPB Rec", "EDPB GL")
_ROMAN = {r: i for i, r in enumerate(("i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii"), 1)}


def _part(p: str):
    if p.isascii() and p.isdigit():
        return int(p)
    if p[:-1].isdigit():  # an inserted article (UK GDPR 45A) comes after the whole of article 45
        return int(p[:-1]) + (ord(p[-1]) - 64) / 100
    return _ROMAN.get(p, ord(p[0]))


@functools.lru_cache(maxsize=None)  # refs come from a fixed registry; sorting happens on every decision
def statutory_order(ref: str) -> tuple:
    """Sort key putting refs in the order of the instruments and their articles (APPI 27 before APPI 28(3))."""
    instrument = next((i for i in sorted(_INSTRUMENT_ORDER, key=len, reverse=True) if ref.startswith(i + " ")), "")
    rank = _INSTRUMENT_ORDER.index(instrument) if instrument else len(_INSTRUMENT_ORDER)
    parts = re.findall(r"\d+[A-Z]?|[ivx]+|[①-⑩]", ref[len(instrument):])
    # The ref itself breaks ties (GDPR 46(2)(b) before (c), 45 before 45A), so the order never depends on set order.
    return (rank, tuple(_part(p) for p in parts), ref)


def is_valid_ref(ref: str) -> bool:
    """Tell whether a ref follows the contract's citation grammar."""
    return bool(REF_GRAMMAR.match(ref))


class CitationRegistry:
    """The refs, their English and Japanese titles and their URLs."""

    def __init__(self, entries: dict[str, Citation], instruments: dict[str, dict], digest_source: bytes):
        self._entries = entries
        self.instruments = instruments
        self.source = digest_source

    @classmethod
    def load(cls, path: Path) -> "CitationRegistry":
        """Load and validate the registry file; every problem names the file and the ref."""
        raw = path.read_bytes()
        data = datafiles.parse(raw, path, CitationError)
        if not isinstance(data, dict) or set(data) - {"instruments", "citations"}:
            raise CitationError(path, "expected the keys 'instruments' and 'citations' only")
        instruments = data.get("instruments") or {}
        for name, inst in instruments.items():
            if not isinstance(inst, dict) or set(inst) - _INSTRUMENT_KEYS:
                raise CitationError(path, f"instrument needs only {sorted(_INSTRUMENT_KEYS)}", name)
        entries: dict[str, Citation] = {}
        for entry in data.get("citations") or []:
            ref = entry.get("ref") if isinstance(entry, dict) else None
            if not ref:
                raise CitationError(path, f"entry without a ref: {entry!r}")
            unknown = set(entry) - _ENTRY_KEYS
            if unknown:
                raise CitationError(path, f"unknown keys {sorted(unknown)}", ref)
            if not is_valid_ref(ref):
                raise CitationError(path, "ref does not follow the contract's citation grammar", ref)
            if ref in entries:
                raise CitationError(path, "ref listed twice", ref)
            for key in ("title", "title_ja", "url"):
                if not entry.get(key):
                    raise CitationError(path, f"missing {key}", ref)
            entries[ref] = Citation(ref, entry["title"], entry["title_ja"], entry["url"])
        return cls(entries, instruments, raw)

    def __contains__(self, ref: str) -> bool:
        return ref in self._entries

    def __iter__(self):
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, ref: str) -> Citation:
        """Return the registry entry for a ref; an unknown ref is a data error, never a guess."""
        try:
            return self._entries[ref]
        except KeyError:
            raise CitationError("citation registry", "unknown citation ref", ref) from None

    def check(self, refs, path, item) -> tuple[str, ...]:
        """Validate refs used by a data file, naming the file and item on error."""
        out = []
        for ref in refs or ():
            if not isinstance(ref, str) or not is_valid_ref(ref):
                raise CitationError(path, f"citation {ref!r} does not follow the contract's grammar", item)
            if ref not in self._entries:
                raise CitationError(path, f"citation {ref!r} is not in the citation registry", item)
            out.append(ref)
        return tuple(out)
