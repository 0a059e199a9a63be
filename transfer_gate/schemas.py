"""The request contract (contract §2) as marshmallow schemas: unknown fields are rejected."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pycountry
from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates

from .facts import CONSENTS, EXCEPTIONS, RELATIONSHIPS, SAFEGUARDS
from .keys import ROLES
from .journeys import MAX_ONWARD
from .model import DEROGATIONS, PARTNER_SAFEGUARDS, PARTY_ROLES, TRANSFER_ASSESSMENTS

REGIMES = ("APPI", "GDPR", "UK_GDPR")  # contract §8.3

# APPI's safeguards (PPC Rules 16) and the partner regimes' (contract §8.2), each once.
REQUEST_SAFEGUARDS = tuple(dict.fromkeys(SAFEGUARDS + PARTNER_SAFEGUARDS))

MAX_TEXT = 200


def _alpha2(value: str) -> bool:
    return isinstance(value, str) and len(value) == 2 and value.isupper() and pycountry.countries.get(alpha_2=value) is not None


def _unstorable(value: str) -> bool:
    return "\x00" in value or (not value.isascii() and any("\ud800" <= ch <= "\udfff" for ch in value))


def storable(value: str) -> None:
    """Refuse text the decision log cannot keep: NUL (PostgreSQL text) and unpaired surrogates (not UTF-8)."""
    if _unstorable(value):
        raise ValidationError("Contains a character that cannot be stored (NUL or an unpaired UTF-16 surrogate).")


def Text(**kw):
    """Free text: at most MAX_TEXT characters, all of them storable."""
    return fields.String(allow_none=True, load_default=None, validate=[validate.Length(max=MAX_TEXT), storable], **kw)


def free_text(value) -> bool:
    """Whether a Text() field takes a JSON value as it is: none, or storable text of MAX_TEXT characters at most
    (for a body validated before but for its free texts, service.Validated; anything else goes to the schema)."""
    return value is None or (type(value) is str and len(value) <= MAX_TEXT and not _unstorable(value))


class StrictBoolean(fields.Boolean):
    """JSON true and false only: never "yes", 1, 0 or 1.0 (which equal True and False in Python)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if type(value) is not bool:
            raise self.make_error("invalid", input=value)
        return value


def Bool(**kw):
    """A boolean that accepts only JSON true and false, never "yes" or 1."""
    return StrictBoolean(**kw)


# The dates a decision may be asked for (`as_of`): country profiles and rules say nothing
# useful outside it, and dates far out (year 1, 9999) are mistakes, not questions.
AS_OF_RANGE = (date(2000, 1, 1), date(2100, 12, 31))
# The largest position the log's BIGINT can hold: a cursor beyond it cannot name an entry.
MAX_CURSOR = 2**63 - 1


class RecipientSchema(Schema):
    class Meta:
        unknown = RAISE

    name = Text()
    relationship = fields.String(load_default="third_party", validate=validate.OneOf(RELATIONSHIPS))
    safeguards = fields.List(fields.String(validate=validate.OneOf(REQUEST_SAFEGUARDS)), load_default=list,
                             validate=validate.Length(max=50))
    handles_data = Bool(load_default=True)
    links_to_individuals = Bool(load_default=False)
    academic_institution = Bool(load_default=False)
    # None: resolved by the service from the relationship (model.default_role)
    role = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(PARTY_ROLES))
    transfer_assessment = fields.String(load_default="not_done", validate=validate.OneOf(TRANSFER_ASSESSMENTS))


class BasisSchema(Schema):
    class Meta:
        unknown = RAISE

    consent = fields.String(load_default="none", validate=validate.OneOf(CONSENTS))
    exception = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(EXCEPTIONS))
    opt_out = Bool(load_default=False)
    public_announcement = Bool(load_default=False)
    derogation = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(DEROGATIONS))
    occasional = Bool(load_default=False)


def _destination_code(value) -> None:
    if value != "unknown" and not _alpha2(value):
        raise ValidationError('Not an ISO 3166-1 alpha-2 country code or "unknown".')


class LegSchema(Schema):
    """An onward leg (contract §8.2): exported from the previous leg's destination."""

    class Meta:
        unknown = RAISE

    destination = fields.String(required=True, validate=_destination_code)
    recipient = fields.Nested(RecipientSchema, load_default=lambda: RecipientSchema().load({}))
    basis = fields.Nested(BasisSchema, load_default=lambda: BasisSchema().load({}))


class TransferRequestSchema(Schema):
    """Contract §2; `categories` is the taxonomy's key set, checked per item."""

    class Meta:
        unknown = RAISE

    origin = fields.String(required=True)
    destination = fields.String(required=True)
    data_categories = fields.List(fields.String(), required=True, validate=validate.Length(min=1, max=50))
    data_origin = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(["EU", "UK"]))
    exporter_role = fields.String(load_default="controller", validate=validate.OneOf(PARTY_ROLES))
    recipient = fields.Nested(RecipientSchema, load_default=lambda: RecipientSchema().load({}))
    basis = fields.Nested(BasisSchema, load_default=lambda: BasisSchema().load({}))
    onward = fields.List(fields.Nested(LegSchema), load_default=list, validate=validate.Length(max=MAX_ONWARD))
    as_of = fields.Date(allow_none=True, load_default=None, validate=validate.Range(
        *AS_OF_RANGE, error="Must be a date from {min} to {max}."))
    reference = Text()
    # Some principals are children under 16 (the 2026 amendment's legal-representative regime).
    principals_under_16 = Bool(load_default=False)

    def __init__(self, categories=(), **kw):
        super().__init__(**kw)
        self._categories = frozenset(categories)

    @validates("origin")
    def _origin(self, value, **_):
        if not _alpha2(value):
            raise ValidationError("Not an ISO 3166-1 alpha-2 country code.")

    @validates("destination")
    def _destination(self, value, **_):
        _destination_code(value)

    @validates("data_categories")
    def _categories_known(self, value, **_):
        errors = {i: [f"Unknown data category {v!r}."] for i, v in enumerate(value) if v not in self._categories}
        if errors:
            raise ValidationError(errors)

    @post_load
    def _cross_field(self, data, **_):
        if data["origin"] == data["destination"]:
            raise ValidationError(domestic(data["origin"]), field_name="destination")
        return data


def domestic(origin: str) -> str:
    """Say why a recipient in the exporter's own country is not this service's question."""
    if origin == "JP":
        return ("The recipient is in the origin country: this is not a provision to a third party in a "
                "foreign country (APPI 28); decide it under the domestic rules (APPI 27).")
    return ("The recipient is in the exporter's own country: this is not a transfer to a third country "
            "(GDPR and UK GDPR Chapter V); the domestic rules govern it.")


def flatten_errors(messages, prefix="") -> dict[str, list[str]]:
    """Turn marshmallow's nested messages into {"recipient.relationship": [...], "data_categories[1]": [...]}."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, list):
        out.setdefault(prefix or "$", []).extend(str(m) for m in messages)
        return out
    for key, value in messages.items():
        if key == "_schema":
            path = prefix or "$"
        elif isinstance(key, int):
            path = f"{prefix}[{key}]"
        else:
            path = f"{prefix}.{key}" if prefix else str(key)
        for k, v in flatten_errors(value, path).items():
            out.setdefault(k, []).extend(v)
    return out


class NewKeySchema(Schema):
    """POST /v1/keys: the role of the key to create."""

    class Meta:
        unknown = RAISE

    role = fields.String(required=True, validate=validate.OneOf(ROLES))


# --------------------------------------------------------------------------- decision log filters


class LogTime(fields.Field):
    """A date (`2026-11-27`) or an ISO 8601 date-time with an offset or `Z`, returned as UTC datetime.

    A date bound covers the whole day: `from` starts at its first instant, `to` ends with its last.
    A bound beyond what a datetime can hold in UTC (`to=9999-12-31`, `from=0001-01-01T00:00+14:00`)
    is clamped to the first or last representable instant: it means "no bound", not an error.
    """

    def __init__(self, end_of_day: bool, **kw):
        super().__init__(**kw)
        self.end_of_day = end_of_day

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError("Not a date or date-time.")
        try:
            if len(value) == 10:
                day = date.fromisoformat(value)
                start = datetime.combine(day, time(), timezone.utc)
                if not self.end_of_day:
                    return start
                try:
                    return start + timedelta(days=1, microseconds=-1)
                except OverflowError:
                    return datetime.max.replace(tzinfo=timezone.utc)
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError("Not a date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM:SSZ).") from None
        if moment.tzinfo is None:
            raise ValidationError("A date-time needs a time zone (Z or +09:00).")
        try:
            return moment.astimezone(timezone.utc)
        except OverflowError:  # only at the ends of the calendar: the offset moves it past year 1 or 9999
            edge = datetime.min if moment.year == 1 else datetime.max
            return edge.replace(tzinfo=timezone.utc)


class DecisionFilterSchema(Schema):
    """The filters of GET /v1/decisions and the auditor pages: all optional, unknown ones rejected."""

    class Meta:
        unknown = RAISE

    from_ = LogTime(end_of_day=False, data_key="from", load_default=None)
    to = LogTime(end_of_day=True, load_default=None)
    outcome = fields.String(load_default=None, validate=validate.OneOf(["allow", "conditional", "deny"]))
    destination = fields.String(load_default=None)
    route = fields.String(load_default=None, validate=validate.Regexp(r"^[a-z_]{1,40}$",
                                                                       error="Not a route name."))
    reference = fields.String(load_default=None, validate=[validate.Length(min=1, max=MAX_TEXT), storable])
    caller = fields.String(load_default=None, validate=[validate.Length(min=1, max=MAX_TEXT), storable])
    records = fields.String(load_default=None, validate=validate.OneOf(["required", "not_required"]))
    # The regime of the top-level transfer (a journey's first leg): contract §8.3's names, or the
    # ruleset's name as the log stores it (the regime's in lower case).
    regime = fields.String(load_default=None, validate=validate.OneOf(REGIMES + tuple(r.lower() for r in REGIMES)))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    cursor = fields.Integer(load_default=None, validate=validate.Range(min=0, max=MAX_CURSOR))
    order = fields.String(load_default="desc", validate=validate.OneOf(["asc", "desc"]))

    @validates("destination")
    def _destination(self, value, **_):
        if value is not None and value != "unknown" and not _alpha2(value):
            raise ValidationError('Not an ISO 3166-1 alpha-2 country code or "unknown".')

    @post_load
    def _range(self, data, **_):
        if data["from_"] and data["to"] and data["from_"] > data["to"]:
            raise ValidationError("The range ends before it starts.", field_name="to")
        return data
