"""Rule files: the loader rejects every malformed rule, naming the file and the rule id."""

import shutil
from datetime import date

import pytest

from tests.conftest import RULESETS
from transfer_gate.citations import is_valid_ref, statutory_order
from transfer_gate.errors import CitationError, RuleFileError
from transfer_gate.rules import load_rulebook

GOOD = """
- id: appi.test.extra
  why: A test rule.
  when: {kind: personal_data, consent: plain}
  then:
    conditions:
      - id: appi.test.condition
        text: "Tell {destination_name}."
        text_ja: "{destination_name_ja}に伝える。"
        citations: [APPI 28(1)]
  citations: [APPI 28(1)]
"""


@pytest.fixture
def rulesets(tmp_path):
    target = tmp_path / "rulesets"
    shutil.copytree(RULESETS, target)
    return target


def add_rule(rulesets, text):
    path = rulesets / "appi" / "rules" / "99-test.yaml"
    path.write_text(text)
    return path


def test_the_shipped_rules_load_and_every_citation_follows_the_grammar():
    book = load_rulebook(RULESETS)
    appi = book.rulesets["appi"]
    assert appi.regime == "APPI" and appi.origins == ("JP",)
    assert all(is_valid_ref(c.ref) for c in book.citations)
    for rule in appi.rules:
        assert rule.citations and all(ref in book.citations for ref in rule.citations)
        assert rule.why


@pytest.mark.parametrize("ref", [
    "GDPR 45(1)", "GDPR 46(2)(c)", "GDPR 49(1)(a)", "GDPR 49(1)", "GDPR 30(1)(e)", "GDPR 4(5)", "GDPR 9",
    "UK GDPR 44A", "UK GDPR 45A", "UK GDPR 46(2)", "UK GDPR 49(1)(a)", "DPA 2018 17A",
    "Decision (EU) 2019/419", "Decision (EU) 2021/914", "EDPB Rec 01/2020", "EDPB GL 2/2018", "EDPB GL 05/2021",
])
def test_the_partner_regimes_refs_of_contract_8_3_follow_the_grammar(ref):
    assert is_valid_ref(ref)


@pytest.mark.parametrize("ref", ["GDPR Art. 45", "GDPR 46(2)(ii)", "UK GDPR", "Decision 2002/2/EC", "EDPB Rec 1-2020"])
def test_malformed_partner_refs_are_refused(ref):
    assert not is_valid_ref(ref)


def test_refs_sort_by_instrument_then_article_whatever_the_set_order():
    refs = ["GDPR 49(1)(a)", "Decision (EU) 2021/914", "APPI 28(1)", "GDPR 46(2)(c)", "GDPR 46(2)(b)", "UK GDPR 45A",
            "UK GDPR 45(1)", "GDPR 49(1)"]
    assert sorted(refs, key=statutory_order) == [
        "APPI 28(1)", "GDPR 46(2)(b)", "GDPR 46(2)(c)", "GDPR 49(1)", "GDPR 49(1)(a)", "UK GDPR 45(1)", "UK GDPR 45A",
        "Decision (EU) 2021/914"]


def test_a_valid_extra_rule_loads(rulesets):
    add_rule(rulesets, GOOD)
    assert "appi.test.extra" in {r.id for r in load_rulebook(rulesets).rulesets["appi"].rules}


@pytest.mark.parametrize("change,message", [
    (("  why: A test rule.\n", "  why: A test rule.\n  owner: legal\n"), "unknown keys"),
    (("consent: plain", "consents: plain"), "unknown fact 'consents'"),
    (("consent: plain", "consent: yes"), "not allowed for fact 'consent'"),
    (("consent: plain", "opt_out: maybe"), "not allowed for fact 'opt_out'"),
    (("  citations: [APPI 28(1)]\n", "  citations: [APPI 99(1)]\n"), "not in the citation registry"),
    (("  citations: [APPI 28(1)]\n", "  citations: [Article 28]\n"), "grammar"),
    (("  why: A test rule.\n", ""), "missing 'why'"),
    (("text_ja: \"{destination_name_ja}に伝える。\"", "text_ja: \"\""), "missing 'text_ja'"),
    (("Tell {destination_name}.", "Tell {recipient_name}."), "unknown placeholders"),
    (("    conditions:", "    route: nowhere\n    conditions:"), "unknown route 'nowhere'"),
    (("id: appi.test.extra", "id: Appi Test"), "rule id must be"),
])
def test_a_malformed_rule_is_rejected_naming_file_and_rule(rulesets, change, message):
    path = add_rule(rulesets, GOOD.replace(*change))
    with pytest.raises((RuleFileError, CitationError)) as err:
        load_rulebook(rulesets)
    assert message in str(err.value)
    assert str(path) in str(err.value)


def test_a_duplicate_rule_id_is_rejected(rulesets):
    add_rule(rulesets, GOOD.replace("appi.test.extra", "appi.route.designated-country"))
    with pytest.raises(RuleFileError, match="also used in"):
        load_rulebook(rulesets)


def test_a_duplicate_key_in_a_rule_is_rejected(rulesets):
    add_rule(rulesets, GOOD.replace("  citations: [APPI 28(1)]\n", "  citations: [APPI 28(1)]\n  citations: [APPI 27]\n"))
    with pytest.raises(RuleFileError, match="duplicate key"):
        load_rulebook(rulesets)


def test_a_required_record_needs_retention_and_items(rulesets):
    add_rule(rulesets, GOOD.replace("    conditions:", "    records: {required: true}\n    conditions:"))
    with pytest.raises(RuleFileError, match="retention"):
        load_rulebook(rulesets)


def test_the_digest_identifies_the_rules_and_changes_with_them(rulesets):
    before = load_rulebook(rulesets).rulesets["appi"].digest
    assert load_rulebook(rulesets).rulesets["appi"].digest == before
    (rulesets / "appi" / "cases" / "brief-scenarios.yaml").write_text("[]")  # cases are not rules
    assert load_rulebook(rulesets).rulesets["appi"].digest == before
    add_rule(rulesets, GOOD)
    assert load_rulebook(rulesets).rulesets["appi"].digest != before


def test_rules_are_in_force_only_within_their_dates():
    appi = load_rulebook(RULESETS).rulesets["appi"]
    rule = appi.rule("appi.certified.global-cbpr-before-guideline")
    assert rule.effective_to == date(2025, 12, 11)
    assert rule.in_force(date(2025, 12, 11)) and not rule.in_force(date(2025, 12, 12))
    # a rule tied to a registered change follows the change's in_force date
    tied = appi.rule("appi.route.certified-recipient-global")
    assert tied.change == "ppc-gl-offshore-2025-12.global-cbpr" and tied.change_in_force == date(2025, 12, 12)
    assert not tied.in_force(date(2025, 12, 11)) and tied.in_force(date(2025, 12, 12))
    assert tied.awaits_change(date(2025, 12, 11)) and not tied.awaits_change(date(2025, 12, 12))


MISSING = """
- id: appi.test.missing
  why: A test rule.
  when: {kind: personal_data, consent: plain}
  then:
    missing:
      - route: informed_consent
        text: "consent after the information"
        text_ja: "情報提供後の同意"
        fields: [basis.consent]
        apply: [{path: basis.consent, set: informed}]
    reason: {text: "Consent is not enough.", text_ja: "同意が不十分。"}
  citations: [APPI 28(1)]
"""


def test_missing_items_carry_fields_apply_and_a_reason(rulesets):
    add_rule(rulesets, MISSING)
    rule = load_rulebook(rulesets).rulesets["appi"].rule("appi.test.missing")
    [item] = rule.missing
    assert item.fields == ("basis.consent",)
    assert [c.to_dict() for c in item.apply] == [{"path": "basis.consent", "set": "informed"}]
    assert rule.reason.text == "Consent is not enough."


@pytest.mark.parametrize("change,message", [
    (("set: informed", "set: sometimes"), "is not a value of 'basis.consent'"),
    (("path: basis.consent, set: informed", "path: recipient.safeguards, set: apec_cbpr"), "use 'add' for list fields"),
    (("path: basis.consent, set: informed", "path: destination, set: DE"), "not something a remedy can change"),
    (("path: basis.consent, set: informed", "path: Basis Consent, set: informed"), "not a request field path"),
    (("{path: basis.consent, set: informed}", "{path: basis.consent}"), "must be {path, set} or {path, add}"),
    (("fields: [basis.consent]", "fields: [basis..consent]"), "not a request field path"),
    (("    reason: {text: \"Consent is not enough.\", text_ja: \"同意が不十分。\"}\n", "    reason: {text: \"Consent is not enough.\"}\n"), "missing 'text_ja'"),
])
def test_a_malformed_missing_item_or_reason_is_rejected(rulesets, change, message):
    path = add_rule(rulesets, MISSING.replace(*change))
    with pytest.raises(RuleFileError) as err:
        load_rulebook(rulesets)
    assert message in str(err.value) and str(path) in str(err.value)


def test_a_reason_needs_a_missing_or_deny_effect_beside_it(rulesets):
    text = MISSING.split("    missing:")[0] + "    route: informed_consent\n    reason: {text: \"x\", text_ja: \"x\"}\n  citations: [APPI 28(1)]\n"
    add_rule(rulesets, text)
    with pytest.raises(RuleFileError, match="a reason explains why routes are missing"):
        load_rulebook(rulesets)


def test_every_route_says_in_plain_words_what_it_misses_and_which_fields():
    appi = load_rulebook(RULESETS).rulesets["appi"]
    assert appi.default_deny and appi.default_deny.citations
    for route in appi.routes:
        assert route.missing.text and route.missing.text_ja and route.missing.fields, route.id
