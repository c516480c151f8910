"""Webhook receivers: verify, store durably in the inbox, and only then answer 200."""

from __future__ import annotations

import time
from typing import Any

import orjson
import structlog
from starlette.requests import Request
from starlette.responses import Response

from orderhub.adapters.shopify import webhooks as shopify
from orderhub.adapters.store.inbox import InboxEntry
from orderhub.bootstrap import Hub
from orderhub.entrypoints.http.auth import bearer_ok
from orderhub.metrics import RECEIVE_SECONDS, WEBHOOKS_RECEIVED

log = structlog.get_logger(__name__)
_JSON = {"content-type": "application/json"}


class TooLarge(Exception):
    pass


def _answer(status: int, message: str, topic: str, outcome: str) -> Response:
    WEBHOOKS_RECEIVED.labels(topic, outcome).inc()
    return Response(orjson.dumps({"error": message} if status >= 400 else {"status": message}),
                    status_code=status, headers=_JSON)


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _topic_label(topic: str) -> str:
    # Bounded label values: unknown topics are counted together.
    return topic if topic in shopify.SUPPORTED_TOPICS else "unsupported"


async def _store(hub: Hub, entry: InboxEntry, started: float) -> Response:
    try:
        stored = await hub.writer.put(entry)
    except Exception:
        # Not stored: Shopify will deliver again. Say so rather than pretend.
        return _answer(503, "inbox unavailable; retry later", _topic_label(entry.topic), "store_failed")
    RECEIVE_SECONDS.observe(time.perf_counter() - started)
    if not stored:
        return _answer(200, "duplicate", _topic_label(entry.topic), "duplicate")
    outcome = "accepted" if entry.status == "pending" else "unsupported"
    return _answer(200, outcome, _topic_label(entry.topic), outcome)


async def shopify_webhook(request: Request) -> Response:
    started = time.perf_counter()
    hub: Hub = request.app.state.hub
    try:
        body = await read_body(request, hub.settings.max_webhook_bytes)
    except TooLarge:
        return _answer(413, f"body exceeds {hub.settings.max_webhook_bytes} bytes", "unknown", "too_large")
    try:
        headers = shopify.read_headers(request.headers)
    except shopify.MissingHeaders as exc:
        return _answer(400, str(exc), "unknown", "bad_headers")
    topic = _topic_label(headers.topic)
    shop = hub.shops.get(headers.shop_domain)
    if shop is None:
        return _answer(401, "unknown shop", topic, "unknown_shop")
    if not shopify.verify(shop.webhook_secret, body, headers.hmac):
        return _answer(401, "missing or invalid X-Shopify-Hmac-Sha256", topic, "bad_signature")
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return _answer(400, "body is not valid JSON", topic, "malformed")
    return await _store(hub, _entry(shop.id, "webhook", headers, payload, body.decode()), started)


def _entry(shop_id: int, source: str, h: shopify.WebhookHeaders, payload: Any, text: str) -> InboxEntry:
    supported = h.topic in shopify.SUPPORTED_TOPICS
    return InboxEntry(
        shop_id=shop_id, source=source, topic=h.topic,
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
        return _answer(401, "missing or invalid bearer token (scope eventbridge)", "unknown", "bad_token")
    try:
        body = await read_body(request, hub.settings.max_webhook_bytes)
    except TooLarge:
        return _answer(413, f"body exceeds {hub.settings.max_webhook_bytes} bytes", "unknown", "too_large")
    try:
        envelope = orjson.loads(body)
        detail = envelope["detail"]
        metadata, payload = detail["metadata"], detail["payload"]
        if not isinstance(metadata, dict):
            raise TypeError
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return _answer(400, "expected an EventBridge event with detail.metadata and detail.payload", "unknown",
                       "malformed")
    try:
        headers = shopify.read_headers({str(k): str(v) for k, v in metadata.items()})
    except shopify.MissingHeaders as exc:
        return _answer(400, f"detail.metadata: {exc}", "unknown", "bad_headers")
    shop = hub.shops.get(headers.shop_domain)
    if shop is None:
        return _answer(401, "unknown shop", _topic_label(headers.topic), "unknown_shop")
    text = orjson.dumps(payload).decode()
    return await _store(hub, _entry(shop.id, "eventbridge", headers, payload, text), started)
