"""The origin selects the regime: APPI for JP, GDPR for the EEA, UK GDPR for GB; any other origin is a 422."""

import re

import pytest

from tests.conftest import sign_in
from tests.partner_rules import EEA
from tests.test_api import logged

REQUEST = {"origin": "DE", "destination": "FR", "data_categories": ["personal_data"], "as_of": "2026-11-27"}


def test_an_eea_origin_is_decided_under_gdpr_and_an_eea_destination_reaches_its_rules(partner_client, partner_app):
    body = partner_client.post("/v1/decisions", json=REQUEST).get_json()
    assert body["regime"] == "GDPR" and body["ruleset"]["name"] == "gdpr"
    assert body["route"] == "not_a_transfer" and body["outcome"] == "allow"
    assert logged(partner_app)[0]["ruleset_name"] == "gdpr"


@pytest.mark.parametrize("origin,regime", [("GB", "UK_GDPR"), ("NO", "GDPR"), ("IS", "GDPR"), ("LI", "GDPR"),
                                           ("JP", "APPI")])
def test_each_origin_selects_its_regime(partner_client, origin, regime):
    body = partner_client.post("/v1/decisions", json=dict(REQUEST, origin=origin, destination="US")).get_json()
    assert body["regime"] == regime


def test_the_thirty_eea_states_and_gb_have_a_regime(partner_runtime):
    from transfer_gate import service

    assert len(EEA) == 30
    assert service.origins(partner_runtime) == ["JP"] + EEA + ["GB"]


@pytest.mark.parametrize("origin", ["DE", "GB"])
def test_a_destination_equal_to_a_partner_origin_is_still_a_422(partner_client, partner_app, origin):
    resp = partner_client.post("/v1/decisions", json=dict(REQUEST, origin=origin, destination=origin))
    assert resp.status_code == 422 and list(resp.get_json()["errors"]) == ["destination"]
    message = resp.get_json()["errors"]["destination"][0]
    assert "third country" in message and "APPI" not in message
    assert logged(partner_app) == []


def test_another_origin_is_a_422_naming_the_origin_and_the_regimes_there_are(partner_client, partner_app):
    resp = partner_client.post("/v1/decisions", json=dict(REQUEST, origin="CH"))
    assert resp.status_code == 422 and list(resp.get_json()["errors"]) == ["origin"]
    [message] = resp.get_json()["errors"]["origin"]
    assert "'CH'" in message and "APPI for JP" in message and "UK_GDPR for GB" in message and "GDPR for AT" in message
    assert logged(partner_app) == []


def test_the_rulesets_listing_names_all_three_regimes(partner_client):
    listed = partner_client.get("/v1/rulesets").get_json()["rulesets"]
    assert [(r["name"], r["regime"]) for r in listed] == [("appi", "APPI"), ("gdpr", "GDPR"), ("uk_gdpr", "UK_GDPR")]


def test_the_form_offers_the_partner_origins_with_japan_first_and_selected(partner_app):
    officer = sign_in(partner_app.test_client(), "officer")
    html = officer.get("/").get_data(as_text=True)
    select = re.search(r'<select id="origin".*?</select>', html, re.S).group(0)
    codes = re.findall(r'<option value="([A-Z]{2})"', select)
    assert codes[0] == "JP" and {"DE", "FR", "NO", "GB"} <= set(codes)
    assert re.search(r'<option value="JP"[^>]* selected', select)


def test_the_openapi_document_offers_every_origin(partner_app):
    from transfer_gate.web.openapi import build_spec

    origin = build_spec(partner_app)["components"]["schemas"]["TransferRequest"]["properties"]["origin"]
    assert {"JP", "DE", "GB"} <= set(origin["enum"]) and "US" not in origin["enum"]
