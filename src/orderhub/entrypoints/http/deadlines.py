"""Deadlines for the requests' body reads, kept by one watchdog per event loop.

A timer per request (``asyncio.timeout``) costs the busiest door a few microseconds on every
webhook, though nearly every body arrives long before its deadline. Instead, a read notes its
deadline here (a dict entry); one watchdog task wakes every ``TICK`` seconds while reads are in
flight and cancels the reads past their deadline, and :func:`expired` tells the read that the
cancellation was the watchdog's. A deadline is kept to within ``TICK``.
"""

from __future__ import annotations

import asyncio
import weakref

TICK = 0.1  # seconds between the watchdog's looks


class _Watch:
    """The reads in flight on one event loop and their deadlines (loop time)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.due: dict[asyncio.Task[object], float] = {}
        self.fired: set[asyncio.Task[object]] = set()
        self.watcher: asyncio.Task[None] | None = None

    async def run(self) -> None:
        try:
            while self.due:
                await asyncio.sleep(TICK)
                now = self.loop.time()
                for task, when in list(self.due.items()):
                    if when <= now:
                        del self.due[task]
                        self.fired.add(task)
                        task.cancel("body deadline passed")
        finally:
            self.watcher = None


_WATCHES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Watch] = weakref.WeakKeyDictionary()


def _watch() -> _Watch:
    loop = asyncio.get_running_loop()
    found = _WATCHES.get(loop)
    if found is None:
        found = _WATCHES[loop] = _Watch(loop)
    return found


def arm(seconds: float) -> asyncio.Task[object]:
    """Cancel the current task ``seconds`` from now (to within ``TICK``) unless :func:`disarm` comes first."""
    task = asyncio.current_task()
    assert task is not None, "a deadline needs a task to cancel"
    watch = _watch()
    watch.due[task] = watch.loop.time() + seconds
    if watch.watcher is None:
        watch.watcher = watch.loop.create_task(watch.run())
    return task


def disarm(task: asyncio.Task[object]) -> None:
    watch = _watch()
    watch.due.pop(task, None)
    watch.fired.discard(task)


def expired(task: asyncio.Task[object]) -> bool:
    """Whether the task's cancellation was its deadline's (then it is taken back: the task goes on, to answer)."""
    watch = _watch()
    if task not in watch.fired:
        return False
    watch.fired.discard(task)
    task.uncancel()
    return True
