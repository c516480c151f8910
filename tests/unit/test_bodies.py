"""Bounded body reading without a server: caps, deadline, the shared budget, settings from the environment."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from orderhub.config import Settings
from orderhub.entrypoints.http import bodies
from orderhub.entrypoints.http.serving import server_options

FAST = Settings(body_timeout_seconds=0.2, body_min_bytes_per_second=1_000_000)


def _receive(chunks: Iterable[bytes], then_wait: bool = False) -> bodies.Receive:
    messages = list(chunks)

    async def receive() -> dict[str, Any]:
        if messages:
            chunk = messages.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(messages) or then_wait}
        await asyncio.sleep(3600)  # a sender that stopped sending
        return {"type": "http.disconnect"}

    return receive


def _read(receive: bodies.Receive, declared: int | None, limit: int = 100) -> bytearray:
    # On a thread of its own: a browser test's driver may have left an event loop running on this one.
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, bodies.read_body(receive, declared, limit, FAST)).result()


def test_declared_and_chunked_bodies_are_read_whole() -> None:
    assert _read(_receive([b"ab", b"cd", b"e"]), 5) == b"abcde"
    assert _read(_receive([b"ab", b"cd", b"e"]), None) == b"abcde"


def test_over_the_cap_is_413_whether_declared_or_not() -> None:
    with pytest.raises(bodies.Refused) as declared:
        _read(_receive([]), 101)
    with pytest.raises(bodies.Refused) as chunked:
        _read(_receive([b"x" * 60, b"x" * 60]), None)
    with pytest.raises(bodies.Refused) as longer:
        _read(_receive([b"x" * 20]), 10)
    assert {declared.value.status, chunked.value.status, longer.value.status} == {413}


def test_a_sender_that_stops_gets_408_after_the_deadline() -> None:
    with pytest.raises(bodies.Refused) as refused:
        _read(_receive([b"x" * 10], then_wait=True), 50)
    assert refused.value.status == 408
    assert refused.value.response().headers["connection"] == "close"


def test_a_body_shorter_than_declared_is_400() -> None:
    with pytest.raises(bodies.Refused) as refused:
        _read(_receive([b"x" * 10]), 50)
    assert refused.value.status == 400


def test_the_budget_refuses_with_retry_after_and_takes_room_back() -> None:
    budget = bodies.BodyBudget(100)
    assert bodies.reserve(budget, 60, 1000) == 60
    with pytest.raises(bodies.Refused) as refused:
        bodies.reserve(budget, 50, 1000)
    assert refused.value.status == 503
    assert refused.value.response().headers["retry-after"] == str(bodies.RETRY_AFTER_SECONDS)
    assert bodies.reserve(budget, None, 40) == 40  # chunked: its cap is taken
    budget.give(100)
    assert budget.in_flight == 0


def test_door_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERHUB_MAX_BODY_BYTES_IN_FLIGHT", "1000")
    monkeypatch.setenv("ORDERHUB_BODY_TIMEOUT_SECONDS", "2.5")
    monkeypatch.setenv("ORDERHUB_MAX_CONNECTIONS", "77")
    settings = Settings.from_env()
    assert (settings.max_body_bytes_in_flight, settings.body_timeout_seconds) == (1000, 2.5)
    options = server_options(settings)
    assert {k: v for k, v in options.items() if k != "http"} == {
        "limit_concurrency": 77, "timeout_keep_alive": 5, "h11_max_incomplete_event_size": 16 * 1024,
        "proxy_headers": False}
