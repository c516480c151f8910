"""The worker processes of invoicing (orderhub.services.invoicing.workers): results in task order,
errors where they belong, and a worker that dies said so. Real processes; the functions they run
come from the standard library, which every worker can import."""

from __future__ import annotations

import operator
import os
from collections.abc import Iterator

import pytest

from orderhub.services.invoicing.workers import Pool, WorkerError


def test_results_come_back_in_the_order_the_tasks_were_given() -> None:
    with Pool(operator.mul, 3, processes=2) as pool:
        assert list(pool.map(range(200), ahead=3)) == [3 * n for n in range(200)]
        assert list(pool.map([b"ab", b"c" * 1_000_000])) == [b"ababab", b"c" * 3_000_000]  # bigger than a pipe
        assert pool.processes == 2
    if os.path.exists("/proc/self/status"):
        assert len(pool.peak_rss_mb) == 2 and all(mb > 1 for mb in pool.peak_rss_mb)


def test_without_processes_the_tasks_run_here() -> None:
    with Pool(operator.mul, 3, processes=0) as pool:
        assert list(pool.map(range(5))) == [0, 3, 6, 9, 12]
        assert pool.processes == 0 and pool.peak_rss_mb == []


def test_a_task_that_raises_raises_here_with_the_workers_exception() -> None:
    with Pool(operator.truediv, 1, processes=2) as pool, pytest.raises(ZeroDivisionError) as raised:
        list(pool.map([1, 2, 0, 4]))
    assert "in worker process" in str(raised.value.__cause__)


def test_the_tasks_given_are_done_before_a_failing_task_list_raises() -> None:
    def tasks() -> Iterator[int]:
        yield from range(5)
        raise LookupError("no more tasks")

    done = []
    with Pool(operator.neg, processes=2) as pool, pytest.raises(LookupError, match="no more tasks"):
        for result in pool.map(tasks(), ahead=4):
            done.append(result)
    assert done == [0, -1, -2, -3, -4]


def test_a_worker_that_dies_is_reported() -> None:
    with Pool(os._exit, processes=1) as pool, pytest.raises(WorkerError, match=r"ended with exit code 3"):
        list(pool.map([3]))


def test_leaving_early_ends_the_workers() -> None:
    pool = Pool(operator.neg, processes=2)
    results = pool.map(range(100))
    assert next(results) == 0
    results.close()
    pool.close(kill=True)
    assert pool.processes == 0
