"""Exports of the decision log for auditors: CSV and JSON Lines, and the APPI 29 records register.

JSON Lines is the faithful form: one entry per line with its request and response as objects.
CSV flattens the same entries for spreadsheets; the request and response stay in it as JSON
text, so no information is lost. A cell that a spreadsheet would run as a formula (it starts
with = + - @ or a control character) is prefixed with an apostrophe: a caller's reference must
not execute in an auditor's spreadsheet.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date
from typing import Iterable, Iterator

CSV_COLUMNS = ("seq", "decision_id", "created_at", "caller", "caller_role", "reference", "destination", "outcome",
               "route", "data_kinds", "records_required", "records_retention", "retention_until", "ruleset_name",
               "ruleset_version", "ruleset_digest", "profile_digest", "masked", "prev_hash", "hash", "request",
               "response")
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


def csv_lines(entries: Iterable[dict]) -> Iterator[str]:
    """Yield the CSV export line by line, header first."""
    yield _csv_line(CSV_COLUMNS)
    for entry in entries:
        yield _csv_line(entry[c] for c in CSV_COLUMNS)


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


REGISTER_COLUMNS = ("decision_id", "provided_on", "destination", "recipient", "relationship", "data_categories",
                    "reference", "items", "citations", "retention", "retention_until", "kept")


def records_register(entries: Iterable[dict], today: date) -> Iterator[RecordEntry]:
    """Yield a register line for each logged provision that needs a record (pass only such entries)."""
    for entry in entries:
        request, records = entry["request"], entry["response"]["records"]
        if not entry["records_required"]:
            continue
        yield RecordEntry(
            decision_id=entry["decision_id"],
            provided_on=entry["created_at"][:10],
            destination=entry["destination"],
            recipient=request["recipient"]["name"],
            relationship=request["recipient"]["relationship"],
            data_categories=tuple(request["data_categories"]),
            reference=entry["reference"],
            items=tuple(records["items"]),
            citations=tuple(records.get("citations", ())),
            retention=entry["records_retention"],
            retention_until=entry["retention_until"],
            kept=date.fromisoformat(entry["retention_until"]) >= today,
        )


def register_csv_lines(register: Iterable[RecordEntry]) -> Iterator[str]:
    """Yield the records register as CSV, header first; lists are joined with ' | '."""
    yield _csv_line(REGISTER_COLUMNS)
    for line in register:
        values = [getattr(line, c) for c in REGISTER_COLUMNS]
        yield _csv_line(" | ".join(v) if isinstance(v, tuple) else v for v in values)
