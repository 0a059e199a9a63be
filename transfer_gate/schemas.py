"""The request contract (contract §2) as marshmallow schemas: unknown fields are rejected."""

from __future__ import annotations

import pycountry
from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates

from .facts import CONSENTS, EXCEPTIONS, RELATIONSHIPS, SAFEGUARDS
from .keys import ROLES

MAX_TEXT = 200


def _alpha2(value: str) -> bool:
    return isinstance(value, str) and len(value) == 2 and value.isupper() and pycountry.countries.get(alpha_2=value) is not None


def storable(value: str) -> None:
    """Refuse text the decision log cannot keep: NUL (PostgreSQL text) and unpaired surrogates (not UTF-8)."""
    if "\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value):
        raise ValidationError("Contains a character that cannot be stored (NUL or an unpaired UTF-16 surrogate).")


def Text(**kw):
    """Free text: at most MAX_TEXT characters, all of them storable."""
    return fields.String(allow_none=True, load_default=None, validate=[validate.Length(max=MAX_TEXT), storable], **kw)


def Bool(**kw):
    """A boolean that accepts only JSON true and false, never "yes" or 1."""
    return fields.Boolean(truthy={True}, falsy={False}, **kw)


class RecipientSchema(Schema):
    class Meta:
        unknown = RAISE

    name = Text()
    relationship = fields.String(load_default="third_party", validate=validate.OneOf(RELATIONSHIPS))
    safeguards = fields.List(fields.String(validate=validate.OneOf(SAFEGUARDS)), load_default=list,
                             validate=validate.Length(max=50))
    handles_data = Bool(load_default=True)
    links_to_individuals = Bool(load_default=False)
    academic_institution = Bool(load_default=False)


class BasisSchema(Schema):
    class Meta:
        unknown = RAISE

    consent = fields.String(load_default="none", validate=validate.OneOf(CONSENTS))
    exception = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(EXCEPTIONS))
    opt_out = Bool(load_default=False)
    public_announcement = Bool(load_default=False)


class TransferRequestSchema(Schema):
    """Contract §2; `categories` is the taxonomy's key set, checked per item."""

    class Meta:
        unknown = RAISE

    origin = fields.String(required=True)
    destination = fields.String(required=True)
    data_categories = fields.List(fields.String(), required=True, validate=validate.Length(min=1, max=50))
    data_origin = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(["EU", "UK"]))
    recipient = fields.Nested(RecipientSchema, load_default=lambda: RecipientSchema().load({}))
    basis = fields.Nested(BasisSchema, load_default=lambda: BasisSchema().load({}))
    as_of = fields.Date(allow_none=True, load_default=None)
    reference = Text()

    def __init__(self, categories=(), **kw):
        super().__init__(**kw)
        self._categories = frozenset(categories)

    @validates("origin")
    def _origin(self, value, **_):
        if not _alpha2(value):
            raise ValidationError("Not an ISO 3166-1 alpha-2 country code.")

    @validates("destination")
    def _destination(self, value, **_):
        if value != "unknown" and not _alpha2(value):
            raise ValidationError('Not an ISO 3166-1 alpha-2 country code or "unknown".')

    @validates("data_categories")
    def _categories_known(self, value, **_):
        errors = {i: [f"Unknown data category {v!r}."] for i, v in enumerate(value) if v not in self._categories}
        if errors:
            raise ValidationError(errors)

    @post_load
    def _cross_field(self, data, **_):
        if data["origin"] == data["destination"]:
            raise ValidationError(
                "The recipient is in the origin country: this is not a provision to a third party in a "
                "foreign country (APPI 28); decide it under the domestic rules (APPI 27).",
                field_name="destination",
            )
        return data


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
