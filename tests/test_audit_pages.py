"""The auditors' pages under /audit: list, detail, exports, chain status, records register, replay."""

import csv
import io
import json
import shutil
from datetime import datetime, timezone
from html import unescape

import pytest

from tests.conftest import PROFILES
from tests.test_api import EXAMPLE, with_
from tests.test_decision_log import tamper
from tests.test_replay import PLAIN_CONSENT_DE, undesignate
from transfer_gate import service

from tests.conftest import SignedInClient


@pytest.fixture(autouse=True)
def _clients_present_credentials(request):
    """These tests are about the log, not about who may use it (tests/test_access.py): clients sign in."""
    if "app" in request.fixturenames:
        request.getfixturevalue("app").test_client_class = SignedInClient

RECORDED = with_(destination="US", recipient__relationship="third_party", recipient__safeguards=[],
                 basis__consent="informed", reference="hr-2026-11")
DENIED = with_(destination="CN", recipient__safeguards=[], recipient__relationship="third_party", reference="=HYPERLINK(1)")


@pytest.fixture
def logged(app):
    rt = app.extensions["transfer_gate"]
    ids = []
    for day, body in [("2026-11-01", EXAMPLE), ("2026-11-02", RECORDED), ("2026-11-03", DENIED),
                      ("2026-11-04", PLAIN_CONSENT_DE)]:
        moment = datetime.fromisoformat(day + "T10:00:00").replace(tzinfo=timezone.utc)
        rt.clock = lambda moment=moment: moment
        ids.append(service.decide(rt, body, caller="app-1", role="app")["decision_id"])
    return ids


def page(client, path, status=200):
    resp = client.get(path)
    assert resp.status_code == status, resp.get_data(as_text=True)[:500]
    return unescape(resp.get_data(as_text=True))


def test_the_log_page_lists_decisions_newest_first_with_links(client, logged):
    html = page(client, "/audit")
    assert "<title>Decision log" in html
    positions = [html.index(i) for i in logged]
    assert positions == sorted(positions, reverse=True)
    assert f'href="/audit/decisions/{logged[0]}"' in html
    assert "until 2029-11-02" in html  # the recorded provision shows its retention end


def test_the_log_page_filters_and_keeps_the_filters_in_its_export_links(client, logged):
    html = page(client, "/audit?outcome=deny&from=2026-11-01")
    assert logged[2] in html and logged[0] not in html and logged[1] not in html
    assert 'href="/audit/export.csv?' in html and "outcome=deny" in html


def test_the_log_page_pages_through_older_decisions(client, logged):
    html = page(client, "/audit?limit=3")
    assert logged[3] in html and logged[1] in html and logged[0] not in html
    older = html.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
    html = page(client, older)
    assert logged[0] in html and logged[3] not in html and 'rel="next"' not in html


def test_a_bad_filter_is_shown_on_the_page_naming_the_field(client, logged):
    html = page(client, "/audit?destination=Germany&outcome=maybe", status=422)
    assert "destination" in html and "outcome" in html and "Some filters are invalid" in html


def test_the_detail_page_shows_request_answer_and_linked_citations(client, logged):
    html = page(client, f"/audit/decisions/{logged[1]}")
    assert f"Decision {logged[1]}" in html and "conditional — route informed_consent" in html
    assert '"consent": "informed"' in html  # the request as logged
    assert "app-1 (app)" in html and "hr-2026-11" in html
    assert 'href="https://laws.e-gov.go.jp/' in html  # citations link to their source
    assert "required, retention P3Y, kept until 2029-11-02" in html
    assert "Record to keep (APPI 29)" in html
    assert page(client, "/audit/decisions/01JD3Q8Z5T6W8Y9C0V1B2N3M4K", status=404)


def test_the_csv_export_has_every_matching_entry_and_defuses_formulas(client, logged):
    resp = client.get("/audit/export.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert [r["decision_id"] for r in table] == logged
    denied = table[2]
    assert denied["reference"] == "'=HYPERLINK(1)" and denied["outcome"] == "deny"
    assert json.loads(table[1]["request"])["basis"]["consent"] == "informed"
    assert table[1]["retention_until"] == "2029-11-02" and table[1]["records_required"] == "true"
    only_de = list(csv.DictReader(io.StringIO(client.get("/audit/export.csv?destination=DE").get_data(as_text=True))))
    assert [r["decision_id"] for r in only_de] == [logged[3]]


def test_the_jsonl_export_holds_the_entries_as_logged(client, app, logged):
    resp = client.get("/audit/export.jsonl?from=2026-11-02&to=2026-11-03")
    assert resp.status_code == 200
    lines = [json.loads(line) for line in resp.get_data(as_text=True).splitlines()]
    assert [e["decision_id"] for e in lines] == logged[1:3]
    assert lines[0] == app.extensions["transfer_gate"].log.get(logged[1])


def test_the_chain_page_reports_intact_and_then_the_first_bad_entry(client, app, logged):
    html = page(client, "/audit/chain")
    assert "Intact." in html and "4 entries checked" in html
    tamper(app.config["DATABASE_URL"], "UPDATE decision_log SET outcome = 'allow' WHERE seq = 3")
    html = page(client, "/audit/chain")
    assert "NOT intact." in html and "First bad entry: 3" in html and logged[2] in html and "altered" in html


def test_the_records_register_lists_each_provision_that_needs_a_record(client, logged):
    html = page(client, "/audit/records")
    assert "Records register (APPI 29)" in html
    assert logged[1] in html and logged[3] in html  # informed consent to the US; plain consent to DE
    assert logged[0] not in html and logged[2] not in html
    assert "2029-11-02" in html and "2029-11-04" in html
    resp = client.get("/audit/records.csv?destination=US")
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert [r["decision_id"] for r in rows] == [logged[1]]
    assert rows[0]["retention_until"] == "2029-11-02" and rows[0]["kept"] == "true" and rows[0]["items"]


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
    assert flipped in html and "outcome conditional → deny" in html and "conditional → deny" in html
