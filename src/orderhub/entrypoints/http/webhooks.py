"""The EventBridge webhook door: Shopify's webhooks (and Amazon's notifications) through an Amazon
EventBridge forwarder, stored durably in the inbox before the 200.

Shopify's own door, the busiest, is ``shopify_door.py``. Both refuse on the headers whatever they can
before reading a byte of the body, and read bodies only through ``bodies.read_body``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import structlog
from starlette.requests import Request
from starlette.responses import Response

from orderhub.adapters.amazon import notifications as amazon
from orderhub.adapters.shopify import webhooks as shopify
from orderhub.adapters.store.inbox import InboxEntry
from orderhub.bootstrap import Hub
from orderhub.entrypoints.http import bodies
from orderhub.entrypoints.http.auth import bearer_ok
from orderhub.entrypoints.http.shopify_door import count_received, json_content, refused_outcome, topic_label
from orderhub.metrics import RECEIVE_SECONDS

log = structlog.get_logger(__name__)
_JSON = {"content-type": "application/json"}


def _answer(status: int, message: str, topic: str, outcome: str, headers: dict[str, str] | None = None
            ) -> Response:
    count_received(topic, outcome)
    return Response(orjson.dumps({"error": message} if status >= 400 else {"status": message}),
                    status_code=status, headers={**_JSON, **(headers or {})})


def _refused(refused: bodies.Refused, topic: str) -> Response:
    count_received(topic, refused_outcome(refused))
    return refused.response()


async def _guarded(request: Request, hub: Hub, topic: str,
                   handle: Callable[[bytearray], Awaitable[Response]]) -> Response:
    """Read the body within the size cap, the deadline and the shared budget, then ``handle`` it."""
    budget: bodies.BodyBudget = request.app.state.body_budget
    limit = hub.settings.max_webhook_bytes
    taken = 0
    try:
        declared = bodies.declared_length(request.headers)
        bodies.check_length(declared, limit)
        if not json_content(request.headers.get("content-type", "")):
            raise bodies.Refused(415, "Content-Type must be application/json")
        taken = bodies.reserve(budget, declared, limit)
        body = await bodies.read_body(request.receive, declared, limit, hub.settings)
        return await handle(body)
    except bodies.Refused as refused:
        return _refused(refused, topic)
    except bodies.ClientGone:
        return _answer(400, "the client disconnected before the body was complete", topic, "malformed",
                       {"connection": "close"})
    finally:
        budget.give(taken)


async def _store(hub: Hub, entry: InboxEntry, started: float) -> Response:
    try:
        stored = await hub.writer.put(entry)
    except Exception:
        # Not stored: the sender will deliver again. Say so rather than pretend.
        return _answer(503, "inbox unavailable; retry later", topic_label(entry.topic), "store_failed")
    RECEIVE_SECONDS.observe(time.perf_counter() - started)
    if not stored:
        return _answer(200, "duplicate", topic_label(entry.topic), "duplicate")
    outcome = "accepted" if entry.status == "pending" else "unsupported"
    return _answer(200, outcome, topic_label(entry.topic), outcome)


def _entry(shop_id: int, h: shopify.WebhookHeaders, payload: Any, text: str) -> InboxEntry:
    supported = h.topic in shopify.SUPPORTED_TOPICS
    return InboxEntry(
        shop_id=shop_id, source="eventbridge", topic=h.topic,
        identity=shopify.identity(h.topic, payload, h.webhook_id, text), payload=text,
        status="pending" if supported else "unsupported", webhook_id=h.webhook_id, event_id=h.event_id,
        api_version=h.api_version, triggered_at=h.triggered_at)


async def eventbridge_webhook(request: Request) -> Response:
    """Amazon EventBridge envelope: ``detail.metadata`` has the X-Shopify-* headers, ``detail.payload`` the body.

    EventBridge re-serialises the body, so Shopify's HMAC cannot be checked here;
    the forwarder authenticates with a bearer token of scope ``eventbridge``.
    """
    started = time.perf_counter()
    hub: Hub = request.app.state.hub
    if not bearer_ok(request, hub, "eventbridge"):
        return _answer(401, "missing or invalid bearer token (scope eventbridge)", "unknown", "bad_token",
                       {"connection": "close"})

    async def handle(body: bytearray) -> Response:
        try:
            envelope = orjson.loads(body)
            if amazon.is_amazon(envelope):  # Amazon's ORDER_CHANGE, from the Selling Partner API's partner source
                return await _amazon_notification(hub, envelope, started)
            detail = envelope["detail"]
            metadata, payload = detail["metadata"], detail["payload"]
            if not isinstance(metadata, dict):
                raise TypeError
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return _answer(400, "expected an EventBridge event with detail.metadata and detail.payload",
                           "unknown", "malformed")
        try:
            headers = shopify.read_headers({str(k): str(v) for k, v in metadata.items()})
        except shopify.MissingHeaders as exc:
            return _answer(400, f"detail.metadata: {exc}", "unknown", "bad_headers")
        shop = hub.shops.get(headers.shop_domain)
        if shop is None:
            return _answer(401, "unknown shop", topic_label(headers.topic), "unknown_shop")
        text = orjson.dumps(payload).decode()
        return await _store(hub, _entry(shop.id, headers, payload, text), started)

    return await _guarded(request, hub, "unknown", handle)


async def _amazon_notification(hub: Hub, envelope: dict[str, Any], started: float) -> Response:
    try:
        entry = await amazon.inbox_entry(hub.db, envelope)
    except amazon.NotificationRefused as exc:
        return _answer(exc.status, str(exc), "unknown", exc.outcome)
    return await _store(hub, entry, started)
