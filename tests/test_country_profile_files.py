"""Integrity tests over the real files in country_profiles/."""

import importlib.util
import json
import re
import shutil
from datetime import date
from pathlib import Path

import pycountry
import pytest

from transfer_gate.engine import destination_details
from transfer_gate.profiles import OECD8_PRINCIPLES, SECTIONS, ProfileStore, load_yaml

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


def test_china_reflects_the_2024_cross_border_data_flow_provisions(store):
    china = store.get("CN", TODAY)
    localization = china.data["localization"]
    assert "Provisions on Promoting and Regulating Cross-Border Data Flows" in localization["summary"]
    assert "2024-03-22" in localization["summary"] and "100,000" in localization["summary"]
    assert "データの越境流動の促進及び規範化に関する規定" in localization["summary_ja"]
    assert "2024" in china.data["system_summary"] and "2024" in china.data["system_summary_ja"]
    assert "not reflected" not in china.data["notes"]
    assert "2024" not in store.get("CN", date(2024, 3, 21)).data["localization"]["summary"]
    for text in ("PIPL", "Data Security Law", "Cybersecurity Law"):
        assert text in china.data["system_summary"] or text in localization["summary"]


def test_russia_and_vietnam_disclose_localization(store):
    assert store.get("RU", TODAY).localization is True
    assert store.get("RU", date(2015, 8, 31)).localization is False
    assert store.get("VN", TODAY).localization is True


def test_united_states_records_fisa_702_eo_12333_and_the_eo_14086_redress(store):
    us = store.get("US", TODAY)
    assert us.law_exists is False
    assert us.apec_cbpr is True and us.global_cbpr == "member"
    assert us.government_access is True and us.localization is False
    access = us.data["government_access"]
    for text in ("Section 702", "12333", "14086", "Data Protection Review Court"):
        assert text in access["summary"]
    for text in ("第702条", "第12333号", "第14086号", "データ保護審査裁判所"):
        assert text in access["summary_ja"]
    hosts = {url.split("/")[2] for url in access["sources"]}
    assert {"www.federalregister.gov", "www.govinfo.gov", "www.congress.gov", "www.ppc.go.jp"} <= hosts
    assert us.data["ppc_survey_url"].endswith("/offshore_report_america/")
    # The redress mechanism did not exist before Executive Order 14086; section 702 before 2008.
    assert "14086 (2022-10-07)" in store.get("US", date(2020, 1, 1)).data["government_access"]["summary"]
    assert "Data Protection Review Court" not in store.get("US", date(2020, 1, 1)).data[
        "government_access"]["summary"]
    assert store.get("US", date(2008, 7, 9)).government_access is None


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
    old_text = text.replace(reviewed, "reviewed: 2025-05-26\n", 1)
    block = re.search(r"\nsection_reviews:\n(  .*\n)+", old_text).group(0)
    old_text = old_text.replace(block, re.sub(r"\d{4}-\d{2}-\d{2}", "2025-05-26", block))
    path.write_text(old_text, encoding="utf-8")
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


@pytest.mark.parametrize("code", curated_codes())
def test_curated_profile_dates_every_section_no_later_than_its_review(code):
    profile = raw(code)
    assert set(profile["section_reviews"]) == set(SECTIONS)
    assert all(day <= profile["reviewed"] for day in profile["section_reviews"].values())


@pytest.mark.parametrize("code", curated_codes())
def test_a_curated_profile_never_shows_an_unassessed_section_as_none(store, code):
    """Every null section is said to be "not assessed", in the API and in the decision's details."""
    for as_of in (TODAY, date(2019, 1, 23), date(2015, 1, 1)):
        profile = store.get(code, as_of)
        body = profile.to_dict()
        nulls = {key for key in ("government_access", "localization")
                 if body[key]["present"] is None}
        if body["oecd8_gaps"] is None:
            nulls.add("oecd8_gaps")
        said = {item["section"]: item for item in body["not_assessed"]}
        assert set(said) == nulls
        details = {d["topic"]: d for d in destination_details(profile)}
        for key in nulls:
            assert said[key]["text"].startswith("Not assessed")
            assert said[key]["text_ja"].startswith("未評価")
            assert details[key]["text"] == said[key]["text"]
            assert details[key]["text_ja"] == said[key]["text_ja"]
            assert details[key]["sources"]
        for detail in details.values():
            assert "none (" not in detail["text"] or detail["topic"] == "oecd8_gaps"
            if detail["topic"] == "oecd8_gaps" and body["oecd8_gaps"] is None:
                assert "none" not in detail["text"].lower()


def test_no_curated_section_is_stale_on_the_review_date(store):
    assert store.stale_sections(TODAY) == ()
    assert {s.code for s in store.stale_sections(date(2100, 1, 1))} == set(curated_codes())


ASSESSED = {  # (code, section) with a sourced finding at this review; every other is explicitly open
    ("US", "government_access"), ("US", "localization"), ("CN", "government_access"),
    ("CN", "localization"), ("RU", "government_access"), ("RU", "localization"),
    ("VN", "government_access"), ("VN", "localization"), ("IN", "government_access"),
    ("IN", "localization"), ("TR", "government_access"), ("HK", "government_access"),
    ("AU", "government_access"), ("KR", "government_access"), ("SG", "government_access"),
    ("CA", "localization"), ("PH", "government_access"), ("TW", "government_access"),
    ("TH", "government_access"), ("ID", "government_access"), ("ID", "localization"),
    ("MY", "government_access"), ("BR", "government_access"), ("MX", "government_access"),
    ("CH", "government_access"), ("IL", "government_access"), ("NZ", "government_access"),
    ("TR", "localization"), ("AU", "localization"), ("AE", "localization"),
    ("KH", "government_access"), ("ZA", "government_access"), ("KR", "localization"),
    ("BR", "localization"), ("CH", "localization"), ("TH", "localization"),
    ("MM", "government_access"), ("LA", "government_access"), ("QA", "government_access"),
    ("SG", "localization"), ("CA", "government_access"), ("MX", "localization"),
    ("TW", "localization"), ("PE", "government_access"), ("CO", "government_access"),
    ("CL", "government_access"), ("ZA", "localization"),
}


@pytest.mark.parametrize("code", curated_codes())
def test_government_access_and_localization_are_sourced_or_say_what_is_missing(store, code):
    profile = raw(code)
    for key in ("government_access", "localization"):
        section = profile[key]
        assert section["summary"].strip() and section["summary_ja"].strip(), (code, key)
        if section["present"] is None:
            assert (code, key) not in ASSESSED
            detail = {d["topic"]: d for d in destination_details(store.get(code, TODAY))}[key]
            assert detail["text"].endswith(section["summary"])
        else:
            # false as much as true rests on a source, never on a guess
            assert section["sources"], (code, key)
            assert (code, key) in ASSESSED


def test_the_assessed_sections_are_the_ones_listed():
    found = {(code, key) for code in curated_codes() for key in ("government_access", "localization")
             if raw(code)[key]["present"] is not None}
    assert found == ASSESSED


@pytest.mark.parametrize("code", sorted(DESIGNATED))
def test_a_designated_country_says_why_its_systems_were_not_researched(store, code):
    for item in store.get(code, TODAY).not_assessed:
        if item["section"] in ("government_access", "localization"):
            assert "PPC Rules 15" in item["text"] and "第15条" in item["text_ja"]


def test_the_country_api_says_not_assessed_and_lists_stale_sections(client):
    de = client.get("/v1/countries/DE?as_of=2026-12-02").get_json()
    said = {item["section"]: item for item in de["not_assessed"]}
    assert set(said) == {"government_access", "localization"}
    assert said["government_access"]["text"].startswith("Not assessed")
    assert said["government_access"]["text_ja"].startswith("未評価")
    assert de["stale_sections"] == [] and set(de["section_reviews"]) == set(SECTIONS)
    later = client.get("/v1/countries/DE?as_of=2030-01-01").get_json()
    assert later["stale"] is True and set(later["stale_sections"]) == set(SECTIONS)


def test_an_informed_consent_notice_for_an_unassessed_country_says_so(client):
    body = {"origin": "JP", "destination": "TN", "as_of": "2026-12-02",
            "data_categories": ["personal_data"], "basis": {"consent": "informed"}}
    answer = client.post("/v1/decisions", json=body).get_json()
    [notice] = [c for c in answer["conditions"] if c["id"] == "appi.28-2.information-given"]
    topics = {d["topic"]: d for d in notice["details"]}
    for topic in ("government_access", "localization"):
        assert topics[topic]["text"].startswith("Not assessed")
        assert "none" not in topics[topic]["text"].lower().split()
