"""A property: however Retail Pro fails and however often the process dies between a call and its mark,
running the jobs again until they succeed invoices every order exactly once."""

from __future__ import annotations

import itertools
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderhub.adapters.store import invoice_store
from orderhub.bootstrap import Hub
from orderhub.services.invoicing import send as send_module
from orderhub.services.jobs.runner import JobFailed, run_job
from orderhub.simulators.retailpro.faults import FailureRule
from tests.integration.invoicing.scene import Scene, complete
from tests.support import BIG_ID

pytestmark = pytest.mark.timeout(600)
ORDERS = 3
_numbers = itertools.count(1)

# One mishap per run of send-invoices: Retail Pro down after k invoices, or the process dying when it
# marks the k-th order invoiced (after Retail Pro made the invoice).
mishaps = st.lists(st.tuples(st.sampled_from(["down", "crash"]), st.integers(min_value=0, max_value=ORDERS - 1)),
                   min_size=1, max_size=3)


def _send(hub: Hub, scene: Scene, mishap: tuple[str, int] | None) -> None:
    kind, k = mishap or ("none", 0)
    real = send_module._invoiced
    calls = itertools.count()

    def dying(*args: Any, **kwargs: Any) -> None:
        if next(calls) == k:
            raise SystemError("the process died after Retail Pro made the invoice")
        real(*args, **kwargs)

    if kind == "down":
        scene.sim.faults.add(FailureRule(path="/api/v1/Document", after=k, times=10_000, status=503))
    try:
        with mock.patch.object(send_module, "_invoiced", dying if kind == "crash" else real):
            run_job(hub, "send-invoices", None, {"stop_after_unavailable": "1"})
    except JobFailed:
        pass
    finally:
        scene.sim.faults.reset_rules()


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=mishaps)
def test_every_order_is_invoiced_exactly_once_whatever_fails(hub: Hub, scene: Scene,
                                                             plan: list[tuple[str, int]]) -> None:
    base = BIG_ID + next(_numbers) * 1000
    ids = [complete(hub, scene, order_id=base + n * 10) for n in range(ORDERS)]
    run_job(hub, "feed-completed-orders", None, {})
    run_job(hub, "transform-invoices", None, {})
    for mishap in plan:
        _send(hub, scene, mishap)
    for _ in range(3):  # until it settles: a clean send, then whatever failed is fed and sent again
        _send(hub, scene, None)
        run_job(hub, "feed-completed-orders", None, {"refeed_after": "0s"})
        run_job(hub, "transform-invoices", None, {})
    _send(hub, scene, None)
    numbers = sorted(str((base + n * 10) % 10000) for n in range(ORDERS))
    invoiced = sorted(i["OrderNo"] for i in scene.sim.store.invoices() if i["OrderNo"] in numbers)
    assert invoiced == numbers  # each once
    with hub.db.read() as conn:
        assert {invoice_store.get(conn, i).status for i in ids} == {"invoiced"}
