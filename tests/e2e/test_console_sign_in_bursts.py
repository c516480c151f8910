"""Sign-in under concurrent bursts, over real HTTP: the throttle passes no more password checks
than its limit, across hubs on one database; attackers cannot keep the owner out; no more
Argon2 checks run at once than the cap; X-Forwarded-For counts only from a trusted proxy."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import httpx
import pytest

from orderhub.adapters.store import sign_in_limits
from orderhub.bootstrap import Hub, build
from orderhub.clock import utcnow
from orderhub.config import Settings
from orderhub.entrypoints.http.app import create_app
from orderhub.services.console import accounts, password_checks, throttle
from orderhub.testing.server import ServerThread

PASSWORD = "correct horse battery"


class CountedChecks:
    """Stands in for the password verify: counts the real checks and the most at once."""

    def __init__(self, real: Callable[[str, str], bool], pause: float = 0.02) -> None:
        self.real, self.pause = real, pause
        self.lock = threading.Lock()
        self.total = self.running = self.most = 0

    def __call__(self, digest: str, password: str) -> bool:
        with self.lock:
            self.total += 1
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            time.sleep(self.pause)  # widen the window in which checks could overlap
            return self.real(digest, password)
        finally:
            with self.lock:
                self.running -= 1


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> CountedChecks:
    counted = CountedChecks(accounts._verify)
    monkeypatch.setattr(accounts, "_verify", counted)
    return counted


@pytest.fixture
def proxied(settings: Settings) -> Iterator[tuple[Hub, list[ServerThread]]]:
    """Two hubs on one database, each serving the console behind a trusted proxy on loopback."""
    hubs = [build(replace(settings, trusted_proxies=("127.0.0.1",), console_password_checks=2)) for _ in range(2)]
    # Keep-alive past uvicorn's 5 s: on a busy machine opening the bursts' clients one by one takes longer, and a
    # connection the server closed meanwhile would be reset under the burst's request.
    servers = [ServerThread(create_app(h), timeout_keep_alive=120).start() for h in hubs]
    yield hubs[0], servers
    for server in servers:
        server.stop()
    for h in hubs:
        h.close()


def _form_client(base: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=base, timeout=60)
    found = re.search(r'name="csrf" value="([^"]+)"', client.get("/sign-in").text)
    assert found
    return client, found.group(1)


def _burst(attempts: list[tuple[str, str, str, str | None]]) -> list[httpx.Response]:
    """Post every (base url, username, password, forwarded-for) at once, each from its own client."""
    prepared = [(_form_client(base), name, password, forwarded) for base, name, password, forwarded in attempts]
    start = threading.Barrier(len(prepared))

    def attempt(item: tuple[tuple[httpx.Client, str], str, str, str | None]) -> httpx.Response:
        (client, csrf), name, password, forwarded = item
        headers = {"x-forwarded-for": forwarded} if forwarded else {}
        start.wait()
        try:
            return client.post("/sign-in", data={"username": name, "password": password, "csrf": csrf},
                               headers=headers)
        finally:
            client.close()

    with ThreadPoolExecutor(max_workers=len(prepared)) as pool:
        return list(pool.map(attempt, prepared))


def _statuses(answers: list[httpx.Response]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for a in answers:
        counts[a.status_code] = counts.get(a.status_code, 0) + 1
    return counts


def test_sixty_concurrent_wrong_passwords_get_at_most_the_allowed_checks(
        proxied: tuple[Hub, list[ServerThread]], checks: CountedChecks) -> None:
    hub, servers = proxied
    accounts.add_user(hub.db, "ana", PASSWORD, "admin")
    answers = _burst([(servers[n % 2].url, "ana", f"wrong guess {n:02}", "192.0.2.10") for n in range(60)])
    statuses = _statuses(answers)
    assert set(statuses) <= {401, 429}, statuses
    assert 1 <= checks.total <= throttle.MAX_FAILURES_PER_PAIR, (checks.total, statuses)
    assert statuses.get(401, 0) == checks.total and checks.most <= 2
    assert all(int(a.headers["retry-after"]) > 800 for a in answers if a.status_code == 429)


def test_attackers_elsewhere_never_keep_the_owner_out(
        proxied: tuple[Hub, list[ServerThread]], checks: CountedChecks) -> None:
    hub, servers = proxied
    accounts.add_user(hub.db, "ana", PASSWORD, "admin")
    attackers = [(servers[n % 2].url, "ana", f"wrong guess {n:03}", f"203.0.113.{n % 30}") for n in range(120)]
    answers = _burst(attackers)
    assert set(_statuses(answers)) <= {401, 429, 503}, _statuses(answers)  # 503: waited too long for a check
    # one check per fresh address, the first few failures of the name, then the slow lane
    assert checks.total <= 30 + throttle.MAX_FAILURES_PER_USER + 3, checks.total
    again = _burst(attackers[:30])  # still guessing, from the same addresses
    assert set(_statuses(again)) <= {401, 429, 503}
    for server in servers:  # the owner, from an address that has not failed, signs in at once
        with httpx.Client(base_url=server.url) as owner:
            csrf = re.search(r'name="csrf" value="([^"]+)"', owner.get("/sign-in").text)
            assert csrf
            signed = owner.post("/sign-in", data={"username": "ana", "password": PASSWORD, "csrf": csrf.group(1)},
                                headers={"x-forwarded-for": "198.51.100.7"})
            assert signed.status_code == 303, signed.text[:300]


def test_parallel_password_checks_never_exceed_the_cap(
        proxied: tuple[Hub, list[ServerThread]], checks: CountedChecks) -> None:
    hub, servers = proxied
    accounts.add_user(hub.db, "ana", PASSWORD, "admin")
    answers = _burst([(servers[0].url, "ana" if n % 2 else f"nobody-{n}", f"wrong guess {n:02}", f"10.1.0.{n}")
                      for n in range(40)])
    statuses = _statuses(answers)
    assert set(statuses) <= {401, 503}, statuses
    assert checks.most <= 2 and checks.total + statuses.get(503, 0) == 40, (checks.most, checks.total, statuses)


def test_a_burst_past_the_cap_gets_503_and_keeps_no_reservation(
        proxied: tuple[Hub, list[ServerThread]], monkeypatch: pytest.MonkeyPatch) -> None:
    hub, servers = proxied
    accounts.add_user(hub.db, "ana", PASSWORD, "admin")
    slow = CountedChecks(accounts._verify, pause=1.5)
    monkeypatch.setattr(accounts, "_verify", slow)
    monkeypatch.setattr(password_checks, "WAIT_SECONDS", 0.3)
    answers = _burst([(servers[0].url, "ana", f"wrong guess {n}", "10.2.0.1") for n in range(4)])
    statuses = _statuses(answers)
    assert statuses.get(401, 0) == slow.total <= 2 and statuses.get(503, 0) == 4 - slow.total, statuses
    busy = next(a for a in answers if a.status_code == 503)
    assert "busy" in busy.text and busy.headers["retry-after"] == "2"
    with hub.db.read() as conn:  # only the checks that were made count as failures
        assert sign_in_limits.count(conn, throttle.keys("ana", "10.2.0.1").pair, utcnow(),
                                    throttle.WINDOW) == slow.total


def test_forwarded_for_counts_only_from_a_trusted_proxy(hub: Hub, hub_server: ServerThread) -> None:
    accounts.add_user(hub.db, "ana", PASSWORD, "admin")
    answers = []
    for n in range(throttle.MAX_FAILURES_PER_PAIR + 1):  # a new made-up address each time
        client, csrf = _form_client(hub_server.url)
        answers.append(client.post("/sign-in", data={"username": "ana", "password": f"guess {n} guess",
                                                     "csrf": csrf}, headers={"x-forwarded-for": f"10.3.0.{n}"}))
        client.close()
    assert [a.status_code for a in answers] == [401] * throttle.MAX_FAILURES_PER_PAIR + [429]
