"""Three worker processes on one PostgreSQL database share one per-second schedule: one run per tick."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from orderhub.adapters.store.db import Database
from orderhub.adapters.store.schema import job_runs
from orderhub.testing.postgres import PostgresServer
from tests.processes import Processes

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_three_nodes_run_a_per_second_job_once_per_tick_never_two_at_once(
        pg_server: PostgresServer | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if pg_server is None:
        pytest.skip("PostgreSQL server programs not installed (the README's test command installs them)")
    url = pg_server.create_database("job_nodes", template="orderhub_template")
    monkeypatch.setenv("ORDERHUB_JOB_MODULES", "tests.job_support")  # the test's jobs, in every process
    # the repository for tests.job_support, before what PYTHONPATH already names (the package's own source)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, (str(REPO), os.environ.get("PYTHONPATH")))))
    with Processes(tmp_path) as procs:
        procs.database_url = url
        procs.cli("jobs", "schedule", "test-sleep", "--cron", "* * * * * *", "--param", "seconds=0.3",
                  "--start", "+3s")
        nodes = [procs.worker("--no-deliver") for _ in range(3)]
        time.sleep(3 + 20 + 0.5)  # 3 s to start, then 20 ticks
        procs.cli("jobs", "disable", "test-sleep")
        time.sleep(1.5)  # the last run ends
        procs.check(*nodes)
    db = Database(url)
    with db.engine.connect() as conn:
        runs = conn.execute(select(job_runs).where(job_runs.c.job == "test-sleep").order_by(job_runs.c.tick_at)).all()
    db.dispose()
    first = runs[0].tick_at
    window = [r for r in runs if r.tick_at < first + timedelta(seconds=20)]
    assert 19 <= len(window) <= 21, [(r.tick_at, r.status, r.node) for r in runs]
    assert len({r.tick_at for r in runs}) == len(runs)  # one run per tick
    assert {r.status for r in runs} == {"succeeded"}
    assert len({r.node for r in runs}) >= 2  # the nodes shared the work
    spans = sorted((r.started_at, r.finished_at) for r in runs)
    for (_, ended), (began, _) in zip(spans, spans[1:], strict=False):
        assert began >= ended, "two runs of the job overlapped"
