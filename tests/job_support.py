"""Jobs for testing the job manager, registered on import (also by the processes of multi-node tests)."""

from __future__ import annotations

import threading
import time
from typing import Any

from orderhub.domain.jobs import Definition, MissedPolicy, Param, ParamKind, Policy
from orderhub.services.jobs.context import JobContext
from orderhub.services.jobs.registry import register

calls: list[dict[str, Any]] = []
gate = threading.Event()  # the blocking job waits for it
started = threading.Event()
progress_gate = threading.Event()  # the progress job waits for it, a part of the way through
progress_reported = threading.Event()
lock = threading.Lock()


def counting(ctx: JobContext) -> dict[str, Any]:
    """Counts its runs; fails when told to; reports counts, log lines and failed records."""
    with lock:
        calls.append({"shop": ctx.shop.domain if ctx.shop else None, "params": dict(ctx.params),
                      "run": ctx.run_id})
    ctx.log(f"run for {ctx.shop.domain if ctx.shop else 'the hub'} 🦋")
    ctx.count(read=3, processed=2)
    ctx.failed_record({"line": 3, "sku": "SKU-🦋"}, "unknown SKU")
    if ctx.params.get("fail"):
        raise RuntimeError("the destination said no\nsecond line")
    return {"counted": 1}


def blocking(ctx: JobContext) -> dict[str, Any]:
    """Runs until the test opens the gate, checking whether the run was taken away."""
    started.set()
    while not gate.wait(0.02):
        ctx.check()
    return {}


def progressing(ctx: JobContext) -> dict[str, Any]:
    """Reports 3 of 10 orders done, waits for the test's gate, then does the other 7."""
    ctx.progress.total(10, "orders")
    ctx.progress.advance(3)
    progress_reported.set()
    while not progress_gate.wait(0.02):
        ctx.check()
    ctx.progress.advance(7)
    return {"read": 10, "processed": 10}


def sleeping(ctx: JobContext) -> dict[str, Any]:
    """Takes a moment, so that overlapping runs across processes would show."""
    time.sleep(float(ctx.params.get("seconds") or 0.3))
    return {}


def register_all() -> None:
    register(Definition("test-count", "misc", "counts its runs", per_shop=True, min_interval_seconds=1,
                        params=(Param("fail", ParamKind.BOOL, default=False), Param("window"),
                                Param("limit", ParamKind.INT)),
                        policy=Policy(max_retries=1, retry_delay_seconds=0)), counting)
    register(Definition("test-hub-count", "misc", "counts its runs, for the hub", per_shop=False,
                        min_interval_seconds=1, policy=Policy(max_retries=0)), counting)
    register(Definition("test-block", "misc", "blocks until released", per_shop=False, min_interval_seconds=1,
                        policy=Policy(max_retries=0, timeout_seconds=3600)), blocking)
    register(Definition("test-progress", "misc", "reports its progress", per_shop=False, min_interval_seconds=1,
                        policy=Policy(max_retries=0, timeout_seconds=3600)), progressing)
    register(Definition("test-sleep", "misc", "sleeps a moment", per_shop=False, min_interval_seconds=1,
                        params=(Param("seconds"),), policy=Policy(max_retries=0, missed=MissedPolicy.SKIP)),
             sleeping)
    register(Definition("test-needs-count", "misc", "needs test-count first", per_shop=True,
                        min_interval_seconds=1, requires=("test-count",), policy=Policy(max_retries=0)), counting)


register_all()
