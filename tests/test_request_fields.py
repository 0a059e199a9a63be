"""Contract §8.2's request fields: validated like the rest, defaulted so a v1 request keeps its answer."""

import json

import pytest

from tests.test_api import EXAMPLE, logged, with_

VOLATILE = ("decision_id", "evaluated_at")


def answer(client, body):
    resp = client.post("/v1/decisions", json=body)
    assert resp.status_code == 200, resp.get_json()
    out = resp.get_json()
    for key in VOLATILE:
        out.pop(key)
    return out


def test_a_v1_request_gets_the_same_answer_as_with_every_v11_default_spelled_out(client):
    spelled_out = with_(exporter_role="controller", recipient__role="processor",
                        recipient__transfer_assessment="not_done", basis__derogation=None, basis__occasional=False)
    assert answer(client, EXAMPLE) == answer(client, spelled_out)


def test_the_logged_request_carries_every_new_field_with_its_default(client, app):
    client.post("/v1/decisions", json=EXAMPLE)
    [entry] = logged(app)
    request = entry["request"]
    assert request["exporter_role"] == "controller"
    assert request["recipient"]["role"] == "processor"  # EXAMPLE's recipient is an outsourcee
    assert request["recipient"]["transfer_assessment"] == "not_done"
    assert request["basis"]["derogation"] is None and request["basis"]["occasional"] is False


@pytest.mark.parametrize("relationship,role", [
    ("outsourcee", "processor"), ("third_party", "controller"), ("joint_use", "controller"),
    ("business_succession", "controller"),
])
def test_the_recipient_role_is_resolved_from_the_relationship_when_absent(client, app, relationship, role):
    client.post("/v1/decisions", json=with_(recipient__relationship=relationship))
    assert logged(app)[-1]["request"]["recipient"]["role"] == role


def test_a_given_recipient_role_is_kept(client, app):
    client.post("/v1/decisions", json=with_(recipient__role="controller"))
    assert logged(app)[-1]["request"]["recipient"]["role"] == "controller"


def test_the_partner_fields_are_accepted_and_logged_as_given(client, app):
    body = with_(exporter_role="processor", recipient__role="processor",
                 recipient__safeguards=["contract_measures", "scc", "uk_addendum", "idta", "bcr", "dpf",
                                        "code_of_conduct", "certification", "ad_hoc_clauses"],
                 recipient__transfer_assessment="supplementary_measures",
                 basis__derogation="contract_with_subject", basis__occasional=True)
    assert client.post("/v1/decisions", json=body).status_code == 200
    request = logged(app)[-1]["request"]
    assert request["exporter_role"] == "processor"
    assert request["recipient"]["safeguards"] == body["recipient"]["safeguards"]
    assert request["recipient"]["transfer_assessment"] == "supplementary_measures"
    assert request["basis"] == dict(body["basis"], derogation="contract_with_subject", occasional=True)


INVALID = [
    ("unknown safeguard", with_(recipient__safeguards=["scc", "scc_2010"]), ["recipient.safeguards[1]"]),
    ("unknown derogation", with_(basis__derogation="legitimate_interests"), ["basis.derogation"]),
    ("unknown assessment", with_(recipient__transfer_assessment="done"), ["recipient.transfer_assessment"]),
    ("unknown recipient role", with_(recipient__role="joint_controller"), ["recipient.role"]),
    ("unknown exporter role", with_(exporter_role="sub_processor"), ["exporter_role"]),
    ("null exporter role", with_(exporter_role=None), ["exporter_role"]),
    ("occasional as text", with_(basis__occasional="yes"), ["basis.occasional"]),
]


@pytest.mark.parametrize("name,body,fields", INVALID, ids=[i[0] for i in INVALID])
def test_an_unknown_partner_value_is_a_422_naming_the_field(client, app, name, body, fields):
    resp = client.post("/v1/decisions", json=body)
    assert resp.status_code == 422 and resp.mimetype == "application/problem+json"
    assert sorted(resp.get_json()["errors"]) == fields
    assert logged(app) == []


def test_the_canonical_form_round_trips(runtime):
    from transfer_gate import service

    request = service.validate(runtime, with_(recipient__safeguards=["scc"], basis__derogation="legal_claims"))
    again = service.validate(runtime, json.loads(json.dumps(request.to_dict())))
    assert again == request
