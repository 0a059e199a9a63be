"""Journeys on the officer and auditor pages: the form's onward legs, each leg's answer, adequacy on country pages."""

import csv
import io
import re

import pytest

from tests.conftest import sign_in
from tests.interface_text import english_interface_texts
from tests.test_ui import csrf_token, field_error, text_of

# A German subsidiary's HR data to its Tokyo parent, which has a US processor host it (as the form posts it).
EU_JP_US_FORM = {
    "origin": "DE",
    "destination": "JP",
    "data_categories": ["personal_data"],
    "recipient.name": "Parent KK",
    "recipient.relationship": "third_party",
    "recipient.handles_data": "true",
    "basis.consent": "none",
    "recipient.transfer_assessment": "not_done",
    "as_of": "2026-11-27",
    "onward[0].destination": "US",
    "onward[0].recipient.name": "Acme Cloud Inc.",
    "onward[0].recipient.relationship": "outsourcee",
    "onward[0].recipient.safeguards": ["contract_measures"],
    "onward[0].recipient.handles_data": "true",
    "onward[0].basis.consent": "none",
    "onward[0].recipient.transfer_assessment": "not_done",
}


@pytest.fixture
def client(officer):
    return officer


def post(client, form, **extra):
    return client.post("/decisions", data=dict(form, csrf_token=csrf_token(client), **extra))


def use_japanese(client):
    client.set_cookie("lang", "ja")


def japanese(client):
    client.set_cookie("lang", "ja")
    return client


# --------------------------------------------------------------------------- the form


def test_add_a_leg_re_renders_the_form_with_an_empty_leg_and_keeps_what_was_typed(client, app):
    form = {k: v for k, v in EU_JP_US_FORM.items() if not k.startswith("onward")}
    resp = post(client, form, action="add-leg")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert 'name="onward[0].destination"' in html and 'name="onward[1].destination"' not in html
    assert "Onward transfer 1: from Japan" in text_of(resp)
    assert 'value="Parent KK"' in html  # the top-level fields stay as typed
    assert re.search(r'name="onward\[0\]\.recipient\.handles_data" value="true" checked', html)
    assert not app.extensions["transfer_gate"].log.query(limit=10)  # nothing was decided


def test_remove_a_leg_drops_it_and_renumbers_the_rest(client):
    form = dict(EU_JP_US_FORM, **{"onward[1].destination": "SG", "onward[1].recipient.name": "Second Ltd"})
    resp = post(client, form, action="remove-leg-0")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert 'name="onward[1].destination"' not in html
    assert re.search(r'name="onward\[0\]\.destination"[^>]*value="SG"', html, re.S)
    assert 'value="Second Ltd"' in html and "Acme Cloud Inc." not in html


def test_the_form_decides_a_journey_and_logs_every_leg(client, app):
    resp = post(client, EU_JP_US_FORM)
    assert resp.status_code == 303, field_error(resp, "destination") if resp.status_code == 422 else resp.status_code
    entry = app.extensions["transfer_gate"].log.query(limit=10)[0]
    onward = entry["request"]["onward"]
    assert [leg["destination"] for leg in onward] == ["US"]
    assert onward[0]["recipient"]["relationship"] == "outsourcee"
    assert onward[0]["recipient"]["safeguards"] == ["contract_measures"]
    assert [leg["regime"] for leg in entry["response"]["legs"]] == ["GDPR", "APPI"]


def test_a_legs_error_lands_next_to_that_legs_field(client):
    form = dict(EU_JP_US_FORM, **{"onward[1].destination": "Atlantis"})
    resp = post(client, form)
    assert resp.status_code == 422
    assert "Atlantis" in field_error(resp, "onward-1-destination")
    assert 'href="#onward-1-destination"' in resp.get_data(as_text=True)
    assert "Onward transfer 2: Destination" in text_of(resp)


def test_the_services_error_for_a_leg_lands_next_to_that_leg(client):
    # the US has no regime, so a leg out of it cannot be decided: the service names onward[1].destination
    form = dict(EU_JP_US_FORM, **{"onward[1].destination": "CA"})
    resp = post(client, form)
    assert resp.status_code == 422
    assert field_error(resp, "onward-1-destination")
    with pytest.raises(AssertionError):
        field_error(resp, "onward-0-destination")


def test_a_form_prefilled_from_a_logged_journey_keeps_its_legs(client, app):
    post(client, EU_JP_US_FORM)
    decision_id = app.extensions["transfer_gate"].log.query(limit=10)[0]["decision_id"]
    html = client.get(f"/?decision={decision_id}").get_data(as_text=True)
    assert re.search(r'name="onward\[0\]\.destination"[^>]*value="United States', html, re.S)
    assert 'value="Acme Cloud Inc."' in html
    assert re.search(r'name="onward\[0\]\.recipient\.safeguards" value="contract_measures" checked', html)


def test_the_origin_hint_names_all_three_regimes(client):
    text = text_of(client.get("/"))
    assert "JP applies the APPI, an EU/EEA state the GDPR, GB the UK GDPR" in text


def test_the_form_with_legs_is_japanese_throughout(client):
    resp = post(japanese(client), EU_JP_US_FORM, action="add-leg")
    assert "再移転1：日本から" in text_of(resp)
    assert english_interface_texts(resp.get_data(as_text=True)) == []


# --------------------------------------------------------------------------- the answer


def decide_journey(client, app, **changes):
    resp = post(client, dict(EU_JP_US_FORM, **changes))
    assert resp.status_code == 303
    return resp.headers["Location"]


def legs_of(html) -> list[str]:
    return re.findall(r'<li class="leg-answer[^"]*" data-leg="\d+" data-outcome="[^"]+">.*?</li>\s*(?=<li class="leg-answer|</ol>)', html, re.S)


def test_the_answer_shows_each_leg_in_order_with_its_regime_route_and_summary(client, app):
    page = client.get(decide_journey(client, app))
    html, text = page.get_data(as_text=True), text_of(page)
    entry = app.extensions["transfer_gate"].log.query(limit=1)[0]["response"]
    legs = legs_of(html)
    assert len(legs) == 2
    assert "Transfer 1: Germany to Japan" in text and "Transfer 2: Japan to United States" in text
    assert text.index("Transfer 1: Germany") < text.index("Transfer 2: Japan")
    assert "Decided under GDPR" in text_of_html(legs[0]) and "Decided under APPI" in text_of_html(legs[1])
    deciding = entry["decided_by_leg"]
    assert "leg-answer--deciding" in legs[deciding] and "decides the journey" in text_of_html(legs[deciding])
    assert sum("decides the journey" in text_of_html(leg) for leg in legs) == 1
    for leg, answer in zip(legs, entry["legs"]):
        assert f'data-route="{answer["route"]}"' in leg
        assert answer["summary"] in text_of_html(leg)
        for condition in answer["conditions"]:
            assert condition["text"] in text_of_html(leg)
    assert entry["summary"] in text  # the journey's own summary stays the headline
    assert "_" not in re.sub(r"https?://\S+", "", " ".join(text_of_html(leg) for leg in legs))  # no field names or ids


def test_a_denied_leg_shows_its_deny_reasons_and_remedies(client, app):
    page = client.get(decide_journey(client, app, **{"onward[0].destination": "CN",
                                                      "onward[0].recipient.safeguards": []}))
    entry = app.extensions["transfer_gate"].log.query(limit=1)[0]["response"]
    assert entry["outcome"] == "deny" and entry["legs"][1]["outcome"] == "deny"
    legs = legs_of(page.get_data(as_text=True))
    denied = text_of_html(legs[1])
    assert "Why it is not allowed" in denied
    for reason in entry["legs"][1]["deny_reasons"]:
        assert reason["text"] in denied
    for remedy in entry["legs"][1]["remedies"]:
        assert remedy["text"] in denied
    assert "leg-answer--deciding" in legs[1]


def test_the_journeys_answer_is_japanese_throughout(client, app):
    location = decide_journey(client, app)
    page = japanese(client).get(location)
    entry = app.extensions["transfer_gate"].log.query(limit=1)[0]["response"]
    text = text_of(page)
    assert "第1区間：ドイツから日本" in text and "第2区間：日本からアメリカ合衆国へ" in text
    assert "GDPR（EU一般データ保護規則）により判断" in text and "個人情報保護法により判断" in text
    for leg in entry["legs"]:
        assert leg["summary_ja"] in text
    assert english_interface_texts(page.get_data(as_text=True)) == []


def text_of_html(html) -> str:
    from html import unescape
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


# --------------------------------------------------------------------------- the auditor's pages


@pytest.fixture
def auditor(app):
    return sign_in(app.test_client(), "auditor")


def test_the_audit_decision_page_shows_a_journeys_legs_in_order(client, app, auditor):
    decide_journey(client, app, **{"onward[0].destination": "CN", "onward[0].recipient.safeguards": []})
    entry = app.extensions["transfer_gate"].log.query(limit=1)[0]
    resp = auditor.get(f"/audit/decisions/{entry['decision_id']}")
    html, text = resp.get_data(as_text=True), text_of(resp)
    assert resp.status_code == 200
    assert text.index("Transfer 1: Germany to Japan") < text.index("Transfer 2: Japan to China")
    legs = re.findall(r'<li class="journey-leg[^"]*" data-leg="(\d)" data-outcome="(\w+)"', html)
    assert legs == [("0", entry["response"]["legs"][0]["outcome"]), ("1", "deny")]
    assert re.search(r'journey-leg--deciding" data-leg="1"', html)
    assert text.count("decides the journey") == 1
    assert "Acme Cloud Inc. (Outsourcee)" in text or "Acme Cloud Inc. (" in text
    for reason in entry["response"]["legs"][1]["deny_reasons"]:
        assert reason["text"] in text
    ja = japanese(auditor).get(f"/audit/decisions/{entry['decision_id']}")
    assert "第2区間：日本から中華人民共和国へ" in text_of(ja) or "第2区間：日本から中国へ" in text_of(ja)
    without_raw_json = re.sub(r'<details class="raw">.*?</details>', "", ja.get_data(as_text=True), flags=re.S)
    assert english_interface_texts(without_raw_json) == []


@pytest.mark.parametrize("regime", ["gdpr", "GDPR"])
def test_the_audit_list_filters_by_regime(client, app, auditor, regime):
    decide_journey(client, app)  # starts in Germany: GDPR
    single = {k: v for k, v in EU_JP_US_FORM.items() if not k.startswith("onward")}
    assert post(client, dict(single, origin="JP", destination="US")).status_code == 303
    logged = app.extensions["transfer_gate"].log.query(limit=10)
    gdpr = [e["decision_id"] for e in logged if e["response"]["regime"] == "GDPR"]
    appi = [e["decision_id"] for e in logged if e["response"]["regime"] == "APPI"]
    assert gdpr and appi
    html = auditor.get(f"/audit?regime={regime}").get_data(as_text=True)
    assert all(i in html for i in gdpr) and not any(i in html for i in appi)
    assert auditor.get("/audit?regime=CCPA").status_code == 422


# The Tokyo parent passes the data on to a US third party with the principals' informed consent:
# APPI 28(1) consent, so the Japanese business keeps a record of that provision (APPI 29 / 31(3)).
ONWARD_WITH_CONSENT = {"onward[0].recipient.name": "US Corp", "onward[0].recipient.relationship": "third_party",
                       "onward[0].recipient.safeguards": [], "onward[0].basis.consent": "informed"}


def test_the_records_register_lists_a_journeys_record_under_the_leg_that_needs_it(client, app, auditor):
    decide_journey(client, app, **ONWARD_WITH_CONSENT)
    entry = app.extensions["transfer_gate"].log.query(limit=1)[0]
    legs = entry["response"]["legs"]
    assert [leg["records"]["required"] for leg in legs] == [False, True], "the record is the onward leg's"
    resp = auditor.get("/audit/records")
    row = re.search(r"<tbody>(.*?)</tbody>", resp.get_data(as_text=True), re.S).group(1)
    assert "United States" in row and "US Corp" in row and "Parent KK" not in row and "Japan" not in row
    rows = list(csv.DictReader(io.StringIO(auditor.get("/audit/records.csv").get_data().decode("utf-8-sig"))))
    assert [(r["Destination"], r["Recipient"], r["Relationship"]) for r in rows] == [
        ("United States (US)", "US Corp", "Third party")]
    assert rows[0]["Record until"] == "2029-" + entry["created_at"][5:10]


def test_the_audit_filters_find_a_journey_by_its_onward_leg_and_the_register_keeps_to_that_country(client, app,
                                                                                                   auditor):
    decide_journey(client, app, **ONWARD_WITH_CONSENT)
    [entry] = app.extensions["transfer_gate"].log.query()

    def listed(query):
        return re.findall(r'href="/audit/decisions/(\w+)"', auditor.get(f"/audit?{query}").get_data(as_text=True))

    assert set(listed("destination=US")) == set(listed("destination=jp")) == {entry["decision_id"]}
    assert listed("destination=SG") == []
    lines = {d: re.search(r"<tbody>(.*?)</tbody>", auditor.get(f"/audit/records?destination={d}").get_data(as_text=True),
                          re.S) for d in ("US", "JP")}
    assert "US Corp" in lines["US"].group(1)
    assert lines["JP"] is None or "US Corp" not in lines["JP"].group(1), "the first leg needs no record"
    rows = {d: list(csv.DictReader(io.StringIO(auditor.get(f"/audit/records.csv?destination={d}").get_data()
                                               .decode("utf-8-sig")))) for d in ("US", "JP")}
    assert [r["Recipient"] for r in rows["US"]] == ["US Corp"] and rows["JP"] == []


def test_the_audit_list_shows_a_journeys_way(client, app, auditor):
    decide_journey(client, app)
    row = re.search(r"<tbody>(.*?)</tbody>", auditor.get("/audit").get_data(as_text=True), re.S).group(1)
    assert "Japan → United States" in re.sub(r"\s+", " ", text_of_html(row))
    row = re.search(r"<tbody>(.*?)</tbody>", japanese(auditor).get("/audit").get_data(as_text=True), re.S).group(1)
    assert "日本 → アメリカ合衆国" in re.sub(r"\s+", " ", text_of_html(row))


# --------------------------------------------------------------------------- country pages


def adequacy_of(html, key) -> tuple[str, str]:
    match = re.search(rf'<dd data-adequacy="{key}" data-status="(\w+)">(.*?)</dd>', html, re.S)
    assert match, f"no {key} on the page"
    return match.group(1), text_of_html(match.group(2))


@pytest.mark.parametrize("prefix", ["", "/audit"])
def test_country_pages_show_eu_and_uk_adequacy_beside_the_appi_designation(client, auditor, prefix):
    viewer = auditor if prefix else client
    html = viewer.get(f"{prefix}/countries/US?as_of=2026-11-27").get_data(as_text=True)
    status, text = adequacy_of(html, "eu_adequacy")
    assert status == "scoped" and "Data Privacy Framework" in text and "2023/1795" in text and "since" in text
    status, text = adequacy_of(html, "uk_adequacy")
    assert status == "scoped" and "UK Extension" in text
    assert "Designated under PPC Rules 15" in html
    status, text = adequacy_of(viewer.get(f"{prefix}/countries/JP?as_of=2026-11-27").get_data(as_text=True), "eu_adequacy")
    assert status == "scoped" and "not academic recipients" in text and "2019/419" in text
    status, text = adequacy_of(viewer.get(f"{prefix}/countries/FR").get_data(as_text=True), "eu_adequacy")
    assert status == "eea" and "not a transfer under the GDPR" in text
    status, text = adequacy_of(viewer.get(f"{prefix}/countries/CN").get_data(as_text=True), "eu_adequacy")
    assert status == "none" and text == "No adequacy decision in force"
    # before the DPF (10 July 2023), the US had no EU adequacy in force
    status, _ = adequacy_of(viewer.get(f"{prefix}/countries/US?as_of=2023-01-01").get_data(as_text=True), "eu_adequacy")
    assert status == "none"


@pytest.mark.parametrize("prefix", ["", "/audit"])
def test_country_pages_say_adequacy_in_japanese(client, auditor, prefix):
    viewer = japanese(auditor if prefix else client)
    html = viewer.get(f"{prefix}/countries/US?as_of=2026-11-27").get_data(as_text=True)
    _, text = adequacy_of(html, "eu_adequacy")
    assert "データプライバシー・フレームワーク" in text and "2023年7月10日施行" in text
    assert "EU・英国からのデータに関する十分性認定" in text_of_html(html)
    assert english_interface_texts(html) == []


# --------------------------------------------------------------------------- the scenario library


def save_journey_as_it_was_decided_differently(app):
    """Save the logged journey as if its US leg had been denied then: the re-run shows the leg's changes."""
    import copy

    from transfer_gate import scenario_library

    entry = app.extensions["transfer_gate"].log.query(limit=1)[0]
    before = copy.deepcopy(entry["response"])
    before["legs"][1].update(outcome="deny", route="none")
    before["decided_by_leg"] = 1
    app.extensions["scenario_library"].save(
        name="HR data via Tokyo to a US host", request=entry["request"], answer=before,
        expect=scenario_library.expectation_for(before, before["outcome"]), decision_id=entry["decision_id"],
        saved_by="env-officer-1", saved_at="2026-11-27T03:01:23Z")


def test_the_re_run_page_says_what_changed_in_each_leg_in_words(client, app):
    decide_journey(client, app)
    save_journey_as_it_was_decided_differently(app)
    resp = client.get("/scenarios/run")
    text = text_of(resp)
    assert "Transfer 2: Japan to United States · Outcome" in text
    assert "Not allowed → Allowed on conditions" in text
    assert "Transfer 2: Japan to United States: Expected “Not allowed”; the answer now is “Allowed on conditions”." in text
    assert "Expected transfer 2 to decide the journey; now transfer 1." in text
    assert "Transfer 2 → transfer 1" in text
    assert "legs[" not in text and "decided_by_leg" not in text
    ja = japanese(client).get("/scenarios/run")
    assert "第2区間：日本からアメリカ合衆国へ" in text_of(ja)
    assert english_interface_texts(ja.get_data(as_text=True)) == []


def test_try_it_on_a_denied_legs_remedy_changes_that_leg_in_the_form(client, app):
    decide_journey(client, app, **{"onward[0].destination": "CN", "onward[0].recipient.safeguards": []})
    entry = app.extensions["transfer_gate"].log.query(limit=1)[0]
    remedy = next(r for r in entry["response"]["remedies"]
                  if any(c["path"].startswith("onward[0].") for c in r.get("apply", [])))
    resp = client.get(f"/?decision={entry['decision_id']}&remedy={remedy['id']}")
    html, text = resp.get_data(as_text=True), text_of(resp)
    assert resp.status_code == 200
    assert "Onward transfer 1:" in text.split("Check the changes below")[1]  # the notice names the leg changed
    change = next(c for c in remedy["apply"] if c["path"].startswith("onward[0]."))
    field = change["path"].removeprefix("onward[0].")
    value = change.get("set", change.get("add"))
    if isinstance(value, bool):
        assert re.search(rf'name="onward\[0\]\.{re.escape(field)}" value="true"[^>]*checked', html) or not value
    else:
        assert re.search(rf'name="onward\[0\]\.{re.escape(field)}"[^>]*value="{re.escape(str(value))}"[^>]*(checked|selected)', html) \
            or re.search(rf'<option value="{re.escape(str(value))}" selected', html)


def test_the_countries_list_has_an_adequacy_column(client):
    def row(html, code):
        return text_of_html(re.search(rf"<tr>\s*<td><code>{code}</code>.*?</tr>", html, re.S).group(0))

    html = client.get("/countries").get_data(as_text=True)
    assert "EU/UK adequacy" in text_of_html(html)
    assert "EU: adequate in part · UK: adequate in part" in row(html, "US")
    assert "EEA" in row(html, "FR") and "EU:" not in row(html, "FR")
    assert "EU:" not in row(html, "CN") and "UK:" not in row(html, "CN")
    ja = japanese(client).get("/countries").get_data(as_text=True)
    assert "EU：一部認定 · 英国：一部認定" in row(ja, "US")
    assert english_interface_texts(ja) == []
