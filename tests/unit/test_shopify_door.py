"""The Shopify door on the raw ASGI interface, with a fake hub: what it holds while a webhook waits for its commit."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import orjson

from orderhub.adapters.shopify.webhooks import sign
from orderhub.config import Settings
from orderhub.entrypoints.http import bodies, shopify_door

SHOP, SECRET = "door-test.myshopify.com", "door-secret"


def _scope(body: bytes) -> dict[str, Any]:
    headers = {"x-shopify-topic": "orders/create", "x-shopify-shop-domain": SHOP, "x-shopify-webhook-id": "w-1",
               "x-shopify-hmac-sha256": sign(SECRET, body), "content-type": "application/json",
               "content-length": str(len(body))}
    return {"type": "http", "method": "POST", "path": shopify_door.PATH, "scheme": "http", "client": ("10.0.0.1", 1),
            "headers": [(k.encode(), v.encode()) for k, v in headers.items()]}


def test_a_webhook_waiting_for_its_commit_keeps_its_room_in_the_body_budget() -> None:
    """Bodies waiting for the database count as in flight: a stalled database cannot gather unbounded memory."""
    body = orjson.dumps({"id": 1, "note": "🧾" * 100})
    committed = asyncio.Event()
    stored: list[Any] = []

    async def put(entry: Any) -> bool:
        stored.append(entry)
        await committed.wait()
        return True

    shop = SimpleNamespace(id=7, webhook_secret=SECRET)
    hub: Any = SimpleNamespace(shops={SHOP: shop}, settings=Settings(), writer=SimpleNamespace(put=put))
    budget = bodies.BodyBudget(10 * len(body))
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def scenario() -> None:
        door = asyncio.create_task(shopify_door.receive_webhook(hub, budget, _scope(body), receive, send))
        while not stored:
            await asyncio.sleep(0)
        assert budget.in_flight == len(body) and sent == []  # stored, not yet committed: no answer, room held
        committed.set()
        await door

    asyncio.run(scenario())
    assert budget.in_flight == 0
    assert sent[0]["status"] == 200 and orjson.loads(sent[1]["body"]) == {"status": "accepted"}
    entry = stored[0]
    assert (entry.shop_id, entry.identity, entry.payload) == (7, None, body)  # the raw bytes, its identity unread
