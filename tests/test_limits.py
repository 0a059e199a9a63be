"""Limits: body size (413), JSON only (415), nesting, field lengths and storable text — never a 5xx."""

import json

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
