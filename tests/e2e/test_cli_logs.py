"""A command a person runs prints what they asked for: logs reach standard error only as warnings, in
plain words, unless they ask for more (`orderhub -v`, ORDERHUB_LOG_LEVEL, ORDERHUB_LOG_FORMAT)."""

from __future__ import annotations

import os
import subprocess
import sys

import orjson

CLI = [sys.executable, "-m", "orderhub.entrypoints.cli"]


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("ORDERHUB_LOG_LEVEL", "ORDERHUB_LOG_FORMAT")}
    done = subprocess.run([*CLI, *args], env=clean | env, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_commands_print_no_log_lines(sqlite_url: str) -> None:
    listed = _run("orders", "list", "--db", sqlite_url)
    assert listed.stderr == "" and "Orders" in listed.stdout
    ran = _run("jobs", "run", "approve-orders", "--db", sqlite_url)
    assert ran.stderr == "" and ran.stdout.startswith("run 1 of approve-orders succeeded")


def test_verbose_logs_in_plain_words(sqlite_url: str) -> None:
    ran = _run("-v", "jobs", "run", "approve-orders", "--db", sqlite_url)
    lines = ran.stderr.splitlines()
    assert lines[0].startswith("info: job_started (job=approve-orders, run_id=1, ")
    assert all(not line.startswith("{") for line in lines)


def test_an_explicit_log_setting_is_kept(sqlite_url: str) -> None:
    ran = _run("jobs", "run", "approve-orders", "--db", sqlite_url, ORDERHUB_LOG_LEVEL="INFO",
               ORDERHUB_LOG_FORMAT="json")
    events = [orjson.loads(line)["event"] for line in ran.stderr.splitlines()]
    assert events[:1] == ["job_started"] and "job_finished" in events
