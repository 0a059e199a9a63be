"""The catalogue translates every message the code uses; pages load nothing inline or from elsewhere."""

import re
from datetime import date
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from tests.interface_text import english_interface_texts
from tests.officer_pages import officer_pages, record_answers
from transfer_gate.engine import destination_details
from transfer_gate.facts import CONSENTS, EXCEPTIONS, RELATIONSHIPS, SAFEGUARDS
from transfer_gate.model import DEROGATIONS, OUTCOMES, PARTNER_SAFEGUARDS, PARTY_ROLES, TRANSFER_ASSESSMENTS
from transfer_gate.profiles import GLOBAL_CBPR_STATUSES, OECD8_PRINCIPLES
from transfer_gate.web import translations
from transfer_gate.web.translations import LABELS

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "transfer_gate"
CATALOGUE = PACKAGE / "translations" / "ja" / "LC_MESSAGES"
TEMPLATES = sorted((PACKAGE / "templates").rglob("*.html"))
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2), "lazy_gettext": None,
            "_l": None}


def catalogue():
    with open(CATALOGUE / "messages.po", "rb") as f:
        return read_po(f, locale="ja")


def extracted():
    """Every (msgid, context) the templates and the Python code use, as `pybabel extract` finds them."""
    method_map = [("transfer_gate/**.py", "python"), ("transfer_gate/templates/**.html", "jinja2")]
    found = set()
    for _file, _line, message, _comments, context in extract_from_dir(
            str(ROOT), method_map, keywords={**KEYWORDS}, strip_comment_tags=True):
        msgid = message if isinstance(message, str) else message[0]
        found.add((msgid, context))
    return found


def placeholders(text):
    return sorted(re.findall(r"%\((\w+)\)[sd]", text))


def test_every_message_the_code_uses_is_in_the_catalogue():
    listed = {(m.id if isinstance(m.id, str) else m.id[0], m.context) for m in catalogue() if m.id}
    used = extracted()
    assert len(used) > 200
    assert sorted(used - listed, key=str) == [], "run scripts/translations and translate the new messages"


def test_every_message_has_a_japanese_translation_with_the_same_placeholders():
    untranslated = []
    for m in catalogue():
        if not m.id:
            continue
        strings = [m.string] if isinstance(m.string, str) else list(m.string)
        ids = [m.id] if isinstance(m.id, str) else list(m.id)
        if m.fuzzy or not all(s.strip() for s in strings):
            untranslated.append(ids[0])
            continue
        for s in strings:
            assert placeholders(s) == placeholders(ids[0]), ids[0]
    assert untranslated == []


def entries(messages):
    return {(tuple(m.id) if isinstance(m.id, (list, tuple)) else m.id, m.context):
            tuple(m.string) if isinstance(m.string, (list, tuple)) else m.string for m in messages if m.id}


def test_the_compiled_catalogue_matches_the_po_file():
    with open(CATALOGUE / "messages.mo", "rb") as f:
        compiled = entries(read_mo(f))
    source = entries(catalogue())
    assert compiled == source, "messages.mo is stale: run scripts/translations"


@pytest.mark.parametrize("kind,values", [
    ("relationship", RELATIONSHIPS),
    ("safeguard", SAFEGUARDS),
    ("consent", CONSENTS),
    ("exception", EXCEPTIONS),
    ("outcome", OUTCOMES),
    ("outcome_lead", OUTCOMES),
    ("status", ("satisfied", "unsatisfied", "not_applicable")),
    ("oecd8", OECD8_PRINCIPLES),
    ("global_cbpr", GLOBAL_CBPR_STATUSES),
    ("data_origin", ("none", "EU", "UK")),
    ("safeguard", PARTNER_SAFEGUARDS),
    ("party_role", PARTY_ROLES),
    ("transfer_assessment", TRANSFER_ASSESSMENTS),
    ("derogation", DEROGATIONS),
    ("role", ("officer", "auditor", "app", "admin")),
    ("topic", ("system", "oecd8_gaps", "government_access", "localization", "law")),
])
def test_every_value_of_an_enumeration_has_a_label(kind, values):
    assert [v for v in values if v not in LABELS[kind]] == []


def test_every_detail_topic_the_engine_can_attach_has_a_label(runtime):
    topics = {d["topic"] for code in runtime.profiles.codes()
              for d in destination_details(runtime.profiles.get(code, runtime.clock().date()))}
    assert topics and [t for t in topics if t not in LABELS["topic"]] == []


def test_labels_are_translated_on_japanese_pages(app):
    with app.test_request_context(headers={"Cookie": "lang=ja"}):
        assert translations.label("outcome", "deny") == "提供不可"
        assert translations.label("relationship", "outsourcee") == "委託先"
        assert translations.label("outcome", "no-such-value") == ""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert translations.label("outcome", "deny") == "Not allowed"


def test_the_cookie_wins_over_the_browsers_language(app):
    with app.test_request_context(headers={"Cookie": "lang=en", "Accept-Language": "ja"}):
        assert translations.language() == "en"
    with app.test_request_context(headers={"Accept-Language": "ja,en;q=0.5"}):
        assert translations.language() == "ja"
    with app.test_request_context(headers={"Cookie": "lang=fr", "Accept-Language": "de"}):
        assert translations.language() == "en"


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
        assert translations.duration("P1Y6M") == "1 year 6 months"
        assert translations.duration(None) == ""
        assert translations.duration("3 years") == ""  # never the raw value
    with app.test_request_context(headers={"Accept-Language": "ja"}):
        assert translations.duration("P3Y") == "3年間"
        assert translations.duration("P1Y6M") == "1年6か月間"


def test_times_are_shown_in_the_configured_zone_and_dates_in_words(app):
    with app.test_request_context(headers={"Accept-Language": "ja"}):
        assert translations.moment("2026-12-02T03:01:23.752142Z") == "2026年12月2日 12:01:23 JST"
        assert translations.date_words("2026-11-27") == "2026年11月27日"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert translations.moment("2026-12-02T03:01:23.752142Z").startswith("December 2, 2026, 12:01:23\u202fPM")
        assert translations.date_words(date(2026, 11, 27)) == "November 27, 2026"


def test_the_time_zone_is_configurable(app, tmp_path):  # `app` shares the loaded rules with create_app
    from transfer_gate import create_app
    from transfer_gate.errors import ConfigError

    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'log.sqlite3'}",
                      "TIMEZONE": "Europe/Paris", "SECRET_KEY": "s" * 32})
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert "4:01:23\u202fAM" in translations.moment("2026-12-02T03:01:23Z")
    with pytest.raises(ConfigError, match="TIMEZONE"):
        create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'other.sqlite3'}",
                    "TIMEZONE": "Mars/Olympus", "SECRET_KEY": "s" * 32})


def test_localized_falls_back_to_english_when_no_japanese_text_exists(app):
    with app.test_request_context(headers={"Cookie": "lang=ja"}):
        assert translations.localized({"text": "x", "text_ja": "エックス"}) == "エックス"
        assert translations.localized({"text": "x", "text_ja": ""}) == "x"
        assert translations.localized({"title": "t"}, "title") == "t"


# --------------------------------------------------------------------------- pages


@pytest.fixture
def officer_ja(officer):
    officer.set_cookie("lang", "ja")
    return officer


def test_the_english_text_finder_finds_an_untranslated_message():
    html = "<body><h1>判定</h1><p>Why it is not allowed</p><p lang='en'>Why it is not allowed</p><p>Route</p></body>"
    assert english_interface_texts(html) == ["Route", "Why it is not allowed"]
    assert english_interface_texts("<body><p>Route 66 Inc.</p><code>Decided by</code></body>") == []


def test_no_japanese_officer_page_shows_an_english_interface_text(app, officer_ja):
    pages = officer_pages(record_answers(app))
    shown = {}
    for name, path in pages.items():
        resp = officer_ja.get(path)
        assert resp.status_code in (200, 404), (name, resp.status_code)
        html = resp.get_data(as_text=True)
        assert '<html lang="ja">' in html, name
        left = english_interface_texts(html)
        if left:
            shown[name] = left
    assert shown == {}


def test_the_form_with_errors_and_the_account_pages_show_no_english_interface_text(app, officer_ja, anonymous):
    html = officer_ja.get("/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    resp = officer_ja.post("/decisions", data={"csrf_token": token, "origin": "JP", "destination": "Atlantis",
                                               "as_of": "2026-13-01", "reference": "x" * 201})
    assert resp.status_code == 422
    assert english_interface_texts(resp.get_data(as_text=True)) == []
    anonymous.set_cookie("lang", "ja")
    assert english_interface_texts(anonymous.get("/signin").get_data(as_text=True)) == []
    refused = anonymous.post("/signin", data={"key": "nope"})
    assert refused.status_code in (400, 403)
    assert english_interface_texts(refused.get_data(as_text=True)) == []
