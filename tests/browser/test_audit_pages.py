"""An auditor in Chromium, on a phone and on a laptop, in English and Japanese: every /audit page fits the
viewport, speaks the chosen language, loads nothing the CSP refuses, and links nowhere the role is refused."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.test_audit_pages import DENIED, RECORDED, log_at
from tests.test_audit_pages_ja import english_words
from tests.test_api import EXAMPLE
from tests.test_replay import PLAIN_CONSENT_DE

WIDTHS = (390, 1280)
TYPED = {"de-plain", "nothing-like-an-id"}  # a logged reference and an id typed into the jump box: data

# The interface texts of a page: its header and main content, without what is data or code by nature
# (ids and hashes, the raw JSON behind its disclosure, citation notation, the options of country lists,
# a country profile's own texts, the key id of whoever is signed in, and the language switch, which
# names each language in itself).
INTERFACE_TEXT = """() => {
  const parts = [];
  for (const root of document.querySelectorAll('header, main')) {
    const copy = root.cloneNode(true);
    copy.querySelectorAll('code, pre, details.raw, .citation__ref, select, .source-list, .profile-text, .lang-switch, .account__who')
      .forEach(e => e.remove());
    parts.push(copy.innerText);
  }
  return parts.join(' ');
}"""


@pytest.fixture
def logged(app):
    bodies = [EXAMPLE, RECORDED, DENIED, PLAIN_CONSENT_DE]
    return [log_at(app, f"2026-11-0{i + 1}T10:00:00+00:00", body) for i, body in enumerate(bodies)]


def audit_pages(ids):
    return ["/audit/overview?from=2026-11-01&to=2026-11-30", "/audit", "/audit?reference=hr&outcome=conditional",
            f"/audit/decisions/{ids[1]}", f"/audit/decisions/{ids[2]}", "/audit/records", "/audit/chain",
            "/audit/replay", "/audit/replay?under=current", "/audit/countries/US?as_of=2026-11-27",
            "/audit/no-such-page", "/audit/jump?id=nothing-like-an-id"]


def refused_links(page: Page, checked: dict) -> list[str]:
    """The links of the header and the page that answer 401 or 403 to this auditor's session."""
    hrefs = page.eval_on_selector_all("header a[href], main a[href]", "els => els.map(e => e.getAttribute('href'))")
    refused = []
    for href in hrefs:
        if not href.startswith("/") or href.startswith("/language/") or href in checked:
            continue  # following the language switch would change this session's language
        checked[href] = page.request.get(href, max_redirects=0).status
        if checked[href] in (401, 403):
            refused.append(f"{href} → {checked[href]}")
    return refused


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("lang", ["en", "ja"])
def test_every_audit_page_fits_speaks_the_language_and_links_only_where_an_auditor_may_go(
        new_page, live_server, logged, lang, width):
    page = new_page(role="auditor", viewport={"width": width, "height": 900})
    page.context.add_cookies([{"name": "lang", "value": lang, "url": live_server}])
    checked, problems = {}, []
    for path in audit_pages(logged):
        response = page.goto(path)
        expected = 404 if path.startswith(("/audit/no-such", "/audit/jump")) else 200
        assert response.status == expected, path
        expect(page.locator("html")).to_have_attribute("lang", lang)
        expect(page.locator(".audit-nav")).to_be_visible()
        scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        if scroll > inner:
            problems.append(f"{path} is {scroll}px wide in a {inner}px viewport")
        if lang == "ja":
            leftovers = [w for w in english_words(page.evaluate(INTERFACE_TEXT)) if w not in TYPED]
            if leftovers:
                problems.append(f"{path} shows English on a Japanese page: {leftovers}")
        problems += [f"{path}: {link}" for link in refused_links(page, checked)]
    assert problems == [], "\n".join(problems)
    assert page.problems == []  # no script error, no CSP violation, no asset that failed to load


def test_an_auditor_searches_jumps_and_walks_the_chain(page_as_auditor: Page, logged):
    page = page_as_auditor
    page.goto("/audit")
    page.get_by_label("Reference contains").fill("hr-2026")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("table.decisions tbody tr")).to_have_count(1)
    expect(page.locator("table.decisions")).to_contain_text("HR-2026-11")

    page.get_by_label("Go to decision").fill(logged[2].lower())
    page.get_by_role("button", name="Go", exact=True).click()
    expect(page).to_have_url(re.compile(f"/audit/decisions/{logged[2]}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Decision No. 3")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Not allowed")
    expect(page.locator(".raw pre").first).not_to_be_visible()  # the JSON waits behind its disclosure

    page.get_by_role("link", name="Previous: No. 2").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Decision No. 2")
    page.get_by_role("link", name=re.compile("^Country profile as of")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("United States")
    assert page.problems == []


def test_the_overview_draws_its_charts_without_script(page_as_auditor: Page, logged):
    page = page_as_auditor
    page.goto("/audit/overview?from=2026-11-01&to=2026-11-30")
    charts = page.get_by_role("img")
    expect(charts).to_have_count(4)
    expect(page.get_by_role("img", name="Decisions by outcome")).to_be_visible()
    box = page.locator(".chart__svg").first.bounding_box()
    assert box["width"] > 300 and box["height"] > 100  # drawn at a readable size
    page.locator("details.chart__table summary").first.click()
    expect(page.locator("details.chart__table").first.locator("tfoot")).to_contain_text("4")
    assert page.problems == []


@pytest.fixture
def page_as_auditor(new_page):
    return new_page(role="auditor")
