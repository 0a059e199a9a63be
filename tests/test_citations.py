"""The citation registry's Japanese statutory notation (`ref_ja`)."""

import pytest

from tests.conftest import RULESETS
from transfer_gate.citations import ref_ja
from transfer_gate.errors import CitationError
from transfer_gate.rules import load_rulebook


@pytest.mark.parametrize("ref,japanese", [
    ("APPI 28(1)", "法第28条第1項"),
    ("APPI 27(1)(ii)", "法第27条第1項第2号"),
    ("APPI 2", "法第2条"),
    ("PPC Rules 16(i)", "規則第16条第1号"),
    ("PPC Rules 18(1)(i)", "規則第18条第1項第1号"),
    ("Cabinet Order 2", "施行令第2条"),
    ("Cabinet Order 10(i)", "施行令第10条第1号"),
    ("SR (4)", "補完的ルール(4)"),
    ("Basic Policy 2(2)②", "基本方針2(2)②"),
    ("PPC GL Offshore 4-3", "外国提供ガイドライン4-3"),
    ("PPC GL General 3-7-1", "通則ガイドライン3-7-1"),
    ("PPC QA 12-3", "Q&A12-3"),
    # contract §8.3: the partner regimes' instruments
    ("GDPR 46(2)(c)", "GDPR第46条第2項(c)"),
    ("GDPR 49(1)(a)", "GDPR第49条第1項(a)"),
    ("UK GDPR 45A", "英国GDPR第45A条"),
    ("UK GDPR 46(2)", "英国GDPR第46条第2項"),
    ("DPA 2018 17A", "2018年データ保護法第17A条"),
    ("Decision (EU) 2019/419", "欧州委員会決定(EU)2019/419"),
    ("EDPB Rec 01/2020", "EDPB勧告01/2020"),
    ("EDPB GL 2/2018", "EDPBガイドライン2/2018"),
    ("EDPB GL 05/2021", "EDPBガイドライン05/2021"),
])
def test_refs_are_written_in_japanese_statutory_notation(ref, japanese):
    assert ref_ja(ref) == japanese


def test_every_registry_entry_has_its_japanese_notation():
    book = load_rulebook(RULESETS)
    for citation in book.citations:
        assert citation.ref_ja and citation.ref_ja != citation.ref, citation.ref
        assert citation.to_dict()["ref_ja"] == citation.ref_ja
    assert book.citations.get("APPI 27(1)(vii)").ref_ja == "法第27条第1項第7号"


def test_a_ref_ja_in_the_registry_overrides_the_generated_one(tmp_path):
    source = (RULESETS / "citations.yaml").read_text()
    patched = source.replace("- ref: PPC QA 12-3\n", "- ref: PPC QA 12-3\n  ref_ja: Q&A 12-3（保管のみ）\n", 1)
    assert patched != source
    path = tmp_path / "citations.yaml"
    path.write_text(patched)
    from transfer_gate.citations import CitationRegistry
    assert CitationRegistry.load(path).get("PPC QA 12-3").ref_ja == "Q&A 12-3（保管のみ）"


def test_a_ref_the_generator_cannot_write_needs_a_ref_ja(tmp_path, monkeypatch):
    import re

    from transfer_gate import citations

    assert ref_ja("APPI 28(1)(x)(y)") is None and ref_ja("GDPR 46(2)(cc)") is None
    monkeypatch.setattr(citations, "REF_GRAMMAR", re.compile(r"^(?:APPI \d+|Treaty \d+)$"))
    entry = "citations:\n- ref: Treaty 5\n  title: T\n  title_ja: T\n  url: https://example.org\n"
    path = tmp_path / "citations.yaml"
    path.write_text(entry)
    with pytest.raises(CitationError, match="give ref_ja"):
        citations.CitationRegistry.load(path)
    path.write_text(entry + "  ref_ja: 条約第5条\n")
    assert citations.CitationRegistry.load(path).get("Treaty 5").ref_ja == "条約第5条"
