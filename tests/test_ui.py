"""The officer pages over the test client: the form, the answer, both languages, CSRF, errors beside fields."""

import re
import sqlite3
from html import unescape

import pytest

from tests.conftest import API_KEYS, sign_in

from transfer_gate.errors import LogUnavailable
from transfer_gate.facts import CONSENTS, EXCEPTIONS, RELATIONSHIPS, SAFEGUARDS
from transfer_gate.model import PARTNER_SAFEGUARDS

# The README's example, as an officer fills it in: medical records to a US processor under a contract.
MEDICAL_RECORDS_TO_US = {
    "origin": "JP",
    "destination": "United States · アメリカ合衆国 / 米国 (US)",
    "data_categories": ["personal_data", "special_care.medical_history"],
    "data_origin": "",
    "recipient.name": "Acme Cloud Inc.",
    "recipient.relationship": "outsourcee",
    "recipient.safeguards": ["contract_measures"],
    "recipient.handles_data": "true",
    "basis.consent": "none",
    "basis.exception": "",
    "as_of": "2026-11-27",
    "reference": "crm-export-4711",
}


@pytest.fixture
def client(officer):
    """The officer pages are used signed in."""
    return officer


def csrf_token(client, path="/") -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def decide(client, **changes):
    form = dict(MEDICAL_RECORDS_TO_US, **changes)
    return client.post("/decisions", data=dict(form, csrf_token=csrf_token(client)))


def logged(app):
    return app.extensions["transfer_gate"].log.query(limit=1000)


def text_of(resp) -> str:
    """The page's visible text, tags dropped and whitespace collapsed, for phrase assertions."""
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", resp.get_data(as_text=True), flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def field_error(resp, field_id) -> str:
    html = resp.get_data(as_text=True)
    match = re.search(rf'<div class="field__error" id="{re.escape(field_id)}-error">(.*?)</div>', html, re.S)
    assert match, f"no error shown next to {field_id}"
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", match.group(1)))).strip()


# --------------------------------------------------------------------------- the form


def test_the_form_has_every_field_of_the_contract_request(client, app):
    html = client.get("/").get_data(as_text=True)
    names = set(re.findall(r'name="([^"]+)"', html))
    assert {"origin", "destination", "data_categories", "data_origin", "recipient.name", "recipient.relationship",
            "recipient.safeguards", "recipient.handles_data", "recipient.links_to_individuals",
            "recipient.academic_institution", "basis.consent", "basis.exception", "basis.opt_out",
            "basis.public_announcement", "as_of", "reference", "csrf_token", "exporter_role", "recipient.role",
            "recipient.transfer_assessment", "basis.derogation", "basis.occasional"} <= names
    taxonomy = app.extensions["transfer_gate"].book.taxonomy
    offered = re.findall(r'name="data_categories" value="([^"]+)"', html)
    assert sorted(offered) == sorted(taxonomy.categories)
    select = re.search(r'name="recipient.relationship".*?</select>', html, re.S).group(0)
    assert sorted(re.findall(r'<option value="([^"]+)"', select)) == sorted(RELATIONSHIPS)
    assert sorted(re.findall(r'name="recipient.safeguards" value="([^"]+)"', html)) == sorted(SAFEGUARDS + PARTNER_SAFEGUARDS)
    assert sorted(re.findall(r'name="basis.consent" value="([^"]+)"', html)) == sorted(CONSENTS)
    for value in EXCEPTIONS:
        assert f'<option value="{value}"' in html


def test_categories_are_grouped_special_care_and_eu_uk_only_apart(client):
    html = client.get("/").get_data(as_text=True)
    groups = re.findall(r'<fieldset class="category-group">\s*<legend>([^<]+)</legend>(.*?)</fieldset>', html, re.S)
    by_title = {title: re.findall(r'value="([^"]+)"', body) for title, body in groups}
    special = by_title["Special care-required personal information"]
    assert len(special) == 11 and all(k.startswith("special_care.") for k in special)
    assert sorted(by_title["Special care only for EU/UK-origin data"]) == [
        "special_care.sex_life", "special_care.sexual_orientation", "special_care.trade_union_membership"]


def test_the_destination_list_offers_english_and_japanese_names(client):
    html = client.get("/").get_data(as_text=True)
    options = re.findall(r'<option value="([^"]+)"></option>', html)
    assert "United States · アメリカ合衆国 / 米国 (US)" in options  # 米国: pycountry's Japanese name
    assert "Germany · ドイツ (DE)" in options
    assert any(o.endswith("(unknown)") for o in options)
    assert len(options) >= 249


def test_every_input_has_a_label(client):
    html = client.get("/").get_data(as_text=True)
    labelled = set(re.findall(r'<label for="([^"]+)"', html))
    controls = re.findall(r'<(?:input|select)\b(?![^>]*type="hidden")[^>]*\bid="([^"]+)"', html)
    assert controls and [c for c in controls if c not in labelled] == []


# --------------------------------------------------------------------------- deciding


def test_the_medical_records_scenario_is_decided_logged_and_shown_with_citations(client, app):
    resp = decide(client)
    assert resp.status_code == 303
    decision_id = resp.headers["Location"].rsplit("/", 1)[1]
    entry = app.extensions["transfer_gate"].log.get(decision_id)
    assert entry["request"]["destination"] == "US"
    assert entry["request"]["recipient"]["safeguards"] == ["contract_measures"]
    assert entry["caller"] == "env-officer-1" and entry["caller_role"] == "officer"
    assert entry["response"]["outcome"] == "conditional"

    page = client.get(resp.headers["Location"])
    assert page.status_code == 200
    html, text = page.get_data(as_text=True), text_of(page)
    assert 'data-outcome="conditional"' in html and "Allowed on conditions" in text
    assert "Recipient system — contract or group rules (PPC Rules 16(i))" in text
    assert "Check at least once a year how the recipient implements the equivalent measures" in text
    assert "Re-check within 365 days." in text
    # each citation links to the article's law on e-Gov, or to the PPC's page
    assert re.search(r'<a class="citation" href="https://laws.e-gov.go.jp/law/415AC0000000057"[^>]*>\s*'
                     r'<span class="citation__ref">APPI 28\(3\)</span>', html)
    assert re.search(r'<a class="citation" href="https://www.ppc.go.jp/all_faq_index/faq1-q12-7/"', html)
    # the routes: the chosen one satisfied, what is missing for the others
    assert re.search(r'<li class="path path--satisfied path--chosen" data-route="equivalent_measures">', html)
    assert re.search(r'<li class="path path--unsatisfied" data-route="certified_recipient">', html)
    assert "the recipient holds no APEC CBPR or Global CBPR certification" in text
    assert "No record of this provision is required." in text
    assert "United States" in text and "Reviewed December 2, 2026" in text
    assert "2026-11-27" not in text and "T0" not in text  # dates in words, no raw timestamps
    assert f"/decisions/{decision_id}" in html  # the permalink


def test_the_answer_page_reads_the_logged_decision(client, app):
    location = decide(client).headers["Location"]
    decision_id = location.rsplit("/", 1)[1]
    log = app.extensions["transfer_gate"].log
    assert [e["decision_id"] for e in logged(app)] == [decision_id]
    client.get(location)
    client.get(location)
    assert len(logged(app)) == 1  # viewing the permalink decides nothing anew
    assert client.get("/decisions/01ZZZZZZZZZZZZZZZZZZZZZZZZ").status_code == 404
    assert log.get("01ZZZZZZZZZZZZZZZZZZZZZZZZ") is None


def test_a_denied_scenario_shows_reasons_and_remedies(client):
    resp = decide(client, **{"recipient.safeguards": [], "data_categories": ["personal_data", "anonymized"]})
    text = text_of(client.get(resp.headers["Location"]))
    assert "Not allowed" in text
    assert "Why it is not allowed" in text
    assert "Anonymously processed information may be provided only after the items" in text
    assert "What you can do" in text and "Obtain the principal's prior consent" in text


@pytest.mark.parametrize("typed,code", [
    ("us", "US"),
    ("アメリカ合衆国", "US"),
    ("米国", "US"),
    ("Germany", "DE"),
    ("ドイツ · Germany (DE)", "DE"),
    ("Not yet identified · 未特定 (unknown)", "unknown"),
    ("unknown", "unknown"),
])
def test_the_destination_may_be_typed_as_a_code_or_a_name_in_either_language(client, app, typed, code):
    resp = decide(client, destination=typed)
    assert resp.status_code == 303
    assert logged(app)[-1]["request"]["destination"] == code


def test_an_unidentified_destination_is_answered_without_a_profile(client):
    location = decide(client, destination="unknown", **{"basis.consent": "informed", "recipient.safeguards": []}).headers["Location"]
    text = text_of(client.get(location))
    assert "The destination has not been identified, so no country profile applies (PPC Rules 17(3))." in text
    assert "Not yet identified · 未特定 (unknown)" in text


def test_a_form_post_without_a_valid_csrf_token_is_refused(client, app):
    csrf_token(client)  # a session exists, but the form does not carry its token
    resp = client.post("/decisions", data=MEDICAL_RECORDS_TO_US)
    assert resp.status_code == 400
    assert "The form could not be accepted" in text_of(resp)
    resp = client.post("/decisions", data=dict(MEDICAL_RECORDS_TO_US, csrf_token="forged"))
    assert resp.status_code == 400
    assert logged(app) == []


def test_a_token_from_another_session_is_refused(app, client):
    other = sign_in(app.test_client(), "officer")
    token = csrf_token(other)
    csrf_token(client)
    resp = client.post("/decisions", data=dict(MEDICAL_RECORDS_TO_US, csrf_token=token))
    assert resp.status_code == 400
    assert logged(app) == []


def test_the_json_api_needs_no_csrf_token(client):
    resp = client.post("/v1/decisions", json={"origin": "JP", "destination": "DE", "data_categories": ["statistical"]})
    assert resp.status_code == 200


def test_form_errors_are_shown_next_to_their_fields_and_nothing_is_logged(client, app):
    resp = decide(client, destination="Atlantis", data_categories=[], reference="x" * 201)
    assert resp.status_code == 422
    assert "“Atlantis” is not a country in the list" in field_error(resp, "destination")
    assert field_error(resp, "data_categories") == "Tick at least one kind of data."
    assert "200" in field_error(resp, "reference")  # the contract's own limit, reported by the service
    html = resp.get_data(as_text=True)
    assert 'id="destination"' in html and 'aria-invalid="true"' in html
    assert 'href="#destination"' in html and 'href="#data_categories"' in html  # the summary links to the fields
    assert 'value="Atlantis"' in html  # what the officer typed is kept
    assert logged(app) == []


def test_a_destination_equal_to_the_origin_is_reported_at_the_destination(client, app):
    resp = decide(client, destination="Japan")
    assert resp.status_code == 422
    assert "not a provision to a third party in a foreign country" in field_error(resp, "destination")
    assert logged(app) == []


def test_errors_read_in_japanese_for_a_japanese_reader(client):
    client.set_cookie("lang", "ja")
    resp = decide(client, destination="JP", as_of="27/11/2026")
    assert resp.status_code == 422
    assert field_error(resp, "destination").startswith("提供先が提供元と同じ国にあるため")
    assert field_error(resp, "as_of") == "日付は年-月-日の形式で入力してください（例：2026-11-27）。"
    # what only the service can tell (it speaks the API's English) is said in Japanese too
    resp = decide(client, data_categories=["personal_data", "no_such_category"])
    assert field_error(resp, "data_categories") == "この値は使用できません。説明を確認してください。"
    assert "Unknown" not in text_of(resp)


def test_a_date_that_does_not_exist_is_reported_at_the_date_field(client, app):
    resp = decide(client, as_of="2026-02-30")
    assert resp.status_code == 422
    assert field_error(resp, "as_of") == "There is no such day: check the month and the day."
    assert logged(app) == []


def test_a_decision_that_cannot_be_logged_is_not_shown(tmp_path):
    from transfer_gate import create_app

    db = tmp_path / "locked.sqlite3"
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{db}", "DATABASE_TIMEOUT": 0.2,
                      "SECRET_KEY": "k" * 40, "API_KEYS": API_KEYS})
    client = sign_in(app.test_client(), "officer")
    token = csrf_token(client)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        resp = client.post("/decisions", data=dict(MEDICAL_RECORDS_TO_US, csrf_token=token))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert resp.status_code == 503
    text = text_of(resp)
    assert "The decision could not be logged" in text
    assert "Allowed" not in text and "/decisions/" not in resp.get_data(as_text=True)
    assert app.extensions["transfer_gate"].log.query() == []


def test_the_form_can_be_prefilled_from_a_logged_decision(client):
    location = decide(client, **{"basis.opt_out": "true"}).headers["Location"]
    decision_id = location.rsplit("/", 1)[1]
    html = client.get(f"/?decision={decision_id}").get_data(as_text=True)
    assert f"Prefilled from decision {decision_id}." in html
    assert 'value="United States · アメリカ合衆国 / 米国 (US)"' in html
    assert re.search(r'value="special_care.medical_history" checked', html)
    assert re.search(r'id="basis-opt_out" name="basis.opt_out" value="true" checked', html)
    assert re.search(r'<option value="outsourcee" selected>', html)
    assert client.get("/?decision=nope").status_code == 404


# --------------------------------------------------------------------------- Japanese and English


def test_the_answer_reads_in_japanese_with_the_citations_japanese_titles(client):
    location = decide(client).headers["Location"]
    client.set_cookie("lang", "ja")
    resp = client.get(location)
    html, text = resp.get_data(as_text=True), text_of(resp)
    assert '<html lang="ja">' in html
    assert "条件付きで提供可" in text
    assert "提供先による相当措置の実施状況及びその実施に影響を及ぼすおそれのある外国の制度の有無・内容を、年1回以上確認すること。" in text
    assert "365日以内に再確認。" in text
    assert re.search(r'<span class="citation__ref">[^<]+</span> <span class="citation__title">外国にある第三者への提供の制限</span>', html)
    assert "基準適合体制 — 契約・内部規程等（規則第16条第1号）" in text  # the route's Japanese title
    assert "2026年11月27日" in text and "JST" in text  # dates in words, the time in Tokyo
    assert "提供先がAPEC CBPR又はグローバルCBPRの認証を取得していない" in text  # paths[].missing_ja
    assert "Allowed on conditions" not in text


def test_the_language_toggle_is_remembered_and_returns_to_the_page(client):
    resp = client.get("/language/ja?next=/countries/US")
    assert resp.status_code == 303 and resp.headers["Location"] == "/countries/US"
    assert "lang=ja" in resp.headers["Set-Cookie"]
    assert "アメリカ合衆国" in text_of(client.get("/countries/US"))
    assert "提供の内容を入力" in text_of(client.get("/"))
    client.get("/language/en?next=/")
    assert "Describe a transfer" in text_of(client.get("/"))


def test_the_language_toggle_never_redirects_off_the_site(client):
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        resp = client.get("/language/ja", query_string={"next": target})
        assert resp.headers["Location"] == "/"
    assert client.get("/language/fr").status_code == 404


def test_without_a_choice_the_browser_language_decides(client):
    assert '<html lang="ja">' in client.get("/", headers={"Accept-Language": "ja-JP,ja;q=0.9"}).get_data(as_text=True)
    assert '<html lang="en">' in client.get("/", headers={"Accept-Language": "de-DE"}).get_data(as_text=True)


def test_records_items_and_retention_are_shown_in_both_languages(client):
    location = decide(client, **{"recipient.safeguards": [], "basis.consent": "informed"}).headers["Location"]
    text = text_of(client.get(location))
    assert "A record of this provision is required, kept for 3 years." in text
    assert "recipient's name, address and representative" in text
    client.set_cookie("lang", "ja")
    text = text_of(client.get(location))
    assert "保存期間：3年間" in text
    assert "提供先の氏名又は名称、住所及び代表者の氏名" in text


def test_the_destination_details_are_shown_with_their_sources(client):
    location = decide(client, destination="CN", **{"recipient.safeguards": [], "basis.consent": "informed"}).headers["Location"]
    html = client.get(location).get_data(as_text=True)
    assert "<summary>Government access</summary>" in html
    assert "National Intelligence Law" in html
    assert 'href="https://www.ppc.go.jp/enforcement/infoprovision/laws/offshore_report_china/"' in html


# --------------------------------------------------------------------------- countries


def test_a_country_page_shows_the_profile_with_sources_and_review_date(client):
    resp = client.get("/countries/us")
    text, html = text_of(resp), resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "United States" in text and "アメリカ合衆国" in text
    assert "Reviewed December 2, 2026 by transfer-gate legal data team" in text
    assert "Takes part in APEC CBPR: yes (since July 25, 2012)" in text
    assert "/v1/countries" not in html  # the API takes no cookies: no link that would answer 401
    assert 'href="https://www.ppc.go.jp/enforcement/infoprovision/laws/offshore_report_america/"' in html
    assert "Federal Trade Commission" in text
    assert client.get("/countries/ZZ").status_code == 404


def test_a_country_page_resolves_the_profile_at_a_date(client):
    assert "Takes part in APEC CBPR: no" in text_of(client.get("/countries/US?as_of=2010-01-01"))
    resp = client.get("/countries/US?as_of=yesterday")
    assert resp.status_code == 422
    assert "Not a valid date" in field_error(resp, "as_of")


def test_the_country_list_filters_by_name_in_either_language(client):
    text = text_of(client.get("/countries?q=アメリカ"))
    assert "United States" in text and "Germany" not in text
    text = text_of(client.get("/countries"))
    assert "Germany" in text and "Japan" in text


# --------------------------------------------------------------------------- the layout


def test_the_layout_links_every_section_and_sign_in(client, anonymous):
    assert 'href="/signin"' in anonymous.get("/signin").get_data(as_text=True)
    html = client.get("/").get_data(as_text=True)
    for href in ('href="/"', 'href="/scenarios"', 'href="/countries"', 'action="/signout"'):
        assert href in html
    assert 'href="/audit"' not in html  # an officer sees no link that answers 403
    assert 'href="/language/ja?next=/"' in html
    assert '<a class="skip-link" href="#content">' in html


# --------------------------------------------------------------------------- answers people understand


INTERNAL = {
    "a field path": re.compile(r"\b(?:recipient|basis)\.[a-z_]+|\bdata_categories\b|\bdata_origin\b"),
    "a field value": re.compile(r"= ?(?:true|false)\b|\b(?:apec_cbpr|global_cbpr|contract_measures|third_party|equivalent_measures)\b"),
    "a rule id": re.compile(r"\bappi\.[a-z0-9_.-]+"),
    "an ISO duration": re.compile(r"\bP\d+[YMD]\b"),
    "a raw timestamp": re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:"),
    "a raw date": re.compile(r"\b\d{4}-\d{2}-\d{2}\b"),
}


def visible_text(resp) -> str:
    """What the page itself writes: the body's text without form values and the profiles' own prose."""
    html = resp.get_data(as_text=True).split("<body", 1)[1]
    html = re.sub(r"<(datalist|form|details)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r'<p class="profile-summary">.*?</p>', " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_answer_pages_show_no_internal_names_ids_or_raw_values(client, app, lang):
    from tests.officer_pages import record_answers

    ids = record_answers(app)
    client.set_cookie("lang", lang)
    for kind in ("allow", "conditional", "long_conditional", "deny"):
        text = visible_text(client.get(f"/decisions/{ids[kind]}"))
        found = {name: pattern.findall(text) for name, pattern in INTERNAL.items() if pattern.search(text)}
        assert found == {}, kind


def test_a_denial_leads_with_its_reasons_and_citations_in_japanese_notation(client, app):
    from tests.officer_pages import record_answers

    ids = record_answers(app)
    html = client.get(f"/decisions/{ids['deny']}").get_data(as_text=True)
    banner = re.search(r'<section class="banner banner--deny".*?</section>', html, re.S).group(0)
    assert "Why it is not allowed" in banner and 'class="deny-reason"' in banner
    assert '<span class="citation__ref">APPI 27(1)</span>' in banner
    client.set_cookie("lang", "ja")
    html = client.get(f"/decisions/{ids['deny']}").get_data(as_text=True)
    banner = re.search(r'<section class="banner banner--deny".*?</section>', html, re.S).group(0)
    assert "提供できない理由" in banner
    assert '<span class="citation__ref">法第27条第1項</span>' in banner
    assert "APPI 2" not in visible_text(client.get(f"/decisions/{ids['conditional']}"))


def test_try_it_opens_the_form_with_the_remedy_applied_and_says_what_changed(client, app):
    from tests.officer_pages import record_answers

    ids = record_answers(app)
    entry = app.extensions["transfer_gate"].log.get(ids["deny"])
    remedy = next(r for r in entry["response"]["remedies"] if r["apply"])
    html = client.get(f"/decisions/{ids['deny']}").get_data(as_text=True)
    assert f'href="/?decision={ids["deny"]}&amp;remedy={remedy["id"]}"' in html
    resp = client.get(f"/?decision={ids['deny']}&remedy={remedy['id']}")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    notice = re.search(r'<div class="notice" role="status">(.*?)</div>', page, re.S).group(1)
    assert "with the remedy applied" in notice and "<li>" in notice
    for change in remedy["apply"]:
        name, value = change["path"], change.get("set", change.get("add"))
        if isinstance(value, bool):
            assert re.search(rf'name="{re.escape(name)}" value="true"' + (" checked" if value else r'(?! checked)'), page)
        elif name in ("basis.consent", "data_origin"):
            assert re.search(rf'name="{re.escape(name)}" value="{value}" checked', page)
        else:
            assert re.search(rf'value="{re.escape(str(value))}"[^>]*(?:checked|selected)', page), change
    assert client.get(f"/?decision={ids['deny']}&remedy=no.such.remedy").status_code == 404


def test_unknown_pages_are_styled_in_the_readers_language(client):
    resp = client.get("/no/such/page")
    assert resp.status_code == 404 and "Page not found" in text_of(resp) and 'class="error-page"' in resp.get_data(as_text=True)
    client.set_cookie("lang", "ja")
    resp = client.get("/decisions/01ZZZZZZZZZZZZZZZZZZZZZZZZ")
    assert resp.status_code == 404 and "ページが見つかりません" in text_of(resp)
    api = client.get("/v1/no-such-thing")
    assert api.status_code == 404 and api.mimetype == "application/problem+json"


def test_an_auditor_is_offered_no_officer_page(client_for, app):
    auditor = sign_in(app.test_client(), "auditor")
    html = auditor.get("/audit").get_data(as_text=True)
    nav = re.search(r'<header class="site-header">.*?</header>', html, re.S).group(0)
    assert 'href="/audit"' in nav
    for href in ('href="/"', 'href="/scenarios"', 'href="/countries"'):
        assert href not in nav


def test_a_gdpr_scenario_survives_the_form_both_ways_and_its_remedies_can_be_tried(client, app):
    from transfer_gate import service

    body = {"origin": "DE", "exporter_role": "processor", "destination": "US", "data_categories": ["personal_data"],
            "recipient": {"relationship": "third_party", "role": "processor", "safeguards": ["bcr"],
                          "transfer_assessment": "cannot_protect"},
            "basis": {"derogation": "legal_claims", "occasional": True}, "as_of": "2026-11-27"}
    rt = app.extensions["transfer_gate"]
    with app.app_context():
        answer = service.decide(rt, body, caller="env-officer-1", role="officer")
    page = client.get(f"/?decision={answer['decision_id']}").get_data(as_text=True)
    assert re.search(r'<option value="processor" selected>', page)
    assert re.search(r'value="bcr" checked', page)
    assert re.search(r'<option value="cannot_protect" selected>', page)
    assert re.search(r'<option value="legal_claims" selected>', page)
    assert re.search(r'name="basis.occasional" value="true" checked', page)
    # decided again from the form as it was filled, the request is the same
    resp = decide(client, **{"origin": "DE", "exporter_role": "processor", "destination": "US",
                             "data_categories": ["personal_data"], "recipient.relationship": "third_party",
                             "recipient.role": "processor", "recipient.safeguards": ["bcr"],
                             "recipient.transfer_assessment": "cannot_protect", "basis.derogation": "legal_claims",
                             "basis.occasional": "true", "recipient.name": "", "reference": ""})
    again = rt.log.get(resp.headers["Location"].rsplit("/", 1)[1])["request"]
    logged_first = rt.log.get(answer["decision_id"])["request"]
    for key in ("exporter_role", "recipient", "basis"):
        assert again[key] == logged_first[key], key
    with app.app_context():
        denied = service.decide(rt, {"origin": "DE", "destination": "US", "data_categories": ["personal_data"],
                                     "as_of": "2026-11-27"}, caller="env-officer-1", role="officer")
    tried = [r for r in denied["remedies"] if r["apply"]]
    assert tried  # the DPF, the SCCs with an assessment: each a change the form can make
    for remedy in tried:
        resp = client.get(f"/?decision={denied['decision_id']}&remedy={remedy['id']}")
        assert resp.status_code == 200
        assert "Nothing in the form needed to change." not in text_of(resp), remedy["id"]
