"""A running job's progress on its console page, live: the page's fragment and its JSON, behind the session."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from orderhub.bootstrap import Hub
from orderhub.services.console import accounts
from orderhub.services.jobs.manager import JobManager
from orderhub.testing.server import ServerThread
from tests import job_support
from tests.e2e.test_console_http import PASSWORD, sign_in

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def gate() -> Iterator[None]:
    """The progress job waits part-way for the gate; it is opened however the test ends."""
    job_support.progress_gate.clear()
    job_support.progress_reported.clear()
    yield
    job_support.progress_gate.set()


def _until(fetch: Any, condition: Any, seconds: float = 20) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = fetch()
        if condition(value):
            return value
        assert time.monotonic() < deadline, f"still {value}"
        time.sleep(0.1)


def test_a_running_jobs_page_shows_its_progress(hub: Hub, hub_server: ServerThread, gate: None) -> None:
    accounts.add_user(hub.db, "vera", PASSWORD, "viewer")
    results: list[Any] = []
    runner = threading.Thread(target=lambda: results.append(JobManager(hub).run_now("test-progress", None, {})))
    runner.start()
    try:
        assert job_support.progress_reported.wait(20)
        with httpx.Client(base_url=hub_server.url) as anonymous:
            assert anonymous.get("/jobs/runs/1/progress.json").status_code in (303, 401)
        with sign_in(hub_server.url, "vera") as client:
            def fetch() -> dict[str, Any]:
                answer = client.get("/jobs/runs/1/progress.json")
                assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
                return answer.json()

            running = _until(fetch, lambda d: d["progress"] is not None)
            assert running["status"] == "running" and running["job"] == "test-progress"
            progress = running["progress"]
            assert (progress["done"], progress["total"], progress["unit"], progress["percent"]) == (3, 10, "orders",
                                                                                                 30.0)
            assert progress["text"].startswith("test-progress: 3 of 10 orders")
            live = client.get("/jobs/runs/1/live").text
            assert 'data-test="run-progress"' in live and 'max="10" value="3"' in live
            assert "test-progress: 3 of 10 orders" in live
            job_support.progress_gate.set()
            runner.join(20)
            ended = fetch()
            assert ended["status"] == "succeeded"
            assert (ended["progress"]["done"], ended["progress"]["total"]) == (10, 10)
            assert ended["counts"] == {"read": 10, "processed": 10, "skipped": 0, "failed": 0}
            assert client.get("/jobs/runs/999/progress.json").status_code == 404
    finally:
        job_support.progress_gate.set()
        runner.join(20)
    assert results and results[0].status == "succeeded"
