"""Integrity tests over the real files in country_profiles/."""

import importlib.util
import json
import shutil
from datetime import date
from pathlib import Path

import pycountry
import pytest

from transfer_gate.profiles import OECD8_PRINCIPLES, ProfileStore, load_yaml

ROOT = Path(__file__).resolve().parents[1]
PROFILES = ROOT / "country_profiles"
TODAY = date(2026, 11, 27)

EU27 = set("AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split())
EEA = EU27 | {"IS", "LI", "NO"}
DESIGNATED = EEA | {"GB"}
PPC_SURVEY = set(
    "US AE IN ID UA AU CA KH SG CH TH KR TW CN TR NZ PH BR VN HK MY MM MX LA RU IL QA CR TN PA PE ZA "
    "MA MN".split())
APEC_CBPR = set("US MX JP CA KR SG TW AU PH".split())
GLOBAL_CBPR_MEMBERS = set("AU CA JP KR MX PH SG TW US".split())
GLOBAL_CBPR_ASSOCIATES = {"GB", "BM", "MU"}
OECD = set(
    "AU AT BE CA CL CO CR CZ DK EE FI FR DE GR HU IS IE IL IT JP KR LV LT LU MX NL NZ NO PL PT SK SI "
    "ES SE CH TR GB US".split())
APEC = set("AU BN CA CL CN HK ID JP KR MY MX NZ PG PE PH RU SG TW TH US VN".split())
MUST_BE_CURATED = DESIGNATED | PPC_SURVEY | APEC_CBPR | GLOBAL_CBPR_MEMBERS | \
    GLOBAL_CBPR_ASSOCIATES | OECD | {"JP"}


@pytest.fixture(scope="module")
def store():
    return ProfileStore.load(PROFILES)


def group(name):
    return {m["code"]: m for m in load_yaml(PROFILES / "groups" / f"{name}.yaml")["members"]}


def raw(code):
    return load_yaml(PROFILES / f"{code}.yaml")


def curated_codes():
    return sorted(p.stem for p in PROFILES.glob("??.yaml") if raw(p.stem)["curated"])


def test_every_iso_code_has_exactly_one_profile(store):
    assert set(store.codes()) == {c.alpha_2 for c in pycountry.countries}
    assert len(store.codes()) == 249


def test_exactly_the_eea_and_the_uk_are_designated(store):
    designated = {c for c in store.codes() if store.get(c, TODAY).designated}
    assert designated == DESIGNATED
    assert len(designated) == 31
    assert set(group("ppc_designated")) == DESIGNATED


@pytest.mark.parametrize("code", ["CH", "KR", "US", "CA", "NZ", "IL", "JP"])
def test_common_traps_are_not_designated(store, code):
    assert store.get(code, TODAY).designated is False


def test_designations_took_effect_on_2019_01_23(store):
    for code, member in group("ppc_designated").items():
        assert member["since"] == date(2019, 1, 23)
        assert member["instrument"].startswith("平成31年個人情報保護委員会告示第1号")
    assert store.get("GB", date(2019, 1, 22)).designated is False
    assert store.get("GB", date(2019, 1, 23)).designated is True


def test_group_files_hold_the_expected_members():
    assert set(group("eea")) == EEA
    assert set(group("apec")) == APEC
    assert set(group("apec_cbpr")) == APEC_CBPR
    assert set(group("oecd")) == OECD
    global_cbpr = group("global_cbpr")
    assert {c for c, m in global_cbpr.items() if m["status"] == "member"} == GLOBAL_CBPR_MEMBERS
    assert {c for c, m in global_cbpr.items() if m["status"] == "associate"} == \
        GLOBAL_CBPR_ASSOCIATES


def test_group_files_agree_with_profile_flags(store):
    today = {c: store.get(c, TODAY) for c in store.codes()}
    assert {c for c, p in today.items() if p.apec_member} == set(group("apec"))
    assert {c for c, p in today.items() if p.apec_cbpr} == set(group("apec_cbpr"))
    assert {c for c, p in today.items() if p.oecd_member} == set(group("oecd"))
    assert {c: p.global_cbpr for c, p in today.items() if p.global_cbpr != "none"} == {
        c: m["status"] for c, m in group("global_cbpr").items()}


def test_every_eea_state_is_designated(store):
    assert all(store.get(code, TODAY).designated for code in group("eea"))


def test_required_jurisdictions_are_curated():
    assert MUST_BE_CURATED <= set(curated_codes())


@pytest.mark.parametrize("code", curated_codes())
def test_curated_profile_is_sourced_reviewed_and_bilingual(code):
    profile = raw(code)
    assert isinstance(profile["reviewed"], date)
    assert profile["reviewer"].strip()
    assert profile["sources"]
    for source in profile["sources"]:
        assert source["retrieved"] is not None or source.get("note")
    assert profile["system_summary"].strip() and profile["system_summary_ja"].strip()
    assert profile["law"]["exists"] in (True, False)
    assert profile["notes"].strip(), "say what is unverified"
    for key in ("government_access", "localization"):
        if profile[key]["present"]:
            assert profile[key]["sources"]
            assert profile[key]["summary"].strip() and profile[key]["summary_ja"].strip()
    for entry in profile.get("history", []):
        for dotted in entry["set"]:
            assert dotted.split(".")[0] in profile


def test_china_discloses_government_access_and_localization_with_sources(store):
    china = store.get("CN", TODAY)
    assert china.government_access is True
    assert china.localization is True
    assert china.data["government_access"]["sources"]
    assert china.data["localization"]["sources"]
    assert "Art. 7" in china.data["government_access"]["summary"]
    assert "Art. 37" in china.data["localization"]["summary"]
    assert china.data["ppc_survey_url"].startswith("https://www.ppc.go.jp/enforcement/infoprovision/")


def test_russia_and_vietnam_disclose_localization(store):
    assert store.get("RU", TODAY).localization is True
    assert store.get("RU", date(2015, 8, 31)).localization is False
    assert store.get("VN", TODAY).localization is True


def test_united_states_follows_the_ppc_survey(store):
    us = store.get("US", TODAY)
    assert us.law_exists is False
    assert us.apec_cbpr is True and us.global_cbpr == "member"
    assert us.government_access is False and us.localization is False
    assert us.data["ppc_survey_url"].endswith("/offshore_report_america/")


def test_vietnam_history_tracks_decree_13_and_law_91(store):
    assert store.get("VN", date(2023, 6, 30)).law_exists is False
    assert "Decree No. 13/2023" in store.get("VN", date(2025, 12, 31)).data["law"]["name"]
    assert "91/2025/QH15" in store.get("VN", date(2026, 1, 1)).data["law"]["name"]


def test_india_dpdp_act_applies_only_from_may_2027(store):
    assert store.get("IN", date(2025, 11, 12)).data["authority"] is None
    assert store.get("IN", TODAY).law_exists is False
    assert store.get("IN", TODAY).data["authority"]["name"] == "Data Protection Board of India"
    assert store.get("IN", date(2027, 5, 13)).law_exists is True


def test_generated_profiles_leave_every_fact_unassessed(store):
    generated = [c for c in store.codes() if not raw(c)["curated"]]
    assert generated
    for code in generated:
        profile = store.get(code, TODAY)
        assert profile.stale is True and profile.reviewed is None
        assert (profile.law_exists, profile.government_access, profile.localization) == (
            None, None, None)
        assert profile.data["oecd8_gaps"] is None
        assert profile.missing == ("law", "government_access", "localization", "oecd8_gaps")


def test_oecd8_gap_keys_are_the_eight_principles():
    assert len(OECD8_PRINCIPLES) == 8


def test_a_review_older_than_18_months_is_stale(store):
    china = store.get("CN", TODAY)
    assert china.stale is False
    assert store.get("CN", date(2100, 1, 1)).stale is True


def test_an_old_review_date_makes_a_copy_stale(tmp_path, store):
    copy = tmp_path / "country_profiles"
    shutil.copytree(PROFILES, copy)
    path = copy / "CN.yaml"
    text = path.read_text(encoding="utf-8")
    reviewed = f"reviewed: {raw('CN')['reviewed'].isoformat()}\n"
    assert reviewed in text
    path.write_text(text.replace(reviewed, "reviewed: 2025-05-26\n", 1), encoding="utf-8")
    old = ProfileStore.load(copy)
    assert old.get("CN", date(2026, 11, 26)).stale is False
    assert old.get("CN", date(2026, 11, 27)).stale is True
    assert old.get("CN", TODAY).digest != store.get("CN", TODAY).digest
    assert old.digest != store.digest


@pytest.mark.parametrize("as_of", [date(2015, 1, 1), date(2019, 1, 23), TODAY, date(2030, 1, 1)])
def test_every_profile_resolves_to_json(store, as_of):
    for code in store.codes():
        body = store.get(code, as_of).to_dict()
        assert json.loads(json.dumps(body, ensure_ascii=False))["code"] == code


def test_generated_profiles_are_up_to_date():
    spec = importlib.util.spec_from_file_location(
        "generate_profiles", ROOT / "tools" / "generate_profiles.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.generate(PROFILES, check=True) == [], "run python tools/generate_profiles.py"


# --------------------------------------------------------------------------- partner-regime adequacy

EU_ADEQUATE = {"AD": "full", "AR": "full", "BR": "lgpd_regulated", "CA": "commercial_organisations", "CH": "full",
               "FO": "full", "GB": "full", "GG": "full", "IL": "full", "IM": "full", "JE": "full",
               "JP": "excluding_academic", "KR": "pipa_regulated", "NZ": "full", "US": "dpf_certified", "UY": "full"}
UK_ADEQUATE = dict({c: "full" for c in EEA | {"GI", "AD", "AR", "CH", "FO", "GG", "IL", "IM", "JE", "NZ", "UY"}},
                   CA="commercial_organisations", JP="excluding_academic", KR="pipa_regulated", US="dpf_certified")


def test_eu_adequacy_in_force_lists_the_brief_s_decisions_with_their_scopes(store):
    found = {c: store.get(c, TODAY).eu_adequacy for c in store.codes()}
    assert {c: a["scope"] or a["status"] for c, a in found.items() if a["status"] != "none"} == EU_ADEQUATE


def test_uk_adequacy_in_force_lists_the_eea_gibraltar_and_the_carried_over_decisions(store):
    found = {c: store.get(c, TODAY).uk_adequacy for c in store.codes()}
    assert {c: a["scope"] or a["status"] for c, a in found.items() if a["status"] != "none"} == UK_ADEQUATE


@pytest.mark.parametrize("code,day,eu,uk", [
    ("US", date(2023, 7, 9), "none", "none"),        # after Schrems II, before the DPF
    ("US", date(2023, 7, 10), "scoped", "none"),     # the DPF, before the UK Extension
    ("US", date(2023, 10, 12), "scoped", "scoped"),  # SI 2023/1028
    ("KR", date(2022, 12, 18), "scoped", "none"),
    ("KR", date(2022, 12, 19), "scoped", "scoped"),  # SI 2022/1213
    ("GB", date(2031, 12, 27), "full", "none"),
    ("GB", date(2031, 12, 28), "none", "none"),      # the renewed decision's end
    ("BR", date(2026, 1, 25), "none", "none"),
])
def test_adequacy_statuses_change_on_their_dates(store, code, day, eu, uk):
    profile = store.get(code, day)
    assert (profile.eu_adequacy["status"], profile.uk_adequacy["status"]) == (eu, uk)


def test_no_eea_state_holds_eu_adequacy_and_every_one_holds_uk_adequacy(store):
    for code in EEA:
        profile = store.get(code, TODAY)
        assert profile.eea is True
        assert profile.eu_adequacy["status"] == "none"
        assert profile.uk_adequacy["status"] == "full"
    assert store.get("GB", TODAY).eea is False
