"""Body reads end at their deadline (a watchdog's, to within a tick), and any other cancellation goes through."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

import pytest

from orderhub.config import Settings
from orderhub.entrypoints.http import bodies, deadlines


def settings(timeout: float) -> Settings:
    return replace(Settings(), body_timeout_seconds=timeout, body_min_bytes_per_second=1_000_000)


async def never() -> dict[str, Any]:
    await asyncio.sleep(3600)
    raise AssertionError("unreachable")


def test_a_body_that_does_not_come_is_refused_at_its_deadline() -> None:
    async def main() -> float:
        started = time.monotonic()
        with pytest.raises(bodies.Refused) as refused:
            await bodies.read_body(never, 10, 1000, settings(0.3))
        assert refused.value.status == 408
        assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]  # taken back: it answers
        return time.monotonic() - started

    took = asyncio.run(main())
    assert 0.3 <= took < 0.3 + deadlines.TICK + 0.5


def test_a_cancellation_that_is_not_the_deadline_goes_through() -> None:
    async def main() -> None:
        reading = asyncio.create_task(bodies.read_body(never, 10, 1000, settings(30)))
        await asyncio.sleep(0.05)
        reading.cancel()  # the server shutting down, say
        with pytest.raises(asyncio.CancelledError):
            await reading
        assert not deadlines._watch().due  # nothing left armed

    asyncio.run(main())


def test_reads_that_finish_leave_nothing_armed_and_the_watchdog_stops() -> None:
    async def main() -> None:
        async def whole() -> dict[str, Any]:
            return {"type": "http.request", "body": b"{}", "more_body": False}

        for _ in range(100):
            assert await bodies.read_body(whole, 2, 1000, settings(5)) == bytearray(b"{}")
        watch = deadlines._watch()
        assert not watch.due and not watch.fired
        await asyncio.sleep(deadlines.TICK * 2)
        assert watch.watcher is None

    asyncio.run(main())
