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

_ENTRY_KEYS = {"ref", "ref_ja", "title", "title_ja", "url", "verified", "note"}
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


# Japanese statutory notation. An article is 条, a numbered paragraph 項, a roman item 号: APPI
# 27(1)(ii) is 法第27条第1項第2号, PPC Rules 16(i) (an item directly under the article) is
# 規則第16条第1号. The EU and UK instruments keep their own point letters: GDPR 46(2)(c) is
# GDPR第46条第2項(c). Sections, numbered rules and Q&A numbers are written as in Japanese sources.
_JA_STATUTES = (("UK GDPR", "英国GDPR"), ("GDPR", "GDPR"), ("DPA 2018", "2018年データ保護法"),
                ("Cabinet Order", "施行令"), ("PPC Rules", "規則"), ("APPI", "法"))
_JA_PREFIXES = (("SR ", "補完的ルール"), ("Basic Policy ", "基本方針"),
                ("PPC GL Offshore ", "外国提供ガイドライン"), ("PPC GL General ", "通則ガイドライン"),
                ("PPC GL Anonymized ", "仮名加工情報・匿名加工情報ガイドライン"), ("PPC QA ", "Q&A"),
                ("Decision (EU) ", "欧州委員会決定(EU)"), ("EDPB Rec ", "EDPB勧告"), ("EDPB GL ", "EDPBガイドライン"))
_ARTICLE = re.compile(r"^(\d+[A-Z]*)((?:\((?:\d+|[a-z]+)\))*)$")


@functools.lru_cache(maxsize=None)
def ref_ja(ref: str) -> str | None:
    """Write a ref in Japanese statutory notation (APPI 28(1) -> 法第28条第1項); None if the grammar has no rule for it."""
    for prefix, ja in _JA_PREFIXES:
        if ref.startswith(prefix):
            return ja + ref[len(prefix):].replace(" ", "")
    for instrument, ja in _JA_STATUTES:
        if not ref.startswith(instrument + " "):
            continue
        m = _ARTICLE.match(ref[len(instrument) + 1:])
        if not m:
            return None
        out = f"{ja}第{m.group(1)}条"
        for part in re.findall(r"\(([^)]+)\)", m.group(2)):
            if part.isdigit():
                out += f"第{part}項"
            elif part in _ROMAN and instrument in ("APPI", "Cabinet Order", "PPC Rules"):
                out += f"第{_ROMAN[part]}号"
            elif instrument in ("GDPR", "UK GDPR") and len(part) == 1:
                out += f"({part})"
            else:
                return None
        return out
    return None


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
            japanese = entry.get("ref_ja") or ref_ja(ref)
            if not japanese:
                raise CitationError(path, "no Japanese notation can be generated for this ref: give ref_ja", ref)
            entries[ref] = Citation(ref, entry["title"], entry["title_ja"], entry["url"], japanese)
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
