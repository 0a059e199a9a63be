"""The domain objects that pass between the layers: frozen, JSON-ready, free of Flask and SQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

OUTCOMES = ("allow", "conditional", "deny")

# The request vocabulary contract §8.2 adds for the partner regimes (GDPR, UK GDPR).
PARTY_ROLES = ("controller", "processor")  # exporter_role, recipient.role: together they pick the SCC module
PARTNER_SAFEGUARDS = ("scc", "bcr", "code_of_conduct", "certification", "ad_hoc_clauses", "dpf", "idta",
                      "uk_addendum")
TRANSFER_ASSESSMENTS = ("not_done", "no_impinging_law", "supplementary_measures", "cannot_protect")
DEROGATIONS = (  # GDPR 49(1) points (b)-(g), then the second subparagraph; point (a) is informed consent
    "contract_with_subject",
    "contract_in_subject_interest",
    "public_interest",
    "legal_claims",
    "vital_interests",
    "public_register",
    "compelling_legitimate_interests",
)


def default_role(relationship: str) -> str:
    """Return the recipient's role when the caller gave none: an outsourcee processes on the exporter's behalf."""
    return "processor" if relationship == "outsourcee" else "controller"


@dataclass(frozen=True)
class Recipient:
    name: str | None = None
    relationship: str = "third_party"
    safeguards: tuple[str, ...] = ()
    handles_data: bool = True
    links_to_individuals: bool = False
    academic_institution: bool = False
    role: str | None = None  # None: resolved from the relationship (default_role)
    transfer_assessment: str = "not_done"

    @property
    def resolved_role(self) -> str:
        return self.role or default_role(self.relationship)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "relationship": self.relationship,
            "safeguards": list(self.safeguards),
            "handles_data": self.handles_data,
            "links_to_individuals": self.links_to_individuals,
            "academic_institution": self.academic_institution,
            "role": self.resolved_role,
            "transfer_assessment": self.transfer_assessment,
        }


@dataclass(frozen=True)
class Basis:
    consent: str = "none"
    exception: str | None = None
    opt_out: bool = False
    public_announcement: bool = False
    derogation: str | None = None
    occasional: bool = False

    def to_dict(self) -> dict:
        return {
            "consent": self.consent,
            "exception": self.exception,
            "opt_out": self.opt_out,
            "public_announcement": self.public_announcement,
            "derogation": self.derogation,
            "occasional": self.occasional,
        }


@dataclass(frozen=True)
class Leg:
    """An onward leg of a journey (contract §8.2): from the previous destination to this one."""

    destination: str
    recipient: Recipient = field(default_factory=Recipient)
    basis: Basis = field(default_factory=Basis)

    def to_dict(self) -> dict:
        return {"destination": self.destination, "recipient": self.recipient.to_dict(), "basis": self.basis.to_dict()}


@dataclass(frozen=True)
class TransferRequest:
    """One validated request of contract §2; `as_of` is always resolved to a date."""

    origin: str
    destination: str
    data_categories: tuple[str, ...]
    as_of: date
    data_origin: str | None = None
    recipient: Recipient = field(default_factory=Recipient)
    basis: Basis = field(default_factory=Basis)
    reference: str | None = None
    exporter_role: str = "controller"
    onward: tuple[Leg, ...] = ()
    principals_under_16: bool = False

    def to_dict(self) -> dict:
        """Return the canonical JSON form: every field, defaults filled in."""
        return {
            "origin": self.origin,
            "destination": self.destination,
            "data_categories": list(self.data_categories),
            "data_origin": self.data_origin,
            "exporter_role": self.exporter_role,
            "recipient": self.recipient.to_dict(),
            "basis": self.basis.to_dict(),
            "onward": [leg.to_dict() for leg in self.onward],
            "as_of": self.as_of.isoformat(),
            "reference": self.reference,
            "principals_under_16": self.principals_under_16,
        }


@dataclass(frozen=True)
class Citation:
    ref: str
    title: str
    title_ja: str
    url: str
    ref_ja: str = ""  # Japanese statutory notation: APPI 28(1) -> 法第28条第1項

    def to_dict(self) -> dict:
        return {"ref": self.ref, "ref_ja": self.ref_ja, "title": self.title, "title_ja": self.title_ja, "url": self.url}


@dataclass(frozen=True)
class Condition:
    id: str
    text: str
    text_ja: str
    citations: tuple[str, ...]
    recheck_within_days: int | None = None
    kinds: tuple[str, ...] = ()
    details: tuple[dict, ...] = ()
    # The obligation as a short clause for the answer's summary ("" when it is not summarised).
    summary: str = field(default="", compare=False)
    summary_ja: str = field(default="", compare=False)

    def to_dict(self) -> dict:
        out = {
            "id": self.id,
            "text": self.text,
            "text_ja": self.text_ja,
            "citations": list(self.citations),
        }
        if self.recheck_within_days is not None:
            out["recheck_within_days"] = self.recheck_within_days
        out["data_kinds"] = list(self.kinds)
        if self.details:
            out["details"] = [dict(d) for d in self.details]
        return out


@dataclass(frozen=True)
class Change:
    """One change to a request: set a field (`set`) or add a value to a list field (`add`)."""

    path: str  # a request field path, e.g. basis.consent, recipient.safeguards
    op: str  # set | add
    value: object

    def to_dict(self) -> dict:
        return {"path": self.path, self.op: self.value}


@dataclass(frozen=True)
class Remedy:
    id: str
    route: str | None
    text: str
    text_ja: str
    missing: tuple[str, ...]
    missing_ja: tuple[str, ...]
    citations: tuple[str, ...]
    missing_fields: tuple[str, ...] = ()  # request field paths the remedy changes or depends on
    apply: tuple[Change, ...] = ()  # the request changes that make it lawful; () when no change can

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "route": self.route,
            "text": self.text,
            "text_ja": self.text_ja,
            "missing": list(self.missing),
            "missing_ja": list(self.missing_ja),
            "missing_fields": list(self.missing_fields),
            "apply": [c.to_dict() for c in self.apply],
            "citations": list(self.citations),
        }


@dataclass(frozen=True)
class Path:
    route: str
    status: str  # satisfied | unsatisfied | not_applicable
    missing: tuple[str, ...] = ()
    missing_ja: tuple[str, ...] = ()
    missing_fields: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {
            "route": self.route,
            "status": self.status,
            "missing": list(self.missing),
            "missing_ja": list(self.missing_ja),
            "missing_fields": list(self.missing_fields),
        }


@dataclass(frozen=True)
class RecordItem:
    text: str
    text_ja: str


@dataclass(frozen=True)
class Records:
    required: bool = False
    retention: str | None = None
    items: tuple[RecordItem, ...] = ()
    citations: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {
            "required": self.required,
            "retention": self.retention,
            "items": [i.text for i in self.items],
            "items_ja": [i.text_ja for i in self.items],
            "citations": list(self.citations),
        }


@dataclass(frozen=True)
class TraceEntry:
    rule: str
    kind: str
    citations: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"rule": self.rule, "data_kind": self.kind, "citations": list(self.citations)}


@dataclass(frozen=True)
class KindResult:
    """The answer for one kind of data in the request, before combining."""

    kind: str
    categories: tuple[str, ...]
    outcome: str
    route: str
    deny_reasons: tuple[str, ...] = ()

    def to_dict(self, decisive: bool) -> dict:
        return {
            "kind": self.kind,
            "categories": list(self.categories),
            "outcome": self.outcome,
            "route": self.route,
            "deny_reasons": list(self.deny_reasons),
            "decisive": decisive,
        }


@dataclass(frozen=True)
class Decision:
    """What the engine answers; the service adds decision_id and evaluated_at."""

    outcome: str
    regime: str
    route: str
    conditions: tuple[Condition, ...]
    remedies: tuple[Remedy, ...]
    paths: tuple[Path, ...]
    citations: tuple[Citation, ...]
    records: Records
    trace: tuple[TraceEntry, ...]
    ruleset: dict
    country_profile: dict | None
    decided_by: str
    data_kinds: tuple[KindResult, ...]
    deny_reasons: tuple[dict, ...] = ()
    notices: tuple[dict, ...] = ()  # changes ahead: registered law changes not yet in force
    summary: str = ""
    summary_ja: str = ""

    def to_dict(self) -> dict:
        """Return the contract §3 body (without decision_id and evaluated_at)."""
        return {
            "outcome": self.outcome,
            "summary": self.summary,
            "summary_ja": self.summary_ja,
            "regime": self.regime,
            "route": self.route,
            "conditions": [c.to_dict() for c in self.conditions],
            "remedies": [r.to_dict() for r in self.remedies],
            "paths": [p.to_dict() for p in self.paths],
            "citations": [c.to_dict() for c in self.citations],
            "records": self.records.to_dict(),
            "trace": [t.to_dict() for t in self.trace],
            "ruleset": dict(self.ruleset),
            "country_profile": dict(self.country_profile) if self.country_profile else None,
            "decided_by": self.decided_by,
            "data_kinds": [k.to_dict(k.kind == self.decided_by) for k in self.data_kinds],
            "deny_reasons": [dict(d) for d in self.deny_reasons],
            "notices": [dict(n) for n in self.notices],
        }
