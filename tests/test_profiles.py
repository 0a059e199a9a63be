"""Unit tests of the country-profile loader, on small profile directories built in tmp_path."""

import copy
import json
from datetime import date, datetime

import pytest
import yaml

from transfer_gate.errors import ProfileError, UnknownCountry
from transfer_gate.profiles import SECTIONS, STALE_AFTER_MONTHS, ProfileStore

INSTRUMENT = "平成31年個人情報保護委員会告示第1号 (PPC Notice No. 1 of 2019)"
SOURCE = {"url": "https://example.org/source", "title": "A source", "retrieved": date(2026, 11, 1)}


def generated(code, name="Somewhere"):
    return {
        "code": code, "name": name, "name_ja": "どこか", "curated": False,
        "reviewed": None, "reviewer": None,
        "designated": {"value": False, "since": None, "instrument": None},
        "apec_member": False,
        "apec_cbpr": {"participant": False, "since": None},
        "global_cbpr": {"status": "none", "since": None},
        "oecd": {"member": False, "since": None},
        "law": {"exists": None, "name": None, "name_ja": None, "url": None, "in_force_since": None},
        "authority": None,
        "system_summary": None, "system_summary_ja": None,
        "oecd8_gaps": None,
        "government_access": {"present": None, "summary": None, "summary_ja": None, "sources": []},
        "localization": {"present": None, "summary": None, "summary_ja": None, "sources": []},
        "ppc_survey_url": None,
        "sources": [],
        "notes": None,
    }


def curated(code, name="Somewhere", **changes):
    profile = generated(code, name)
    profile.update(
        curated=True, reviewed=date(2026, 11, 1), reviewer="legal data team",
        section_reviews={key: date(2026, 11, 1) for key in SECTIONS},
        law={"exists": True, "name": "Data Act", "name_ja": "データ法",
             "url": "https://example.org/law", "in_force_since": date(2018, 5, 25)},
        authority={"name": "DPA", "name_ja": "監督機関", "independent": True, "url": None},
        system_summary="A comprehensive law.", system_summary_ja="包括的な法律がある。",
        oecd8_gaps=[],
        government_access={"present": False, "summary": None, "summary_ja": None, "sources": []},
        localization={"present": False, "summary": None, "summary_ja": None, "sources": []},
        sources=[dict(SOURCE)],
    )
    profile.update(changes)
    return profile


def designated_gb():
    return curated("GB", "United Kingdom", designated={
        "value": True, "since": date(2019, 1, 23), "instrument": INSTRUMENT})


GROUP_NAMES = ("ppc_designated", "eea", "apec", "apec_cbpr", "global_cbpr", "oecd", "eu_adequacy", "uk_adequacy")


def groups_for(profiles):
    """Derive group files that agree with the given profiles."""
    members = {name: [] for name in GROUP_NAMES}  # adequacy files: empty unless a test fills them
    for p in profiles:
        if p["designated"]["value"]:
            members["ppc_designated"].append(
                {"code": p["code"], "since": p["designated"]["since"],
                 "instrument": p["designated"]["instrument"]})
        if p["apec_member"]:
            members["apec"].append({"code": p["code"], "since": date(1989, 11, 30)})
        if p["apec_cbpr"]["participant"]:
            members["apec_cbpr"].append({"code": p["code"], "since": p["apec_cbpr"]["since"]})
        if p["global_cbpr"]["status"] != "none":
            members["global_cbpr"].append({"code": p["code"], "since": p["global_cbpr"]["since"],
                                           "status": p["global_cbpr"]["status"]})
        if p["oecd"]["member"]:
            members["oecd"].append({"code": p["code"], "since": p["oecd"]["since"]})
    return members


def write_store(directory, profiles, groups=None):
    """Write profiles (and group files agreeing with them, unless given) to directory."""
    (directory / "groups").mkdir(parents=True, exist_ok=True)
    groups = groups_for(profiles) if groups is None else groups
    for name in GROUP_NAMES:
        data = {"name": name, "name_ja": name, "source": dict(SOURCE), "members": groups[name]}
        (directory / "groups" / f"{name}.yaml").write_text(
            yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    for p in profiles:
        write_profile(directory, p)
    return directory


def write_profile(directory, profile, name=None):
    path = directory / (name or f"{profile['code']}.yaml")
    path.write_text(yaml.safe_dump(profile, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def store_dir(tmp_path):
    return write_store(tmp_path, [generated("AR", "Argentina"), designated_gb()])


def test_loads_a_valid_directory(store_dir):
    store = ProfileStore.load(store_dir)
    assert store.codes() == ["AR", "GB"]
    assert store.digest.startswith("sha256:")


def test_unknown_field_is_rejected_naming_file_and_field(tmp_path):
    write_store(tmp_path, [generated("AR", "Argentina") | {"adequacy": True}])
    with pytest.raises(ProfileError) as err:
        ProfileStore.load(tmp_path)
    assert err.value.path.endswith("AR.yaml")
    assert err.value.item == "adequacy"
    assert "AR.yaml [adequacy]: unknown field" in str(err.value)


def test_unknown_nested_field_is_rejected(tmp_path):
    profile = generated("AR")
    profile["law"]["adopted"] = "2000"
    write_store(tmp_path, [profile])
    with pytest.raises(ProfileError, match=r"AR\.yaml \[law\.adopted\]: unknown field"):
        ProfileStore.load(tmp_path)


def test_missing_field_is_rejected(tmp_path):
    profile = generated("AR")
    del profile["oecd8_gaps"]
    write_store(tmp_path, [profile])
    with pytest.raises(ProfileError, match=r"\[oecd8_gaps\]: required field is missing"):
        ProfileStore.load(tmp_path)


def test_code_that_is_not_iso_alpha_2_is_rejected(tmp_path):
    write_store(tmp_path, [generated("XX")])
    with pytest.raises(ProfileError) as err:
        ProfileStore.load(tmp_path)
    assert err.value.item == "code"
    assert "'XX' is not an ISO 3166-1 alpha-2 code" in str(err.value)


def test_code_must_match_the_file_name(tmp_path):
    write_store(tmp_path, [])
    write_profile(tmp_path, generated("AR"), name="BR.yaml")
    with pytest.raises(ProfileError, match=r"BR\.yaml \[code\]: code 'AR' does not match"):
        ProfileStore.load(tmp_path)


def test_file_names_other_than_codes_are_rejected(tmp_path):
    write_store(tmp_path, [])
    write_profile(tmp_path, generated("AR"), name="argentina.yaml")
    with pytest.raises(ProfileError, match="profile file names are"):
        ProfileStore.load(tmp_path)


def test_norway_code_is_not_read_as_a_boolean(tmp_path):
    write_store(tmp_path, [])
    text = yaml.safe_dump(generated("NO", "Norway"), allow_unicode=True, sort_keys=False)
    (tmp_path / "NO.yaml").write_text(text.replace("code: 'NO'", "code: NO"), encoding="utf-8")
    assert "code: NO\n" in (tmp_path / "NO.yaml").read_text(encoding="utf-8")
    assert ProfileStore.load(tmp_path).get("NO", date(2026, 1, 1)).code == "NO"


def test_duplicate_keys_are_rejected(tmp_path):
    write_store(tmp_path, [])
    text = yaml.safe_dump(generated("AR"), allow_unicode=True, sort_keys=False)
    (tmp_path / "AR.yaml").write_text(text + "notes: again\n", encoding="utf-8")
    with pytest.raises(ProfileError, match="duplicate key 'notes'"):
        ProfileStore.load(tmp_path)


def test_dates_must_be_real_dates(tmp_path):
    write_store(tmp_path, [curated("FR", reviewed="2026-13-01")])
    with pytest.raises(ProfileError, match=r"\[reviewed\]: must be a date"):
        ProfileStore.load(tmp_path)


def test_curated_profile_needs_sources(tmp_path):
    write_store(tmp_path, [curated("FR", sources=[])])
    with pytest.raises(ProfileError, match=r"FR\.yaml \[sources\]: a curated profile needs"):
        ProfileStore.load(tmp_path)


def test_curated_profile_needs_review_date_and_reviewer(tmp_path):
    write_store(tmp_path, [curated("FR", reviewer=None)])
    with pytest.raises(ProfileError, match=r"\[reviewer\]"):
        ProfileStore.load(tmp_path)


def test_curated_profile_cannot_leave_the_law_unknown(tmp_path):
    profile = curated("FR")
    profile["law"]["exists"] = None
    write_store(tmp_path, [profile])
    with pytest.raises(ProfileError, match=r"\[law\.exists\]: must be true or false$"):
        ProfileStore.load(tmp_path)


def test_curated_profile_needs_both_summaries(tmp_path):
    write_store(tmp_path, [curated("FR", system_summary_ja=" ")])
    with pytest.raises(ProfileError, match=r"\[system_summary_ja\]"):
        ProfileStore.load(tmp_path)


def test_generated_profile_cannot_carry_a_review_date(tmp_path):
    write_store(tmp_path, [generated("AR") | {"reviewed": date(2026, 1, 1)}])
    with pytest.raises(ProfileError, match=r"\[reviewed\]: must be null when curated is false"):
        ProfileStore.load(tmp_path)


def test_a_present_system_needs_sources(tmp_path):
    profile = curated("CN")
    profile["government_access"] = {"present": True, "summary": "Duty to cooperate.",
                                    "summary_ja": "協力義務。", "sources": []}
    write_store(tmp_path, [profile])
    with pytest.raises(ProfileError, match=r"\[government_access\.sources\]"):
        ProfileStore.load(tmp_path)


def test_a_source_not_retrieved_must_say_why(tmp_path):
    write_store(tmp_path, [curated("FR", sources=[{"url": "https://example.org", "title": "T",
                                                    "retrieved": None}])])
    with pytest.raises(ProfileError, match=r"\[sources\[0\]\.retrieved\]"):
        ProfileStore.load(tmp_path)


def test_unknown_oecd_principle_is_rejected(tmp_path):
    write_store(tmp_path, [curated("FR", oecd8_gaps=["openness", "fairness"])])
    with pytest.raises(ProfileError, match=r"\[oecd8_gaps\[1\]\]: unknown principle 'fairness'"):
        ProfileStore.load(tmp_path)


def test_survey_url_must_be_a_ppc_page(tmp_path):
    write_store(tmp_path, [curated("FR", ppc_survey_url="https://example.org/fr")])
    with pytest.raises(ProfileError, match=r"\[ppc_survey_url\]"):
        ProfileStore.load(tmp_path)


def history_profile():
    profile = curated("VN", "Vietnam")
    profile["history"] = [{
        "effective_from": None,
        "effective_to": date(2023, 6, 30),
        "set": {"law.exists": False, "law.name": None, "law.name_ja": None,
                "system_summary": "No comprehensive law.", "system_summary_ja": "包括的な法律はない。"},
    }]
    return profile


def test_history_overlay_applies_only_within_its_period(tmp_path):
    store = ProfileStore.load(write_store(tmp_path, [history_profile()]))
    before = store.get("VN", date(2023, 6, 30))
    after = store.get("VN", date(2023, 7, 1))
    assert before.law_exists is False
    assert before.data["law"]["name"] is None
    assert before.data["system_summary"] == "No comprehensive law."
    assert after.law_exists is True
    assert after.data["law"]["name"] == "Data Act"
    assert "history" not in after.data


def test_history_overlay_with_both_bounds(tmp_path):
    profile = curated("IN", "India")
    profile["history"] = [{"effective_from": date(2025, 11, 13), "effective_to": date(2027, 5, 12),
                           "set": {"law.exists": False}}]
    store = ProfileStore.load(write_store(tmp_path, [profile]))
    assert store.get("IN", date(2025, 11, 12)).law_exists is True
    assert store.get("IN", date(2025, 11, 13)).law_exists is False
    assert store.get("IN", date(2027, 5, 12)).law_exists is False
    assert store.get("IN", date(2027, 5, 13)).law_exists is True


def test_history_cannot_change_identity_fields(tmp_path):
    profile = curated("VN")
    profile["history"] = [{"effective_from": None, "effective_to": date(2020, 1, 1),
                           "set": {"code": "LA"}}]
    write_store(tmp_path, [profile])
    with pytest.raises(ProfileError, match=r"\[history\[0\]\.set\.code\]: this field cannot change"):
        ProfileStore.load(tmp_path)


def test_history_overlay_must_leave_a_valid_profile(tmp_path):
    profile = curated("VN")
    profile["history"] = [{"effective_from": None, "effective_to": date(2020, 1, 1),
                           "set": {"law.exists": None}}]
    write_store(tmp_path, [profile])
    with pytest.raises(ProfileError, match=r"\[history\[0\]\.set:law\.exists\]"):
        ProfileStore.load(tmp_path)


def test_history_overlay_of_an_unknown_field_is_rejected(tmp_path):
    profile = curated("VN")
    profile["history"] = [{"effective_from": None, "effective_to": date(2020, 1, 1),
                           "set": {"law.enacted": True}}]
    write_store(tmp_path, [profile])
    with pytest.raises(ProfileError, match=r"\[history\[0\]\.set\.law\.enacted\]: unknown field"):
        ProfileStore.load(tmp_path)


def test_overlapping_history_for_the_same_field_is_rejected(tmp_path):
    profile = curated("VN")
    profile["history"] = [
        {"effective_from": None, "effective_to": date(2020, 12, 31), "set": {"law.exists": False}},
        {"effective_from": date(2020, 1, 1), "effective_to": None, "set": {"law.exists": True}},
    ]
    write_store(tmp_path, [profile])
    with pytest.raises(ProfileError, match=r"\[history\[1\]\]: overlaps history\[0\]"):
        ProfileStore.load(tmp_path)


def test_designation_is_false_before_it_took_effect(store_dir):
    store = ProfileStore.load(store_dir)
    before = store.get("GB", date(2019, 1, 22))
    on = store.get("GB", date(2019, 1, 23))
    assert before.designated is False
    assert before.designated_since is None
    assert before.data["designated"]["value"] is False
    assert on.designated is True
    assert on.designated_since == date(2019, 1, 23)
    assert on.designation_instrument == INSTRUMENT


def test_membership_flags_respect_their_since_dates(tmp_path):
    profile = curated(
        "SG", "Singapore", apec_member=True,
        apec_cbpr={"participant": True, "since": date(2018, 3, 6)},
        global_cbpr={"status": "member", "since": date(2022, 4, 21)},
        oecd={"member": True, "since": date(2010, 1, 1)},
    )
    store = ProfileStore.load(write_store(tmp_path, [profile]))
    early = store.get("SG", date(1980, 1, 1))
    assert (early.apec_member, early.apec_cbpr, early.global_cbpr, early.oecd_member) == (
        False, False, "none", False)
    mid = store.get("SG", date(2020, 1, 1))
    assert (mid.apec_member, mid.apec_cbpr, mid.global_cbpr, mid.oecd_member) == (
        True, True, "none", True)
    assert store.get("SG", date(2022, 4, 21)).global_cbpr == "member"


def test_profile_flag_must_agree_with_its_group_file(tmp_path):
    gb = designated_gb()
    groups = groups_for([gb])
    groups["ppc_designated"] = []
    write_store(tmp_path, [gb], groups=groups)
    with pytest.raises(ProfileError) as err:
        ProfileStore.load(tmp_path)
    assert err.value.path.endswith("GB.yaml")
    assert err.value.item == "designated.value"
    assert "groups/ppc_designated.yaml" in str(err.value)


def test_profile_since_must_agree_with_its_group_file(tmp_path):
    gb = designated_gb()
    groups = groups_for([gb])
    groups["ppc_designated"][0]["since"] = date(2020, 1, 1)
    write_store(tmp_path, [gb], groups=groups)
    with pytest.raises(ProfileError, match=r"GB\.yaml \[designated\.since\]"):
        ProfileStore.load(tmp_path)


def test_group_member_needs_a_profile(tmp_path):
    groups = groups_for([])
    groups["oecd"] = [{"code": "CH", "since": date(1961, 9, 30)}]
    write_store(tmp_path, [], groups=groups)
    with pytest.raises(ProfileError, match=r"oecd\.yaml \[members\]: CH is listed but has no profile"):
        ProfileStore.load(tmp_path)


def test_group_member_code_is_checked(tmp_path):
    groups = groups_for([])
    groups["eea"] = [{"code": "EL", "since": date(1994, 1, 1)}]
    write_store(tmp_path, [], groups=groups)
    with pytest.raises(ProfileError, match=r"eea\.yaml \[members\[0\]\.code\]"):
        ProfileStore.load(tmp_path)


def test_missing_group_file_is_rejected(store_dir):
    (store_dir / "groups" / "oecd.yaml").unlink()
    with pytest.raises(ProfileError, match="group file is missing"):
        ProfileStore.load(store_dir)


def test_unknown_code_raises_unknown_country(store_dir):
    store = ProfileStore.load(store_dir)
    with pytest.raises(UnknownCountry):
        store.get("FR", date(2026, 1, 1))
    with pytest.raises(UnknownCountry):
        store.get(None, date(2026, 1, 1))


def test_codes_are_matched_case_insensitively(store_dir):
    assert ProfileStore.load(store_dir).get("gb", date(2026, 1, 1)).code == "GB"


def test_datetime_as_of_is_read_as_its_date(store_dir):
    store = ProfileStore.load(store_dir)
    assert store.get("GB", datetime(2019, 1, 23, 23, 59)).designated is True


def test_review_older_than_18_months_is_stale(store_dir):
    store = ProfileStore.load(store_dir)
    assert STALE_AFTER_MONTHS == 18
    assert store.get("GB", date(2028, 5, 1)).stale is False
    assert store.get("GB", date(2028, 5, 2)).stale is True


def test_generated_profile_is_always_stale(store_dir):
    assert ProfileStore.load(store_dir).get("AR", date(2026, 1, 1)).stale is True


def test_missing_lists_what_a_notice_would_still_need(tmp_path):
    us = curated("US", "United States", oecd8_gaps=None,
                 apec_cbpr={"participant": True, "since": date(2012, 7, 25)})
    ch = curated("CH", "Switzerland", oecd8_gaps=None,
                 government_access={"present": None, "summary": None, "summary_ja": None,
                                    "sources": []})
    store = ProfileStore.load(write_store(tmp_path, [generated("AR"), designated_gb(), us, ch]))
    today = date(2026, 11, 27)
    assert store.get("AR", today).missing == (
        "law", "government_access", "localization", "oecd8_gaps")
    assert store.get("GB", today).missing == ()
    # CBPR participation is indicator information that replaces the OECD-8 comparison ...
    assert store.get("US", today).missing == ()
    # ... but only from the date the economy joined.
    assert store.get("US", date(2012, 7, 24)).missing == ("oecd8_gaps",)
    assert store.get("CH", today).missing == ("government_access", "oecd8_gaps")


def test_digest_ignores_layout_but_not_content(tmp_path):
    first = ProfileStore.load(write_store(tmp_path / "a", [generated("AR")]))
    again = write_store(tmp_path / "b", [generated("AR")])
    path = again / "AR.yaml"
    path.write_text("# a comment\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    second = ProfileStore.load(again)
    changed = ProfileStore.load(write_store(tmp_path / "c", [generated("AR") | {"notes": "x"}]))
    day = date(2026, 1, 1)
    assert first.get("AR", day).digest == second.get("AR", day).digest
    assert first.digest == second.digest
    assert first.get("AR", day).digest != changed.get("AR", day).digest
    assert first.digest != changed.digest


def test_store_digest_covers_group_files(tmp_path):
    first = ProfileStore.load(write_store(tmp_path / "a", [generated("AR")]))
    groups = groups_for([])
    groups["eea"] = [{"code": "AR", "since": date(1994, 1, 1)}]
    second = ProfileStore.load(write_store(tmp_path / "b", [generated("AR")], groups=groups))
    assert first.digest != second.digest


def test_get_is_cached_per_code_and_date(store_dir):
    store = ProfileStore.load(store_dir)
    assert store.get("GB", date(2026, 1, 1)) is store.get("gb", date(2026, 1, 1))
    assert store.get("GB", date(2026, 1, 1)) is not store.get("GB", date(2026, 1, 2))


def test_profile_data_is_read_only(store_dir):
    profile = ProfileStore.load(store_dir).get("GB", date(2026, 1, 1))
    with pytest.raises(TypeError):
        profile.data["law"]["exists"] = False
    with pytest.raises(TypeError):
        profile.data["sources"][0]["title"] = "changed"
    thawed = copy.deepcopy(profile.data)
    thawed["law"]["exists"] = False
    assert profile.law_exists is True


def test_to_dict_is_the_json_view_of_the_profile(store_dir):
    profile = ProfileStore.load(store_dir).get("GB", date(2026, 11, 27))
    body = json.loads(json.dumps(profile.to_dict()))
    assert body["code"] == "GB"
    assert body["as_of"] == "2026-11-27"
    assert body["stale"] is False
    assert body["digest"] == profile.digest
    assert body["missing"] == []
    assert body["reviewed"] == "2026-11-01"
    assert body["designated"] == {"value": True, "since": "2019-01-23", "instrument": INSTRUMENT}
    assert body["eu_adequacy"] == body["uk_adequacy"] == {
        "status": "none", "scope": None, "instrument": None, "since": None, "until": None}
    assert body["stale_sections"] == [] and body["not_assessed"] == [] and body["eea"] is False
    assert json.loads(json.dumps(profile.data)) == {
        k: v for k, v in body.items()
        if k not in ("as_of", "stale", "stale_sections", "digest", "missing", "not_assessed", "eea", "eu_adequacy",
                     "uk_adequacy")}


# --------------------------------------------------------------------------- adequacy (contract §8)


def adequacy(code, scope="full", since=date(2019, 1, 23), until=None, **extra):
    return dict({"code": code, "instrument": "Decision (EU) 2019/419", "scope": scope, "since": since, "until": until,
                 "source": "https://example.org/decision"}, **extra)


def adequacy_store(tmp_path, eu=(), uk=(), eea=()):
    groups = groups_for([generated("AR"), designated_gb(), generated("US")])
    groups["eu_adequacy"], groups["uk_adequacy"] = list(eu), list(uk)
    groups["eea"] = [{"code": c, "since": date(1994, 1, 1)} for c in eea]
    return write_store(tmp_path, [generated("AR"), designated_gb(), generated("US")], groups=groups)


def test_adequacy_is_in_force_only_between_since_and_until(tmp_path):
    store = ProfileStore.load(adequacy_store(tmp_path, eu=[adequacy("GB", since=date(2021, 6, 28), until=date(2031, 12, 27))]))
    assert store.get("GB", date(2021, 6, 27)).eu_adequacy["status"] == "none"
    assert dict(store.get("GB", date(2021, 6, 28)).eu_adequacy) == {
        "status": "full", "scope": None, "instrument": "Decision (EU) 2019/419", "since": "2021-06-28", "until": "2031-12-27"}
    assert store.get("GB", date(2031, 12, 27)).eu_adequacy["status"] == "full"
    assert store.get("GB", date(2031, 12, 28)).eu_adequacy["status"] == "none"
    assert store.get("AR", date(2026, 1, 1)).uk_adequacy["status"] == "none"


def test_a_scoped_adequacy_names_its_scope_and_shows_in_to_dict(tmp_path):
    store = ProfileStore.load(adequacy_store(tmp_path, uk=[adequacy("US", scope="dpf_certified", since=date(2023, 10, 12))]))
    body = json.loads(json.dumps(store.get("US", date(2026, 1, 1)).to_dict()))
    assert body["uk_adequacy"]["status"] == "scoped" and body["uk_adequacy"]["scope"] == "dpf_certified"
    assert body["eu_adequacy"]["status"] == "none"


def test_a_code_may_hold_successive_adequacy_periods(tmp_path):
    store = ProfileStore.load(adequacy_store(tmp_path, eu=[
        adequacy("US", scope="dpf_certified", since=date(2016, 8, 1), until=date(2020, 7, 16)),
        adequacy("US", scope="dpf_certified", since=date(2023, 7, 10))]))
    assert store.get("US", date(2019, 1, 1)).eu_adequacy["status"] == "scoped"
    assert store.get("US", date(2021, 1, 1)).eu_adequacy["status"] == "none"
    assert store.get("US", date(2024, 1, 1)).eu_adequacy["since"] == "2023-07-10"


@pytest.mark.parametrize("member,message", [
    (adequacy("GB", scope="partial"), "must be one of"),
    (adequacy("GB", since=None), "date"),
    (adequacy("GB", since=date(2021, 1, 1), until=date(2020, 1, 1)), "before since"),
    (adequacy("XX"), "not an ISO 3166-1 alpha-2 code"),
    (adequacy("GB", source="not a url"), "URL"),
    (adequacy("GB", instrument=""), "non-empty"),
    (adequacy("GB", colour="blue"), "unknown field"),
])
def test_an_invalid_adequacy_member_is_rejected_naming_the_field(tmp_path, member, message):
    with pytest.raises(ProfileError, match=message):
        ProfileStore.load(adequacy_store(tmp_path, eu=[member]))


def test_overlapping_adequacy_periods_are_rejected(tmp_path):
    with pytest.raises(ProfileError, match="overlapping"):
        ProfileStore.load(adequacy_store(tmp_path, uk=[adequacy("US"), adequacy("US", since=date(2020, 1, 1))]))


def test_an_eea_state_cannot_hold_eu_adequacy(tmp_path):
    with pytest.raises(ProfileError, match="not a transfer"):
        ProfileStore.load(adequacy_store(tmp_path, eu=[adequacy("AR")], eea=["AR"]))


def test_an_adequacy_member_needs_a_profile(tmp_path):
    with pytest.raises(ProfileError, match="no profile file"):
        ProfileStore.load(adequacy_store(tmp_path, eu=[adequacy("CH")]))


def test_eea_membership_is_resolved_at_the_date(tmp_path):
    store = ProfileStore.load(adequacy_store(tmp_path, eea=["AR"]))
    assert store.get("AR", date(1993, 12, 31)).eea is False
    assert store.get("AR", date(2026, 1, 1)).eea is True
    assert store.get("GB", date(2026, 1, 1)).eea is False


def test_store_digest_covers_the_adequacy_files(tmp_path):
    first = ProfileStore.load(adequacy_store(tmp_path / "a"))
    second = ProfileStore.load(adequacy_store(tmp_path / "b", eu=[adequacy("GB")]))
    assert first.digest != second.digest


# --------------------------------------------------------------------------- section reviews


def test_a_curated_profile_must_date_every_section(tmp_path):
    profile = curated("FR")
    del profile["section_reviews"]["localization"]
    write_store(tmp_path, [profile])
    with pytest.raises(ProfileError, match=r"\[section_reviews.localization\]: required field"):
        ProfileStore.load(tmp_path)


def test_a_curated_profile_without_section_reviews_is_rejected(tmp_path):
    profile = curated("FR")
    del profile["section_reviews"]
    write_store(tmp_path, [profile])
    with pytest.raises(ProfileError, match=r"\[section_reviews\]: required field is missing"):
        ProfileStore.load(tmp_path)


def test_an_unknown_section_is_rejected(tmp_path):
    profile = curated("FR")
    profile["section_reviews"]["penalties"] = date(2026, 11, 1)
    write_store(tmp_path, [profile])
    with pytest.raises(ProfileError, match=r"\[section_reviews.penalties\]: unknown field"):
        ProfileStore.load(tmp_path)


def test_a_section_cannot_be_reviewed_after_the_file(tmp_path):
    profile = curated("FR")
    profile["section_reviews"]["law"] = date(2026, 11, 2)
    write_store(tmp_path, [profile])
    with pytest.raises(ProfileError, match=r"\[section_reviews.law\]: is later than reviewed"):
        ProfileStore.load(tmp_path)


def test_a_generated_profile_cannot_carry_section_reviews(tmp_path):
    profile = generated("AR") | {"section_reviews": {k: date(2026, 11, 1) for k in SECTIONS}}
    write_store(tmp_path, [profile])
    with pytest.raises(ProfileError, match=r"\[section_reviews\]: must be left out"):
        ProfileStore.load(tmp_path)


def test_section_reviews_cannot_change_over_time(tmp_path):
    profile = curated("FR")
    profile["history"] = [{"effective_from": None, "effective_to": date(2020, 1, 1),
                           "set": {"section_reviews": {}}}]
    write_store(tmp_path, [profile])
    with pytest.raises(ProfileError, match="this field cannot change over time"):
        ProfileStore.load(tmp_path)


def test_one_old_section_makes_the_profile_stale_and_is_named(tmp_path):
    profile = curated("FR")
    profile["section_reviews"]["government_access"] = date(2025, 1, 15)
    profile["section_reviews"]["localization"] = date(2025, 3, 1)
    store = ProfileStore.load(write_store(tmp_path, [profile, generated("AR")]))
    assert store.get("FR", date(2026, 7, 15)).stale is False
    late = store.get("FR", date(2026, 7, 16))
    assert late.stale is True and late.stale_sections == ("government_access",)
    assert late.to_dict()["stale_sections"] == ["government_access"]
    assert late.oldest_review == date(2025, 1, 15)
    assert store.get("FR", date(2026, 9, 2)).stale_sections == (
        "government_access", "localization")


def test_the_store_lists_every_stale_section_of_curated_profiles(tmp_path):
    profile = curated("FR")
    profile["section_reviews"]["government_access"] = date(2025, 1, 15)
    store = ProfileStore.load(write_store(tmp_path, [profile, generated("AR")]))
    assert store.stale_sections(date(2026, 7, 15)) == ()
    [stale] = store.stale_sections(date(2026, 7, 16))
    assert stale.to_dict() == {"code": "FR", "name": "Somewhere", "name_ja": "どこか",
                               "section": "government_access", "reviewed": "2025-01-15",
                               "due": "2026-07-15"}
    everything = store.stale_sections(date(2026, 7, 16), curated_only=False)
    assert [(s.code, s.section) for s in everything if s.code == "AR"] == [
        ("AR", key) for key in SECTIONS]
    assert all(s.reviewed is None and s.due is None for s in everything if s.code == "AR")


def test_a_generated_profile_has_every_section_stale(store_dir):
    profile = ProfileStore.load(store_dir).get("AR", date(2026, 1, 1))
    assert profile.stale_sections == SECTIONS
    assert profile.oldest_review is None


# --------------------------------------------------------------------------- not assessed


def test_null_sections_are_reported_as_not_assessed_in_both_languages(tmp_path):
    unknown = {"present": None, "summary": None, "summary_ja": None, "sources": []}
    profile = curated("CH", "Switzerland", oecd8_gaps=None, government_access=unknown,
                      localization=dict(unknown))
    store = ProfileStore.load(write_store(tmp_path, [profile]))
    body = store.get("CH", date(2026, 11, 27)).to_dict()
    by_section = {item["section"]: item for item in body["not_assessed"]}
    assert list(by_section) == ["oecd8_gaps", "government_access", "localization"]
    for item in by_section.values():
        assert item["text"].startswith("Not assessed") and "Switzerland" in item["text"]
        assert item["text_ja"].startswith("未評価") and "どこか" in item["text_ja"]
        assert "none" not in item["text"].lower().split()
        assert item["sources"] == ["https://www.ppc.go.jp/enforcement/infoprovision/laws/"]
    assert "intelligence" in by_section["government_access"]["text"]
    assert "情報収集" in by_section["government_access"]["text_ja"]
    assert "stored within its territory" in by_section["localization"]["text"]


def test_assessed_sections_are_not_reported_as_not_assessed(store_dir):
    assert ProfileStore.load(store_dir).get("GB", date(2026, 11, 27)).not_assessed == ()


def test_a_cbpr_economy_is_told_the_oecd8_comparison_is_not_needed(tmp_path):
    us = curated("US", "United States", oecd8_gaps=None,
                 apec_cbpr={"participant": True, "since": date(2012, 7, 25)})
    store = ProfileStore.load(write_store(tmp_path, [us]))
    [item] = store.get("US", date(2026, 11, 27)).not_assessed
    assert item["section"] == "oecd8_gaps" and "APEC CBPR" in item["text"]
    [before] = store.get("US", date(2012, 7, 24)).not_assessed
    assert "APEC CBPR" not in before["text"]


def test_a_generated_profile_is_not_assessed_on_every_legal_fact(store_dir):
    profile = ProfileStore.load(store_dir).get("AR", date(2026, 1, 1))
    assert [item["section"] for item in profile.not_assessed] == [
        "law", "oecd8_gaps", "government_access", "localization"]


def test_a_null_section_says_what_is_missing_in_both_languages(tmp_path):
    open_question = {"present": None, "summary": "Lead: the Assistance Act.",
                     "summary_ja": "手掛かり：支援法。", "sources": ["https://example.org/act"]}
    profile = curated("AU", "Australia", government_access=open_question)
    store = ProfileStore.load(write_store(tmp_path, [profile]))
    [item] = store.get("AU", date(2026, 11, 27)).to_dict()["not_assessed"]
    assert item["text"].startswith("Not assessed") and item["text"].endswith("Lead: the Assistance Act.")
    assert item["text_ja"].startswith("未評価") and item["text_ja"].endswith("手掛かり：支援法。")
    assert item["sources"] == ["https://www.ppc.go.jp/enforcement/infoprovision/laws/",
                               "https://example.org/act"]


def test_a_null_section_with_a_summary_needs_it_in_both_languages(tmp_path):
    half = {"present": None, "summary": "Lead.", "summary_ja": None, "sources": []}
    write_store(tmp_path, [curated("AU", "Australia", localization=half)])
    with pytest.raises(ProfileError, match=r"\[localization.summary_ja\]: must be a non-empty"):
        ProfileStore.load(tmp_path)


def test_not_assessed_text_reads_naturally_for_names_that_take_the(tmp_path):
    unknown = {"present": None, "summary": None, "summary_ja": None, "sources": []}
    store = ProfileStore.load(write_store(tmp_path, [
        curated("GB", "United Kingdom", localization=unknown,
                designated={"value": True, "since": date(2019, 1, 23), "instrument": INSTRUMENT})]))
    [item] = store.get("GB", date(2026, 11, 27)).not_assessed
    assert "whether the United Kingdom requires" in item["text"]


def test_resolutions_of_a_country_on_different_days_share_what_they_have_in_common():
    """The per-day cache holds one resolved profile per day asked for; their content is one shared copy
    while it does not change, and each still reads exactly as a store of its own resolves it."""
    from datetime import date, timedelta

    from transfer_gate.profiles import ProfileStore
    from tests.conftest import PROFILES

    store, fresh = ProfileStore.load(PROFILES), ProfileStore.load(PROFILES)
    days = [date(2025, 6, 1) + timedelta(days=i) for i in range(30)]
    resolved = [store.get("US", d) for d in days]
    assert len({id(p.data) for p in resolved}) == 1 and len({id(p.eu_adequacy) for p in resolved}) == 1
    assert [p.as_of for p in resolved] == days
    for d in (days[0], date(2020, 1, 1), date(2026, 11, 27)):
        assert store.get("US", d) == fresh.get("US", d)
    # Content that differs is never shared: the US before and after the EU's adequacy decision (DPF).
    before, after = store.get("US", date(2023, 7, 9)), store.get("US", date(2023, 7, 10))
    assert before.eu_adequacy is not after.eu_adequacy and before.eu_adequacy["status"] != after.eu_adequacy["status"]
    assert before == fresh.get("US", date(2023, 7, 9)) and after == fresh.get("US", date(2023, 7, 10))
