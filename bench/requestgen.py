"""Varied, valid transfer requests drawn from the whole request space (seeded, reproducible)."""

from __future__ import annotations

import random

DESTINATIONS = ["US", "DE", "GB", "FR", "IE", "CH", "KR", "SG", "PH", "CN", "IN", "VN", "TH", "BR", "AU",
                "CA", "BO", "AE", "RU", "NL", "unknown"]
CATEGORIES = ["personal_data", "special_care.medical_history", "special_care.health_checkup", "special_care.race",
              "special_care.trade_union_membership", "special_care.sex_life", "personally_referable",
              "pseudonymized", "anonymized", "statistical"]
RELATIONSHIPS = ["third_party", "outsourcee", "joint_use", "business_succession"]
SAFEGUARDS = ["contract_measures", "group_rules", "apec_cbpr", "global_cbpr", "apec_prp"]
EXCEPTIONS = [None] * 8 + ["laws_and_regulations", "life_body_property", "public_health_children", "state_cooperation",
                           "academic_publication", "academic_joint_research", "academic_recipient"]


def random_request(rng: random.Random) -> dict:
    """Return one valid request body (contract §2)."""
    return {
        "origin": "JP",
        "destination": rng.choice(DESTINATIONS),
        "data_categories": rng.sample(CATEGORIES, rng.choice([1, 1, 1, 2, 3])),
        "data_origin": rng.choice([None, None, None, "EU", "UK"]),
        "recipient": {
            "name": rng.choice([None, "Acme Cloud Inc.", "株式会社テスト"]),
            "relationship": rng.choice(RELATIONSHIPS),
            "safeguards": rng.sample(SAFEGUARDS, rng.choice([0, 0, 1, 1, 2])),
            "handles_data": rng.random() > 0.1,
            "links_to_individuals": rng.random() > 0.5,
            "academic_institution": rng.random() > 0.8,
        },
        "basis": {
            "consent": rng.choice(["none", "plain", "informed"]),
            "exception": rng.choice(EXCEPTIONS),
            "opt_out": rng.random() > 0.8,
            "public_announcement": rng.random() > 0.5,
        },
        "as_of": rng.choice(["2026-11-27", "2025-06-01", "2024-04-01"]),
        "reference": f"bench-{rng.randrange(10**6)}",
    }


def random_requests(n: int, seed: int = 2026) -> list[dict]:
    rng = random.Random(seed)
    return [random_request(rng) for _ in range(n)]
