"""A rulesets directory with stand-in `gdpr` and `uk_gdpr` rulesets, for testing the plumbing of regimes.

The stand-ins decide by request facts that exist in every version of the fact vocabulary, so
the tests of regime selection, journeys, logging and replay do not depend on the content of
the real GDPR and UK GDPR rules (their own cases test that). They are not law:

- a destination designated under PPC Rules 15 (the EEA and the UK) is `not_a_transfer` (allow);
- a destination whose profile has a data-protection law and no known government-access duty
  is `adequacy` (allow) — Japan is one;
- a recipient with `contract_measures` is `appropriate_safeguards`, conditional on a stand-in
  assessment condition;
- anything else is denied (no route).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import API_KEYS, PROFILES, RULESETS

KINDS = ["personal_data", "special_care", "personally_referable", "pseudonymized", "anonymized", "statistical"]

RULESET = """\
name: {name}
version: "test-1"
regime: {regime}
origins: {origins}
title: Stand-in {regime} ruleset for tests
title_ja: テスト用の{regime}ルールセット
description: Decides by request facts only; not law.
routes:
  - id: not_a_transfer
    title: Not a transfer
    title_ja: 移転に該当しない
    citations: [APPI 28(1)]
    missing: {{text: "the destination is outside the area", text_ja: "域外である"}}
    remedy: {{text: "Keep the data in the area.", text_ja: "域内に留める。"}}
  - id: adequacy
    title: Adequacy
    title_ja: 十分性
    citations: [APPI 28(1)]
    missing: {{text: "no adequacy", text_ja: "十分性なし"}}
    remedy: {{text: "Send it to an adequate country.", text_ja: "十分性のある国に送る。"}}
  - id: appropriate_safeguards
    title: Appropriate safeguards
    title_ja: 適切な保護措置
    citations: [APPI 28(1)]
    missing: {{text: "no safeguards", text_ja: "保護措置なし"}}
    remedy: {{text: "Conclude a contract.", text_ja: "契約を締結する。"}}
"""

RULES = """\
- id: {prefix}.test.scope
  why: Every kind meets a rule.
  when: {{kind: {kinds}}}
  then:
    missing: [{{route: adequacy, text: "stand-in: the destination is not adequate", text_ja: "十分性なし（テスト）"}}]
  citations: [APPI 28(1)]

- id: {prefix}.test.within
  why: Stand-in for the area the regime covers.
  when: {{destination_designated: true}}
  then: {{route: not_a_transfer}}
  citations: [APPI 28(1)]

- id: {prefix}.test.adequacy
  why: Stand-in for an adequacy decision.
  when: {{destination_designated: false, profile_law: "yes", profile_government_access: "unknown"}}
  then: {{route: adequacy}}
  citations: [APPI 28(1)]

- id: {prefix}.test.safeguards
  why: Stand-in for appropriate safeguards.
  when: {{safeguard_contract_measures: true}}
  then:
    route: appropriate_safeguards
    conditions:
      - id: {prefix}.test.assessment
        text: Assess the destination's law (stand-in).
        text_ja: 移転先の法制を評価する（テスト）。
        citations: [APPI 28(1)]
        on_route: [appropriate_safeguards]
  citations: [APPI 28(1)]
"""

EEA = ["AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IS", "IT",
       "LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK"]


def write_partner_rulesets(directory: Path) -> Path:
    """Copy the shipped APPI rules and add the stand-in partner rulesets; return the directory."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("citations.yaml", "taxonomy.yaml", "law_changes.yaml"):
        shutil.copy(RULESETS / name, directory / name)
    shutil.copytree(RULESETS / "appi", directory / "appi")
    for name, regime, origins in (("gdpr", "GDPR", EEA), ("uk_gdpr", "UK_GDPR", ["GB"])):
        sub = directory / name
        (sub / "rules").mkdir(parents=True)
        (sub / "ruleset.yaml").write_text(RULESET.format(name=name, regime=regime, origins="[" + ", ".join(origins) + "]"),
                                          encoding="utf-8")
        (sub / "rules" / "00-test.yaml").write_text(RULES.format(prefix=name.replace("_", ""), kinds="[" + ", ".join(KINDS) + "]"),
                                                    encoding="utf-8")
    return directory


@pytest.fixture(scope="session")
def partner_runtime(tmp_path_factory):
    """A runtime (without a log) over APPI and the stand-in partner rulesets."""
    from transfer_gate.service import Runtime

    return Runtime.build(write_partner_rulesets(tmp_path_factory.mktemp("partner") / "rulesets"), PROFILES, log=None)


@pytest.fixture
def partner_app(tmp_path, partner_runtime, monkeypatch):
    """A fresh app with its own SQLite log, deciding under APPI and the stand-in partner rulesets."""
    from transfer_gate import create_app
    from transfer_gate.service import Runtime

    shared = (partner_runtime.book, partner_runtime.profiles, partner_runtime.matcher)
    monkeypatch.setattr(Runtime, "build", classmethod(lambda cls, r, p, log, clock=None: cls(*shared, log)))
    return create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'log.sqlite3'}",
                       "SECRET_KEY": "test-secret-key-of-at-least-32-chars", "API_KEYS": API_KEYS})


@pytest.fixture
def partner_client(partner_app):
    from tests.conftest import bearer

    client = partner_app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = bearer("app")["Authorization"]
    return client
