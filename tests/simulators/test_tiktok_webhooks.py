"""Webhook delivery by the TikTok Shop simulator: signatures, retries on the simulated clock, and the
re-deliveries, duplicates and reordering a hook_receiver's de-duplication must survive."""

from __future__ import annotations

from typing import Any

from tiktok_shop_api import Webhooks

from tests.simulators.test_tiktok_support import APP_KEY, APP_SECRET, SHOP_ID, Receiver, Tiktok

pytest_plugins = ("tests.simulators.test_tiktok_support",)  # the simulator, reset per test, and a hook_receiver


def _subscribe(tt: Tiktok, hook_receiver: Receiver) -> None:
    tt.ok("PUT", "/event/202309/webhooks", {"address": hook_receiver.url, "event_type": "ORDER_STATUS_CHANGE"})


def test_each_status_change_is_posted_signed(tt: Tiktok, hook_receiver: Receiver) -> None:
    _subscribe(tt, hook_receiver)
    order = tt.order(status="ON_HOLD")
    hook_receiver.wait_for(2)
    bodies = hook_receiver.bodies()
    assert [(b["data"]["order_id"], b["data"]["order_status"], b["data"]["is_on_hold_order"]) for b in bodies] == [
        (order["id"], "UNPAID", False), (order["id"], "ON_HOLD", True)]
    assert all(b["shop_id"] == SHOP_ID and b["type"] == 1 for b in bodies)
    for headers, raw in hook_receiver.received:
        assert Webhooks.verify(app_key=APP_KEY, app_secret=APP_SECRET, raw_body=raw, signature=headers["authorization"])
        assert not Webhooks.verify(app_key=APP_KEY, app_secret="other", raw_body=raw,
                                   signature=headers["authorization"])


def test_a_failed_delivery_is_retried_when_the_clock_reaches_the_backoff(tt: Tiktok, hook_receiver: Receiver) -> None:
    _subscribe(tt, hook_receiver)
    hook_receiver.plan = [500, 503]
    tt.order(status="UNPAID")
    hook_receiver.wait_for(1)
    assert tt.control("POST", "/webhooks/wait", {"timeout": 5})["idle"]
    assert len(hook_receiver.received) == 1  # the retry waits for simulated time
    tt.control("POST", "/clock", {"advance": 60})
    hook_receiver.wait_for(2)
    tt.control("POST", "/clock", {"advance": 120})
    hook_receiver.wait_for(3)
    assert tt.control("POST", "/webhooks/wait", {"timeout": 5})["idle"]  # the third answer is logged too
    ids = {b["tts_notification_id"] for b in hook_receiver.bodies()}
    assert len(ids) == 1
    # this notification's attempts (one of an earlier test may still be logged when the machine is busy)
    log = [d for d in tt.control("GET", "/webhooks/deliveries")["deliveries"] if d["notification_id"] in ids]
    assert [(d["attempt"], d["outcome"]) for d in log] == [(1, "retry_scheduled"), (2, "retry_scheduled"),
                                                            (3, "delivered")]


def test_redelivery_and_duplicates_keep_the_notification_id(tt: Tiktok, hook_receiver: Receiver) -> None:
    _subscribe(tt, hook_receiver)
    tt.order(status="UNPAID")
    hook_receiver.wait_for(1)
    first = hook_receiver.bodies()[0]["tts_notification_id"]
    assert tt.control("POST", "/webhooks/redeliver", {"notification_id": first})["queued"]
    hook_receiver.wait_for(2)
    tt.control("POST", "/webhooks/config", {"duplicate_all": True})
    tt.order(status="UNPAID")
    hook_receiver.wait_for(4)
    ids = [b["tts_notification_id"] for b in hook_receiver.bodies()]
    assert ids[0] == ids[1] and ids[2] == ids[3] and ids[0] != ids[2]


def test_held_events_are_released_out_of_order(tt: Tiktok, hook_receiver: Receiver) -> None:
    _subscribe(tt, hook_receiver)
    tt.control("POST", "/webhooks/config", {"hold": True})
    order = tt.order(status="AWAITING_SHIPMENT")
    assert hook_receiver.received == []
    assert tt.control("POST", "/webhooks/release", {"order": "reverse"})["released"] == 3
    hook_receiver.wait_for(3)
    statuses: list[Any] = [b["data"]["order_status"] for b in hook_receiver.bodies()]
    assert statuses == ["AWAITING_SHIPMENT", "ON_HOLD", "UNPAID"]
    assert {b["data"]["order_id"] for b in hook_receiver.bodies()} == {order["id"]}
