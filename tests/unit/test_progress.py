"""Progress as work reports it and a terminal without a person shows it: plain lines, every few seconds."""

from __future__ import annotations

import io
from pathlib import Path
from unittest.mock import patch

import pytest

from orderhub.adapters.store import migrate
from orderhub.bootstrap import build
from orderhub.config import Settings
from orderhub.domain.jobs import Definition
from orderhub.entrypoints import cli_progress
from orderhub.services.progress import Latest, PlainLines, Progress, State, line


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_plain_lines_every_five_seconds_with_rate_and_time_left() -> None:
    clock, lines = Clock(), []
    progress = Progress("import-orders", [PlainLines(lines.append, every=5.0)], clock=clock)
    progress.total(5000, "orders")
    for second in range(1, 21):  # 240 orders a second
        clock.now = 1000.0 + second
        progress.advance(240)
    clock.now = 1020.8
    progress.advance(200)
    progress.close()
    assert lines == [
        "import-orders: 1,200 of 5,000 orders (240/s, about 16 s left)",
        "import-orders: 2,400 of 5,000 orders (240/s, about 11 s left)",
        "import-orders: 3,600 of 5,000 orders (240/s, about 6 s left)",
        "import-orders: 4,800 of 5,000 orders (240/s, about 1 s left)",
        "import-orders: 5,000 orders in 21 s, 240/s",
    ]


def test_without_a_total_a_line_says_how_many_and_how_fast() -> None:
    clock, lines = Clock(), []
    progress = Progress("reconcile-orders (shop.myshopify.com)", [PlainLines(lines.append, every=5.0)], clock=clock)
    progress.total(None, "orders")
    clock.now += 6
    progress.advance(30)
    assert lines == ["reconcile-orders (shop.myshopify.com): 30 orders (5/s)"]


def test_quick_work_prints_one_line_and_work_that_never_reported_none() -> None:
    clock, lines = Clock(), []
    quick = Progress("migrate", [PlainLines(lines.append)], clock=clock)
    quick.total(3, "migrations")
    quick.advance(3)
    quick.close()
    silent = Progress("approve-orders", [PlainLines(lines.append)], clock=clock)
    silent.close()
    assert lines == ["migrate: 3 migrations in 0 s"]


def test_latest_keeps_the_newest_state_for_another_thread() -> None:
    clock, latest = Clock(), Latest()
    progress = Progress("job", [latest], clock=clock)
    assert latest.take() is None
    progress.total(10, "rows")
    progress.advance(4)
    clock.now += 1
    progress.advance(1)
    taken = latest.take()
    assert taken is not None and (taken.done, taken.total, taken.unit) == (5, 10, "rows")
    assert latest.take() is None  # nothing new since


def test_a_line_in_hours_and_minutes() -> None:
    state = State("import-orders-bulk", done=1000, total=901000, unit="orders", started=0.0, at=10.0)
    assert line(state) == "import-orders-bulk: 1,000 of 901,000 orders (100/s, about 2 h 30 min left)"


def test_a_definition_names_only_the_counts_there_are() -> None:
    d = Definition("x", "orders", "x", counts=(("read", "checked"), ("processed", "approved")))
    assert (d.count_key("read"), d.count_key("processed"), d.count_key("failed")) == ("checked", "approved", "failed")
    with pytest.raises(ValueError, match="approved is not a count"):
        Definition("x", "orders", "x", counts=(("approved", "approved"),))


def test_a_migration_counts_its_steps_at_the_terminal(tmp_path: Path) -> None:
    hub = build(Settings(database_url=f"sqlite:///{tmp_path / 'fresh.db'}"))
    try:
        steps = migrate.pending(hub.db)
        assert steps[0] == "0001" and steps[-1] == migrate.head_revision()
        out = io.StringIO()
        with patch("orderhub.entrypoints.cli_progress.sys.stderr", out):
            cli_progress.upgrade_database(hub.db)
        assert migrate.is_current(hub.db) and migrate.pending(hub.db) == []
        [last] = out.getvalue().splitlines()  # quick: no periodic line, the last one only
        assert last.startswith(f"migrate: {len(steps)} migrations in ")
    finally:
        hub.close()
