"""Stand-in for Flask-Babel on the audit pages until the catalogues land (English only)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from . import translations


def gettext(text: str, **values) -> str:
    return text % values if values else text


lazy_gettext = gettext


def ngettext(singular: str, plural: str, n: int, **values) -> str:
    return (singular if n == 1 else plural) % dict(values, num=n)


def language() -> str:
    return translations.language()


def format_datetime(moment: datetime, fmt: str = "medium") -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z")


def format_date(day: date, fmt: str = "long") -> str:
    return day.isoformat()


def template_gettext(key: str, **values) -> str:
    if key in translations.MESSAGES:
        return translations.gettext(key, **values)
    return gettext(key, **values)
