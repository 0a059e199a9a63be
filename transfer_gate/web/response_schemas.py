"""What the API answers, as marshmallow schemas: the source of the OpenAPI response descriptions.

The views build their answers from the model's `to_dict()`; these schemas describe those
answers field by field, closed (unknown fields are not allowed) wherever the answer's shape is
fixed, so the fuzz test's schema-conformance check catches any drift between the two.
"""

from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields, validate

from ..keys import ROLES
from ..model import OUTCOMES

PATH_STATUSES = ("satisfied", "unsatisfied", "not_applicable")


def Text(**kw):
    return fields.String(required=True, **kw)


def Texts(**kw):
    return fields.List(fields.String(), required=True, **kw)


def Nullable(field_cls, **kw):
    return field_cls(required=True, allow_none=True, **kw)


class CitationSchema(Schema):
    ref = Text(metadata={"description": "Follows the citation grammar of contract §3, e.g. 'APPI 28(3)'."})
    ref_ja = Text(metadata={"description": "The ref in Japanese statutory notation, e.g. '法第28条第3項'."})
    title = Text()
    title_ja = Text()
    url = Text()


class ConditionSchema(Schema):
    id = Text()
    text = Text()
    text_ja = Text()
    citations = Texts()
    recheck_within_days = fields.Integer(metadata={"description": "Present where the law sets a re-check period."})
    data_kinds = Texts()
    details = fields.List(fields.Dict(), metadata={"description": "The destination's system, with sources."})


class ChangeSchema(Schema):
    """One change to the request: `set` a field, or `add` a value to a list field."""

    path = Text(metadata={"description": "A request field path, e.g. 'basis.consent', 'recipient.safeguards'."})
    set = fields.Raw(metadata={"description": "The value to set (present when the field is not a list)."})
    add = fields.String(metadata={"description": "The value to add to a list field."})


class RemedySchema(Schema):
    id = Text()
    route = Nullable(fields.String)
    text = Text(metadata={"description": "Worded for this request; plain language, no field names."})
    text_ja = Text()
    missing = Texts()
    missing_ja = Texts()
    missing_fields = Texts(metadata={"description": "Request field paths the remedy needs changed or depends on."})
    apply = fields.List(fields.Nested(ChangeSchema), required=True, metadata={
        "description": "The request changes that make the transfer lawful on this remedy; empty when no change "
                       "to the request can (the text says why). Remedies come closest first."})
    citations = Texts()


class PathSchema(Schema):
    route = Text()
    status = Text(validate=validate.OneOf(PATH_STATUSES))
    missing = Texts()
    missing_ja = Texts()
    missing_fields = Texts(metadata={"description": "Request field paths behind `missing`."})


class RecordsSchema(Schema):
    required = fields.Boolean(required=True)
    retention = Nullable(fields.String, metadata={"description": "ISO 8601 duration"})
    items = Texts()
    items_ja = Texts()
    citations = Texts()


class TraceEntrySchema(Schema):
    rule = Text()
    data_kind = Text()
    citations = Texts()


class RulesetStampSchema(Schema):
    name = Text()
    version = Text()
    digest = Text()


class ProfileStampSchema(Schema):
    code = Text()
    digest = Nullable(fields.String)
    reviewed = Nullable(fields.String)
    curated = fields.Boolean(required=True)
    stale = fields.Boolean(required=True)


class KindResultSchema(Schema):
    kind = Text()
    categories = Texts()
    outcome = Text(validate=validate.OneOf(OUTCOMES))
    route = Text()
    deny_reasons = Texts()
    decisive = fields.Boolean(required=True)


class DenyReasonSchema(Schema):
    rule = Text()
    data_kind = Text()
    text = Text()
    text_ja = Text()
    citations = Texts()
    leg = fields.Integer(metadata={"description": "In a journey's combined answer: the leg the reason comes from."})


class NoticeSchema(Schema):
    """A change ahead: a registered law change not yet in force that would touch this answer."""

    change = Text(metadata={"description": "The id of the change in the law-change register (GET /v1/law-changes)."})
    title = Text()
    title_ja = Text()
    status = Text(validate=validate.OneOf(["pending", "scheduled"]))
    in_force = Nullable(fields.Date, metadata={"description": "null while the date is still to be set."})
    text = Text()
    text_ja = Text()
    citations = Texts()
    rule = Text()
    data_kinds = Texts()
    leg = fields.Integer(metadata={"description": "In a journey: the leg (0 = the top-level transfer) the notice is for."})


class DecisionSchema(Schema):
    """The answer to a request (contract §3, with this service's additions)."""

    decision_id = Text(metadata={"description": "ULID; the decision is in the log under this id."})
    outcome = Text(validate=validate.OneOf(OUTCOMES))
    summary = Text(metadata={"description": "One or two plain sentences: whether the transfer may go, on which "
                                            "route, the obligations that matter most; on a deny, the reason and "
                                            "the closest way forward."})
    summary_ja = Text()
    regime = Text()
    route = Text()
    conditions = fields.List(fields.Nested(ConditionSchema), required=True)
    remedies = fields.List(fields.Nested(RemedySchema), required=True)
    paths = fields.List(fields.Nested(PathSchema), required=True)
    citations = fields.List(fields.Nested(CitationSchema), required=True)
    records = fields.Nested(RecordsSchema, required=True)
    trace = fields.List(fields.Nested(TraceEntrySchema), required=True)
    ruleset = fields.Nested(RulesetStampSchema, required=True)
    country_profile = fields.Nested(ProfileStampSchema, required=True, allow_none=True)
    decided_by = Text()
    data_kinds = fields.List(fields.Nested(KindResultSchema), required=True)
    deny_reasons = fields.List(fields.Nested(DenyReasonSchema), required=True, metadata={
        "description": "Non-empty on every deny: each reason a sentence with its citations, the first the headline."})
    notices = fields.List(fields.Nested(NoticeSchema), required=True, metadata={
        "description": "Changes ahead: registered law changes not yet in force that would change this answer."})
    evaluated_at = Text()
    as_of = fields.Date(required=True)
    legs = fields.List(fields.Nested(lambda: LegDecisionSchema()), metadata={
        "description": "Present for a journey (`onward` was sent): one full decision per leg, the top-level "
                       "transfer first; the top-level outcome, route, conditions and citations are then the journey's."})
    decided_by_leg = fields.Integer(metadata={"description": "For a journey: the index in `legs` of the leg that "
                                                             "decides the outcome (the first most restrictive one)."})


class LegDecisionSchema(DecisionSchema):
    """One leg of a journey: where it goes, and its own decision under the regime of the country it leaves."""

    class Meta:
        exclude = ("decision_id", "evaluated_at", "as_of", "legs", "decided_by_leg")

    leg = fields.Integer(required=True, metadata={"description": "0 for the top-level transfer, then each onward leg."})
    origin = Text(metadata={"description": "The country the leg leaves: it selects the leg's regime."})
    destination = Text()
    data_origin = Nullable(fields.String, metadata={
        "description": "EU or UK for a leg out of Japan after a leg out of the EEA or the UK (Supplementary Rules)."})


class ProblemSchema(Schema):
    """An RFC 9457 problem document; `errors` maps field paths to messages for invalid input."""

    class Meta:
        unknown = INCLUDE  # RFC 9457 allows extension members

    type = Text()
    title = Text()
    status = fields.Integer(required=True)
    detail = Text()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


class ValidationProblemSchema(ProblemSchema):
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True)


class AdequacySchema(Schema):
    """The destination's adequacy under a partner regime (GDPR 45; UK GDPR 45 / 45A) on `as_of`."""

    status = Text(validate=validate.OneOf(("none", "full", "scoped")))
    scope = Nullable(fields.String)
    instrument = Nullable(fields.String)
    since = Nullable(fields.String)
    until = Nullable(fields.String)


class CountryProfileSchema(Schema):
    """A country profile as in force on `as_of` (the format is country_profiles/README.md)."""

    code = Text()
    name = Text()
    name_ja = Text()
    as_of = Text()
    stale = fields.Boolean(required=True)
    stale_sections = Texts(metadata={"description": "Sections reviewed more than 18 months before as_of."})
    digest = Text()
    missing = Texts()
    not_assessed = fields.List(fields.Dict(), required=True, metadata={
        "description": "Each section left null, with what must be researched (text, text_ja, sources)."})
    curated = fields.Boolean(required=True)
    reviewed = Nullable(fields.String)
    section_reviews = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "The date each section was last reviewed (curated profiles only)."})
    reviewer = Nullable(fields.String)
    notes = Text()
    designated = fields.Dict(required=True)
    law = fields.Dict(required=True)
    authority = Nullable(fields.Dict)
    oecd = fields.Dict(required=True)
    oecd8_gaps = Nullable(fields.List, cls_or_instance=fields.Raw())
    apec_member = fields.Boolean(required=True)
    eea = fields.Boolean(required=True, metadata={
        "description": "In the European Economic Area on as_of: a disclosure from the EEA to it is no GDPR transfer."})
    apec_cbpr = fields.Dict(required=True)
    global_cbpr = fields.Dict(required=True)
    government_access = fields.Dict(required=True)
    localization = fields.Dict(required=True)
    ppc_survey_url = Nullable(fields.String)
    system_summary = Nullable(fields.String)
    system_summary_ja = Nullable(fields.String)
    sources = fields.List(fields.Dict(), required=True)
    eu_adequacy = fields.Nested(AdequacySchema, required=True)
    uk_adequacy = fields.Nested(AdequacySchema, required=True)


class RulesetSchema(Schema):
    name = Text()
    version = Text()
    regime = Text()
    origins = Texts()
    title = Text()
    digest = Text()
    rules = fields.Integer(required=True)
    routes = Texts()


class RulesetListSchema(Schema):
    rulesets = fields.List(fields.Nested(RulesetSchema), required=True)


class HealthSchema(Schema):
    status = Text(validate=validate.Equal("ok"))


class ReloadSchema(Schema):
    status = Text(validate=validate.OneOf(("reloaded", "failed")),
                  metadata={"description": "failed: a data file was invalid, the previous rules and profiles stay loaded."})
    at = Text(metadata={"description": "When the reload (SIGHUP to serve) was tried, UTC."})


class ReadinessSchema(Schema):
    status = Text(validate=validate.Equal("ready"))
    rulesets = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    profiles = Text()
    reload = fields.Nested(ReloadSchema, metadata={"description": "The last reload's outcome; absent before any."})


class KeySchema(Schema):
    key_id = Text()
    role = Text(validate=validate.OneOf(ROLES))
    created_at = Nullable(fields.String)
    revoked_at = Nullable(fields.String)
    source = Text(validate=validate.OneOf(("stored", "environment")))


class CreatedKeySchema(KeySchema):
    key = Text(metadata={"description": "The key itself, shown only in this answer."})


class KeyListSchema(Schema):
    keys = fields.List(fields.Nested(KeySchema), required=True)


class LoggedDecisionSchema(Schema):
    """A decision log entry: the request as decided, the answer as returned, and the hash chain."""

    class Meta:
        unknown = INCLUDE  # the log may carry more columns than those described here

    seq = fields.Integer(required=True)
    decision_id = Text()
    created_at = Text()
    caller = Text(metadata={"description": "The key id of the caller (never the key), or 'cli'."})
    caller_role = Nullable(fields.String)
    reference = Nullable(fields.String)
    request = fields.Dict(required=True)
    response = fields.Nested(DecisionSchema, required=True)
    ruleset_name = Text()
    ruleset_version = Text()
    ruleset_digest = Text()
    profile_digest = Nullable(fields.String)
    outcome = Text(validate=validate.OneOf(OUTCOMES))
    route = Text()
    destination = Text()
    onward_destinations = Nullable(fields.String, metadata={
        "description": "A journey's onward legs' destinations in order, between commas (',JP,US,'); '' for a "
                       "single transfer; null for entries logged before the log kept it. Part of the entry's hash."})
    data_kinds = Text()
    records_required = fields.Boolean(required=True)
    records_retention = Nullable(fields.String)
    prev_hash = Text()
    hash = Text()
