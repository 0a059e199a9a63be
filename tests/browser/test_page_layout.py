"""Every officer page in Chromium, in both languages, on a phone and a laptop: it fits, it speaks the reader's
language, its navigation leads nowhere the role is refused, and an answer prints as a memo of two pages at most."""

import io
import re

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from tests.interface_text import english_interface_texts
from tests.officer_pages import officer_pages, record_answers

WIDTHS = (390, 1280)
OFFICER_LINKS = ("/", "/scenarios", "/countries")


@pytest.fixture
def answers(app):
    return record_answers(app)


def choose_language(page: Page, lang: str):
    page.goto(f"/language/{lang}?next=/signin")
    expect(page.locator("html")).to_have_attribute("lang", lang)


def overflow(page: Page) -> int:
    """How many pixels the page is wider than the window (0 when it fits)."""
    return page.evaluate("() => Math.max(0, document.documentElement.scrollWidth - window.innerWidth)")


def refused_links(page: Page) -> list[str]:
    """The header's links (brand and navigation) that answer 401 or 403 to this browser's session."""
    hrefs = page.eval_on_selector_all(".site-header a[href]", "els => els.map(a => a.getAttribute('href'))")
    return [h for h in hrefs if not h.startswith("/language/")
            and page.request.get(h, max_redirects=0).status in (401, 403)]


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("lang", ("en", "ja"))
def test_every_officer_page_fits_speaks_the_language_and_links_only_where_the_role_may_go(new_page, answers, lang, width):
    page = new_page(viewport={"width": width, "height": 900})
    choose_language(page, lang)
    problems = {}
    for name, path in officer_pages(answers).items():
        response = page.goto(path)
        assert response.status in (200, 404), (name, response.status)
        found = []
        if overflow(page):
            found.append(f"{overflow(page)} px wider than the window")
        if lang == "ja":
            found += [f"English: {text}" for text in english_interface_texts(page.content())]
        found += [f"link refused: {href}" for href in refused_links(page)]
        if found:
            problems[name] = found
    anonymous = new_page(role=None, viewport={"width": width, "height": 900})
    choose_language(anonymous, lang)
    anonymous.goto("/signin")
    assert overflow(anonymous) == 0
    if lang == "ja":
        assert english_interface_texts(anonymous.content()) == []
    assert problems == {}
    assert page.problems == [] and anonymous.problems == []


def test_a_denial_leads_with_its_reasons_and_each_remedy_can_be_tried(page: Page, answers):
    page.goto(f"/decisions/{answers['deny']}")
    banner = page.locator(".banner")
    expect(banner.get_by_role("heading", level=1)).to_have_text("Not allowed")
    reasons = banner.locator(".deny-reason")
    assert reasons.count() >= 1
    expect(reasons.first.locator(".citation").first).to_be_visible()
    try_it = page.locator(".remedy").get_by_role("link", name=re.compile("^Try it"))
    assert try_it.count() >= 1
    try_it.first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Describe a transfer")
    notice = page.get_by_role("status")
    expect(notice).to_contain_text("with the remedy applied")
    assert notice.locator(".notice__changes li").count() >= 1
    assert page.problems == []


def test_an_auditor_sees_no_officer_link_and_no_link_that_is_refused(new_page):
    page = new_page(role="auditor")
    page.goto("/audit")
    hrefs = page.eval_on_selector_all(".site-header a[href]", "els => els.map(a => a.getAttribute('href'))")
    assert not [h for h in hrefs if h in OFFICER_LINKS or h.startswith(("/scenarios", "/countries"))]
    assert refused_links(page) == []


@pytest.mark.parametrize("kind", ("long_conditional", "deny"))
@pytest.mark.parametrize("lang", ("en", "ja"))
def test_a_printed_answer_is_a_memo_of_at_most_two_a4_pages(new_page, answers, kind, lang):
    page = new_page()
    choose_language(page, lang)
    page.goto(f"/decisions/{answers[kind]}", wait_until="networkidle")
    page.emulate_media(media="print")  # print.css (media="print") applies, as when printing from the browser
    pdf = PdfReader(io.BytesIO(page.pdf(format="A4", print_background=True)))
    assert 1 <= len(pdf.pages) <= 2
    text = " ".join(p.extract_text() for p in pdf.pages)
    assert answers[kind] in text  # the permalink
    if lang == "en":
        heading = "Allowed on conditions" if kind == "long_conditional" else "Not allowed"
        assert heading in text and "Authorities" in text
        assert "Scenario library" not in text and "Save as test case" not in text and "Try it" not in text
