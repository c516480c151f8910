"""Webhook receivers: verify, store durably in the inbox, and only then answer 200.

These doors are open to anyone, so they refuse on the headers whatever they can before
reading a byte of the body, and read bodies only through ``bodies.read_body``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import orjson
import structlog
from starlette.requests import Request
from starlette.responses import Response

from orderhub.adapters.amazon import notifications as amazon
from orderhub.adapters.shopify import webhooks as shopify
from orderhub.adapters.store.inbox import InboxEntry
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.entrypoints.http import bodies
from orderhub.entrypoints.http.auth import bearer_ok
from orderhub.metrics import RECEIVE_SECONDS, WEBHOOKS_RECEIVED

log = structlog.get_logger(__name__)
_JSON = {"content-type": "application/json"}


# One answer (and one metrics outcome: /metrics is public) whether the shop is unknown or the signature
# wrong, so shop domains cannot be probed through them.
NOT_AUTHENTICATED = "webhook not authenticated: unknown shop, or missing or invalid X-Shopify-Hmac-Sha256"


def _answer(status: int, message: str, topic: str, outcome: str, headers: dict[str, str] | None = None
            ) -> Response:
    WEBHOOKS_RECEIVED.labels(topic, outcome).inc()
    return Response(orjson.dumps({"error": message} if status >= 400 else {"status": message}),
                    status_code=status, headers={**_JSON, **(headers or {})})


def _refused(refused: bodies.Refused, topic: str) -> Response:
    outcomes = {408: "too_slow", 413: "too_large", 503: "busy"}
    WEBHOOKS_RECEIVED.labels(topic, outcomes.get(refused.status, "malformed")).inc()
    return refused.response()


def _json_content(request: Request) -> bool:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))


async def _guarded(request: Request, hub: Hub, topic: str,
                   handle: Callable[[bytearray], Awaitable[Response]]) -> Response:
    """Read the body within the size cap, the deadline and the shared budget, then ``handle`` it."""
    budget: bodies.BodyBudget = request.app.state.body_budget
    limit = hub.settings.max_webhook_bytes
    taken = 0
    try:
        declared = bodies.declared_length(request.headers)
        bodies.check_length(declared, limit)
        if not _json_content(request):
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
    """Headers first (topic, shop, signature present, JSON, size), then the body, then the signature."""
    started = time.perf_counter()
    hub: Hub = request.app.state.hub
    close = {"connection": "close"}  # refused before the body: it is not read, the connection ends
    try:
        headers = shopify.read_headers(request.headers)
    except shopify.MissingHeaders as exc:
        return _answer(400, str(exc), "unknown", "bad_headers", close)
    topic = _topic_label(headers.topic)
    shop = hub.shops.get(headers.shop_domain)
    if shop is None:
        return _answer(401, NOT_AUTHENTICATED, topic, "not_authenticated", close)
    if not headers.hmac:
        return _answer(401, NOT_AUTHENTICATED, topic, "not_authenticated", close)
    stale = _outside_window(headers.triggered_at, hub.settings.webhook_max_age_seconds)
    if stale:
        return _answer(400, stale, topic, "stale", close)

    async def handle(body: bytearray) -> Response:
        assert shop is not None
        if not shopify.verify(shop.webhook_secret, body, headers.hmac):
            return _answer(401, NOT_AUTHENTICATED, topic, "not_authenticated")
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return _answer(400, "body is not valid JSON", topic, "malformed")
        return await _store(hub, _entry(shop.id, "webhook", headers, payload, body.decode()), started)

    return await _guarded(request, hub, topic, handle)


def _outside_window(triggered_at: datetime | None, window: float) -> str | None:
    """Why a delivery sent so long ago (or so far ahead) is refused as a possible replay; None when it is not.

    Shopify retries a failed delivery for a few hours, so one sent days ago is someone resending it;
    the batch poll still brings in anything such a refusal keeps out."""
    if triggered_at is None or window <= 0:
        return None
    age = (utcnow() - triggered_at).total_seconds()
    if abs(age) <= window:
        return None
    when = f"{age / 3600:.1f} hours ago" if age > 0 else f"{-age / 3600:.1f} hours ahead"
    return (f"X-Shopify-Triggered-At {triggered_at.isoformat()} is {when}, outside the {window / 3600:g}-hour window "
            "(ORDERHUB_WEBHOOK_MAX_AGE_SECONDS): refused as a possible replay")


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
            return _answer(401, "unknown shop", _topic_label(headers.topic), "unknown_shop")
        text = orjson.dumps(payload).decode()
        return await _store(hub, _entry(shop.id, "eventbridge", headers, payload, text), started)

    return await _guarded(request, hub, "unknown", handle)


async def _amazon_notification(hub: Hub, envelope: dict[str, Any], started: float) -> Response:
    try:
        entry = await amazon.inbox_entry(hub.db, envelope)
    except amazon.NotificationRefused as exc:
        return _answer(exc.status, str(exc), "unknown", exc.outcome)
    return await _store(hub, entry, started)
