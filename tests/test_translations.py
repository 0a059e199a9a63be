"""The catalogue has both languages for every text the pages use; pages load nothing inline or from elsewhere."""

import re
import string
from pathlib import Path

import pytest

from transfer_gate.engine import destination_details
from transfer_gate.facts import CONSENTS, EXCEPTIONS, RELATIONSHIPS, SAFEGUARDS
from transfer_gate.model import OUTCOMES
from transfer_gate.profiles import GLOBAL_CBPR_STATUSES, OECD8_PRINCIPLES
from transfer_gate.web import translations
from transfer_gate.web.translations import MESSAGES

PACKAGE = Path(__file__).resolve().parent.parent / "transfer_gate"
TEMPLATES = sorted((PACKAGE / "templates").glob("*.html"))


def placeholders(text):
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_text_exists_in_english_and_japanese_with_the_same_placeholders():
    for key, (en, ja) in MESSAGES.items():
        assert en.strip() and ja.strip(), key
        assert placeholders(en) == placeholders(ja), key


@pytest.mark.parametrize("prefix,values", [
    ("relationship", RELATIONSHIPS),
    ("safeguard", SAFEGUARDS),
    ("consent", CONSENTS),
    ("exception", EXCEPTIONS),
    ("outcome", OUTCOMES),
    ("status", ("satisfied", "unsatisfied", "not_applicable")),
    ("oecd8", OECD8_PRINCIPLES),
    ("global_cbpr", GLOBAL_CBPR_STATUSES),
    ("data_origin", ("none", "EU", "UK")),
    ("topic", ("system", "oecd8_gaps", "government_access", "localization", "law")),
])
def test_every_value_of_an_enumeration_has_a_label(prefix, values):
    assert [v for v in values if f"{prefix}.{v}" not in MESSAGES] == []


def test_every_outcome_has_a_lead():
    assert [o for o in OUTCOMES if f"outcome.{o}.lead" not in MESSAGES] == []


def test_every_detail_topic_the_engine_can_attach_has_a_label(runtime):
    topics = {d["topic"] for code in runtime.profiles.codes()
              for d in destination_details(runtime.profiles.get(code, runtime.clock().date()))}
    assert topics and [t for t in topics if f"topic.{t}" not in MESSAGES] == []


def test_every_literal_key_a_template_uses_is_in_the_catalogue():
    used = set()
    for path in TEMPLATES:
        used |= set(re.findall(r"""\b_\(\s*['"]([a-z0-9_.]+)['"]\s*[,)]""", path.read_text()))
    assert used and sorted(used - set(MESSAGES)) == []


def test_every_literal_key_the_views_use_is_in_the_catalogue():
    used = set()
    for path in (PACKAGE / "web").glob("*.py"):
        used |= set(re.findall(r"""gettext\(\s*["']([a-z0-9_.]+)["']""", path.read_text()))
        used |= set(re.findall(r"""\b_\(\s*["']([a-z0-9_.]+)["']""", path.read_text()))
    assert used and sorted(used - set(MESSAGES)) == []


@pytest.mark.parametrize("path", TEMPLATES, ids=[p.name for p in TEMPLATES])
def test_templates_have_no_inline_script_or_style_and_no_remote_assets(path):
    html = path.read_text()
    assert "<script" not in html
    assert "<style" not in html
    assert not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html)  # no inline event handlers
    assert not re.search(r'<link[^>]+href="(?:https?:)?//', html)
    assert not re.search(r'\ssrc="(?:https?:)?//', html)


def test_the_stylesheet_loads_nothing_from_elsewhere():
    for css in (PACKAGE / "static").glob("*.css"):
        text = css.read_text()
        assert "@import" not in text
        assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", text)


def test_every_form_carries_a_csrf_token():
    for path in TEMPLATES:
        html = path.read_text()
        for form in re.findall(r'<form\b[^>]*method="post"[^>]*>.*?</form>', html, re.S):
            assert "csrf_token()" in form, path.name


def test_durations_are_spelled_in_the_readers_language(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert translations.duration("P3Y") == "3 years"
        assert translations.duration("P1Y") == "1 year"
        assert translations.duration("P1Y6M") == "1 year, 6 months"
        assert translations.duration(None) == ""
    with app.test_request_context(headers={"Accept-Language": "ja"}):
        assert translations.duration("P3Y") == "3年"
        assert translations.duration("P1Y6M") == "1年6か月"


def test_localized_falls_back_to_english_when_no_japanese_text_exists(app):
    with app.test_request_context(headers={"Cookie": "lang=ja"}):
        assert translations.localized({"text": "x", "text_ja": "エックス"}) == "エックス"
        assert translations.localized({"text": "x", "text_ja": ""}) == "x"
        assert translations.localized({"title": "t"}, "title") == "t"
