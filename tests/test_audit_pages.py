"""The auditors' pages under /audit: overview, log, search, a decision, exports, register, chain, replay."""

import csv
import io
import json
import re
import shutil
from datetime import datetime, timezone
from html import unescape

import pytest

from flask.testing import FlaskClient

from tests.conftest import PROFILES, SignedInClient, sign_in
from tests.test_api import EXAMPLE, with_
from tests.test_decision_log import tamper
from tests.test_replay import PLAIN_CONSENT_DE, undesignate
from transfer_gate import service


@pytest.fixture(autouse=True)
def _clients_present_credentials(request):
    """These tests are about the log, not about who may use it (tests/test_access.py): clients sign in."""
    if "app" in request.fixturenames:
        request.getfixturevalue("app").test_client_class = SignedInClient


RECORDED = with_(destination="US", recipient__relationship="third_party", recipient__safeguards=[],
                 basis__consent="informed", reference="HR-2026-11")
DENIED = with_(destination="CN", recipient__safeguards=[], recipient__relationship="third_party", reference="=HYPERLINK(1)")
# Logged at 10:00 UTC, 19:00 in Tokyo: the same day in both.
DAYS = ["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04"]


def log_at(app, moment: str, body) -> str:
    rt = app.extensions["transfer_gate"]
    at = datetime.fromisoformat(moment).astimezone(timezone.utc)
    rt.clock = lambda: at
    return service.decide(rt, body, caller="app-1", role="app")["decision_id"]


@pytest.fixture
def logged(app):
    return [log_at(app, f"{day}T10:00:00+00:00", body)
            for day, body in zip(DAYS, [EXAMPLE, RECORDED, DENIED, PLAIN_CONSENT_DE])]


def page(client, path, status=200):
    resp = client.get(path)
    assert resp.status_code == status, resp.get_data(as_text=True)[:500]
    return unescape(resp.get_data(as_text=True))


def visible(html: str) -> str:
    """The page's main content without tags and without the raw JSON kept behind a disclosure."""
    main = html.split('<main', 1)[1].split('</main>', 1)[0]
    main = re.sub(r'<details class="raw">.*?</details>', "", main, flags=re.S)
    main = re.sub(r"<(select|form)\b.*?</\1>", "", main, flags=re.S)
    return re.sub(r"<[^>]+>", " ", main).replace("\u202f", " ")  # CLDR puts a narrow space before PM


def read_csv(resp):
    body = resp.get_data()
    assert body.startswith("\ufeff".encode("utf-8")), body[:20]  # Excel reads the BOM as UTF-8
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


# --------------------------------------------------------------------------- the log


def test_the_log_page_lists_decisions_newest_first_with_readable_labels(client, logged):
    html = page(client, "/audit")
    assert "<title>Decision log" in html and 'href="/static/audit.css"' in html
    positions = [html.index(f'/audit/decisions/{i}"') for i in logged]
    assert positions == sorted(positions, reverse=True)
    text = visible(html)
    assert "4 decisions match" in text
    assert "Allowed on conditions" in text and "Not allowed" in text and "United States" in text and "China" in text
    assert "Recipient system — contract or group rules (PPC Rules 16(i))" in text  # the route's title
    assert "No lawful route" in text
    for code in ("equivalent_measures", "informed_consent", "conditional", "P3Y", "T10:00:00"):
        assert code not in text, code
    assert "Nov 1, 2026, 7:00:00 PM" in text and "Decided at (Asia/Tokyo)" in text  # local time by default
    assert "November 2, 2029" in text  # the recorded provision's retention end, in words


def test_the_log_page_shows_times_in_the_configured_zone(make_app, tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'utc.sqlite3'}", TIMEZONE="UTC")
    app.test_client_class = SignedInClient
    log_at(app, "2026-11-01T10:00:00+00:00", EXAMPLE)
    assert "Nov 1, 2026, 10:00:00 AM" in visible(page(app.test_client(), "/audit"))


def test_the_log_page_filters_and_keeps_the_filters_in_its_export_links(client, logged):
    html = page(client, "/audit?outcome=deny&from=2026-11-01")
    assert logged[2] in html and logged[0] not in html and logged[1] not in html
    assert 'href="/audit/export.csv?' in html and "outcome=deny" in html
    html = page(client, "/audit?destination=de&route=designated_country")
    assert [i for i in logged if i in html] == [logged[3]]
    html = page(client, "/audit?records=required")
    assert [i for i in logged if i in html] == [logged[1], logged[3]]
    html = page(client, "/audit?regime=appi&caller=app-1")
    assert all(i in html for i in logged)


def test_dates_typed_on_the_page_are_local_days(client, app, logged):
    # 2026-11-04T16:30Z is 2026-11-05 01:30 in Tokyo: a decision of the 5th there, not of the 4th.
    late = log_at(app, "2026-11-04T16:30:00+00:00", EXAMPLE)
    html = page(client, "/audit?from=2026-11-05&to=2026-11-05")
    assert late in html and logged[3] not in html
    html = page(client, "/audit?from=2026-11-04&to=2026-11-04")
    assert logged[3] in html and late not in html


def test_the_reference_search_matches_any_part_in_any_case(client, app, logged):
    html = page(client, "/audit?reference=hr-2026")
    assert [i for i in logged if i in html] == [logged[1]]
    html = page(client, "/audit?reference=HYPER")
    assert [i for i in logged if i in html] == [logged[2]]
    html = page(client, "/audit?reference=%25")  # a LIKE wildcard is a plain character here
    assert not [i for i in logged if i in html] and "No logged decision matches" in html
    assert "Any part of a reference, in any case." in html


def test_a_hashed_reference_is_found_only_by_the_whole_value_and_the_page_says_so(make_app, tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'masked.sqlite3'}", LOG_MASK="reference", LOG_MASK_MODE="hash")
    app.test_client_class = SignedInClient
    decision_id = log_at(app, "2026-11-02T10:00:00+00:00", RECORDED)
    client = app.test_client()
    html = page(client, "/audit?reference=HR-2026-11")
    assert decision_id in html
    html = page(client, "/audit?reference=HR-2026")
    assert decision_id not in html
    assert "a reference is found only when you type the whole of it, exactly" in html


def test_the_log_page_pages_through_older_decisions(client, logged):
    html = page(client, "/audit?limit=3")
    assert logged[3] in html and logged[1] in html and logged[0] not in html
    older = html.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
    assert "limit=3" in older
    html = page(client, older)
    assert logged[0] in html and logged[3] not in html and 'rel="next"' not in html
    assert "First page" in html and "4 decisions match" in html


def test_a_bad_filter_is_shown_on_the_page_naming_the_field(client, logged):
    html = page(client, "/audit?destination=Germany&outcome=maybe&regime=hipaa", status=422)
    assert "Some filters are invalid" in html
    assert 'href="#filter-destination"' in html and 'href="#filter-outcome"' in html and 'href="#filter-regime"' in html
    assert "Choose a destination from the list." in html
    html = page(client, "/audit?cursor=16126347789617053302784", status=422)
    assert "That page does not exist; start again from the first page." in html
    assert page(client, "/audit/records?cursor=-1", status=422)


# --------------------------------------------------------------------------- finding one decision


def test_the_jump_box_goes_to_a_decision_by_id_in_any_case_or_by_number(client, logged):
    resp = client.get(f"/audit/jump?id={logged[1].lower()}")
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/audit/decisions/{logged[1]}")
    resp = client.get("/audit/jump?id=3")
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/audit/decisions/{logged[2]}")
    html = page(client, "/audit/jump?id=99", status=404)
    assert "No logged decision has the id or number “99”." in html and 'class="audit-nav"' in html
    assert page(client, "/audit/jump?id=not-an-id", status=404)
    assert page(client, "/audit/jump?id=16126347789617053302784", status=404)  # beyond any store's integers


def test_the_decision_page_reads_as_labels_and_keeps_the_json_behind_a_disclosure(client, logged):
    html = page(client, f"/audit/decisions/{logged[1]}")
    text = visible(html)
    assert "Decision No. 2" in text and "Allowed on conditions" in text
    assert "Informed consent (APPI 28(1), (2))" in text  # the route's title, not informed_consent
    assert "app-1 (app)" in text and "HR-2026-11" in text and "United States" in text and "Japan" in text
    assert "Required: keep it for 3 years, until November 2, 2029." in text
    assert "Items the record must hold" in text
    assert 'href="https://laws.e-gov.go.jp/' in html  # citations link to their source
    for internal in ("informed_consent", "recipient.handles_data", '"consent"', "P3Y", "third_party"):
        assert internal not in text, internal
    raw = html.split('<details class="raw">', 1)[1]
    assert '"consent": "informed"' in raw  # the request as logged, for auditors who want it


def test_a_decision_links_its_neighbours_in_the_chain(client, logged):
    html = page(client, f"/audit/decisions/{logged[1]}")
    assert re.search(rf'href="/audit/decisions/{logged[0]}" rel="prev"', html)
    assert re.search(rf'href="/audit/decisions/{logged[2]}" rel="next"', html)
    first = page(client, f"/audit/decisions/{logged[0]}")
    assert 'rel="prev"' not in first and "First decision in the log" in first
    last = page(client, f"/audit/decisions/{logged[3]}")
    assert 'rel="next"' not in last and "Latest decision in the log" in last


def test_a_decision_links_the_country_profile_as_of_its_date_which_an_auditor_may_open(client, logged):
    html = page(client, f"/audit/decisions/{logged[3]}")
    assert 'href="/audit/countries/DE?as_of=2026-11-27"' in html
    profile = page(client, "/audit/countries/DE?as_of=2026-11-27")
    assert "Germany" in profile and "Designated under PPC Rules 15" in profile
    assert "The country profile as in force on November 27, 2026." in profile
    assert "last reviewed too long before this date" not in profile
    assert "last reviewed too long before this date" in page(client, "/audit/countries/DE?as_of=2029-01-01")
    assert page(client, "/audit/countries/DE?as_of=yesterday", status=422)
    assert "No country profile has the code" in page(client, "/audit/countries/QQ", status=404)


def test_the_auditor_country_view_is_for_auditors_only(app):
    def browser(role):
        return sign_in(FlaskClient(app, app.response_class, use_cookies=True), role, api_too=False)

    assert browser("officer").get("/audit/countries/US").status_code == 403
    auditor = browser("auditor")
    assert auditor.get("/audit/countries/US").status_code == 200


def test_unknown_decisions_and_pages_get_the_styled_404(client, logged):
    html = page(client, "/audit/decisions/01JD3Q8Z5T6W8Y9C0V1B2N3M4K", status=404)
    assert "No logged decision has the id “01JD3Q8Z5T6W8Y9C0V1B2N3M4K”." in html
    assert 'class="audit-nav"' in html and 'href="/static/audit.css"' in html
    html = page(client, "/audit/no/such/page", status=404)
    assert "There is no page at this address." in html and 'class="audit-nav"' in html


# --------------------------------------------------------------------------- exports


def test_the_csv_export_opens_in_a_spreadsheet_with_readable_columns(client, logged):
    resp = client.get("/audit/export.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    table = read_csv(resp)
    assert list(table[0]) == ["Date (Asia/Tokyo)", "Caller", "Reference", "Origin", "Destination", "Data categories",
                              "Outcome", "Route", "Regime", "Condition ids", "Citations", "Record until",
                              "Decision id", "Chain position", "Hash", "Request (JSON)", "Answer (JSON)"]
    assert [r["Decision id"] for r in table] == logged
    recorded = table[1]
    assert recorded["Date (Asia/Tokyo)"] == "2026-11-02 19:00:00"
    assert recorded["Caller"] == "app-1 (app)" and recorded["Reference"] == "HR-2026-11"
    assert recorded["Origin"] == "Japan (JP)" and recorded["Destination"] == "United States (US)"
    assert recorded["Data categories"] == "Personal data; Medical history"
    assert recorded["Outcome"] == "Allowed on conditions" and recorded["Route"] == "Informed consent (APPI 28(1), (2))"
    assert recorded["Regime"] == "APPI" and recorded["Record until"] == "2029-11-02"
    assert "APPI 28(1)" in recorded["Citations"].split("; ")
    assert json.loads(recorded["Request (JSON)"])["basis"]["consent"] == "informed"
    assert json.loads(recorded["Answer (JSON)"])["route"] == "informed_consent"
    denied = table[2]
    assert denied["Reference"] == "'=HYPERLINK(1)" and denied["Outcome"] == "Not allowed"  # no formula runs
    assert denied["Route"] == "No lawful route" and denied["Record until"] == ""
    only_de = read_csv(client.get("/audit/export.csv?destination=DE"))
    assert [r["Decision id"] for r in only_de] == [logged[3]]
    assert [r["Decision id"] for r in read_csv(client.get("/audit/export.csv?reference=hr-"))] == [logged[1]]


def test_a_bad_filter_refuses_the_export_with_a_page(client, logged):
    html = page(client, "/audit/export.csv?outcome=maybe", status=422)
    assert "Choose an outcome from the list." in html


def test_the_jsonl_export_holds_the_entries_as_logged(client, app, logged):
    resp = client.get("/audit/export.jsonl?from=2026-11-02&to=2026-11-03")
    assert resp.status_code == 200
    lines = [json.loads(line) for line in resp.get_data(as_text=True).splitlines()]
    assert [e["decision_id"] for e in lines] == logged[1:3]
    assert lines[0] == app.extensions["transfer_gate"].log.get(logged[1])


# --------------------------------------------------------------------------- chain, register, replay


def test_the_chain_page_reports_intact_and_then_the_first_bad_entry(client, app, logged):
    html = page(client, "/audit/chain")
    assert "Intact." in html and "4 entries checked" in html
    tamper(app.config["DATABASE_URL"], "UPDATE decision_log SET outcome = 'allow' WHERE seq = 3")
    html = page(client, "/audit/chain")
    assert "NOT intact." in html and "First bad entry: 3" in html and logged[2] in html and "altered" in html


def test_the_records_register_lists_each_provision_that_needs_a_record(client, logged):
    html = page(client, "/audit/records")
    assert "<title>Records register" in html
    assert logged[1] in html and logged[3] in html  # informed consent to the US; plain consent to DE
    assert logged[0] not in html and logged[2] not in html
    text = visible(html)
    assert "November 2, 2029" in text and "November 4, 2029" in text and "3 years" in text and "Third party" in text
    assert "2 provisions need a record" in text
    assert [i for i in logged if i in page(client, "/audit/records?reference=hr")] == [logged[1]]


def test_the_records_register_is_paginated(client, logged):
    html = page(client, "/audit/records?limit=1")
    assert logged[1] in html and logged[3] not in html
    later = html.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
    html = page(client, later)
    assert logged[3] in html and logged[1] not in html and 'rel="next"' not in html


def test_the_records_register_csv_has_a_bom_and_readable_columns(client, logged):
    rows = read_csv(client.get("/audit/records.csv?destination=US"))
    assert list(rows[0]) == ["Provided on", "Decision id", "Reference", "Destination", "Recipient", "Relationship",
                             "Data categories", "Items to record", "Citations", "Retention", "Record until",
                             "Still to be kept"]
    assert [r["Decision id"] for r in rows] == [logged[1]]
    row = rows[0]
    assert row["Record until"] == "2029-11-02" and row["Still to be kept"] == "yes" and row["Items to record"]
    assert row["Destination"] == "United States (US)" and row["Relationship"] == "Third party"
    assert row["Retention"] == "3 years" and row["Provided on"] == "2026-11-02"


def test_the_replay_page_without_a_candidate_replays_under_the_current_rules(client, logged):
    html = page(client, "/audit/replay")
    assert "No candidate is staged" in html
    html = page(client, "/audit/replay?under=current")
    assert "4 logged decisions replayed" in html and "would change" in html
    assert page(client, "/audit/replay?under=candidate", status=422)


def test_the_replay_page_shows_the_flips_under_a_staged_candidate(make_app, tmp_path):
    candidate = tmp_path / "candidate-profiles"
    shutil.copytree(PROFILES, candidate)
    undesignate(candidate, "DE")
    app = make_app(f"sqlite:///{tmp_path / 'replay.sqlite3'}", CANDIDATE_PROFILES_DIR=str(candidate))
    client = app.test_client()
    flipped = client.post("/v1/decisions", json=PLAIN_CONSENT_DE).get_json()["decision_id"]
    client.post("/v1/decisions", json=EXAMPLE)
    html = page(client, "/audit/replay?under=candidate")
    assert str(candidate) in html
    assert "2 logged decisions replayed" in html and "<strong>1</strong> would change" in html
    assert flipped in html
    assert re.search(r"badge--conditional\">Allowed on conditions</span> → <span class=\"badge badge--deny\">Not allowed",
                     html)
    assert "Allowed on conditions → Not allowed" in visible(html)


# --------------------------------------------------------------------------- overview


def overview_table(html: str, dimension: str) -> dict[str, dict[str, str]]:
    """The table equivalent of one chart: {period: {series: count}}."""
    figure = html.split(f'id="chart-{dimension}-title"', 1)[1].split("</figure>", 1)[0]
    table = figure.split("<table", 1)[1]
    heads = re.findall(r'<th scope="col">([^<]*)</th>', table)
    rows = {}
    for th, cells in re.findall(r'<tr><th scope="row">([^<]*)</th>(.*?)</tr>', table, flags=re.S):
        rows[th] = dict(zip(heads[1:], re.findall(r"<td>(\d+)</td>", cells)))
    return rows


def test_the_overview_counts_by_outcome_destination_route_and_regime(client, logged):
    html = page(client, "/audit/overview?from=2026-11-01&to=2026-11-04")
    assert "4 decisions from November 1, 2026 to November 4, 2026, counted per day in Asia/Tokyo time." in visible(html)
    outcome = overview_table(html, "outcome")
    assert outcome["Total"] == {"Allowed on conditions": "3", "Not allowed": "1", "Total": "4"}
    assert outcome["Nov 3, 2026"] == {"Allowed on conditions": "0", "Not allowed": "1", "Total": "1"}
    destination = overview_table(html, "destination")
    assert destination["Total"] == {"United States": "2", "China": "1", "Germany": "1", "Total": "4"}
    route = overview_table(html, "route")
    assert route["Total"]["No lawful route"] == "1" and route["Total"]["Total"] == "4"
    assert overview_table(html, "ruleset_name")["Total"] == {"APPI": "4", "Total": "4"}
    # each chart is an SVG with a title and a description, drawn without inline styles
    assert html.count('<svg class="chart__svg"') == 4 and html.count("<desc id=") == 4
    assert 'style="' not in html and "<style" not in html and "<script" not in html
    assert html.count('<rect class="fill-deny" x=') == 1


def test_the_overview_counts_per_week_and_filters(client, logged):
    html = page(client, "/audit/overview?from=2026-11-01&to=2026-11-30&by=week&destination=US")
    outcome = overview_table(html, "outcome")
    assert outcome["Total"] == {"Allowed on conditions": "2", "Total": "2"}
    assert "week of Oct 26, 2026" in outcome and "week of Nov 30, 2026" in outcome
    assert page(client, "/audit/overview?by=month", status=422)
    html = page(client, "/audit/overview?from=2020-01-01&to=2026-11-30", status=422)
    assert "Choose a range of at most three years." in html and "<svg" not in html


def test_the_overview_counts_a_journey_under_each_country_it_sends_data_to(client, app):
    journey = {"origin": "DE", "destination": "JP", "data_categories": ["personal_data"],
               "recipient": {"relationship": "third_party"}, "as_of": "2026-11-27",
               "onward": [{"destination": "US", "recipient": {"relationship": "outsourcee",
                                                              "safeguards": ["contract_measures"]}}]}
    log_at(app, "2026-11-05T10:00:00+00:00", journey)
    log_at(app, "2026-11-06T10:00:00+00:00", EXAMPLE)  # to the US
    html = page(client, "/audit/overview?from=2026-11-01&to=2026-11-30")
    assert overview_table(html, "outcome")["Total"]["Total"] == "2"
    assert overview_table(html, "destination")["Total"] == {"United States": "2", "Japan": "1", "Total": "3"}
    assert "A journey is counted under each country it sends data to" in visible(html)
    html = page(client, "/audit/overview?from=2026-11-01&to=2026-11-30&destination=US")
    assert overview_table(html, "outcome")["Total"]["Total"] == "2", "the journey reaches the US on its second leg"
    client.set_cookie("lang", "ja")
    japanese = page(client, "/audit/overview?from=2026-11-01&to=2026-11-30")
    assert "データを提供する国ごとに数えています" in visible(japanese) and "A journey is counted" not in visible(japanese)


def test_the_overview_defaults_to_the_last_thirty_days(client, app):
    log_at(app, "2026-10-01T10:00:00+00:00", EXAMPLE)  # long before the range
    log_at(app, datetime.now(timezone.utc).isoformat(), EXAMPLE)
    html = page(client, "/audit/overview")
    assert "1 decision from" in visible(html)


def test_routes_are_named_in_the_regime_that_decided(client, app):
    to_japan = {"destination": "JP", "data_categories": ["personal_data"], "recipient": {"relationship": "third_party"},
                "as_of": "2026-11-27"}
    eu = log_at(app, "2026-11-05T10:00:00+00:00", dict(to_japan, origin="DE"))
    uk = log_at(app, "2026-11-06T10:00:00+00:00", dict(to_japan, origin="GB"))
    text = visible(page(client, "/audit"))
    assert "Adequacy decision (GDPR 45)" in text and "Adequacy regulations (UK GDPR 45" in text
    table = read_csv(client.get("/audit/export.csv"))
    assert [(r["Decision id"], r["Regime"]) for r in table] == [(eu, "GDPR"), (uk, "UK GDPR")]
    assert table[0]["Route"] == "Adequacy decision (GDPR 45)" and table[1]["Route"].startswith("Adequacy regulations")
    routes = overview_table(page(client, "/audit/overview?from=2026-11-01&to=2026-11-30"), "route")["Total"]
    assert routes["Adequacy decision (GDPR 45)"] == "1" and routes["Total"] == "2"
    regimes = overview_table(page(client, "/audit/overview?from=2026-11-01&to=2026-11-30"), "ruleset_name")["Total"]
    assert regimes == {"GDPR": "1", "UK GDPR": "1", "Total": "2"}
