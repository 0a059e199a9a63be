"""The officer pages in English and Japanese: Flask-Babel, the labels of the contract's values, dates and durations.

The interface's texts are gettext messages with English msgids: `{{ _('Decide') }}` in templates,
`gettext("…")` / `lazy_gettext("…")` from flask_babel in Python. Their Japanese lives in the
catalogue transfer_gate/translations/ja/LC_MESSAGES/messages.po (compiled to messages.mo beside
it). What the law says comes from the rules, the citation registry and the country profiles,
which carry both languages already (`text`/`text_ja`, `ref`/`ref_ja`); `localized()` picks one.

The language is the `lang` cookie's, else the browser's Accept-Language; times are shown in
TRANSFER_GATE_TIMEZONE (Asia/Tokyo unless configured).
"""

from __future__ import annotations

import re
from datetime import date, datetime

import pytz
from babel.lists import format_list
from flask import Flask, request
from flask_babel import Babel, format_date, format_datetime, get_locale, gettext, ngettext, pgettext
from flask_babel import lazy_gettext as _l

from ..errors import ConfigError

LANGUAGES = ("en", "ja")
LANGUAGE_NAMES = {"en": "English", "ja": "日本語"}  # each in its own language, never translated
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600

# The words for the contract's enumerations and the form's field paths: pages show these, never the values.
LABELS = {
    "role": {
        "officer": _l("privacy officer"),
        "auditor": _l("auditor"),
        "app": _l("application"),
        "admin": _l("administrator"),
    },
    "field": {
        "origin": _l("Origin (exporter's country)"),
        "destination": _l("Destination (where the recipient is)"),
        "data_categories": _l("Data categories"),
        "data_origin": _l("Where the exporter received the data from"),
        "recipient.name": _l("Recipient's name"),
        "recipient.relationship": _l("Relationship"),
        "recipient.safeguards": _l("Safeguards the recipient has in place"),
        "recipient.handles_data": _l("The recipient handles the data"),
        "recipient.links_to_individuals": _l("The recipient is expected to link the data to individuals"),
        "recipient.academic_institution": _l("The recipient is an academic research institution"),
        "basis.consent": _l("The principal's consent"),
        "basis.exception": _l("APPI 27(1) exception relied on"),
        "basis.opt_out": _l("The exporter uses the opt-out notified to the PPC"),
        "basis.public_announcement": _l("The items and the method of provision were announced in advance"),
        "exporter_role": _l("The exporter's role"),
        "recipient.role": _l("The recipient's role"),
        "recipient.transfer_assessment": _l("Transfer impact assessment (UK: transfer risk assessment)"),
        "basis.derogation": _l("GDPR 49 derogation relied on"),
        "basis.occasional": _l("The transfer is occasional, not repeated"),
        "as_of": _l("Decide as of"),
        "reference": _l("Your reference"),
    },
    "field_help": {
        "origin": _l("Selects the regime: JP applies the APPI, an EU/EEA state the GDPR, GB the UK GDPR."),
        "destination": _l("Type a country name in English or Japanese, or its two-letter code, and pick it from the list. Where the recipient is, not where its servers are; choose “not yet identified” if it cannot be identified yet."),
        "data_categories": _l("Tick every kind of data in the transfer; the most restrictive answer wins."),
        "data_origin": _l("EU or UK: received under the adequacy decision, so the Supplementary Rules apply."),
        "recipient.name": _l("For the records and the log (optional)."),
        "recipient.relationship": _l("APPI 27(5): outsourcing, succession and joint use."),
        "recipient.safeguards": _l("PPC Rules 16: a contract or group rules (i), or a certification (ii)."),
        "recipient.handles_data": _l("Untick for storage only: the operator is contractually barred from handling the data and access is controlled (PPC Q&A 12-3)."),
        "recipient.links_to_individuals": _l("For personally referable information (APPI 31)."),
        "basis.opt_out": _l("APPI 27(2)."),
        "basis.public_announcement": _l("For anonymized data (APPI 43(4), 44)."),
        "basis.occasional": _l("GDPR 49(1): the contract and legal-claims derogations and compelling legitimate interests need it."),
        "as_of": _l("The rules and profiles in force on this date; leave empty for today."),
        "reference": _l("Your own correlation id, kept in the log (optional)."),
    },
    "group": {
        "special_care": _l("Special care-required personal information"),
        "eu_uk_only": _l("Special care only for EU/UK-origin data"),
        "other": _l("Other kinds of data"),
    },
    "group_help": {
        "special_care": _l("APPI 2(3), Cabinet Order 2. Each item is also personal data."),
        "eu_uk_only": _l("Supplementary Rule (1): ordinary personal data otherwise."),
    },
    "data_origin": {
        "none": _l("Not from the EEA or the UK"),
        "EU": _l("From the EEA under the adequacy decision"),
        "UK": _l("From the UK under the adequacy decision"),
    },
    "relationship": {
        "third_party": _l("Third party"),
        "outsourcee": _l("Outsourcee (processor)"),
        "joint_use": _l("Joint use"),
        "business_succession": _l("Business succession"),
    },
    "safeguard": {
        "contract_measures": _l("Contract ensuring measures equivalent to APPI Ch. 4 Sec. 2"),
        "group_rules": _l("Group-internal rules ensuring those measures"),
        "apec_cbpr": _l("APEC CBPR certification"),
        "global_cbpr": _l("Global CBPR certification"),
        "apec_prp": _l("APEC PRP certification"),
        "scc": _l("EU standard contractual clauses"),
        "bcr": _l("Binding corporate rules"),
        "code_of_conduct": _l("An approved code of conduct with binding commitments"),
        "certification": _l("An approved certification with binding commitments"),
        "ad_hoc_clauses": _l("Contractual clauses authorised by the supervisory authority"),
        "dpf": _l("EU-US Data Privacy Framework certification"),
        "idta": _l("UK International Data Transfer Agreement"),
        "uk_addendum": _l("UK Addendum to the EU standard contractual clauses"),
    },
    "party_role": {
        "controller": _l("Controller"),
        "processor": _l("Processor"),
    },
    "transfer_assessment": {
        "not_done": _l("Not done"),
        "no_impinging_law": _l("Done: nothing in the destination's law or practice impinges on the safeguard"),
        "supplementary_measures": _l("Done: supplementary measures make up for what impinges"),
        "cannot_protect": _l("Done: the data cannot be protected there"),
    },
    "derogation": {
        "none": _l("None"),
        "contract_with_subject": _l("(b) A contract with the data subject"),
        "contract_in_subject_interest": _l("(c) A contract in the data subject's interest"),
        "public_interest": _l("(d) Important reasons of public interest"),
        "legal_claims": _l("(e) Legal claims"),
        "vital_interests": _l("(f) Vital interests"),
        "public_register": _l("(g) A public register"),
        "compelling_legitimate_interests": _l("Compelling legitimate interests (second subparagraph)"),
    },
    "consent": {
        "none": _l("No consent"),
        "plain": _l("Consent to third-party provision"),
        "informed": _l("Informed consent (after the APPI 28(2) information was given)"),
    },
    "exception": {
        "laws_and_regulations": _l("(i) Required by Japanese laws and regulations"),
        "life_body_property": _l("(ii) Protection of life, body or property"),
        "public_health_children": _l("(iii) Public health or children's development"),
        "state_cooperation": _l("(iv) Cooperation with a state body"),
        "academic_publication": _l("(v) Academic research: publication"),
        "academic_joint_research": _l("(vi) Academic research: joint research"),
        "academic_recipient": _l("(vii) Academic research: the recipient's purpose"),
    },
    "adequacy": {
        "eu_adequacy": _l("EU adequacy (GDPR 45)"),
        "uk_adequacy": _l("UK adequacy (UK GDPR 45)"),
    },
    "adequacy_status": {
        "full": _l("Adequate"),
        "scoped": _l("Adequate for part of the country's recipients"),
    },
    "adequacy_short": {
        "full": _l("adequate"),
        "scoped": _l("adequate in part"),
    },
    "adequacy_scope": {
        "dpf_certified": _l("only recipients certified under the Data Privacy Framework (the UK Extension for the UK)"),
        "commercial_organisations": _l("only commercial organisations subject to PIPEDA"),
        "excluding_academic": _l("businesses subject to the APPI, not academic recipients"),
        "pipa_regulated": _l("only recipients subject to the Personal Information Protection Act"),
        "lgpd_regulated": _l("only recipients subject to the LGPD"),
    },
    "regime": {
        "APPI": _l("APPI"),
        "GDPR": _l("GDPR"),
        "UK_GDPR": _l("UK GDPR"),
    },
    "outcome": {
        "allow": _l("Allowed"),
        "conditional": _l("Allowed on conditions"),
        "deny": _l("Not allowed"),
    },
    "outcome_lead": {
        "allow": _l("Lawful with no transfer-specific obligation."),
        "conditional": _l("Lawful provided every condition below is met."),
        "deny": _l("Not lawful on the facts given. See the remedies below."),
    },
    "status": {
        "satisfied": _l("Satisfied"),
        "unsatisfied": _l("Not satisfied"),
        "not_applicable": _l("Not applicable"),
    },
    "change": {
        "outcome": _l("Outcome"),
        "route": _l("Route"),
        "decided_by": _l("Decided by"),
        "records": _l("Records"),
        "conditions": _l("Conditions"),
        "citations": _l("Citations"),
        "remedies": _l("Remedies"),
        "paths": _l("Route status"),
        "decided_by_leg": _l("The transfer that decides the journey"),
    },
    "global_cbpr": {
        "member": _l("member"),
        "associate": _l("associate"),
        "none": _l("not a participant"),
    },
    "topic": {
        "system": _l("The protection system"),
        "oecd8_gaps": _l("OECD-8 gaps"),
        "government_access": _l("Government access"),
        "localization": _l("Data localization"),
        "law": _l("Data-protection law"),
    },
    "oecd8": {
        "collection_limitation": _l("Collection limitation"),
        "data_quality": _l("Data quality"),
        "purpose_specification": _l("Purpose specification"),
        "use_limitation": _l("Use limitation"),
        "security_safeguards": _l("Security safeguards"),
        "openness": _l("Openness"),
        "individual_participation": _l("Individual participation"),
        "accountability": _l("Accountability"),
    },
}

_DURATION = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?$")


def select_language() -> str:
    """Flask-Babel's locale selector: the `lang` cookie, else the browser's preference, else English."""
    chosen = request.cookies.get(COOKIE)
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES, default="en")


def language() -> str:
    """Return the language of the current request ("en" or "ja")."""
    locale = get_locale()
    return locale.language if locale is not None and locale.language in LANGUAGES else "en"


def label(kind: str, value) -> str:
    """The words for one value of an enumeration (`label('outcome', 'deny')`), or "" when it has none."""
    text = LABELS.get(kind, {}).get(value)
    return str(text) if text is not None else ""


def localized(item, field: str = "text"):
    """Pick `field` or its `_ja` twin from a dict or object that carries both."""
    def read(name):
        return item.get(name) if isinstance(item, dict) else getattr(item, name, None)

    if language() == "ja":
        value = read(field + "_ja")
        if value:
            return value
    return read(field)


def duration(iso: str | None) -> str:
    """Spell an ISO 8601 duration such as P3Y in words ("3 years", "3年間"); "" for anything else."""
    match = _DURATION.match(iso or "")
    if not match or not any(match.groups()):
        return ""
    years, months, days = (int(n) if n else 0 for n in match.groups())
    parts = []
    if years:
        parts.append(ngettext("%(num)d year", "%(num)d years", years))
    if months:
        parts.append(ngettext("%(num)d month", "%(num)d months", months))
    if days:
        parts.append(ngettext("%(num)d day", "%(num)d days", days))
    span = format_list(parts, style="unit-narrow", locale=get_locale())  # "1 year 6 months", "1年6か月"
    # TRANSLATORS: a duration as a length of time; Japanese adds 間 ("3年間")
    return pgettext("duration", "%(span)s", span=span)


def date_words(value) -> str:
    """A date in words in the reader's language ("December 2, 2026", "2026年12月2日"); "" for no date."""
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return value
    return format_date(value, "long")


def moment(value) -> str:
    """A logged UTC timestamp in the configured time zone, in the reader's language."""
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    return format_datetime(value, "long")


def safe_next(target: str | None) -> str:
    """Return `target` if it is a path on this site, else "/" (the toggle must not redirect elsewhere)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def init_app(app: Flask) -> None:
    """Set up Flask-Babel (catalogue, locale and time zone selectors) and what every template needs."""
    zone = app.config["TIMEZONE"]
    try:
        pytz.timezone(zone)
    except pytz.UnknownTimeZoneError:
        raise ConfigError(f"TRANSFER_GATE_TIMEZONE={zone!r} is not a time zone name such as Asia/Tokyo") from None
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", "translations")  # transfer_gate/translations
    Babel(app, locale_selector=select_language, timezone_selector=lambda: app.config["TIMEZONE"])

    @app.context_processor
    def _translation_context():
        return {"lang": language(), "label": label, "localized": localized, "duration": duration,
                "date_words": date_words, "moment": moment, "language_names": LANGUAGE_NAMES}
