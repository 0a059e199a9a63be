"""A journey in Chromium: built in the form (add a leg, fill it, decide), read leg by leg in both languages,
fitting a phone and a laptop, and printed as a memo."""

import io
import re

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from tests.browser.test_page_layout import choose_language, overflow
from tests.interface_text import english_interface_texts
from transfer_gate import service

WIDTHS = (390, 1280)

# A German subsidiary's HR data to its Tokyo parent, hosted by a US processor, then shown to a UK adviser's US host:
# three legs under three regimes.
THREE_LEGS = {
    "origin": "DE", "destination": "JP", "data_categories": ["personal_data"],
    "recipient": {"name": "Parent KK", "relationship": "third_party"},
    "onward": [
        {"destination": "GB", "recipient": {"name": "London Advisers Ltd", "relationship": "outsourcee",
                                            "safeguards": ["contract_measures"]}},
        {"destination": "US", "recipient": {"name": "Acme Cloud Inc.", "relationship": "outsourcee",
                                            "safeguards": ["idta"], "transfer_assessment": "no_impinging_law"}},
    ],
    "as_of": "2026-11-27", "reference": "hr-sync-7",
}


def build_eu_jp_us_journey(page: Page):
    page.goto("/")
    page.locator("#origin").select_option("DE")
    page.get_by_label("Destination (where the recipient is)").first.fill("Japan")
    page.get_by_label("Personal data", exact=True).check()
    page.locator("#recipient-name").fill("Parent KK")
    page.get_by_label("Decide as of").fill("2026-11-27")
    page.get_by_role("button", name="Add an onward transfer").click()
    leg = page.locator("#onward-0")
    expect(leg.locator("legend").first).to_have_text("Onward transfer 1: from Japan")
    leg.get_by_label("Destination (where the recipient is)").fill("United States")
    leg.get_by_label("Recipient's name").fill("Acme Cloud Inc.")
    leg.get_by_label("Relationship").select_option("outsourcee")
    leg.get_by_label("Contract ensuring measures equivalent to APPI Ch. 4 Sec. 2").check()
    page.locator(".form-actions").get_by_role("button", name="Decide").click()
    expect(page).to_have_url(re.compile(r"/decisions/[0-9A-Z]{26}$"))


def test_an_officer_builds_an_eu_jp_us_journey_and_reads_each_leg_in_both_languages(new_page):
    page = new_page()
    build_eu_jp_us_journey(page)
    legs = page.locator(".leg-answer")
    expect(legs).to_have_count(2)
    expect(legs.nth(0)).to_contain_text("Transfer 1: Germany to Japan")
    expect(legs.nth(0)).to_contain_text("Decided under GDPR")
    expect(legs.nth(1)).to_contain_text("Transfer 2: Japan to United States")
    expect(legs.nth(1)).to_contain_text("Decided under APPI")
    expect(legs.nth(1).locator("[data-route]")).to_have_attribute("data-route", "equivalent_measures")
    expect(page.locator(".leg-answer--deciding")).to_have_count(1)
    expect(page.locator(".leg-answer--deciding")).to_contain_text("decides the journey")
    answer_url = page.url

    page.get_by_role("link", name="日本語").click()
    expect(page).to_have_url(answer_url)
    expect(legs.nth(0)).to_contain_text("第1区間：ドイツから日本へ")
    expect(legs.nth(1)).to_contain_text("第2区間：日本からアメリカ合衆国へ")
    expect(legs.nth(1)).to_contain_text("個人情報保護法により判断")
    assert english_interface_texts(page.content()) == []

    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for path in (answer_url, "/?decision=" + answer_url.rsplit("/", 1)[-1]):
            page.goto(path)
            assert overflow(page) == 0, f"{path} is {overflow(page)} px too wide at {width} px"
    expect(page.locator("#onward-0-destination")).to_have_value(re.compile(r"アメリカ合衆国"))
    assert page.problems == []


def test_removing_a_leg_in_the_browser_keeps_the_others(new_page):
    page = new_page()
    page.goto("/")
    page.get_by_role("button", name="Add an onward transfer").click()
    page.locator("#onward-0-destination").fill("Singapore")
    page.get_by_role("button", name="Add an onward transfer").click()
    page.locator("#onward-1-destination").fill("China")
    page.get_by_role("button", name="Remove onward transfer 1").click()
    expect(page.locator("fieldset.leg")).to_have_count(1)
    expect(page.locator("#onward-0-destination")).to_have_value("China")
    assert page.problems == []


@pytest.mark.parametrize("lang", ("en", "ja"))
def test_a_printed_three_leg_journey_fits_two_a4_pages(new_page, app, lang):
    rt = app.extensions["transfer_gate"]
    with app.app_context():
        answer = service.decide(rt, THREE_LEGS, caller="env-officer-1", role="officer")
    assert [leg["regime"] for leg in answer["legs"]] == ["GDPR", "APPI", "UK_GDPR"]
    page = new_page()
    choose_language(page, lang)
    page.goto(f"/decisions/{answer['decision_id']}", wait_until="networkidle")
    page.emulate_media(media="print")
    pdf = PdfReader(io.BytesIO(page.pdf(format="A4", print_background=True)))
    text = " ".join(p.extract_text() for p in pdf.pages)
    assert answer["decision_id"] in text
    assert re.search(r"Transfer 3" if lang == "en" else r"第\s*3\s*区間：", text)
    assert 1 <= len(pdf.pages) <= 2, f"{len(pdf.pages)} pages"
