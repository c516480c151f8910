"""The multi-process tests' clean-up stops every leftover process, asking them all to stop at once."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests import processes
from tests.processes import Processes, wait_for

# A process that notes, on SIGTERM, whether the first one started is still running, and goes on running:
# only SIGKILL ends it.
STUBBORN = """
import os, signal, sys, time
log, first = sys.argv[2], int(sys.argv[3])  # after "worker"

def on_term(*_):
    try:
        os.kill(first, 0) if first else None
        first_alive = True
    except ProcessLookupError:
        first_alive = False
    with open(log, "a") as f:
        f.write(f"{os.getpid()} term first_alive={first_alive}\\n")

signal.signal(signal.SIGTERM, on_term)
with open(log, "a") as f:
    f.write(f"{os.getpid()} ready\\n")
while True:
    time.sleep(0.05)
"""


def test_every_leftover_gets_sigterm_before_any_is_killed_and_none_survives(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(processes, "CLI", [sys.executable, "-c", STUBBORN])
    log = tmp_path / "signals.log"
    procs = Processes(tmp_path)
    procs.database_url = "sqlite://"
    first = procs.worker(str(log), "0")
    rest = [procs.worker(str(log), str(first.pid)) for _ in range(2)]
    wait_for(lambda: log.exists() and log.read_text().count("ready") == 3, timeout=30, what="three processes")

    procs.cleanup(timeout=1.0)

    assert not any(p.alive() for p in (first, *rest))
    terms = [line for line in log.read_text().splitlines() if " term " in line]
    assert sorted(int(line.split()[0]) for line in terms) == sorted(p.pid for p in (first, *rest))
    assert all(line.endswith("first_alive=True") for line in terms), terms  # none was killed before the others
