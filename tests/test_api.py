"""The v1 JSON API: answers, problem documents naming every bad field, fail-closed logging."""

import json
import sqlite3

import pytest

from tests.conftest import API_KEYS, bearer
from transfer_gate.errors import EngineFailure

EXAMPLE = {
    "origin": "JP",
    "destination": "US",
    "data_categories": ["personal_data", "special_care.medical_history"],
    "data_origin": None,
    "recipient": {
        "name": "Acme Cloud Inc.",
        "relationship": "outsourcee",
        "safeguards": ["contract_measures"],
        "handles_data": True,
        "links_to_individuals": False,
        "academic_institution": False,
    },
    "basis": {"consent": "none", "exception": None, "opt_out": False, "public_announcement": False},
    "as_of": "2026-11-27",
    "reference": "crm-export-4711",
}


def logged(app):
    log = app.extensions["transfer_gate"].log
    return log.query(limit=10_000)


def test_the_contract_example_gets_a_cited_conditional_decision(client, app):
    resp = client.post("/v1/decisions", json=EXAMPLE)
    assert resp.status_code == 200
    body = resp.get_json()
    assert len(body["decision_id"]) == 26
    assert body["outcome"] == "conditional"
    assert body["regime"] == "APPI"
    assert body["route"] == "equivalent_measures"
    check = next(c for c in body["conditions"] if c["id"] == "appi.28-3.periodic-check")
    assert check["recheck_within_days"] == 365
    assert check["citations"] == ["APPI 28(3)", "PPC Rules 18(1)(i)"]
    assert check["text_ja"]
    cited = {c["ref"]: c for c in body["citations"]}
    assert cited["APPI 28(1)"]["title_ja"] == "外国にある第三者への提供の制限"
    assert cited["APPI 28(1)"]["url"].startswith("https://laws.e-gov.go.jp/")
    assert {p["route"]: p["status"] for p in body["paths"]}["designated_country"] == "unsatisfied"
    assert body["records"] == {"required": False, "retention": None, "items": [], "items_ja": [], "citations": []}
    assert body["ruleset"]["name"] == "appi" and body["ruleset"]["digest"].startswith("sha256:")
    assert body["country_profile"]["code"] == "US" and body["country_profile"]["digest"].startswith("sha256:")
    assert body["evaluated_at"].endswith("Z")
    assert [t["rule"] for t in body["trace"]][0].startswith("appi.")


def test_a_returned_decision_is_in_the_log_with_its_digests(client, client_for, app):
    body = client.post("/v1/decisions", json=EXAMPLE).get_json()
    entry = app.extensions["transfer_gate"].log.get(body["decision_id"])
    assert entry["response"] == body
    assert entry["ruleset_digest"] == body["ruleset"]["digest"]
    assert entry["profile_digest"] == body["country_profile"]["digest"]
    assert entry["reference"] == "crm-export-4711"
    assert entry["request"]["recipient"]["relationship"] == "outsourcee"
    assert entry["caller"] == "env-app-1" and entry["caller_role"] == "app"
    auditor = client_for("auditor")
    assert auditor.get(f"/v1/decisions/{body['decision_id']}").get_json()["decision_id"] == body["decision_id"]


def with_(**changes):
    body = json.loads(json.dumps(EXAMPLE))
    for path, value in changes.items():
        target = body
        *parents, leaf = path.split("__")
        for p in parents:
            target = target[p]
        if value is KeyError:
            del target[leaf]
        else:
            target[leaf] = value
    return body


INVALID = [
    ("unknown top-level field", with_(purpose="marketing"), ["purpose"]),
    ("unknown nested field", with_(recipient__country="US"), ["recipient.country"]),
    ("not an ISO code", with_(destination="XX"), ["destination"]),
    ("lower-case code", with_(destination="us"), ["destination"]),
    ("missing categories", with_(data_categories=KeyError), ["data_categories"]),
    ("empty categories", with_(data_categories=[]), ["data_categories"]),
    ("unknown category", with_(data_categories=["personal_data", "special_care.weight"]), ["data_categories[1]"]),
    ("bad consent", with_(basis__consent="yes"), ["basis.consent"]),
    ("string for a bool", with_(basis__opt_out="true"), ["basis.opt_out"]),
    ("unknown safeguard", with_(recipient__safeguards=["iso27001"]), ["recipient.safeguards[0]"]),
    ("bad exception", with_(basis__exception="foreign_law"), ["basis.exception"]),
    ("bad data origin", with_(data_origin="US"), ["data_origin"]),
    ("bad date", with_(as_of="27/11/2026"), ["as_of"]),
    ("name too long", with_(recipient__name="x" * 201), ["recipient.name"]),
    ("several at once", with_(origin="ZZ", destination="XX", basis__consent=1), ["origin", "destination", "basis.consent"]),
    ("unsupported origin", with_(origin="US", destination="DE"), ["origin"]),
    ("domestic provision", with_(destination="JP"), ["destination"]),
    ("not an object", ["personal_data"], ["$"]),
]


@pytest.mark.parametrize("name,body,fields", INVALID, ids=[i[0] for i in INVALID])
def test_invalid_input_gets_a_problem_naming_each_bad_field_and_nothing_is_logged(client, app, name, body, fields):
    resp = client.post("/v1/decisions", json=body)
    assert resp.status_code == 422
    assert resp.mimetype == "application/problem+json"
    problem = resp.get_json()
    assert problem["status"] == 422 and problem["title"] and problem["type"] and problem["detail"]
    assert sorted(problem["errors"]) == sorted(fields)
    assert all(problem["errors"][f] for f in fields)
    assert logged(app) == []


def test_malformed_json_is_400(client, app):
    resp = client.post("/v1/decisions", data='{"origin": "JP",', content_type="application/json")
    assert resp.status_code == 400 and resp.mimetype == "application/problem+json"
    assert logged(app) == []


def test_a_body_that_is_not_json_is_415(client):
    resp = client.post("/v1/decisions", data="origin=JP", content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 415 and resp.mimetype == "application/problem+json"


def test_a_body_over_the_limit_is_413(client):
    resp = client.post("/v1/decisions", data=b'{"x": "' + b"a" * (1024 * 1024 + 10) + b'"}',
                       content_type="application/json")
    assert resp.status_code == 413 and resp.get_json()["status"] == 413


def test_unknown_paths_and_methods_under_v1_are_problems_not_html(client):
    assert client.get("/v1/nothing").mimetype == "application/problem+json"
    resp = client.put("/v1/decisions")
    assert resp.status_code == 405 and resp.mimetype == "application/problem+json"
    resp = client.delete("/v1/decisions/01JD3Q8Z5T6W8Y9C0V1B2N3M4K")
    assert resp.status_code == 405 and resp.mimetype == "application/problem+json"


def test_an_unknown_decision_id_is_404(client_for):
    resp = client_for("auditor").get("/v1/decisions/01JD3Q8Z5T6W8Y9C0V1B2N3M4K")
    assert resp.status_code == 404 and resp.mimetype == "application/problem+json"


def test_batch_decides_each_item_in_order_and_puts_problems_in_place(client, app):
    bad = with_(destination="XX")
    resp = client.post("/v1/decisions/batch", json={"requests": [EXAMPLE, bad, with_(destination="DE")]})
    assert resp.status_code == 200
    out = resp.get_json()["decisions"]
    assert [d.get("outcome") for d in out] == ["conditional", None, "conditional"]
    assert out[1]["status"] == 422 and list(out[1]["errors"]) == ["destination"]
    assert {e["decision_id"] for e in logged(app)} == {out[0]["decision_id"], out[2]["decision_id"]}


@pytest.mark.parametrize("body,field", [
    ({"requests": []}, "requests"),
    ({"requests": "x"}, "requests"),
    ({}, "requests"),
    ({"requests": [EXAMPLE], "mode": "fast"}, "mode"),
])
def test_a_malformed_batch_is_422(client, body, field):
    resp = client.post("/v1/decisions/batch", json=body)
    assert resp.status_code == 422 and field in resp.get_json()["errors"]


def test_a_batch_over_the_limit_is_refused(tmp_path):
    from transfer_gate import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'l.sqlite3'}", "MAX_BATCH": 2,
                      "API_KEYS": API_KEYS})
    resp = app.test_client().post("/v1/decisions/batch", json={"requests": [EXAMPLE] * 3}, headers=bearer("app"))
    assert resp.status_code == 422 and "between 1 and 2" in resp.get_json()["errors"]["requests"][0]


def test_a_large_batch_answer_hands_free_memory_back_once_it_is_sent(client, monkeypatch):
    from transfer_gate import allocator
    from transfer_gate.web import api

    given_back = []
    monkeypatch.setattr(allocator, "give_back_free_memory", lambda: given_back.append(True))
    small = client.post("/v1/decisions/batch", json={"requests": [EXAMPLE]})
    small.close()
    assert given_back == []  # a small answer leaves the allocator alone
    monkeypatch.setattr(api, "GIVE_BACK_AFTER", len(small.data) + 1)
    large = client.post("/v1/decisions/batch", json={"requests": [EXAMPLE, with_(destination="DE")]})
    assert large.status_code == 200 and given_back == []  # not while the answer is still being sent
    large.close()
    assert given_back == [True]


def test_country_profiles_answer_with_as_of(client):
    de = client.get("/v1/countries/DE").get_json()
    assert de["code"] == "DE" and de["designated"]["value"] is True
    assert client.get("/v1/countries/CH").get_json()["designated"]["value"] is False
    before = client.get("/v1/countries/GB?as_of=2018-06-01").get_json()
    assert before["as_of"] == "2018-06-01"
    resp = client.get("/v1/countries/XX")
    assert resp.status_code == 404 and resp.mimetype == "application/problem+json"
    resp = client.get("/v1/countries/DE?as_of=tomorrow")
    assert resp.status_code == 422 and "as_of" in resp.get_json()["errors"]


def test_rulesets_are_listed_with_their_digest(client, app):
    body = client.get("/v1/rulesets").get_json()
    appi = body["rulesets"][0]
    assert appi["name"] == "appi" and appi["regime"] == "APPI" and appi["origins"] == ["JP"]
    assert appi["digest"] == app.extensions["transfer_gate"].book.rulesets["appi"].digest


def test_health_and_readiness(anonymous):
    assert anonymous.get("/healthz").get_json() == {"status": "ok"}
    ready = anonymous.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["status"] == "ready"


def test_a_decision_that_cannot_be_logged_is_not_returned(tmp_path):
    from transfer_gate import create_app

    db = tmp_path / "locked.sqlite3"
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{db}", "DATABASE_TIMEOUT": 0.2, "API_KEYS": API_KEYS})
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    try:
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = bearer("app")["Authorization"]
        resp = client.post("/v1/decisions", json=EXAMPLE)
        assert resp.status_code == 503
        assert resp.mimetype == "application/problem+json"
        body = resp.get_json()
        assert "decision_id" not in body and "outcome" not in body
        assert client.get("/readyz").status_code == 503
        resp = client.post("/v1/decisions/batch", json={"requests": [EXAMPLE, EXAMPLE]})
        assert resp.status_code == 503 and "decisions" not in resp.get_json()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert app.extensions["transfer_gate"].log.query() == []


def test_an_engine_failure_is_a_500_problem_and_no_decision(client, app, monkeypatch):
    def broken(ruleset, facts):
        raise EngineFailure("durable-rules returned nothing")

    monkeypatch.setattr(app.extensions["transfer_gate"].matcher, "match", broken)
    resp = client.post("/v1/decisions", json=EXAMPLE)
    assert resp.status_code == 500 and resp.mimetype == "application/problem+json"
    assert "outcome" not in resp.get_json()
    assert logged(app) == []


def test_a_denial_explains_itself_in_both_languages_with_machine_fields_beside(client):
    body = client.post("/v1/decisions", json={
        "origin": "JP", "destination": "US", "data_categories": ["personally_referable"],
        "recipient": {"links_to_individuals": True}, "as_of": "2026-11-27"}).get_json()
    assert body["outcome"] == "deny"
    assert body["summary"].startswith("The transfer may not go ahead.") and "できません" in body["summary_ja"]
    [reason] = body["deny_reasons"]
    assert reason["rule"] == "appi.31.no-consent" and reason["data_kind"] == "personally_referable"
    assert reason["text"].startswith("APPI 31(1): the principal's consent") and reason["citations"] == ["APPI 31(1)(i)"]
    first = body["remedies"][0]
    assert first["route"] == "informed_consent" and first["missing_fields"] == ["basis.consent"]
    assert first["apply"] == [{"path": "basis.consent", "set": "informed"}]
    assert "recipient." not in first["text"] and "basis." not in " ".join(first["missing"])
    storage = next(r for r in body["remedies"] if r["route"] == "not_a_provision")
    assert storage["apply"] == [] and storage["missing_fields"] == ["recipient.handles_data"]
    paths = {p["route"]: p for p in body["paths"]}
    assert paths["not_personal_data"]["missing_fields"] == ["recipient.links_to_individuals"]
    assert paths["not_personal_data"]["status"] == "unsatisfied"
    refs = {c["ref"]: c["ref_ja"] for c in body["citations"]}
    assert refs["APPI 31(1)(i)"] == "法第31条第1項第1号"


def test_the_try_it_change_of_a_remedy_turns_a_denial_into_an_answer_that_may_go(client):
    request = {"origin": "JP", "destination": "unknown", "data_categories": ["personal_data"], "as_of": "2026-11-27"}
    denied = client.post("/v1/decisions", json=request).get_json()
    [change] = denied["remedies"][0]["apply"]
    assert change == {"path": "basis.consent", "set": "informed"}
    allowed = client.post("/v1/decisions", json=dict(request, basis={"consent": "informed"})).get_json()
    assert allowed["outcome"] == "conditional" and allowed["route"] == "informed_consent"
    assert "appi.17-3.country-unidentified" in {c["id"] for c in allowed["conditions"]}
    assert allowed["deny_reasons"] == [] and allowed["remedies"] == []
