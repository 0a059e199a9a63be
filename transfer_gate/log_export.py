"""Exports of the decision log for auditors: CSV and JSON Lines, and the APPI 29 records register.

JSON Lines is the faithful form: one entry per line with its request and response as objects.
CSV is for people with a spreadsheet: it starts with a UTF-8 byte-order mark (without one,
Excel on Japanese Windows reads the file as Shift_JIS and shows mojibake), its headers and
values are readable labels in the reader's language (local time, country names, outcome and
route titles), and the request and response follow as JSON text, so no information is lost.
A cell that a spreadsheet would run as a formula (it starts with = + - @ or a control
character) is prefixed with an apostrophe: a caller's reference must not execute in an
auditor's spreadsheet.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date
from typing import Callable, Iterable, Iterator

from .log_entries import retention_end

BOM = "\ufeff"
# The readable columns of the decision log's CSV, then the raw ones that identify and hold the entry.
CSV_COLUMNS = ("created_at", "caller", "reference", "origin", "destination", "data_categories", "outcome", "route",
               "regime", "conditions", "citations", "retention_until", "decision_id", "seq", "hash", "request",
               "response")
REGISTER_COLUMNS = ("provided_on", "decision_id", "reference", "destination", "recipient", "relationship",
                    "data_categories", "items", "citations", "retention", "retention_until", "kept")


@dataclass(frozen=True)
class Readable:
    """How codes read in the reader's language; the web layer supplies it (this module knows no Flask)."""

    local_time: Callable[[str], str] = lambda ts: ts
    outcome: Callable[[str], str] = str
    route: Callable[[str], str] = str
    country: Callable[[str], str] = str
    category: Callable[[str], str] = str
    regime: Callable[[str], str] = str
    relationship: Callable[[str], str] = str
    duration: Callable[[str], str] = str
    yes_no: Callable[[bool], str] = lambda b: "yes" if b else "no"
    header: Callable[[str], str] = str
    japanese: bool = False


CODES = Readable()
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv_line(values) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([_cell(v) for v in values])
    return buffer.getvalue()


def _country(readable: Readable, code: str | None) -> str:
    if not code:
        return ""
    name = readable.country(code)
    return name if name == code or code == "unknown" else f"{name} ({code})"


def _join(values) -> str:
    return "; ".join(v for v in values if v)


def readable_row(entry: dict, readable: Readable = CODES) -> dict:
    """One log entry as the CSV's columns: labels first, then the raw JSON."""
    request, response = entry["request"], entry["response"]
    conditions = [c["id"] for c in response.get("conditions", [])]
    return {
        "created_at": readable.local_time(entry["created_at"]),
        "caller": entry["caller"] + (f" ({entry['caller_role']})" if entry.get("caller_role") else ""),
        "reference": entry.get("reference"),
        "origin": _country(readable, request.get("origin")),
        "destination": _country(readable, entry["destination"]),
        "data_categories": _join(readable.category(k) for k in request.get("data_categories", [])),
        "outcome": readable.outcome(entry["outcome"]),
        "route": readable.route((entry["ruleset_name"], entry["route"])),
        "regime": readable.regime(entry["ruleset_name"]),
        "conditions": _join(conditions),
        "citations": _join(c["ref"] for c in response.get("citations", [])),
        "retention_until": entry.get("retention_until") if entry.get("records_required") else "",
        "decision_id": entry["decision_id"],
        "seq": entry["seq"],
        "hash": entry["hash"],
        "request": request,
        "response": response,
    }


def csv_lines(entries: Iterable[dict], readable: Readable = CODES) -> Iterator[str]:
    """Yield the CSV export line by line: byte-order mark and header first."""
    yield BOM + _csv_line(readable.header(c) for c in CSV_COLUMNS)
    for entry in entries:
        row = readable_row(entry, readable)
        yield _csv_line(row[c] for c in CSV_COLUMNS)


def jsonl_lines(entries: Iterable[dict]) -> Iterator[str]:
    """Yield one JSON object per entry and line."""
    for entry in entries:
        yield json.dumps(entry, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"


@dataclass(frozen=True)
class RecordEntry:
    """One provision that APPI 29 (or 31(3)) requires a record of, as the register lists it."""

    decision_id: str
    provided_on: str  # the date the decision was made, which the retention period runs from
    destination: str
    recipient: str | None
    relationship: str
    data_categories: tuple[str, ...]
    reference: str | None
    items: tuple[str, ...]
    citations: tuple[str, ...]
    retention: str
    retention_until: str
    kept: bool  # the retention period has not ended on the day the register was drawn
    items_ja: tuple[str, ...] = ()


def records_register(entries: Iterable[dict], today: date, destination: str | None = None) -> Iterator[RecordEntry]:
    """Yield a register line for each logged provision that needs a record (pass only such entries).

    A journey's record belongs to the leg that needs it — in EU → JP → US, the Japanese
    business's provision to the US recipient, not the first leg's — so a journey yields a line
    per such leg, with that leg's destination, recipient and retention. Given a `destination`,
    only the lines of provisions to it (a journey found by its second leg does not bring its first's).
    """
    if destination is not None:
        yield from (line for line in records_register(entries, today) if line.destination == destination)
        return
    for entry in entries:
        if not entry["records_required"]:
            continue
        request, response = entry["request"], entry["response"]
        provided_on = entry["created_at"][:10]
        legs = response.get("legs")
        if not legs:
            yield _register_line(entry, provided_on, entry["destination"], request["recipient"], response["records"],
                                 entry["retention_until"], today)
            continue
        recipients = [request["recipient"]] + [leg["recipient"] for leg in request.get("onward") or ()]
        for leg, recipient in zip(legs, recipients):
            records = leg.get("records") or {}
            if records.get("required") and records.get("retention"):
                until = retention_end(date.fromisoformat(provided_on), records["retention"]).isoformat()
                yield _register_line(entry, provided_on, leg["destination"], recipient, records, until, today)


def _register_line(entry: dict, provided_on: str, destination: str, recipient: dict, records: dict,
                   retention_until: str, today: date) -> RecordEntry:
    return RecordEntry(
        decision_id=entry["decision_id"],
        provided_on=provided_on,
        destination=destination,
        recipient=recipient["name"],
        relationship=recipient["relationship"],
        data_categories=tuple(entry["request"]["data_categories"]),
        reference=entry["reference"],
        items=tuple(records["items"]),
        citations=tuple(records.get("citations", ())),
        retention=records["retention"],
        retention_until=retention_until,
        kept=date.fromisoformat(retention_until) >= today,
        items_ja=tuple(records.get("items_ja", ())),
    )


def register_csv_lines(register: Iterable[RecordEntry], readable: Readable = CODES) -> Iterator[str]:
    """Yield the records register as CSV, byte-order mark and header first; lists are joined with '; '."""
    yield BOM + _csv_line(readable.header(c) for c in REGISTER_COLUMNS)
    for line in register:
        values = {
            "provided_on": line.provided_on, "decision_id": line.decision_id, "reference": line.reference,
            "destination": _country(readable, line.destination), "recipient": line.recipient,
            "relationship": readable.relationship(line.relationship),
            "data_categories": _join(readable.category(k) for k in line.data_categories),
            "items": _join(line.items_ja if readable.japanese and line.items_ja else line.items), "citations": _join(line.citations),
            "retention": readable.duration(line.retention), "retention_until": line.retention_until,
            "kept": readable.yes_no(line.kept),
        }
        yield _csv_line(values[c] for c in REGISTER_COLUMNS)
