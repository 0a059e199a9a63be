"""A privacy officer in Chromium: describe a transfer, read the cited answer, switch language, keep scenarios."""

import re

from playwright.sync_api import Page, expect


def describe_medical_records_to_a_us_processor(page: Page, destination="United States · アメリカ合衆国 / 米国 (US)"):
    page.goto("/")
    page.get_by_label("Destination (where the recipient is)").fill(destination)
    page.get_by_label("Personal data", exact=True).check()
    page.get_by_label("Medical history").check()
    page.get_by_label("Recipient's name").fill("Acme Cloud Inc.")
    page.get_by_label("Relationship").select_option("outsourcee")
    page.get_by_label("Contract ensuring measures equivalent to APPI Ch. 4 Sec. 2").check()
    page.get_by_label("Decide as of").fill("2026-11-27")
    page.get_by_role("button", name="Decide").click()


def test_an_officer_decides_medical_records_to_a_us_processor_and_reads_the_cited_answer(page: Page):
    describe_medical_records_to_a_us_processor(page)
    expect(page).to_have_url(re.compile(r"/decisions/[0-9A-Z]{26}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Allowed on conditions")
    expect(page.locator(".banner")).to_contain_text("Recipient system — contract or group rules (PPC Rules 16(i))")
    condition = page.locator("#condition-appi\\.28-3\\.periodic-check")
    expect(condition).to_contain_text("Check at least once a year how the recipient implements the equivalent measures")
    expect(condition).to_contain_text("Re-check within 365 days.")
    citation = condition.get_by_role("link", name=re.compile(r"^APPI 28\(3\)"))
    expect(citation).to_have_attribute("href", "https://laws.e-gov.go.jp/law/415AC0000000057")
    expect(page.locator('li.path[data-route="equivalent_measures"]')).to_contain_text("Satisfied")
    expect(page.locator('li.path[data-route="certified_recipient"]')).to_contain_text("the recipient holds no APEC CBPR or Global CBPR certification")
    expect(page.get_by_text("No record of this provision is required.")).to_be_visible()
    expect(page.locator(".permalink a")).to_have_text(page.url)

    page.get_by_role("link", name="Full profile of United States").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("United States")
    expect(page.get_by_text("Reviewed December 2, 2026 by transfer-gate legal data team")).to_be_visible()
    assert page.problems == []


def test_the_language_switch_translates_the_answer_and_is_remembered(page: Page):
    describe_medical_records_to_a_us_processor(page, destination="アメリカ合衆国")
    expect(page.get_by_role("heading", level=1)).to_have_text("Allowed on conditions")
    answer_url = page.url

    page.get_by_role("link", name="日本語").click()
    expect(page).to_have_url(answer_url)
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.get_by_role("heading", level=1)).to_have_text("条件付きで提供可")
    expect(page.locator("#condition-appi\\.28-3\\.periodic-check")).to_contain_text("年1回以上確認すること")
    expect(page.locator(".citation-list--all")).to_contain_text("外国にある第三者への提供の制限")
    expect(page.locator('li.path[data-route="designated_country"]')).to_contain_text("不充足")

    page.get_by_role("link", name="シナリオ入力").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("提供の内容を入力")
    expect(page.get_by_label("提供先の所在国")).to_be_visible()

    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Describe a transfer")
    assert page.problems == []


def test_a_saved_scenario_is_rerun_from_the_library(page: Page):
    describe_medical_records_to_a_us_processor(page)
    page.get_by_label("Name", exact=True).fill("Medical records to a US processor")
    expect(page.get_by_role("radio", name="Allowed on conditions")).to_be_checked()  # the answer it got is the default
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Saved “Medical records to a US processor”")
    expect(page.get_by_role("row", name=re.compile("Medical records to a US processor"))).to_be_visible()

    page.get_by_role("link", name="Re-run all against the current rules").click()
    expect(page.locator(".run-summary")).to_have_text("1 passed, 0 failed")
    expect(page.locator(".run--pass")).to_contain_text("Nothing changed.")

    # a second scenario saved with an outcome the rules do not give fails the run
    page.goto("/")
    page.get_by_label("Destination (where the recipient is)").fill("CN")
    page.get_by_label("Personal data", exact=True).check()
    page.get_by_label("Decide as of").fill("2026-11-27")
    page.get_by_role("button", name="Decide").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    page.get_by_label("Name", exact=True).fill("China should be allowed")
    page.get_by_role("radio", name="Allowed", exact=True).check()
    page.get_by_role("button", name="Save").click()
    page.get_by_role("link", name="Re-run all against the current rules").click()
    expect(page.locator(".run-summary")).to_have_text("1 passed, 1 failed")
    expect(page.locator(".run--fail")).to_contain_text("Expected “Allowed”; the answer now is “Not allowed”.")

    with page.expect_download() as download:
        page.get_by_role("link", name="Export (YAML)").first.click()
    assert download.value.suggested_filename.endswith(".yaml")
    assert page.problems == []


def test_errors_are_shown_next_to_their_fields_and_link_to_them(page: Page):
    page.goto("/")
    page.get_by_label("Destination (where the recipient is)").fill("Atlantis")
    page.get_by_role("button", name="Decide").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("The scenario could not be decided")
    destination = page.get_by_label("Destination (where the recipient is)")
    expect(destination).to_have_attribute("aria-invalid", "true")
    expect(destination).to_have_value("Atlantis")
    expect(page.locator("#destination-error")).to_contain_text("“Atlantis” is not a country in the list")
    expect(page.locator("#data_categories-error")).to_have_text("Tick at least one kind of data.")
    summary.get_by_role("link", name="Destination (where the recipient is)").click()
    expect(page).to_have_url(re.compile("#destination$"))
    assert page.problems == []


def test_the_scenario_can_be_decided_from_the_keyboard(page: Page):
    page.goto("/")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    page.get_by_label("Destination (where the recipient is)").focus()
    page.keyboard.type("Germany")
    page.keyboard.press("Escape")  # close the suggestion list
    personal_data = page.get_by_label("Personal data", exact=True)
    personal_data.focus()
    page.keyboard.press("Space")
    expect(personal_data).to_be_checked()
    page.get_by_label("Consent to third-party provision").focus()
    page.keyboard.press("Space")
    page.get_by_label("Your reference").focus()
    page.keyboard.type("keyboard-only")
    page.keyboard.press("Enter")  # Enter in a text field submits the form
    expect(page.get_by_role("heading", level=1)).to_have_text("Allowed on conditions")
    expect(page.locator(".banner")).to_contain_text("Designated country (EEA and UK)")
    assert page.problems == []


def test_every_form_control_has_an_accessible_label(page: Page):
    page.goto("/")
    unlabelled = page.evaluate("""() => [...document.querySelectorAll('input, select, textarea')]
        .filter(el => el.type !== 'hidden' && el.labels.length === 0).map(el => el.name || el.id)""")
    assert unlabelled == []


def test_the_core_flow_works_without_javascript(new_page):
    page = new_page(java_script_enabled=False)
    describe_medical_records_to_a_us_processor(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Allowed on conditions")
    page.get_by_role("link", name="日本語").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("条件付きで提供可")
