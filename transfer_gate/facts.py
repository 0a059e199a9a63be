"""The fact vocabulary rules are written over, and how facts are built from a request.

One fact is asserted per kind of data in the request (personal data, special care, …), so a
rule always reasons about one kind; the engine combines the kinds afterwards.
"""

from __future__ import annotations

from .model import TransferRequest

BOOL = (True, False)
KINDS = ("personal_data", "special_care", "personally_referable", "pseudonymized", "anonymized", "statistical")
RELATIONSHIPS = ("third_party", "outsourcee", "joint_use", "business_succession")
SAFEGUARDS = ("contract_measures", "group_rules", "apec_cbpr", "global_cbpr", "apec_prp")
CONSENTS = ("none", "plain", "informed")
EXCEPTIONS = (
    "laws_and_regulations",
    "life_body_property",
    "public_health_children",
    "state_cooperation",
    "academic_publication",
    "academic_joint_research",
    "academic_recipient",
)
TRISTATE = ("yes", "no", "unknown")

# name -> allowed values, with what each fact means. Rule files may test only these.
FACTS: dict[str, tuple] = {
    "kind": KINDS,
    "destination_known": BOOL,  # false when destination is "unknown" (PPC Rules 17(3))
    "destination_designated": BOOL,  # PPC Rules 15 designation in force on as_of
    "data_origin": ("none", "EU", "UK"),
    "eu_uk_origin": BOOL,  # received from the EEA or UK under adequacy: SR apply
    "relationship": RELATIONSHIPS,
    "safeguard_contract_measures": BOOL,
    "safeguard_group_rules": BOOL,
    "safeguard_apec_cbpr": BOOL,
    "safeguard_global_cbpr": BOOL,
    "safeguard_apec_prp": BOOL,
    # derived: the recipient has some PPC Rules 16 system — (i) contract or group rules,
    # (ii) APEC or Global CBPR. APEC PRP alone is not one (legal brief §1(c)).
    "recipient_system": BOOL,
    "recipient_system_contract": BOOL,  # PPC Rules 16(i): contract_measures or group_rules
    "recipient_certified": BOOL,  # PPC Rules 16(ii): apec_cbpr or global_cbpr
    "handles_data": BOOL,
    "links_to_individuals": BOOL,
    "academic_institution": BOOL,
    "consent": CONSENTS,
    "exception": ("none",) + EXCEPTIONS,
    "opt_out": BOOL,
    "public_announcement": BOOL,
    # the request includes biometric data such as facial features: specified biometric personal
    # information under the 2026 amendment (ordinary personal data until it is in force)
    "specified_biometric": BOOL,
    "principals_under_16": BOOL,  # some principals are children under 16 (2026 amendment)
    # from the destination's country profile (all false / unknown when destination is "unknown")
    "profile_curated": BOOL,
    "profile_stale": BOOL,
    "profile_law": TRISTATE,
    "profile_government_access": TRISTATE,
    "profile_localization": TRISTATE,
}


def _tristate(value) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def base_facts(request: TransferRequest, profile) -> dict:
    """Build the facts every kind shares; `profile` is None for an unknown destination."""
    safeguards = set(request.recipient.safeguards)
    contract = bool(safeguards & {"contract_measures", "group_rules"})
    certified = bool(safeguards & {"apec_cbpr", "global_cbpr"})
    facts = {
        "destination_known": profile is not None,
        "destination_designated": bool(profile and profile.designated),
        "data_origin": request.data_origin or "none",
        "eu_uk_origin": request.data_origin in ("EU", "UK"),
        "relationship": request.recipient.relationship,
        "recipient_system": contract or certified,
        "recipient_system_contract": contract,
        "recipient_certified": certified,
        "handles_data": request.recipient.handles_data,
        "links_to_individuals": request.recipient.links_to_individuals,
        "academic_institution": request.recipient.academic_institution,
        "consent": request.basis.consent,
        "exception": request.basis.exception or "none",
        "opt_out": request.basis.opt_out,
        "public_announcement": request.basis.public_announcement,
        "specified_biometric": "specified_biometric" in request.data_categories,
        "principals_under_16": request.principals_under_16,
        "profile_curated": bool(profile and profile.curated),
        "profile_stale": bool(profile is None or profile.stale),
        "profile_law": _tristate(profile.law_exists) if profile else "unknown",
        "profile_government_access": _tristate(profile.government_access) if profile else "unknown",
        "profile_localization": _tristate(profile.localization) if profile else "unknown",
    }
    for name in SAFEGUARDS:
        facts[f"safeguard_{name}"] = name in safeguards
    return facts
