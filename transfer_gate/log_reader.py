"""Reading the decision log: one entry, the head, filtered pages and scans, the auditors' queries."""

from __future__ import annotations

from typing import Iterator

import sqlalchemy as sa

from .log_entries import canonical, entries, head_table, public
from .log_verify import Anchor


class Reading:
    """The reading half of DecisionLog (needs `engine` and `mask`)."""

    def get(self, decision_id: str) -> dict | None:
        """Return one entry with its request and response parsed, or None."""
        if not isinstance(decision_id, str) or "\x00" in decision_id or len(decision_id) > 26:
            return None  # no entry has such an id, and PostgreSQL would refuse to compare a NUL
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(entries).where(entries.c.decision_id == decision_id)).mappings().first()
        return public(row) if row else None

    def head(self) -> Anchor:
        """Return the chain head: the seq and hash of the last entry (0 and GENESIS when empty)."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(head_table.c.seq, head_table.c.hash).where(head_table.c.id == 1)).one()
        return Anchor(int(row.seq), row.hash)

    def query(self, *, since: str | None = None, until: str | None = None, outcome=None, destination=None,
              route=None, reference=None, caller=None, records_required: bool | None = None,
              ruleset_name=None, after: int | None = None, newest_first: bool = False,
              limit: int | None = 100) -> list[dict]:
        """Return entries matching every filter given, in chain order (or newest first).

        `since` is inclusive and `until` exclusive, both timestamps as logged
        (`YYYY-MM-DDTHH:MM:SS.ffffffZ`). `after` is keyset pagination: the seq of the last
        entry of the previous page; the next page continues past it in the same direction.
        """
        stmt = sa.select(entries)
        if destination is not None:
            stmt = stmt.where(to_destination(destination))
        for name, value in (("outcome", outcome), ("route", route),
                            ("reference", reference), ("caller", caller), ("ruleset_name", ruleset_name)):
            if value is not None:
                values = self.mask.lookup_values(name, value) if name == "reference" else [value]
                stmt = stmt.where(entries.c[name].in_(values))
        stmt = _kept_and_dated(stmt, records_required, since, until)
        if after is not None:
            stmt = stmt.where(entries.c.seq < after if newest_first else entries.c.seq > after)
        stmt = stmt.order_by(entries.c.seq.desc() if newest_first else entries.c.seq)
        if limit is not None:
            stmt = stmt.limit(limit)
        with self.engine.connect() as conn:
            return [public(r) for r in conn.execute(stmt).mappings()]

    def scan(self, page: int = 500, **filters) -> Iterator[dict]:
        """Yield every entry matching the filters, a page (one short read) at a time."""
        after = filters.pop("after", None)
        while True:
            rows = self.query(after=after, limit=page, **filters)
            yield from rows
            if len(rows) < page:
                return
            after = rows[-1]["seq"]

    # ------------------------------------------------------------------ reading for the auditors' pages

    def _matching(self, stmt, *, since=None, until=None, outcome=None, destination=None, route=None,
                  reference_contains=None, caller=None, records_required=None, ruleset_name=None):
        """Add the auditors' filters to a select; `reference_contains` is a case-insensitive substring.

        A reference the log keeps hashed (LOG_MASK=reference, mode hash) cannot be found by a
        part of it: only the whole value, whose token is compared exactly.
        """
        if destination is not None:
            stmt = stmt.where(to_destination(destination))
        for name, value in (("outcome", outcome), ("route", route), ("caller", caller), ("ruleset_name", ruleset_name)):
            if value is not None:
                stmt = stmt.where(entries.c[name] == value)
        if reference_contains:
            needle = reference_contains.lower()
            matches = sa.func.lower(entries.c.reference).contains(needle, autoescape=True)
            tokens = [t for t in self.mask.lookup_values("reference", reference_contains) if t != reference_contains]
            stmt = stmt.where(sa.or_(matches, entries.c.reference.in_(tokens)) if tokens else matches)
        return _kept_and_dated(stmt, records_required, since, until)

    def search(self, *, after: int | None = None, newest_first: bool = True, limit: int = 50,
               **filters) -> list[dict]:
        """Return a page of entries like `query`, with the reference matched by a part of it."""
        stmt = self._matching(sa.select(entries), **filters)
        if after is not None:
            stmt = stmt.where(entries.c.seq < after if newest_first else entries.c.seq > after)
        stmt = stmt.order_by(entries.c.seq.desc() if newest_first else entries.c.seq).limit(limit)
        with self.engine.connect() as conn:
            return [public(r) for r in conn.execute(stmt).mappings()]

    def count(self, **filters) -> int:
        """Count the entries matching the auditors' filters (those of `search`)."""
        stmt = self._matching(sa.select(sa.func.count()).select_from(entries), **filters)
        with self.engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    def tallies(self, **filters) -> Iterator[dict]:
        """Yield the few columns of each matching entry that the overview counts, in chain order.

        A journey's onward destinations come with it; an entry written before the log kept them
        (revision 0007) brings its request instead (`legacy_request`), where they are.
        """
        onward = entries.c.onward_destinations
        columns = (entries.c.seq, entries.c.created_at, entries.c.outcome, entries.c.destination,
                   entries.c.route, entries.c.ruleset_name, onward,
                   sa.case((onward.is_(None), entries.c.request), else_=None).label("legacy_request"))
        stmt = self._matching(sa.select(*columns), **filters).order_by(entries.c.seq)
        with self.engine.connect() as conn:
            for row in conn.execution_options(yield_per=2000).execute(stmt).mappings():
                yield dict(row)

    def at(self, seq: int) -> dict | None:
        """Return the entry at position `seq` of the chain, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(entries).where(entries.c.seq == seq)).mappings().first()
        return public(row) if row else None

    def neighbours(self, seq: int) -> tuple[dict | None, dict | None]:
        """Return the entries just before and after `seq` in the chain (their seq, id, time and outcome)."""
        columns = (entries.c.seq, entries.c.decision_id, entries.c.created_at, entries.c.outcome)
        with self.engine.connect() as conn:
            rows = {r["seq"]: dict(r) for r in conn.execute(
                sa.select(*columns).where(entries.c.seq.in_([seq - 1, seq + 1]))).mappings()}
        return rows.get(seq - 1), rows.get(seq + 1)


def to_destination(destination: str):
    """The entries that send data to `destination`: a single transfer's, or any leg of a journey's.

    Entries written before the log kept `onward_destinations` (revision 0007) are matched in their
    request as logged, canonical JSON: `"destination":"US"` occurs there only as a leg's
    destination, since quotes inside a value are escaped.
    """
    onward = entries.c.onward_destinations
    return sa.or_(entries.c.destination == destination,
                  onward.contains(f",{destination},", autoescape=True),
                  sa.and_(onward.is_(None),
                          entries.c.request.contains(canonical({"destination": destination})[1:-1], autoescape=True)))


def _kept_and_dated(stmt, records_required, since, until):
    """Add the filters every reading shares: whether a record is required, and the time range [since, until)."""
    if records_required is not None:
        stmt = stmt.where(entries.c.records_required == records_required)
    if since is not None:
        stmt = stmt.where(entries.c.created_at >= since)
    if until is not None:
        stmt = stmt.where(entries.c.created_at < until)
    return stmt
