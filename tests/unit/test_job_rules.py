"""Schedules, missed ticks and parameters of jobs: pure rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderhub.domain.jobs import (
    Cadence,
    Definition,
    InvalidParams,
    MissedPolicy,
    Param,
    ParamKind,
    category,
    due,
    parse_start,
    validate_params,
)

NOW = datetime(2026, 11, 23, 10, 2, 30, tzinfo=UTC)


def test_named_frequencies_and_cron_tick_in_the_schedules_timezone() -> None:
    assert Cadence("every-15-minutes").next_after(NOW) == datetime(2026, 11, 23, 10, 15, tzinfo=UTC)
    assert Cadence("hourly").next_after(NOW) == datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    # Daily is midnight where the job runs: Berlin is UTC+1 in November.
    assert Cadence("daily", "Europe/Berlin").next_after(NOW) == datetime(2026, 11, 23, 23, 0, tzinfo=UTC)
    assert Cadence("*/10 * * * *").next_after(NOW) == datetime(2026, 11, 23, 10, 10, tzinfo=UTC)
    assert Cadence("* * * * * *").next_after(NOW) == NOW + timedelta(seconds=1)  # seconds last
    assert Cadence("every 90s").next_after(NOW) == NOW + timedelta(seconds=90)


def test_daily_stays_at_local_midnight_across_a_daylight_saving_change() -> None:
    cadence = Cadence("daily", "Europe/Berlin")
    before = cadence.next_after(datetime(2026, 3, 28, 12, 0, tzinfo=UTC))
    after = cadence.next_after(before)
    assert (before.hour, after.hour) == (23, 22)  # 00:00 CET, then 00:00 CEST
    assert after - before == timedelta(hours=23)


def test_bad_schedules_say_what_to_use() -> None:
    with pytest.raises(ValueError, match="'every tuesday' is not a schedule: use one of every-5-minutes"):
        Cadence("every tuesday")
    with pytest.raises(ValueError, match="unknown timezone 'Nowhere/Town'"):
        Cadence("hourly", "Nowhere/Town")


def test_slow_jobs_refuse_short_cadences() -> None:
    slow = Definition("sync-products", "products", "slow", min_interval_seconds=3600)
    slow.check_cadence(Cadence("hourly"), NOW)
    slow.check_cadence(Cadence("0 3 * * *"), NOW)
    with pytest.raises(ValueError, match="at most every 1h; '\\*/30 \\* \\* \\* \\*' ticks every 30m"):
        slow.check_cadence(Cadence("*/30 * * * *"), NOW)


def test_ticks_missed_while_down_run_once_or_are_skipped() -> None:
    every_5 = Cadence("every-5-minutes")
    last = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    once = due(every_5, last, NOW, MissedPolicy.RUN_ONCE)
    assert once.tick == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # the newest missed tick runs, once
    assert once.missed == 24 and once.next_tick == datetime(2026, 11, 23, 10, 5, tzinfo=UTC)
    skipped = due(every_5, last, NOW, MissedPolicy.SKIP)
    assert skipped.tick is None and skipped.next_tick == once.next_tick
    # A tick the scheduler reaches within a minute is not missed.
    ten = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    on_time = due(every_5, ten, ten + timedelta(seconds=45), MissedPolicy.SKIP)
    assert on_time.tick == ten and on_time.missed == 0
    assert due(every_5, ten, ten + timedelta(seconds=75), MissedPolicy.SKIP).tick is None


@given(st.integers(min_value=1, max_value=10_000), st.integers(min_value=0, max_value=100_000))
def test_a_due_schedule_moves_into_the_future_and_runs_at_most_once(interval: int, downtime: int) -> None:
    cadence = Cadence(f"every {interval}s")
    last = NOW - timedelta(seconds=downtime)
    decision = due(cadence, last, NOW, MissedPolicy.RUN_ONCE)
    assert decision.next_tick > NOW
    assert decision.tick is not None and last <= decision.tick <= NOW


def test_start_times() -> None:
    assert parse_start("now", NOW) == NOW
    assert parse_start("+5m", NOW) == NOW + timedelta(minutes=5)
    assert parse_start("+1h", NOW) == NOW + timedelta(hours=1)
    assert parse_start("tomorrow", NOW, "Asia/Tokyo") == datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    assert parse_start("2026-12-01T06:00", NOW, "Europe/Berlin") == datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="use now, \\+5m, \\+1h, tomorrow or an ISO 8601 time"):
        parse_start("soon", NOW)


SPEC = (Param("since", ParamKind.TIME), Param("buffer", ParamKind.DURATION, default=300),
        Param("limit", ParamKind.INT), Param("dry_run", ParamKind.BOOL, default=False),
        Param("file", ParamKind.PATTERN, required=True, help="file-name pattern, e.g. *.csv"))


def test_parameters_are_converted_defaulted_and_checked() -> None:
    got = validate_params("import", SPEC, {"since": "2026-11-23T08:00:00-05:00", "buffer": "15m", "limit": "10",
                                           "dry_run": "yes", "file": "orders-*.csv"})
    assert got == {"since": datetime(2026, 11, 23, 13, 0, tzinfo=UTC), "buffer": 900, "limit": 10, "dry_run": True,
                   "file": "orders-*.csv"}
    assert validate_params("import", SPEC, {"file": "*.csv"})["buffer"] == 300
    with pytest.raises(InvalidParams, match="parameter 'file' is required \\(file-name pattern, e.g. \\*.csv\\)"):
        validate_params("import", SPEC, {})
    with pytest.raises(InvalidParams, match="'since' must be an ISO 8601 time with an offset, got '2026-11-23'"):
        validate_params("import", SPEC, {"file": "x", "since": "2026-11-23"})
    with pytest.raises(InvalidParams, match="'dry_run' must be true or false"):
        validate_params("import", SPEC, {"file": "x", "dry_run": "perhaps"})
    with pytest.raises(InvalidParams, match="unknown parameter\\(s\\) colour; it takes buffer, dry_run"):
        validate_params("import", SPEC, {"file": "x", "colour": "red"})


def test_categories() -> None:
    assert category("orders").topics == ("orders/create", "orders/cancelled", "orders/paid",
                                         "order_transactions/create", "refunds/create")
    with pytest.raises(ValueError, match="unknown job category 'stuff'"):
        category("stuff")
    with pytest.raises(ValueError, match="unknown category 'stuff'"):
        Definition("x", "stuff", "x")
