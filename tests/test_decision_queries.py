"""GET /v1/decisions and /v1/decisions/<id>: the auditors' query API, on both stores."""

from datetime import datetime, timezone

import pytest
import yaml

from tests.test_api import with_
from transfer_gate import service
from transfer_gate.web import api

from tests.conftest import SignedInClient


@pytest.fixture(autouse=True)
def _clients_present_credentials(request):
    """These tests are about the log, not about who may use it (tests/test_access.py): clients sign in."""
    if "app" in request.fixturenames:
        request.getfixturevalue("app").test_client_class = SignedInClient

DENIED = with_(destination="CN", recipient__safeguards=[], recipient__relationship="third_party")
DESIGNATED = with_(destination="DE")
RECORDED = with_(recipient__relationship="third_party", recipient__safeguards=[], basis__consent="informed")

# (when, caller, body)
HISTORY = [
    ("2026-11-01T09:00:00", "crm", DESIGNATED),
    ("2026-11-01T23:59:59", "crm", DENIED),
    ("2026-11-02T00:00:00", "hr", RECORDED),
    ("2026-11-15T12:00:00", "hr", with_(reference="payroll-7")),
    ("2026-12-01T08:30:00", "crm", with_(destination="DE", reference="crm-export-4712")),
]


@pytest.fixture
def logged(store_app):
    """Log HISTORY through the service at the given times; return the decision ids in order."""
    rt = store_app.extensions["transfer_gate"]
    ids = []
    for when, who, body in HISTORY:
        moment = datetime.fromisoformat(when).replace(tzinfo=timezone.utc)
        rt.clock = lambda moment=moment: moment
        ids.append(service.decide(rt, body, caller=who, role="app")["decision_id"])
    return ids


def listed(client, query=""):
    resp = client.get(f"/v1/decisions{query}")
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def ids_of(page):
    return [d["decision_id"] for d in page["decisions"]]


def test_the_log_is_listed_newest_first_with_full_entries(store_app, logged):
    page = listed(store_app.test_client())
    assert ids_of(page) == logged[::-1] and page["next_cursor"] is None
    newest = page["decisions"][0]
    assert newest["request"]["reference"] == "crm-export-4712" and newest["response"]["decision_id"] == logged[-1]
    assert newest["hash"] and newest["prev_hash"] == page["decisions"][1]["hash"]


@pytest.mark.parametrize("query,expected", [
    ("?outcome=deny", [1]),
    ("?destination=DE", [0, 4]),
    ("?route=designated_country", [0, 4]),
    ("?reference=payroll-7", [3]),
    ("?caller=hr", [2, 3]),
    ("?records=required", [2]),
    ("?from=2026-11-02", [2, 3, 4]),
    ("?to=2026-11-01", [0, 1]),
    ("?from=2026-11-01T10:00:00Z&to=2026-11-15T12:00:00Z", [1, 2, 3]),
    ("?from=2026-11-02T08:59:59%2B09:00", [1, 2, 3, 4]),  # = 2026-11-01T23:59:59Z, inclusive
    ("?caller=crm&destination=DE&to=2026-11-30", [0]),
    ("?outcome=allow", []),
    ("?regime=APPI&outcome=deny", [1]),
    ("?regime=GDPR", []),
])
def test_filters_select_exactly_the_matching_decisions(store_app, logged, query, expected):
    page = listed(store_app.test_client(), query + "&order=asc" if "?" in query else "?order=asc")
    assert ids_of(page) == [logged[i] for i in expected]


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_keyset_pages_cover_every_decision_once_in_order(store_app, logged, order):
    client = store_app.test_client()
    seen, cursor, pages = [], None, 0
    while True:
        page = listed(client, f"?limit=2&order={order}" + (f"&cursor={cursor}" if cursor else ""))
        seen += ids_of(page)
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == (logged if order == "asc" else logged[::-1])


def test_a_later_append_does_not_disturb_a_page_already_started(store_app, logged):
    client = store_app.test_client()
    first = listed(client, "?limit=2")
    store_app.test_client().post("/v1/decisions", json=DESIGNATED)
    second = listed(client, f"?limit=2&cursor={first['next_cursor']}")
    assert ids_of(first) + ids_of(second) == [logged[4], logged[3], logged[2], logged[1]]


@pytest.mark.parametrize("query,fields", [
    ("?outcome=maybe", ["outcome"]),
    ("?destination=XX", ["destination"]),
    ("?from=yesterday", ["from"]),
    ("?to=2026-11-01T10:00:00", ["to"]),
    ("?from=2026-12-01&to=2026-11-01", ["to"]),
    ("?limit=0", ["limit"]),
    ("?limit=5000", ["limit"]),
    ("?cursor=abc", ["cursor"]),
    ("?order=sideways", ["order"]),
    ("?regime=EU", ["regime"]),
    ("?purpose=audit", ["purpose"]),
    ("?outcome=maybe&limit=x&destination=usa", ["outcome", "limit", "destination"]),
])
def test_bad_filters_get_a_problem_naming_each(store_app, query, fields):
    resp = store_app.test_client().get(f"/v1/decisions{query}")
    assert resp.status_code == 422 and resp.mimetype == "application/problem+json"
    assert sorted(resp.get_json()["errors"]) == sorted(fields)


def test_one_decision_is_returned_with_its_request(store_app, logged):
    client = store_app.test_client()
    entry = client.get(f"/v1/decisions/{logged[2]}").get_json()
    assert entry["decision_id"] == logged[2] and entry["caller"] == "hr" and entry["caller_role"] == "app"
    assert entry["request"]["basis"]["consent"] == "informed"
    assert entry["records_required"] is True and entry["retention_until"] == "2029-11-02"
    resp = client.get("/v1/decisions/01JD3Q8Z5T6W8Y9C0V1B2N3M4K")
    assert resp.status_code == 404 and resp.mimetype == "application/problem+json"


def test_the_query_views_carry_an_openapi_description():
    for view in (api.get_decision, api.list_decisions):
        spec = yaml.safe_load(view.__doc__.split("---", 1)[1])
        responses = spec["get"]["responses"]
        assert 200 in responses and (404 in responses or 422 in responses)
        assert all(p["in"] in ("path", "query") for p in spec["get"]["parameters"])


@pytest.mark.parametrize("query", ["?outcome=", "?destination=", "?limit="])
def test_an_empty_filter_value_in_the_api_is_a_422_naming_it(app, query):
    resp = app.test_client().get(f"/v1/decisions{query}")
    assert resp.status_code == 422 and list(resp.get_json()["errors"]) == [query[1:-1]]


# --- inputs at the edges of the types: never a 5xx ------------------------------------------------------

@pytest.mark.parametrize("query,fields", [
    (f"?cursor={2**63}", ["cursor"]),
    (f"?cursor={10**30}", ["cursor"]),
    ("?reference=a%00b", ["reference"]),
    ("?caller=crm%00", ["caller"]),
])
def test_values_the_store_cannot_compare_are_a_422_on_both_stores(store_app, query, fields):
    resp = store_app.test_client().get(f"/v1/decisions{query}")
    assert resp.status_code == 422, resp.get_json()
    assert sorted(resp.get_json()["errors"]) == fields


def test_the_largest_cursor_is_an_empty_page_in_the_right_direction(store_app, logged):
    client = store_app.test_client()
    assert listed(client, f"?cursor={2**63 - 1}&order=asc") == {"decisions": [], "next_cursor": None}
    assert len(listed(client, f"?cursor={2**63 - 1}")["decisions"]) == len(logged)


@pytest.mark.parametrize("query,expected", [
    ("?to=9999-12-31", [4, 3, 2, 1, 0]),
    ("?from=0001-01-01T00:00:00%2B14:00", [4, 3, 2, 1, 0]),
    ("?from=0001-01-01&to=9999-12-31T23:59:59.999999-14:00", [4, 3, 2, 1, 0]),
    ("?from=9999-12-31", []),
    ("?to=0001-01-01", []),
    ("?from=2026-11-02&to=9999-12-31T23:59:59Z", [4, 3, 2]),
])
def test_dates_at_the_ends_of_the_calendar_are_bounds_not_errors(store_app, logged, query, expected):
    assert ids_of(listed(store_app.test_client(), query)) == [logged[i] for i in expected]


@pytest.mark.parametrize("path", ["/audit?to=9999-12-31", "/audit?from=0001-01-01T00:00:00%2B14:00",
                                  "/audit/export.csv?to=9999-12-31", "/audit/export.jsonl?from=0001-01-01T00:00:00%2B14:00",
                                  "/audit/records?to=9999-12-31", "/audit/records.csv?from=0001-01-01T00:00:00%2B14:00",
                                  "/audit?reference=a%00b", "/audit/records?caller=x%00"])
def test_the_auditor_pages_and_exports_take_the_same_edges_without_a_5xx(store_app, logged, path):
    resp = store_app.test_client().get(path)
    assert resp.status_code in (200, 422), resp.status_code
    if "%00" not in path:
        assert resp.status_code == 200


@pytest.mark.parametrize("decision_id", ["01JD3Q8Z5T6W8Y9C0V1B2N3M4%00", "batch", "x" * 26, "%00" * 26])
def test_a_decision_id_that_cannot_be_one_is_404_on_both_stores(store_app, decision_id):
    assert store_app.test_client().get(f"/v1/decisions/{decision_id}").status_code == 404 if decision_id != "batch" \
        else store_app.test_client().get("/v1/decisions/batch").status_code == 405
    assert store_app.test_client().get(f"/audit/decisions/{decision_id}").status_code == 404


@pytest.mark.parametrize("path", ["/decisions/%00abc", "/decisions/" + "%00" * 26, f"/scenarios/{2**63}/export.yaml",
                                  f"/scenarios/{10**30}/export.yaml"])
def test_officer_pages_answer_404_for_ids_no_store_can_hold(store_app, path):
    assert store_app.test_client().get(path).status_code == 404
