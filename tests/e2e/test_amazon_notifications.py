"""Amazon's ORDER_CHANGE notifications through EventBridge at POST /webhooks/eventbridge: stored once for the
matching account, and the order they name read at once, before getOrders shows the change."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select

from orderhub.adapters.store import tokens
from orderhub.adapters.store.schema import inbox, job_runs, job_state
from orderhub.bootstrap import Hub
from orderhub.services.jobs.amazon_jobs import import_orders
from orderhub.testing.server import ServerThread
from tests.e2e.test_amazon_orders import Sim, add_account, running_simulator, stored_orders
from tests.support import drain

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def amazon_sim() -> Iterator[Sim]:
    with running_simulator() as sim:
        yield sim



def test_a_notified_order_is_stored_without_waiting_for_the_poll_and_once(hub: Hub, hub_server: ServerThread,
                                                                          amazon_sim: Sim) -> None:
    account = add_account(hub, amazon_sim)
    with hub.db.write() as conn:
        bearer = f"Bearer {tokens.create(conn, 'bridge', ('eventbridge',))}"
    url = f"{hub_server.url}/webhooks/eventbridge"
    order_id = amazon_sim.post("/_sim/orders", {"orders": [{"lines": [{"sku": "SCF-HANBOK", "quantity": 3}]}]}
                               )["order_ids"][0]
    event = amazon_sim.post("/_sim/notifications", {"order_id": order_id, "url": url, "authorization": bearer})["event"]
    assert amazon_sim.post("/_sim/wait_idle", {"timeout": 10})["idle"]
    assert [d["status"] for d in amazon_sim.get("/_sim/deliveries")["deliveries"]] == [200]
    with httpx.Client() as client:  # EventBridge delivers again: the same notification is one record
        again = client.post(url, json=event, headers={"Authorization": bearer})
        assert again.json() == {"status": "duplicate"}
        assert client.post(url, json=event).status_code == 401
    with hub.db.read() as conn:
        rows = conn.execute(select(inbox.c.topic, inbox.c.shop_id, inbox.c.source)).all()
    assert [tuple(r) for r in rows] == [("amazon/notification", account.id, "eventbridge")]
    drain(hub)
    with hub.db.read() as conn:  # the import job is started at once, not at its next scheduled run
        runs = conn.execute(select(job_runs.c.job, job_runs.c.trigger, job_runs.c.status)).all()
    assert [tuple(r) for r in runs] == [("import-amazon-orders", "signal", "queued")]

    # No clock advance: getOrders does not show the order yet, the notification brings it in.
    stats = import_orders(hub, account, {})
    assert stats["fetched"] == 0 and stats["notifications"] == {"notified": 1, "stored": 1, "duplicates": 0,
                                                                "unknown": 0}
    drain(hub)
    order = stored_orders(hub, account)[order_id]
    assert order.total_price > 0
    with hub.db.read() as conn:  # the signal is cleared once its order is stored
        assert conn.execute(select(job_state).where(job_state.c.job == "amazon-notified-orders")).all() == []

    amazon_sim.later()  # the poll reads the same version later: stored once
    assert import_orders(hub, account, {})["stored"] == 0


def test_a_notification_for_no_known_account_or_malformed_is_refused(hub: Hub, hub_server: ServerThread,
                                                                     amazon_sim: Sim) -> None:
    add_account(hub, amazon_sim, seller_id="A-SOMEONE-ELSE")
    with hub.db.write() as conn:
        bearer = f"Bearer {tokens.create(conn, 'bridge', ('eventbridge',))}"
    url = f"{hub_server.url}/webhooks/eventbridge"
    order_id = amazon_sim.post("/_sim/orders", {"count": 1})["order_ids"][0]
    event = amazon_sim.post("/_sim/notifications", {"order_id": order_id, "url": "http://127.0.0.1:9/x"})["event"]
    with httpx.Client() as client:
        unknown = client.post(url, json=event, headers={"Authorization": bearer})
        assert unknown.status_code == 401 and "no active Amazon account" in unknown.json()["error"]
        del event["detail"]["NotificationMetadata"]
        malformed = client.post(url, json=event, headers={"Authorization": bearer})
        assert malformed.status_code == 400 and "detail.NotificationMetadata" in malformed.json()["error"]
    with hub.db.read() as conn:
        assert conn.execute(select(inbox.c.id)).all() == []
