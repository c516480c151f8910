"""Background loops: the inbox processor, placement, the outbox deliverers, the job scheduler and runner.

Run alone by ``orderhub worker`` or embedded in ``orderhub serve``. Any number
of these may run against one database.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

from orderhub.bootstrap import Hub, freeze_start_up
from orderhub.services import channel_loops, notify, shop_versions
from orderhub.services.deliver import Deliverer
from orderhub.services.jobs.manager import JobManager

log = structlog.get_logger(__name__)

Step = Callable[[], tuple[int, float]]


def _loop(name: str, step: Step, stop: threading.Event) -> None:
    failures = 0
    while not stop.is_set():
        try:
            done, wait = step()
            failures = 0
        except Exception as exc:  # keep the loop alive through a database blip
            failures += 1
            wait = min(30.0, 0.5 * 2 ** min(failures, 6))
            log.error("worker_step_failed", loop=name, error=f"{type(exc).__name__}: {exc}", retry_in=wait)
            done = 0
        if not done and wait > 0:
            stop.wait(wait)


class Worker:
    def __init__(self, hub: Hub, *, processors: int = 1, deliver: bool = True, schedule: bool = True) -> None:
        self.hub = hub
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []
        steps: list[tuple[str, Step]] = [(f"processor-{i}", hub.processor().run_once) for i in range(processors)]
        steps.append(("placement", hub.placement().run_once))
        if deliver:
            steps.append(("deliverer", Deliverer(hub.db, worker=hub.node, limiter=hub.limiter).run_once))
            steps += notify.worker_steps(hub)
            steps += channel_loops.worker_steps(hub)
        if schedule:
            jobs = JobManager(hub)
            steps.append(("scheduler", jobs.tick_step))
            steps.append(("jobs", jobs.work_once))
        for name, step in steps:
            self.threads.append(threading.Thread(target=_loop, args=(name, step, self.stop_event),
                                                 name=name, daemon=True))

    def start(self) -> "Worker":
        freeze_start_up()
        for t in self.threads:
            t.start()
        log.info("worker_started", node=self.hub.node, loops=[t.name for t in self.threads])
        try:
            shop_versions.warn_all(self.hub.db)  # shops whose Shopify API version leaves support soon
        except Exception as exc:  # a warning must never stop the worker
            log.error("shop_versions_unreadable", error=f"{type(exc).__name__}: {exc}")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout=timeout)

    def wait(self) -> None:
        try:
            while not self.stop_event.wait(1.0):
                pass
        except KeyboardInterrupt:
            self.stop()
