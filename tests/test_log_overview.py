"""The auditors' read-side queries of the log (both stores) and the overview's counts and chart geometry."""

import json
from collections import Counter
from datetime import date, timezone
from zoneinfo import ZoneInfo

import pytest

from tests.test_api import with_
from tests.test_decision_queries import HISTORY, logged  # noqa: F401 - the fixture
from transfer_gate import log_overview
from transfer_gate.log_overview import OTHER, chart, choose_period, count, period_starts


def log_of(store_app):
    return store_app.extensions["transfer_gate"].log


def test_search_matches_a_part_of_the_reference_in_any_case_on_both_stores(store_app, logged):
    log = log_of(store_app)
    assert [e["decision_id"] for e in log.search(reference_contains="EXPORT-4712")] == [logged[4]]
    assert [e["decision_id"] for e in log.search(reference_contains="ayrol")] == [logged[3]]
    assert log.search(reference_contains="%") == [] and log.search(reference_contains="_") == []
    assert log.count(reference_contains="crm-") == 4 and log.count() == len(HISTORY)


def test_search_pages_and_combines_filters_on_both_stores(store_app, logged):
    log = log_of(store_app)
    first = log.search(limit=2)
    assert [e["decision_id"] for e in first] == logged[:-3:-1]
    rest = log.search(after=first[-1]["seq"], limit=10)
    assert [e["decision_id"] for e in rest] == logged[2::-1]
    oldest = log.search(newest_first=False, limit=1, caller="hr")
    assert [e["decision_id"] for e in oldest] == [logged[2]]
    assert log.count(destination="DE", ruleset_name="appi") == 2 and log.count(ruleset_name="gdpr") == 0
    assert log.count(since="2026-11-02T00:00:00.000000Z", until="2026-12-01T00:00:00.000000Z") == 2
    assert log.count(records_required=True) == 1


def test_neighbours_at_and_tallies_read_the_chain_on_both_stores(store_app, logged):
    log = log_of(store_app)
    before, after = log.neighbours(3)
    assert (before["decision_id"], after["decision_id"]) == (logged[1], logged[3])
    assert log.neighbours(1)[0] is None and log.neighbours(len(HISTORY))[1] is None
    assert log.at(2)["decision_id"] == logged[1] and log.at(99) is None
    tallies = list(log.tallies(outcome="deny"))
    assert [t["seq"] for t in tallies] == [2]
    assert set(tallies[0]) == {"seq", "created_at", "outcome", "destination", "route", "ruleset_name",
                               "onward_destinations", "legacy_request"}
    assert tallies[0]["onward_destinations"] == "" and tallies[0]["legacy_request"] is None


def test_a_hashed_reference_is_found_by_its_whole_value_only(make_app, tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'm.sqlite3'}", LOG_MASK="reference", LOG_MASK_MODE="hash")
    client = app.test_client()
    client.post("/v1/decisions", json=with_(reference="Payroll-7"))
    log = log_of(app)
    assert log.count(reference_contains="Payroll-7") == 1
    assert log.count(reference_contains="payroll") == 0  # the log holds only the token


def rows(*entries):
    return [{"created_at": ts, "outcome": o, "destination": d, "route": r, "ruleset_name": "appi"}
            for ts, o, d, r in entries]


def test_days_are_counted_in_the_auditors_zone():
    periods = period_starts(date(2026, 11, 1), date(2026, 11, 2), "day")
    counters = count(rows(("2026-11-01T15:30:00.000000Z", "deny", "CN", "none"),  # 00:30 on the 2nd in Tokyo
                          ("2026-11-01T14:59:00.000000Z", "allow", "DE", "designated_country"),
                          ("2026-10-31T10:00:00.000000Z", "allow", "DE", "designated_country")),  # outside
                     ZoneInfo("Asia/Tokyo"), periods, "day")
    assert counters["outcome"] == Counter({(0, "allow"): 1, (1, "deny"): 1})


def test_a_journey_counts_under_each_country_it_sends_data_to_once_each():
    periods = period_starts(date(2026, 11, 1), date(2026, 11, 1), "day")
    ts = "2026-11-01T01:00:00.000000Z"
    journey, plain, old, back = (dict(r) for r in rows((ts, "conditional", "JP", "none"), (ts, "allow", "US", "none"),
                                                     (ts, "deny", "JP", "none"), (ts, "deny", "JP", "none")))
    journey["onward_destinations"], plain["onward_destinations"] = ",US,SG,", ""
    old["legacy_request"] = json.dumps({"destination": "JP", "onward": [{"destination": "CN"}]})  # before 0007
    back["onward_destinations"] = ",US,JP,"  # back to the first leg's country: counted there once
    counters = count([journey, plain, old, back], timezone.utc, periods, "day")
    assert counters["destination"] == Counter({(0, "JP"): 3, (0, "US"): 3, (0, "SG"): 1, (0, "CN"): 1})
    assert sum(counters["outcome"].values()) == 4


def test_long_ranges_are_counted_per_week_starting_on_monday():
    assert choose_period(date(2026, 1, 1), date(2026, 3, 31), None) == "day"
    assert choose_period(date(2026, 1, 1), date(2026, 4, 30), None) == "week"
    assert choose_period(date(2026, 1, 1), date(2026, 1, 2), "week") == "week"
    assert period_starts(date(2026, 11, 4), date(2026, 11, 16), "week") == [
        date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16)]


def draw(counter, periods=2, dimension="destination"):
    days = period_starts(date(2026, 11, 1), date(2026, 11, periods), "day")
    return chart(dimension, counter, days, lambda d: d.isoformat(), str.upper, "other",
                 lambda p, s, n: f"{p} {s} {n}")


def test_the_most_frequent_keys_get_their_own_series_and_the_rest_are_other():
    counter = Counter({(0, f"c{i}"): 10 - i for i in range(8)})
    drawn = draw(counter)
    assert [s.key for s in drawn.series] == ["c0", "c1", "c2", "c3", "c4", "c5", OTHER]
    assert drawn.totals[OTHER] == 4 + 3 and drawn.total == sum(counter.values())
    assert drawn.series[-1].css == "fill-other" and drawn.series[0].css == "fill-s0"
    assert draw(Counter({(0, f"c{i}"): 1 for i in range(7)})).series[-1].key == "c6"  # no "other" of one


def test_stacked_bars_fit_the_plot_and_scale_to_a_round_maximum():
    drawn = draw(Counter({(0, "allow"): 3, (0, "deny"): 4, (1, "allow"): 1}), dimension="outcome")
    assert [s.key for s in drawn.series] == ["allow", "deny"]
    assert [s.css for s in drawn.series] == ["fill-allow", "fill-deny"]
    assert [t.text for t in drawn.y_ticks] == ["0", "5", "10"]  # 7 rounds up to 10
    plot = log_overview.HEIGHT - log_overview.TOP_MARGIN - log_overview.BOTTOM
    first = [b for b in drawn.bars if b.x == drawn.bars[0].x]
    assert sum(b.height for b in first) == pytest.approx(plot * 7 / 10)
    assert all(log_overview.LEFT <= b.x and b.x + b.width <= log_overview.WIDTH - log_overview.RIGHT for b in drawn.bars)
    assert drawn.bars[0].title == "2026-11-01 ALLOW 3" and drawn.row(1) == [1, 0]


def test_an_empty_range_draws_no_bar():
    drawn = draw(Counter(), dimension="outcome")
    assert drawn.bars == () and drawn.series == () and drawn.total == 0
