"""The law-change register, the notices it puts on answers, and the law watch (GET /v1/law-changes)."""

import re
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import RULESETS, sign_in
from transfer_gate import service
from transfer_gate.errors import DataFileError, RuleFileError
from transfer_gate.law_changes import LawChangeRegister
from transfer_gate.rules import load_rulebook

BIOMETRIC_OPT_OUT = {"origin": "JP", "destination": "DE", "data_categories": ["specified_biometric"],
                     "basis": {"opt_out": True}, "as_of": "2026-12-01"}
PLAIN = {"origin": "JP", "destination": "DE", "data_categories": ["personal_data"],
         "basis": {"consent": "plain"}, "as_of": "2026-12-01"}


def test_a_pending_change_adds_a_notice_in_both_languages_and_changes_nothing_today(client):
    answer = client.post("/v1/decisions", json=BIOMETRIC_OPT_OUT).get_json()
    assert answer["outcome"] == "conditional" and answer["route"] == "designated_country"
    [notice] = [n for n in answer["notices"] if n["change"] == "appi-2026.specified-biometric-opt-out"]
    assert notice["status"] == "pending" and notice["in_force"] is None
    assert "opt-out" in notice["text"] and "オプトアウト" in notice["text_ja"]
    assert notice["title"] and notice["title_ja"] and notice["citations"] == ["APPI 27(2)", "APPI 27(1)"]
    assert "appi.2026.biometric-opt-out-barred" not in {t["rule"] for t in answer["trace"]}


def test_an_answer_no_change_touches_has_no_notice(client):
    assert client.post("/v1/decisions", json=PLAIN).get_json()["notices"] == []


def test_setting_the_in_force_date_switches_the_rules_on_from_that_day(tmp_path, runtime):
    copy = tmp_path / "rulesets"
    _copy_tree(RULESETS, copy)
    register = copy / "law_changes.yaml"
    text = register.read_text()
    marker = "  - id: appi-2026.specified-biometric-opt-out\n"
    head, rest = text.split(marker)
    rest = rest.replace("    in_force: null\n", "    in_force: 2027-04-01\n", 1)
    register.write_text(head + marker + rest)
    book = load_rulebook(copy)
    assert book.rulesets["appi"].digest != runtime.book.rulesets["appi"].digest  # replay can tell them apart
    candidate = service.Runtime(book, runtime.profiles, service.compile_matcher(book), None)

    def decide(as_of):
        request = service.validate(candidate, dict(BIOMETRIC_OPT_OUT, as_of=as_of))
        return service.evaluate(candidate, request).to_dict()

    before = decide("2027-03-31")
    assert before["outcome"] == "conditional"
    assert [n["status"] for n in before["notices"] if n["change"].endswith("biometric-opt-out")] == ["scheduled"]
    after = decide("2027-04-01")
    assert after["outcome"] == "deny"
    assert [r["rule"] for r in after["deny_reasons"]] == ["appi.2026.biometric-opt-out-barred"]
    assert not [n for n in after["notices"] if n["change"].endswith("biometric-opt-out")]


@pytest.mark.parametrize("role", ["app", "officer", "auditor", "admin"])
def test_every_role_may_read_the_law_watch(client_for, role):
    response = client_for(role).get("/v1/law-changes")
    assert response.status_code == 200
    assert {c["id"] for c in response.get_json()["changes"]} >= {"appi-2026.specified-biometric-opt-out",
                                                                   "ppc-gl-offshore-2025-12.global-cbpr"}


def test_the_law_watch_needs_a_key(anonymous):
    assert anonymous.get("/v1/law-changes").status_code == 401


def test_the_law_watch_counts_the_logged_decisions_a_pending_change_would_change(app, client):
    for body in (BIOMETRIC_OPT_OUT, BIOMETRIC_OPT_OUT, PLAIN):
        assert client.post("/v1/decisions", json=body).status_code == 200
    rt = app.extensions["transfer_gate"]
    watch = service.law_watch(rt, rt.clock().date())
    changes = {c["id"]: c for c in watch["changes"]}
    biometric = changes["appi-2026.specified-biometric-opt-out"]
    assert biometric["status"] == "pending" and biometric["rules"] == ["appi.2026.biometric-opt-out-barred"]
    assert biometric["decisions_changed"] == 2 and biometric["transitions"]["conditional → deny"] == 2
    assert changes["appi-2026.children-under-16"]["decisions_changed"] == 0
    # in force already: the logged decisions apply it, nothing to count
    assert changes["ppc-gl-offshore-2025-12.global-cbpr"]["status"] == "in_force"
    assert changes["ppc-gl-offshore-2025-12.global-cbpr"]["decisions_changed"] is None
    # promulgated changes that no rule decides are listed, without a count
    assert changes["appi-2026.administrative-fines"]["rules"] == []
    assert watch["decisions_examined"] == 3 and watch["examined_all"] is True
    # pending first, then scheduled, then in force
    statuses = [c["status"] for c in watch["changes"]]
    assert statuses == sorted(statuses, key=["pending", "scheduled", "in_force"].index)


def test_the_status_follows_the_date():
    register = LawChangeRegister.load(RULESETS / "law_changes.yaml", load_rulebook(RULESETS).citations)
    penal = register.get("appi-2026.penal-provisions")
    assert penal.status(date(2027, 1, 16)) == "scheduled" and penal.status(date(2027, 1, 17)) == "in_force"
    assert register.get("appi-2026.children-under-16").status(date(2030, 1, 1)) == "pending"


def test_a_rule_naming_an_unregistered_change_is_refused(tmp_path):
    copy = tmp_path / "rulesets"
    _copy_tree(RULESETS, copy)
    rule_file = copy / "appi" / "rules" / "95-changes-ahead.yaml"
    rule_file.write_text(rule_file.read_text().replace("change: appi-2026.children-under-16",
                                                       "change: appi-2026.no-such-change"))
    with pytest.raises(RuleFileError, match="no-such-change"):
        load_rulebook(copy)


def test_a_change_without_a_date_must_say_how_the_date_will_be_set(tmp_path):
    register = tmp_path / "law_changes.yaml"
    register.write_text("""changes:
  - id: example.change
    kind: amendment
    title: An example
    title_ja: 例
    instrument: An act
    instrument_ja: ある法律
    summary: What it changes.
    summary_ja: 変更内容。
    promulgated: 2026-07-17
    in_force: null
    confidence: S
    citations: [APPI 27(2)]
    sources: [{url: "https://www.ppc.go.jp/", title: PPC}]
""")
    with pytest.raises(DataFileError, match="in_force_note"):
        LawChangeRegister.load(register, load_rulebook(RULESETS).citations)


def _copy_tree(source: Path, target: Path):
    import shutil

    shutil.copytree(source, target)


# --------------------------------------------------------------------------- the page


def test_officers_and_auditors_see_the_law_watch_page_in_english(app, client):
    client.post("/v1/decisions", json=BIOMETRIC_OPT_OUT)
    for role in ("officer", "auditor"):
        page = sign_in(app.test_client(), role, api_too=False)
        page.set_cookie("lang", "en")
        html = page.get("/law-watch").get_data(as_text=True)
        assert "Law watch" in html
        assert "Specified biometric personal information: provision by opt-out barred" in html
        assert "Pending: entry into force not yet set" in html
        assert "1 examined decision would change." in html
        assert "Allowed on conditions → Not allowed" in html
        assert "appi-2026" not in html and "appi.2026" not in html  # no internal ids reach a person


def test_the_law_watch_page_speaks_japanese(app, client):
    from babel.messages.pofile import read_po

    client.post("/v1/decisions", json=BIOMETRIC_OPT_OUT)
    page = sign_in(app.test_client(), "officer", api_too=False)
    page.set_cookie("lang", "ja")
    html = page.get("/law-watch").get_data(as_text=True)
    assert "法令改正の動向" in html and "特定生体個人情報のオプトアウトによる第三者提供の禁止" in html
    assert "施行日未定" in html and "確認した判定のうち1件が変わる。" in html
    with open(Path(__file__).resolve().parent.parent / "transfer_gate" / "translations" / "ja" / "LC_MESSAGES"
              / "messages.po", "rb") as f:
        english = [m.id for m in read_po(f, locale="ja") if isinstance(m.id, str) and len(m.id) > 12]
    shown = re.sub(r"<[^>]+>", " ", html)
    assert [m for m in english if m in shown] == []


def test_the_law_watch_is_in_the_navigation_of_officers_and_auditors(app):
    for role in ("officer", "auditor"):
        page = sign_in(app.test_client(), role, api_too=False)
        assert 'href="/law-watch"' in page.get("/law-watch").get_data(as_text=True)


def test_apps_and_admins_have_no_law_watch_page(client_for):
    assert client_for("app").get("/law-watch").status_code in (302, 303)  # pages need a browser sign-in


def test_the_law_watch_lists_the_profiles_whose_review_is_due(app):
    rt = app.extensions["transfer_gate"]
    assert service.law_watch(rt, date(2026, 12, 2))["stale_profiles"] == []
    later = service.law_watch(rt, date(2028, 12, 1))["stale_profiles"]
    us = next(p for p in later if p["code"] == "US")
    assert us["name_ja"] == "アメリカ合衆国"
    assert {s["section"] for s in us["sections"]} >= {"law", "government_access"}
    assert all(s["due"] <= "2028-12-01" for s in us["sections"])


def test_a_journey_carries_each_legs_notices_with_the_leg(client):
    body = {"origin": "DE", "destination": "JP", "data_categories": ["personal_data"],
            "onward": [{"destination": "US", "recipient": {"relationship": "outsourcee",
                                                           "safeguards": ["contract_measures"]}}],
            "as_of": "2026-12-01"}
    answer = client.post("/v1/decisions", json=body).get_json()
    assert answer["outcome"] != "deny", answer["deny_reasons"]
    processor = [n for n in answer["notices"] if n["change"] == "appi-2026.processor-duties"]
    assert [n["leg"] for n in processor] == [1]
    assert [n["change"] for n in answer["legs"][1]["notices"]] == [n["change"] for n in answer["notices"]]
