"""TikTok Shop's webhooks through orderhub's HTTP door: signed notifications from the simulator are stored
once each, the fetch job brings in the orders they name, and a wrong signature stores nothing."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
from sqlalchemy import select

from orderhub.adapters.store.accounts import Account
from orderhub.adapters.store.schema import inbox, job_state, orders
from orderhub.adapters.tiktok.signing import webhook_signature
from orderhub.bootstrap import Hub
from orderhub.services.jobs.tiktok_jobs import FETCH_JOB, fetch_notified
from orderhub.simulators.tiktok.defaults import DEFAULT_APP_KEY, DEFAULT_APP_SECRET
from orderhub.testing.server import ServerThread
from tests.integration.test_tiktok_support import ACCOUNT, SHOP_ID, Sim, fast_client
from tests.support import drain

pytest_plugins = ("tests.integration.test_tiktok_support",)


def _hook(tt: Sim, server: ServerThread, name: str = ACCOUNT) -> str:
    address = f"{server.url}/webhooks/tiktok/{name}"
    for event in ("ORDER_STATUS_CHANGE", "CANCELLATION_STATUS_CHANGE"):
        tt.control("PUT", "/webhooks", {"shop_id": SHOP_ID, "event_type": event, "address": address})
    return address


def _wait(tt: Sim) -> None:
    assert tt.control("POST", "/webhooks/wait", {"timeout": 10})["idle"]


def _notifications(hub: Hub) -> list[Any]:
    with hub.db.read() as conn:
        return conn.execute(select(inbox).where(inbox.c.topic == "tiktok/notification").order_by(inbox.c.id)).all()


def _fetch(hub: Hub, account: Account) -> dict[str, Any]:
    drain(hub)  # notifications become signals for the fetch job
    stats = fetch_notified(hub, account, client=fast_client(account, hub))
    drain(hub)
    return stats


def test_signed_notifications_are_stored_once_and_the_order_follows(
        hub: Hub, hub_server: ServerThread, tt: Sim, account: Account) -> None:
    _hook(tt, hub_server)
    placed = tt.order(status="AWAITING_SHIPMENT")  # UNPAID, ON_HOLD, AWAITING_SHIPMENT: three notifications
    _wait(tt)
    deliveries = tt.control("GET", "/webhooks/deliveries")["deliveries"]
    assert [d["status"] for d in deliveries] == [200, 200, 200]
    stored = _notifications(hub)
    assert len(stored) == 3 and {r.shop_id for r in stored} == {account.id}
    assert orjson.loads(stored[0].payload)["data"]["order_id"] == placed["id"]  # the body as TikTok sent it

    first = deliveries[0]["notification_id"]
    assert tt.control("POST", "/webhooks/redeliver", {"notification_id": first})["queued"]
    _wait(tt)
    assert tt.control("GET", "/webhooks/deliveries")["deliveries"][-1]["status"] == 200
    assert len(_notifications(hub)) == 3  # the redelivery is the same record

    stats = _fetch(hub, account)
    assert (stats["notified"], stats["stored"]) == (1, 1)
    with hub.db.read() as conn:
        row = conn.execute(select(orders).where(orders.c.shopify_id == placed["id"])).one()
        assert conn.execute(select(job_state).where(job_state.c.job == FETCH_JOB)).first() is None
    assert row.payment_status == "paid" and row.source_updated_at.timestamp() == placed["update_time"]
    # The same version polled later is the record the fetch stored.
    from orderhub.services.jobs.tiktok_jobs import import_orders

    assert import_orders(hub, account, {}, client=fast_client(account, hub))["duplicates"] == 1


def test_notifications_out_of_order_leave_the_newest_order(
        hub: Hub, hub_server: ServerThread, tt: Sim, account: Account) -> None:
    _hook(tt, hub_server)
    tt.control("POST", "/webhooks/config", {"hold": True})
    placed = tt.order(status="ON_HOLD")
    released = tt.event(placed["id"], "release_hold")["order"]
    assert tt.control("POST", "/webhooks/release", {"order": "reverse"})["released"] == 3
    _wait(tt)
    assert len(_notifications(hub)) == 3
    _fetch(hub, account)
    with hub.db.read() as conn:
        row = conn.execute(select(orders).where(orders.c.shopify_id == placed["id"])).one()
    assert row.payment_status == "paid" and row.source_updated_at.timestamp() == released["update_time"]


def test_a_wrong_signature_or_an_unknown_account_is_refused_and_nothing_is_stored(
        hub: Hub, hub_server: ServerThread, tt: Sim, account: Account) -> None:
    body = orjson.dumps({"type": 1, "tts_notification_id": "7380066284010030999", "shop_id": SHOP_ID,
                         "timestamp": 1796638495, "data": {"order_id": "576600000000000001",
                                                           "order_status": "AWAITING_SHIPMENT"}})
    good = webhook_signature(DEFAULT_APP_KEY, DEFAULT_APP_SECRET, body)
    bad = good[:-1] + ("1" if good[-1] == "0" else "0")
    url = f"{hub_server.url}/webhooks/tiktok/{ACCOUNT}"
    headers = {"content-type": "application/json"}
    with httpx.Client(timeout=10) as http:
        wrong = http.post(url, content=body, headers=headers | {"authorization": bad})
        missing = http.post(url, content=body, headers=headers)
        unknown = http.post(f"{hub_server.url}/webhooks/tiktok/nobody", content=body,
                            headers=headers | {"authorization": good})
        tampered = http.post(url, content=body.replace(b"AWAITING", b"CANCELLED"),
                             headers=headers | {"authorization": good})
        assert [r.status_code for r in (wrong, missing, unknown, tampered)] == [401, 401, 401, 401]
        assert wrong.json() == unknown.json()  # account names cannot be probed
        assert _notifications(hub) == []
        accepted = http.post(url, content=body, headers=headers | {"authorization": good})
        again = http.post(url, content=body, headers=headers | {"authorization": good})
    assert (accepted.status_code, accepted.json(), again.json()) == (200, {"status": "accepted"},
                                                                    {"status": "duplicate"})
    assert len(_notifications(hub)) == 1
    stats = _fetch(hub, account)  # an order TikTok does not know: its signal is cleared, nothing stored
    assert (stats["notified"], stats["missing"], stats["stored"]) == (1, 1, 0)


def test_a_notification_without_a_signature_is_refused_before_its_body_is_read(hub, hub_server) -> None:  # type: ignore[no-untyped-def]
    import socket

    host, port = hub_server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        # A body of 10 MB is announced and never sent: the door answers from the headers alone.
        sock.sendall(b"POST /webhooks/tiktok/nowhere HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 10000000\r\n\r\n")
        answer = sock.recv(4096).decode()
    assert answer.startswith("HTTP/1.1 401")


def test_a_notification_starts_the_fetch_at_once_and_many_start_it_once(
        hub: Hub, hub_server: ServerThread, tt: Sim, account: Account) -> None:
    from datetime import timedelta

    from orderhub.adapters.store.schema import job_runs
    from orderhub.clock import utcnow
    from orderhub.services.jobs.manager import JobManager

    _hook(tt, hub_server)
    placed = [tt.order(status="AWAITING_SHIPMENT") for _ in range(3)]  # nine notifications
    _wait(tt)
    drain(hub)
    with hub.db.read() as conn:
        runs = conn.execute(select(job_runs).where(job_runs.c.job == FETCH_JOB)).all()
    assert [(r.status, r.trigger) for r in runs] == [("queued", "signal")]  # not the next scheduled run
    assert JobManager(hub).work_once(utcnow() + timedelta(seconds=2))[0] == 1  # a second on: the burst together
    drain(hub)
    with hub.db.read() as conn:
        stored = {r.shopify_id for r in conn.execute(select(orders.c.shopify_id))}
        assert conn.execute(select(job_state).where(job_state.c.job == FETCH_JOB)).first() is None
    assert stored == {o["id"] for o in placed}
