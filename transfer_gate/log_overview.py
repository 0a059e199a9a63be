"""Counts of logged decisions over time, and the geometry of the charts that draw them.

The overview page counts decisions per day or per week by outcome, destination, route and
regime. The charts are drawn on the server as SVG (no script; the CSP forbids inline styles,
so the geometry is in presentation attributes and the colours come from classes). Periods
are days of the auditor's time zone, not of UTC: a decision made at 08:00 in Tokyo belongs to
that Tokyo day.

Nothing here knows Flask: the view passes the rows, the zone and the labels.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Callable, Iterable

DIMENSIONS = ("outcome", "destination", "route", "ruleset_name")
OUTCOME_ORDER = ("allow", "conditional", "deny")
OTHER = "__other__"
TOP = 6  # destinations or routes drawn as their own series; the rest are counted as "other"
MAX_DAYS = 92  # a longer range is counted per week
MAX_RANGE_DAYS = 3 * 366  # beyond about 157 weeks the columns would be too thin to read

# The drawing, in SVG user units; the SVG scales to its container's width.
WIDTH, HEIGHT = 560, 220
LEFT, RIGHT, TOP_MARGIN, BOTTOM = 34, 8, 10, 26
MAX_X_LABELS = 8


def parse_logged(ts: str) -> datetime:
    """Read a logged timestamp (`2026-11-27T03:01:23.752142Z`) as an aware UTC datetime."""
    return datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def choose_period(start: date, end: date, wanted: str | None) -> str:
    """Count per day, or per week when asked or when the range is too long for days."""
    if wanted == "week" or (end - start).days + 1 > MAX_DAYS:
        return "week"
    return "day"


def period_starts(start: date, end: date, by: str) -> list[date]:
    """The first day of every period from `start` to `end` (weeks start on Monday)."""
    first = start - timedelta(days=start.weekday()) if by == "week" else start
    step = timedelta(days=7 if by == "week" else 1)
    out = []
    while first <= end:
        out.append(first)
        first += step
    return out


def _period_of(day: date, by: str) -> date:
    return day - timedelta(days=day.weekday()) if by == "week" else day


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    css: str  # the class that colours it (audit.css)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str  # the rect's tooltip: period, series, count


@dataclass(frozen=True)
class Tick:
    x: float
    y: float
    text: str


@dataclass(frozen=True)
class Chart:
    """One stacked-column chart: counts per period and series, with its drawing and its table."""

    dimension: str
    periods: tuple[date, ...]
    period_labels: tuple[str, ...]
    series: tuple[Series, ...]
    counts: dict  # (period index, series key) -> count
    totals: dict  # series key -> count over the range
    bars: tuple[Bar, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def total(self) -> int:
        return sum(self.totals.values())

    def row(self, index: int) -> list[int]:
        return [self.counts.get((index, s.key), 0) for s in self.series]

    @property
    def plot_left(self) -> int:
        return LEFT

    @property
    def baseline(self) -> int:
        return HEIGHT - BOTTOM

    @property
    def plot_right(self) -> int:
        return WIDTH - RIGHT


def _nice_ceiling(n: int) -> int:
    """The smallest 1, 2 or 5 × 10^k at or above n (at least 1), so the axis reads in round numbers."""
    if n <= 1:
        return 1
    power = 10 ** math.floor(math.log10(n))
    for step in (1, 2, 5, 10):
        if step * power >= n:
            return step * power
    return 10 * power  # pragma: no cover - the loop always returns


def _key_text(key) -> str:
    """A series key as text: a (regime, route) pair reads `gdpr:adequacy`."""
    return ":".join(key) if isinstance(key, tuple) else key


def count(rows: Iterable[dict], zone: tzinfo, periods: list[date], by: str) -> dict[str, Counter]:
    """Count rows per (period, key) for every dimension; rows outside the periods are not counted."""
    index = {p: i for i, p in enumerate(periods)}
    counters = {d: Counter() for d in DIMENSIONS}
    for row in rows:
        day = parse_logged(row["created_at"]).astimezone(zone).date()
        i = index.get(_period_of(day, by))
        if i is None:
            continue
        for d in DIMENSIONS:
            if d == "destination":  # a journey counts under each country it sends data to
                for key in destinations_of(row):
                    counters[d][(i, key)] += 1
                continue
            # A route is named within its regime: GDPR's and the UK GDPR's "adequacy" are two routes.
            key = (row["ruleset_name"], row[d]) if d == "route" and row[d] != "none" else row[d]
            counters[d][(i, key)] += 1
    return counters


def destinations_of(row: dict) -> list[str]:
    """Every country an entry sends data to, in order, once each: its destination, then a journey's
    onward legs' (from `onward_destinations`, or from the request of an entry written before it)."""
    onward = row.get("onward_destinations")
    if onward is not None:
        later = [code for code in onward.split(",") if code]
    elif row.get("legacy_request"):
        later = [leg["destination"] for leg in json.loads(row["legacy_request"]).get("onward") or ()]
    else:
        later = []
    return list(dict.fromkeys([row["destination"], *later]))


def chart(dimension: str, counter: Counter, periods: list[date], period_label: Callable[[date], str],
          label: Callable[[str], str], other_label: str, count_title: Callable[[str, str, int], str],
          tick_label: Callable[[date], str] | None = None) -> Chart:
    """Lay out one dimension's counts as stacked columns (the most frequent keys first, the rest as other)."""
    totals = Counter()
    for (_, key), n in counter.items():
        totals[key] += n
    if dimension == "outcome":
        keys = [k for k in OUTCOME_ORDER if totals[k]] + sorted(k for k in totals if k not in OUTCOME_ORDER)
        series = [Series(k, label(k), f"fill-{k}" if k in OUTCOME_ORDER else "fill-other") for k in keys]
        merged = counter
    else:
        ranked = sorted(totals, key=lambda k: (-totals[k], _key_text(k)))
        kept, rest = ranked[:TOP], ranked[TOP:]
        if len(rest) == 1:  # an "other" of one is just that one
            kept, rest = ranked, []
        series = [Series(_key_text(k), label(k), f"fill-s{i}") for i, k in enumerate(kept)]
        merged = Counter()
        for (i, key), n in counter.items():
            merged[(i, _key_text(key) if key in kept else OTHER)] += n
        if rest:
            series.append(Series(OTHER, other_label, "fill-other"))
        totals = Counter({_key_text(k): totals[k] for k in kept})
        if rest:
            totals[OTHER] = sum(n for (_, key), n in merged.items() if key == OTHER)
    highest = max((sum(merged.get((i, s.key), 0) for s in series) for i in range(len(periods))), default=0)
    top = _nice_ceiling(highest)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP_MARGIN - BOTTOM
    column = plot_w / max(1, len(periods))
    bar_w = max(1.0, column * 0.72)
    labels = [period_label(p) for p in periods]
    bars = []
    for i, start in enumerate(periods):
        y = HEIGHT - BOTTOM
        for s in series:
            n = merged.get((i, s.key), 0)
            if not n:
                continue
            h = plot_h * n / top
            y -= h
            bars.append(Bar(round(LEFT + i * column + (column - bar_w) / 2, 2), round(y, 2), round(bar_w, 2),
                            round(h, 2), s.css, count_title(labels[i], s.label, n)))
    every = max(1, math.ceil(len(periods) / MAX_X_LABELS))
    tick_label = tick_label or period_label
    x_ticks = tuple(Tick(round(LEFT + i * column + column / 2, 2), HEIGHT - BOTTOM + 16, tick_label(periods[i]))
                    for i in range(0, len(periods), every))
    y_ticks = tuple(Tick(LEFT - 4, round(HEIGHT - BOTTOM - plot_h * v / top, 2) + 4, str(v))
                    for v in sorted({0, top // 2 if top % 2 == 0 else 0, top}))
    return Chart(dimension, tuple(periods), tuple(labels), tuple(series), dict(merged), dict(totals),
                 tuple(bars), x_ticks, y_ticks)
