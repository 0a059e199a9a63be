"""The fact vocabulary rules are written over, and how facts are built from a request.

One fact is asserted per kind of data in the request (personal data, special care, …), so a
rule always reasons about one kind; the engine combines the kinds afterwards.
"""

from __future__ import annotations

from .model import DEROGATIONS, PARTNER_SAFEGUARDS, PARTY_ROLES, TRANSFER_ASSESSMENTS, TransferRequest

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

# Contract §8.2: the partner regimes' request vocabulary (GDPR, UK GDPR) is model.py's.
ALL_SAFEGUARDS = SAFEGUARDS + PARTNER_SAFEGUARDS
ADEQUACY = ("none", "full", "scoped")
# the part of a destination a scoped adequacy finding covers (country_profiles/groups/*_adequacy.yaml)
ADEQUACY_SCOPES = ("none", "dpf_certified", "commercial_organisations", "excluding_academic", "pipa_regulated",
                   "lgpd_regulated")

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
    # the partner regimes (contract §8.2); the APPI rules do not read these
    "exporter_role": PARTY_ROLES,
    "recipient_role": PARTY_ROLES,  # as given, else processor for an outsourcee, controller otherwise
    "safeguard_scc": BOOL,
    "safeguard_bcr": BOOL,
    "safeguard_code_of_conduct": BOOL,
    "safeguard_certification": BOOL,
    "safeguard_ad_hoc_clauses": BOOL,
    "safeguard_dpf": BOOL,
    "safeguard_idta": BOOL,
    "safeguard_uk_addendum": BOOL,
    "transfer_assessment": TRANSFER_ASSESSMENTS,  # the transfer impact (UK: risk) assessment's outcome
    "derogation": ("none",) + DEROGATIONS,
    "occasional": BOOL,
    "destination_eea": BOOL,  # groups/eea.yaml on as_of: a disclosure there is no GDPR transfer
    "eu_adequacy": ADEQUACY,  # groups/eu_adequacy.yaml on as_of
    "eu_adequacy_scope": ADEQUACY_SCOPES,  # "none" unless eu_adequacy is scoped
    "uk_adequacy": ADEQUACY,  # groups/uk_adequacy.yaml on as_of
    "uk_adequacy_scope": ADEQUACY_SCOPES,  # "none" unless uk_adequacy is scoped; dpf_certified = the UK Extension
}


def _tristate(value) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def _adequacy(profile, name: str) -> tuple[str, str]:
    found = getattr(profile, name, None) if profile is not None else None
    if not found or found["status"] == "none":
        return "none", "none"
    return found["status"], found["scope"] or "none"


def base_facts(request: TransferRequest, profile) -> dict:
    """Build the facts every kind shares; `profile` is None for an unknown destination."""
    recipient, basis = request.recipient, request.basis
    safeguards = set(recipient.safeguards)
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
    for name in ALL_SAFEGUARDS:
        facts[f"safeguard_{name}"] = name in safeguards
    eu_status, eu_scope = _adequacy(profile, "eu_adequacy")
    uk_status, uk_scope = _adequacy(profile, "uk_adequacy")
    facts.update(
        exporter_role=request.exporter_role,
        recipient_role=recipient.resolved_role,
        transfer_assessment=recipient.transfer_assessment,
        derogation=basis.derogation or "none",
        occasional=basis.occasional,
        destination_eea=bool(profile is not None and getattr(profile, "eea", False)),
        eu_adequacy=eu_status, eu_adequacy_scope=eu_scope,
        uk_adequacy=uk_status, uk_adequacy_scope=uk_scope,
    )
    return facts
