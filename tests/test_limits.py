"""Limits: body size (413), JSON only (415), nesting, field lengths and storable text — never a 5xx."""

import json
from dataclasses import replace

import pytest

from tests.test_api import EXAMPLE, logged, with_


@pytest.mark.parametrize("path,role", [("/v1/decisions", "app"), ("/v1/decisions/batch", "app"), ("/v1/keys", "admin")])
def test_every_json_endpoint_refuses_non_json_oversized_and_too_deeply_nested_bodies(client_for, path, role):
    client = client_for(role)
    resp = client.post(path, data="<request/>", content_type="application/xml")
    assert resp.status_code == 415 and resp.mimetype == "application/problem+json"
    resp = client.post(path, data=b"[" * (1024 * 1024 + 1), content_type="application/json")
    assert resp.status_code == 413 and resp.mimetype == "application/problem+json"
    resp = client.post(path, data="[" * 100_000, content_type="application/json")
    assert resp.status_code == 400 and resp.get_json()["detail"] == "The body is nested too deeply."


def test_the_body_limit_is_configurable(tmp_path):
    from tests.conftest import API_KEYS, bearer
    from transfer_gate import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 's.sqlite3'}", "API_KEYS": API_KEYS,
                      "MAX_CONTENT_LENGTH": 1000})
    client = app.test_client()
    assert client.post("/v1/decisions", json=EXAMPLE, headers=bearer("app")).status_code == 200
    big = with_(reference="r" * 190, recipient__name="n" * 190, data_categories=["personal_data"] * 40)
    assert client.post("/v1/decisions", json=big, headers=bearer("app")).status_code == 413
    resp = client.post("/signin", data={"key": "k" * 5000})
    assert resp.status_code == 413


@pytest.mark.parametrize("field,value,path", [
    ("reference", "crm\x00export", "reference"),
    ("reference", "crm\ud800export", "reference"),
    ("recipient__name", "Acme\udfff", "recipient.name"),
    ("reference", "r" * 201, "reference"),
    ("recipient__safeguards", ["contract_measures"] * 51, "recipient.safeguards"),
    ("data_categories", ["personal_data"] * 51, "data_categories"),
])
def test_unstorable_or_overlong_fields_are_422_naming_the_field_and_nothing_is_logged(client, app, field, value, path):
    # sent as JSON text with \u escapes, as any client would send an unpaired surrogate
    resp = client.post("/v1/decisions", data=json.dumps(with_(**{field: value})), content_type="application/json")
    assert resp.status_code == 422, resp.get_json()
    assert list(resp.get_json()["errors"]) == [path]
    assert logged(app) == []


def test_text_with_any_other_unicode_is_decided_and_logged_as_sent(client, app):
    name = "株式会社アクメ 🚀 \t line\nbreak"
    body = client.post("/v1/decisions", json=with_(recipient__name=name, reference="ref-✓")).get_json()
    entry = app.extensions["transfer_gate"].log.get(body["decision_id"])
    assert entry["request"]["recipient"]["name"] == name and entry["reference"] == "ref-✓"


# --- no input yields a 5xx: keys, duplicates, booleans, dates, cursors, NULs, methods ---------------------

SURROGATE_KEY = '{"\\udc80": 1}'  # JSON text: an object whose key is an unpaired surrogate


@pytest.mark.parametrize("path,role,body,field", [
    ("/v1/decisions", "app", '{"origin": "JP", "\\udc80": 1}', "\\udc80"),
    ("/v1/decisions", "app", json.dumps(EXAMPLE)[:-1] + ', "recipient": {"\\ud800x": true}}', "recipient"),
    ("/v1/keys", "admin", '{"role": "app", "\\udc80": 1}', "\\udc80"),
    ("/v1/keys", "admin", '{"role": "app", "a\\u0000b": 1}', "a\\x00b"),
    ("/v1/decisions/batch", "app", '{"requests": [' + SURROGATE_KEY + "]}", "requests[0].\\udc80"),
])
def test_an_object_key_that_cannot_be_stored_is_a_400_naming_it_escaped(client_for, app, path, role, body, field):
    resp = client_for(role).post(path, data=body, content_type="application/json")
    assert resp.status_code == 400 and resp.mimetype == "application/problem+json", resp.data
    problem = resp.get_json()
    assert problem["type"] == "/problems/malformed-json"
    assert any(k.startswith(field) for k in problem["errors"]), problem["errors"]
    assert logged(app) == []


def test_a_batch_with_one_unstorable_key_logs_nothing_and_answers_400(client, app):
    good = json.dumps(EXAMPLE)
    body = '{"requests": [' + ", ".join([good, good, good, SURROGATE_KEY]) + "]}"
    resp = client.post("/v1/decisions/batch", data=body, content_type="application/json")
    assert resp.status_code == 400 and list(resp.get_json()["errors"]) == ["requests[3].\\udc80"]
    assert logged(app) == []  # not three decisions logged and never returned


def test_a_batch_whose_answer_cannot_be_stored_logs_nothing_of_it(client, app, monkeypatch):
    from transfer_gate import service

    real = service._respond

    def leaky(rt, request, *whole):  # an answer that echoes text the store refuses, as a future field might
        said = real(rt, request, *whole)
        if request.destination == "DE":
            said.body["note"] = "bad\udc80"
            return replace(said, text=said.text[:-1] + ',"note":"bad\udc80"}', stored=None)
        return said

    monkeypatch.setattr(service, "_respond", leaky)
    resp = client.post("/v1/decisions/batch", json={"requests": [EXAMPLE, with_(destination="DE"), EXAMPLE]})
    assert resp.status_code == 200
    out = resp.get_json()["decisions"]
    assert [d["status"] if "status" in d else "decided" for d in out] == ["decided", 422, "decided"]
    assert {e["decision_id"] for e in logged(app)} == {out[0]["decision_id"], out[2]["decision_id"]}


@pytest.mark.parametrize("body,field", [
    ('{"origin": "JP", "destination": "JP", "destination": "US"}', "destination"),
    (json.dumps(EXAMPLE)[:-1] + ', "basis": {"consent": "none", "consent": "informed"}}', "basis"),
    (json.dumps(EXAMPLE)[:-1] + ', "reference": "again"}', "reference"),
])
def test_a_repeated_key_is_a_400_naming_it_never_the_last_value_wins(client, app, body, field):
    resp = client.post("/v1/decisions", data=body, content_type="application/json")
    assert resp.status_code == 400, resp.get_json()
    errors = resp.get_json()["errors"]
    assert any(k == field or k.startswith(field + ".") for k in errors), errors
    assert "more than once" in " ".join(m for ms in errors.values() for m in ms)
    assert logged(app) == []


@pytest.mark.parametrize("value", [1, 0, 1.0, 0.0, "true", "yes", None])
@pytest.mark.parametrize("field,path", [("recipient__handles_data", "recipient.handles_data"),
                                        ("basis__opt_out", "basis.opt_out")])
def test_booleans_are_json_true_and_false_only(client, app, field, path, value):
    resp = client.post("/v1/decisions", json=with_(**{field: value}))
    assert resp.status_code == 422 and list(resp.get_json()["errors"]) == [path]
    assert logged(app) == []


@pytest.mark.parametrize("as_of,status", [("1999-12-31", 422), ("2000-01-01", 200), ("2100-12-31", 200),
                                          ("2101-01-01", 422), ("0001-01-01", 422), ("9999-12-31", 422)])
def test_as_of_lies_within_the_documented_range(client, as_of, status):
    resp = client.post("/v1/decisions", json=with_(as_of=as_of))
    assert resp.status_code == status, resp.get_json()
    if status == 422:
        assert list(resp.get_json()["errors"]) == ["as_of"]


def test_a_chunked_body_over_the_limit_is_413(client, app):
    import io

    body = b'{"reference": "' + b"r" * (1024 * 1024) + b'"}'
    resp = client.post("/v1/decisions", input_stream=io.BytesIO(body), content_type="application/json",
                       headers={"Transfer-Encoding": "chunked"}, environ_overrides={"wsgi.input_terminated": True})
    assert resp.status_code == 413 and resp.mimetype == "application/problem+json"
    small = json.dumps(EXAMPLE).encode()
    resp = client.post("/v1/decisions", input_stream=io.BytesIO(small), content_type="application/json",
                       headers={"Transfer-Encoding": "chunked"}, environ_overrides={"wsgi.input_terminated": True})
    assert resp.status_code == 200


@pytest.mark.parametrize("path", ["/", "/signin", "/audit", "/healthz", "/v1/decisions"])
def test_trace_is_405_for_anyone_never_a_redirect(anonymous, path):
    resp = anonymous.open(path, method="TRACE")
    assert resp.status_code == 405 and "Location" not in resp.headers
    assert "TRACE" not in resp.headers["Allow"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_the_batch_endpoint_allows_only_post(client):
    for method in ("GET", "PUT", "DELETE"):
        resp = client.open("/v1/decisions/batch", method=method)
        assert resp.status_code == 405 and resp.mimetype == "application/problem+json"
        assert set(resp.headers["Allow"].split(", ")) == {"POST", "OPTIONS"}


@pytest.mark.parametrize("as_of,status", [("1999-12-31", 422), ("2000-01-01", 200), ("9999-12-31", 422)])
def test_a_country_profile_is_read_for_the_same_range_of_dates(client, as_of, status):
    resp = client.get(f"/v1/countries/DE?as_of={as_of}")
    assert resp.status_code == status
    if status == 422:
        assert list(resp.get_json()["errors"]) == ["as_of"]
