"""The officer's scenario form: its choices, and the one mapping between the HTML form and the request body.

Field names mirror the contract (`destination`, `data_categories`, `recipient.safeguards`,
`basis.consent`, …), so an error the service reports for a field path lands next to the field
of the same name. The form is the only place that turns text a person typed into the contract's
values (a country name into its code, a ticked box into `true`); what the law makes of them is
the service's business.
"""

from __future__ import annotations

import copy
import gettext
import re
from dataclasses import dataclass
from datetime import date

import pycountry
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from ..model import Basis, Recipient

BOOLEAN_FIELDS = (
    "recipient.handles_data",
    "recipient.links_to_individuals",
    "recipient.academic_institution",
    "basis.opt_out",
    "basis.public_announcement",
    "basis.occasional",
)
DATA_ORIGINS = ("EU", "UK")
UNKNOWN = "unknown"
_TRAILING_CODE = re.compile(r"\((?P<code>[A-Za-z]{2}|unknown)\)\s*$")
_INDEX = re.compile(r"\[\d+\](?!\.)")  # a list item's index (`data_categories[1]`), not a leg's (`onward[0].…`)
LEG_KEY = re.compile(r"^onward\[(?P<index>\d+)\]\.(?P<field>.+)$")
MAX_LEGS = 10  # the contract's limit on onward legs
# The fields each onward leg has in the form (contract §8.2: destination, recipient, basis).
LEG_FIELDS = ("destination", "recipient.name", "recipient.relationship", "recipient.safeguards", "recipient.role",
              "recipient.transfer_assessment", "basis.consent", "basis.exception", "basis.derogation",
              "recipient.handles_data", "recipient.links_to_individuals", "recipient.academic_institution",
              "basis.opt_out", "basis.public_announcement", "basis.occasional")
LEG_DEFAULTS = (("recipient.relationship", "third_party"), ("recipient.transfer_assessment", "not_done"),
                ("basis.consent", "none"), ("recipient.handles_data", "true"))
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
TEXT_MAX = 200  # the contract's limit on free text
_UNKNOWN_NAMES = {UNKNOWN, "not yet identified", "未特定"}


@dataclass(frozen=True)
class Country:
    code: str
    name: str
    name_ja: str
    aliases: tuple[str, ...]  # other names a person may type (pycountry's English and Japanese names)

    def label(self, lang: str) -> str:
        """The text the destination field shows and submits: both names and the code, searchable either way."""
        first, second = (self.name_ja, self.name) if lang == "ja" else (self.name, self.name_ja)
        extra = [a for a in self.aliases if a not in (first, second) and not a.isascii()]
        return f"{first} · {second}{''.join(' / ' + a for a in extra[:1])} ({self.code})"


class CountryIndex:
    """Every destination the profiles know, found by code, by its label or by a name in either language."""

    def __init__(self, countries: list[Country]):
        self.countries = countries
        self._by_code = {c.code: c for c in countries}
        self._by_name: dict[str, str] = {}
        for c in countries:
            for name in (c.name, c.name_ja) + c.aliases:
                self._by_name.setdefault(name.casefold(), c.code)

    @classmethod
    def from_profiles(cls, profiles, on: date) -> "CountryIndex":
        """Build the index from the country profiles (names as in force on `on`) and pycountry's locale data."""
        japanese = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["ja"], fallback=True)
        countries = []
        for code in profiles.codes():
            profile = profiles.get(code, on)
            iso = pycountry.countries.get(alpha_2=code)
            aliases = []
            if iso is not None:
                for name in (iso.name, getattr(iso, "common_name", None), japanese.gettext(iso.name)):
                    if name and name not in aliases and name not in (profile.name, profile.name_ja):
                        aliases.append(name)
            countries.append(Country(code, profile.name, profile.name_ja, tuple(aliases)))
        return cls(countries)

    def get(self, code: str) -> Country | None:
        return self._by_code.get(code)

    def resolve(self, text: str) -> str | None:
        """Return the code a person meant by `text`, or None when it names no known country."""
        text = (text or "").strip()
        if not text:
            return None
        if text.casefold() in _UNKNOWN_NAMES:
            return UNKNOWN
        match = _TRAILING_CODE.search(text)
        if match:
            code = match["code"]
            return UNKNOWN if code == UNKNOWN else (code.upper() if code.upper() in self._by_code else None)
        if len(text) == 2 and text.upper() in self._by_code:
            return text.upper()
        return self._by_name.get(text.casefold())

    def label(self, code: str | None, lang: str) -> str:
        """The destination field's text for a code (what the form shows when it is prefilled)."""
        if code == UNKNOWN:
            return unknown_label(lang)
        country = self._by_code.get(code or "")
        return country.label(lang) if country else (code or "")


def unknown_label(lang: str) -> str:
    return "未特定 · Not yet identified (unknown)" if lang == "ja" else "Not yet identified · 未特定 (unknown)"


def category_groups(taxonomy) -> list[tuple[str, list]]:
    """Group the taxonomy's categories as the form shows them.

    Special care items together; the items that are special care only for EU/UK-origin data
    (a different kind for EU/UK data) together; every other kind on its own.
    """
    groups: dict[str, list] = {}
    for category in taxonomy.categories.values():
        if category.kind != category.kind_eu_uk:
            key = "eu_uk_only"
        else:
            key = category.kind
        groups.setdefault(key, []).append(category)
    return list(groups.items())


def request_from_form(form: MultiDict, countries: CountryIndex) -> tuple[dict, dict[str, list[str]]]:
    """Map the posted form to a contract §2 request body, with the errors the form itself can tell.

    The body is always complete, so the service can still report every other field's errors.
    """
    errors: dict[str, list[str]] = {}
    destination_text = form.get("destination", "").strip()
    destination = countries.resolve(destination_text)
    if not destination_text:
        errors["destination"] = [_("Choose the destination country.")]
    elif destination is None:
        errors["destination"] = [_("“%(text)s” is not a country in the list: pick one of the suggestions, or type its two-letter code.", text=destination_text)]
    categories = [c for c in form.getlist("data_categories") if c]
    if not categories:
        errors["data_categories"] = [_("Tick at least one kind of data.")]
    origin = (form.get("origin") or "").strip().upper()
    if destination and destination == origin:
        errors["destination"] = [_("The recipient is in the exporter's own country: that is not a provision to a "
                                   "third party in a foreign country (APPI 28). Decide it under the domestic rules "
                                   "(APPI 27).")]
    as_of = form.get("as_of", "").strip()
    if as_of and not _ISO_DATE.match(as_of):
        errors["as_of"] = [_("Enter the date as year-month-day, for example 2026-11-27.")]
    elif as_of:
        try:
            date.fromisoformat(as_of)
        except ValueError:
            errors["as_of"] = [_("There is no such day: check the month and the day.")]
    for name in ("recipient.name", "reference"):
        value = form.get(name, "")
        if len(value.strip()) > TEXT_MAX:
            errors[name] = [_("At most %(count)d characters.", count=TEXT_MAX)]
        elif _UNSTORABLE.search(value):
            errors[name] = [_("Contains a character that cannot be stored.")]

    for i in leg_indexes(form):
        leg_destination = form.get(leg_name(i, "destination"), "").strip()
        if not leg_destination:
            errors[leg_name(i, "destination")] = [_("Choose the destination country.")]
        elif countries.resolve(leg_destination) is None:
            errors[leg_name(i, "destination")] = [_("“%(text)s” is not a country in the list: pick one of the suggestions, or type its two-letter code.", text=leg_destination)]
        name = leg_name(i, "recipient.name")
        if len(form.get(name, "").strip()) > TEXT_MAX:
            errors[name] = [_("At most %(count)d characters.", count=TEXT_MAX)]
        elif _UNSTORABLE.search(form.get(name, "")):
            errors[name] = [_("Contains a character that cannot be stored.")]

    body = {
        "origin": origin,
        "exporter_role": form.get("exporter_role") or "controller",
        "destination": destination or destination_text,
        "data_categories": categories,
        "data_origin": _text(form, "data_origin"),
        **_party(form, ""),
        "as_of": _text(form, "as_of"),
        "reference": _text(form, "reference"),
    }
    legs = []
    for i in leg_indexes(form):
        text = form.get(leg_name(i, "destination"), "").strip()
        legs.append({"destination": countries.resolve(text) or text, **_party(form, leg_name(i, ""))})
    if legs:
        body["onward"] = legs
    return body, errors


def _text(form, name):
    value = form.get(name, "").strip()
    return value or None


def _party(form, prefix: str) -> dict:
    """The recipient and basis of the top-level transfer (`prefix` "") or of a leg (`onward[i].`)."""
    out = {
        "recipient": {
            "name": _text(form, prefix + "recipient.name"),
            "relationship": form.get(prefix + "recipient.relationship") or "third_party",
            "safeguards": form.getlist(prefix + "recipient.safeguards"),
            "role": _text(form, prefix + "recipient.role"),
            "transfer_assessment": form.get(prefix + "recipient.transfer_assessment") or "not_done",
        },
        "basis": {
            "consent": form.get(prefix + "basis.consent") or "none",
            "exception": _text(form, prefix + "basis.exception"),
            "derogation": _text(form, prefix + "basis.derogation"),
        },
    }
    for name in BOOLEAN_FIELDS:
        section, field = name.split(".")
        out[section][field] = form.get(prefix + name) == "true"
    return out


def leg_name(index: int, field: str) -> str:
    """A leg's form field name, the contract's path: `onward[0].recipient.safeguards`."""
    return f"onward[{index}].{field}"


def leg_indexes(form: MultiDict) -> list[int]:
    """The onward legs the posted form has, in order (each leg always posts its destination field)."""
    found = set()
    for key in form.keys():
        match = LEG_KEY.match(key)
        if match:
            found.add(int(match["index"]))
    return sorted(found)


def renumber_legs(form: MultiDict, keep: list[int], add: bool = False) -> MultiDict:
    """The form with only the legs in `keep`, numbered 0… in that order, and a new empty leg when `add`.

    Adding and removing a leg are submit buttons that re-render the form: no script needed.
    """
    out = MultiDict([(k, v) for k, v in form.items(multi=True) if not LEG_KEY.match(k) and k != "action"])
    new_index = {old: new for new, old in enumerate(keep)}
    for key, value in form.items(multi=True):
        match = LEG_KEY.match(key)
        if match and int(match["index"]) in new_index:
            out.add(leg_name(new_index[int(match["index"])], match["field"]), value)
    for i in range(len(keep)):
        if leg_name(i, "destination") not in out:
            out.add(leg_name(i, "destination"), "")
    if add and len(keep) < MAX_LEGS:
        i = len(keep)
        out.add(leg_name(i, "destination"), "")
        for field, value in LEG_DEFAULTS:
            out.add(leg_name(i, field), value)
    return out


def _party_items(prefix: str, recipient: dict, basis: dict) -> list[tuple[str, str]]:
    items = [
        (prefix + "recipient.name", recipient.get("name") or ""),
        (prefix + "recipient.relationship", recipient.get("relationship") or "third_party"),
        (prefix + "recipient.role", recipient.get("role") or ""),
        (prefix + "recipient.transfer_assessment", recipient.get("transfer_assessment") or "not_done"),
        (prefix + "basis.consent", basis.get("consent") or "none"),
        (prefix + "basis.exception", basis.get("exception") or ""),
        (prefix + "basis.derogation", basis.get("derogation") or ""),
    ]
    items += [(prefix + "recipient.safeguards", s) for s in recipient.get("safeguards") or []]
    defaults = {"recipient": Recipient(), "basis": Basis()}
    sections = {"recipient": recipient, "basis": basis}
    for name in BOOLEAN_FIELDS:
        section, field = name.split(".")
        if sections[section].get(field, getattr(defaults[section], field)):
            items.append((prefix + name, "true"))
    return items


def form_from_request(body: dict, countries: CountryIndex, lang: str) -> MultiDict:
    """Fill the form from a request body (a logged decision's or a saved scenario's): the inverse mapping, legs included."""
    items = [
        ("origin", body.get("origin") or ""),
        ("exporter_role", body.get("exporter_role") or "controller"),
        ("destination", countries.label(body.get("destination"), lang)),
        ("data_origin", body.get("data_origin") or ""),
        ("as_of", body.get("as_of") or ""),
        ("reference", body.get("reference") or ""),
    ]
    items += [("data_categories", c) for c in body.get("data_categories") or []]
    items += _party_items("", body.get("recipient") or {}, body.get("basis") or {})
    for i, leg in enumerate(body.get("onward") or []):
        items.append((leg_name(i, "destination"), countries.label(leg.get("destination"), lang)))
        items += _party_items(leg_name(i, ""), leg.get("recipient") or {}, leg.get("basis") or {})
    return MultiDict(items)


# The request fields a remedy's `apply` may change: the fields this form has.
FORM_FIELDS = frozenset({"origin", "exporter_role", "destination", "data_categories", "data_origin", "recipient.name",
                         "recipient.relationship", "recipient.safeguards", "recipient.role",
                         "recipient.transfer_assessment", "basis.consent", "basis.exception", "basis.derogation",
                         "as_of", "reference", *BOOLEAN_FIELDS})


def apply_changes(body: dict, changes: list[dict]) -> tuple[dict, list[dict]]:
    """Apply a remedy's changes (`{"path": …, "set": v}` or `{"path": …, "add": v}`) to a copy of a request body.

    Return the changed body and the changes that took effect; a path the form does not have is left alone.
    """
    out = copy.deepcopy(body)
    applied = []
    for change in changes or []:
        path = change.get("path", "")
        leg = LEG_KEY.match(path)
        if leg:  # a change to an onward leg (`onward[0].basis.consent`): the leg must exist
            legs = out.get("onward") or []
            if leg["field"] not in LEG_FIELDS or int(leg["index"]) >= len(legs) or not ({"set", "add"} & change.keys()):
                continue
            *sections, name = leg["field"].split(".")
            target = legs[int(leg["index"])]
        elif path not in FORM_FIELDS or not ({"set", "add"} & change.keys()):
            continue
        else:
            *sections, name = path.split(".")
            target = out
        for section in sections:
            if not isinstance(target.get(section), dict):
                target[section] = {}
            target = target[section]
        if "add" in change:
            items = list(target.get(name) or [])
            if change["add"] in items:
                continue
            target[name] = items + [change["add"]]
            applied.append({"path": path, "op": "add", "value": change["add"]})
        else:
            if target.get(name) == change["set"]:
                continue
            target[name] = change["set"]
            applied.append({"path": path, "op": "set", "value": change["set"]})
    return out, applied


def blank_form(origin: str) -> MultiDict:
    """The form as a new scenario starts: the contract's defaults."""
    return MultiDict([("origin", origin), ("exporter_role", "controller"), ("recipient.relationship", "third_party"),
                      ("recipient.transfer_assessment", "not_done"), ("basis.consent", "none"),
                      ("recipient.handles_data", "true")])


def merge_errors(form_errors: dict[str, list[str]], service_errors: dict[str, list[str]],
                 instead: str | None = None) -> dict[str, list[str]]:
    """Add the service's errors to the form's own; a field the form already flagged keeps only its message.

    The service speaks the API's English; `instead` (a sentence in the reader's language) replaces
    its messages, once per field.
    """
    out = {k: list(v) for k, v in form_errors.items()}
    for path, messages in service_errors.items():
        if _INDEX.sub("", path) in form_errors:
            continue
        if instead is None:
            out.setdefault(path, []).extend(messages)
        elif instead not in out.get(_INDEX.sub("", path), []):
            out.setdefault(_INDEX.sub("", path), []).append(instead)
    return out


def errors_by_field(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """Key errors by form field: `data_categories[1]` belongs to `data_categories`, `$` to the form."""
    out: dict[str, list[str]] = {}
    for path, messages in errors.items():
        out.setdefault(_INDEX.sub("", path), []).extend(messages)
    return out
