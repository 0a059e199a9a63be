"""Data-category keys (contract §2) and the kind of data each one is for the rules."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


from . import datafiles
from .errors import DataFileError

EU_UK_ORIGINS = ("EU", "UK")
# Under these regimes sex life, sexual orientation and trade-union membership are special
# categories (GDPR 9, UK GDPR 9) whatever data_origin says (contract §8.2).
EU_UK_REGIMES = ("GDPR", "UK_GDPR")


@dataclass(frozen=True)
class Category:
    key: str
    kind: str
    kind_eu_uk: str
    parent: str | None
    title: str
    title_ja: str
    citations: tuple[str, ...]


class Taxonomy:
    """The category keys a request may use, and the kinds the rules are written over."""

    def __init__(self, categories: dict[str, Category], kinds: dict[str, dict], source: bytes):
        self.categories = categories
        self.kinds = kinds
        self.source = source

    @classmethod
    def load(cls, path: Path, citations) -> "Taxonomy":
        """Load the taxonomy file; every problem names the file and the key."""
        raw = path.read_bytes()
        data = datafiles.parse(raw, path)
        if not isinstance(data, dict) or set(data) != {"kinds", "categories"}:
            raise DataFileError(path, "expected the keys 'kinds' and 'categories'")
        kinds = data["kinds"]
        categories = {}
        allowed = {"kind", "kind_eu_uk", "parent", "title", "title_ja", "citations"}
        for key, spec in data["categories"].items():
            unknown = set(spec) - allowed
            if unknown:
                raise DataFileError(path, f"unknown keys {sorted(unknown)}", key)
            for k in (spec["kind"], spec.get("kind_eu_uk", spec["kind"])):
                if k not in kinds:
                    raise DataFileError(path, f"unknown kind {k!r}", key)
            parent = spec.get("parent")
            if parent is not None and parent not in data["categories"]:
                raise DataFileError(path, f"unknown parent {parent!r}", key)
            categories[key] = Category(
                key=key,
                kind=spec["kind"],
                kind_eu_uk=spec.get("kind_eu_uk", spec["kind"]),
                parent=parent,
                title=spec["title"],
                title_ja=spec["title_ja"],
                citations=citations.check(spec.get("citations"), path, key),
            )
        return cls(categories, kinds, raw)

    def __contains__(self, key: str) -> bool:
        return key in self.categories

    def kinds_of(self, keys, data_origin: str | None, regime: str | None = None) -> dict[str, tuple[str, ...]]:
        """Group category keys by the kind of data they are, given where the data came from and the regime."""
        eu_uk = data_origin in EU_UK_ORIGINS or regime in EU_UK_REGIMES
        grouped: dict[str, list[str]] = {}
        for key in keys:
            cat = self.categories[key]
            kind = cat.kind_eu_uk if eu_uk else cat.kind
            grouped.setdefault(kind, []).append(key)
        return {kind: tuple(v) for kind, v in grouped.items()}
