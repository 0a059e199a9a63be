"""Every citation URL in the registry has the link shape verified for its instrument.

A citation links to the provision itself only where the official site's own pages show that
it supports such a link; otherwise it links to the instrument. The verified shapes, and why
the others are law-level, are listed in country_profiles/README.md ("Citation links").
"""

import re
from pathlib import Path

import pytest

from transfer_gate.datafiles import read

REGISTRY = Path(__file__).resolve().parents[1] / "rulesets" / "citations.yaml"
DATA = read(REGISTRY, ValueError)

E_GOV = "https://laws.e-gov.go.jp/law/"
PPC = "https://www.ppc.go.jp/"


def _section(ref, instrument):
    """Return the part of the ref after the instrument name (e.g. '5-2' of 'PPC GL Offshore 5-2')."""
    return ref[len(instrument):].strip()


def _law_level(instrument_url):
    return lambda ref, url: url == instrument_url


def _guideline(base):
    # The PPC guideline pages carry one anchor per section: #a<section>, e.g. #a5-2.
    return lambda ref, url, inst=None: url == base or bool(
        re.fullmatch(re.escape(base) + r"#a\d+(-\d+)*", url))


def _uk_article(ref, url):
    article = re.match(r"UK GDPR (\d+[A-Z]*)", ref).group(1)
    return url in (f"https://www.legislation.gov.uk/eur/2016/679/article/{article}",
                   "https://www.legislation.gov.uk/eur/2016/679/contents")


def _dpa_section(ref, url):
    section = re.match(r"DPA 2018 (?:s\.? ?)?(\d+[A-Z]*)", ref)
    return url == "https://www.legislation.gov.uk/ukpga/2018/12/contents" or bool(
        section and url == f"https://www.legislation.gov.uk/ukpga/2018/12/section/{section.group(1)}")


def _faq(ref, url):
    number = re.fullmatch(r"PPC QA (\d+-\d+)", ref).group(1)
    return url == f"https://www.ppc.go.jp/all_faq_index/faq1-q{number}/"


SHAPES = {
    # e-Gov: article anchors (#Mp-At_28) appear in third-party links, but no page of e-Gov's
    # own was found that documents or uses them: law-level links until one is.
    "APPI": _law_level(E_GOV + "415AC0000000057"),
    "Cabinet Order": _law_level(E_GOV + "415CO0000000507"),
    "PPC Rules": _law_level(E_GOV + "428M60020000003"),
    "SR": _law_level(PPC + "files/pdf/Supplementary_Rules_jp.pdf"),
    "Basic Policy": _law_level(PPC + "personalinfo/legal/fundamental_policy/"),
    "PPC GL Offshore": _guideline(PPC + "personalinfo/legal/guidelines_offshore/"),
    "PPC GL General": _guideline(PPC + "personalinfo/legal/guidelines_tsusoku/"),
    "PPC GL Anonymized": _guideline(PPC + "personalinfo/legal/guidelines_anonymous/"),
    "PPC QA": _faq,
    # EUR-Lex: linked by ELI at the level of the act.
    "GDPR": _law_level("https://eur-lex.europa.eu/eli/reg/2016/679/oj"),
    # legislation.gov.uk publishes one page per article and section.
    "UK GDPR": _uk_article,
    "DPA 2018": _dpa_section,
}


def _instrument(ref):
    names = sorted(DATA["instruments"], key=len, reverse=True)
    return next((n for n in names if ref == n or ref.startswith(n + " ")), None)


@pytest.mark.parametrize("entry", DATA["citations"], ids=lambda e: e["ref"])
def test_every_citation_url_has_the_verified_shape_for_its_instrument(entry):
    instrument = _instrument(entry["ref"])
    assert instrument is not None, f"{entry['ref']} names no instrument of the registry"
    shape = SHAPES.get(instrument)
    if shape is None:
        # An instrument without a verified per-provision form links to its own page or site.
        base = DATA["instruments"][instrument]["url"]
        assert entry["url"].startswith(base) or entry["url"].split("/")[2] == base.split("/")[2]
        return
    assert shape(entry["ref"], entry["url"]), f"{entry['ref']}: {entry['url']}"


def test_a_guideline_anchor_names_the_section_the_ref_cites():
    for entry in DATA["citations"]:
        instrument = _instrument(entry["ref"])
        if instrument and instrument.startswith("PPC GL") and "#a" in entry["url"]:
            assert entry["url"].endswith("#a" + _section(entry["ref"], instrument)), entry["ref"]


def test_e_gov_links_stay_at_the_law_until_article_anchors_are_verified():
    e_gov = [e["url"] for e in DATA["citations"] if e["url"].startswith(E_GOV)]
    assert e_gov and not [url for url in e_gov if "#" in url]


def test_the_shape_check_rejects_a_link_to_the_wrong_article():
    assert not _uk_article("UK GDPR 46", "https://www.legislation.gov.uk/eur/2016/679/article/49")
    assert not SHAPES["APPI"]("APPI 28", E_GOV + "415AC0000000057#Mp-At_27")
    assert not SHAPES["PPC GL Offshore"]("PPC GL Offshore 5-2", PPC + "guidelines_offshore/#x")
