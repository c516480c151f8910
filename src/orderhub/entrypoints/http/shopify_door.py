"""The Shopify webhook door: headers, body, signature, durable store, answer - and nothing else.

It is the busiest door of orderhub, so it runs on the raw ASGI interface in front of the application
(:class:`ShopifyDoor` sits outside the app's middleware and router): it reads the headers once from
the scope, refuses what it can before reading a byte of the body, reads the body through
``bodies.read_body``, checks the HMAC and group-commits the raw bytes with the header fields. It
does not parse the body: the worker does, and derives the record's content identity there
(``services/identify.py``), so a delivery costs the server little more than reading it and checking
its signature. A redelivery (the same X-Shopify-Webhook-Id) is kept as the delivery it is; the worker
finds it a repeat of the original by its identity (no unique key on Shopify's random webhook ids: it
made every stored webhook a write on an index page of its own).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import orjson

from orderhub.adapters.shopify import webhooks as shopify
from orderhub.adapters.store.inbox import InboxEntry
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.entrypoints.http import bodies
from orderhub.entrypoints.http.client_address import over_tls
from orderhub.entrypoints.http.docs_and_headers import HSTS
from orderhub.metrics import RECEIVE_SECONDS, WEBHOOKS_RECEIVED

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

PATH = "/webhooks/shopify"

# One answer (and one metrics outcome: /metrics is public) whether the shop is unknown or the signature
# wrong, so shop domains cannot be probed through them.
NOT_AUTHENTICATED = "webhook not authenticated: unknown shop, or missing or invalid X-Shopify-Hmac-Sha256"

_WANTED = (shopify.HEADER_TOPIC, shopify.HEADER_HMAC, shopify.HEADER_SHOP, shopify.HEADER_API_VERSION,
           shopify.HEADER_WEBHOOK_ID, shopify.HEADER_EVENT_ID, shopify.HEADER_TRIGGERED_AT,
           "content-length", "content-type", "transfer-encoding", "x-forwarded-proto")
_WANTED_BYTES = {name.encode(): name for name in _WANTED}
_OUTCOMES = {408: "too_slow", 413: "too_large", 503: "busy"}


_RECEIVED: dict[tuple[str, str], Any] = {}  # the counter of each (topic, outcome), looked up once


def count_received(topic: str, outcome: str) -> None:
    """One more webhook with this outcome in ``orderhub_webhooks_received_total`` (both labels are bounded)."""
    counter = _RECEIVED.get((topic, outcome))
    if counter is None:
        counter = _RECEIVED[(topic, outcome)] = WEBHOOKS_RECEIVED.labels(topic, outcome)
    counter.inc()


def refused_outcome(refused: bodies.Refused) -> str:
    """The metrics outcome of a body refused on its size, its pace or the budget (else: malformed)."""
    return _OUTCOMES.get(refused.status, "malformed")
_ANSWERS = {status: orjson.dumps({"status": status}) for status in ("accepted", "duplicate", "unsupported")}
# The 200s' headers, made once (a tuple: no one adds to it in place).
_HEADS = {status: ((b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()))
          for status, body in _ANSWERS.items()}


class ShopifyDoor:
    """``POST /webhooks/shopify`` answered here; every other request goes on to ``app``. The app calls it
    before anything of its own (see ``app.OrderhubApp``), so it answers the transport's headers itself."""

    def __init__(self, app: Any, hub: Hub, budget: bodies.BodyBudget) -> None:
        self.app, self.hub, self.budget = app, hub, budget

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == PATH and scope["method"] == "POST":
            await receive_webhook(self.hub, self.budget, scope, receive, send)
        else:
            await self.app(scope, receive, send)


class ShopifyRoute:
    """The same door as the app's route, for a request that reaches the router (``ShopifyDoor`` answers first
    when it is installed; the route keeps other methods answered 405 and the door listed with the others)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = scope["app"].state
        await receive_webhook(state.hub, state.body_budget, scope, receive, send)


def _texts(scope: Scope) -> dict[str, str]:
    """The headers the door reads, by lower-case name (ASGI servers lower-case them), in one pass."""
    found: dict[str, str] = {}
    for name, value in scope["headers"]:
        wanted = _WANTED_BYTES.get(name)
        if wanted is not None:
            found[wanted] = value.decode("latin-1")
    return found


def json_content(content_type: str) -> bool:
    kind = content_type.split(";")[0].strip().lower()
    return kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))


def topic_label(topic: str) -> str:
    """Bounded metric label values: unknown topics are counted together."""
    return topic if topic in shopify.SUPPORTED_TOPICS else "unsupported"


def _over_tls(scope: Scope, texts: dict[str, str], trusted_proxies: tuple[str, ...]) -> bool:
    if scope.get("scheme") != "https" and "x-forwarded-proto" not in texts:
        return False  # the common case, decided without parsing an address
    peer = (scope.get("client") or ("", 0))[0]
    return over_tls(scope.get("scheme", "http"), peer, texts.get("x-forwarded-proto"), trusted_proxies)


def _with_hsts(send: Send) -> Send:
    """Strict-Transport-Security on the answer, as ``StrictTransport`` adds it to the app's answers."""
    async def sending(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message["headers"], (b"strict-transport-security", HSTS)]}
        await send(message)
    return sending


async def _answer(send: Send, status: int, body: bytes, *, close: bool = False,
                  headers: dict[str, str] | None = None) -> None:
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if close:
        head.append((b"connection", b"close"))
    for name, value in (headers or {}).items():
        head.append((name.encode("latin-1"), value.encode("latin-1")))
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})


async def _error(send: Send, status: int, message: str, topic: str, outcome: str, *, close: bool = False,
                 headers: dict[str, str] | None = None) -> None:
    count_received(topic, outcome)
    await _answer(send, status, orjson.dumps({"error": message}), close=close, headers=headers)


async def receive_webhook(hub: Hub, budget: bodies.BodyBudget, scope: Scope, receive: Receive, send: Send) -> None:
    """Headers first (topic, shop, signature present, fresh, JSON, size), then the body, then the signature."""
    started = time.perf_counter()
    texts = _texts(scope)
    if _over_tls(scope, texts, hub.settings.trusted_proxies):
        send = _with_hsts(send)
    try:
        headers = shopify.read_headers(texts, lowered=True)
    except shopify.MissingHeaders as exc:  # refused before the body: it is not read, the connection ends
        await _error(send, 400, str(exc), "unknown", "bad_headers", close=True)
        return
    topic = topic_label(headers.topic)
    shop = hub.shops.get(headers.shop_domain)
    if shop is None or not headers.hmac:
        await _error(send, 401, NOT_AUTHENTICATED, topic, "not_authenticated", close=True)
        return
    stale = outside_window(headers.triggered_at, hub.settings.webhook_max_age_seconds)
    if stale:
        await _error(send, 400, stale, topic, "stale", close=True)
        return
    limit = hub.settings.max_webhook_bytes
    taken = 0
    try:
        declared = bodies.declared_length(texts)
        bodies.check_length(declared, limit)
        if not json_content(texts.get("content-type", "")):
            raise bodies.Refused(415, "Content-Type must be application/json")
        taken = bodies.reserve(budget, declared, limit)
        body = await bodies.read_body(receive, declared, limit, hub.settings)
        if not shopify.verify(shop.webhook_secret, body, headers.hmac):
            await _error(send, 401, NOT_AUTHENTICATED, topic, "not_authenticated")
            return
        try:
            body.decode()  # checked, not kept: the bytes are stored (schema.base.RawBody reads them as text)
        except UnicodeDecodeError:
            await _error(send, 400, "body is not UTF-8 text (Shopify sends JSON in UTF-8)", topic, "malformed")
            return
        # Stored with its room in the budget still taken: a body waiting for its commit counts as in flight.
        await _store(hub, send, _entry(shop.id, headers, body), topic, started)
    except bodies.Refused as refused:
        count_received(topic, refused_outcome(refused))
        await _error_refused(send, refused)
        return
    except bodies.ClientGone:
        await _error(send, 400, "the client disconnected before the body was complete", topic, "malformed",
                     close=True)
        return
    finally:
        budget.give(taken)


async def _error_refused(send: Send, refused: bodies.Refused) -> None:
    # The unread rest of the body is not drained: the connection is closed instead.
    await _answer(send, refused.status, orjson.dumps({"error": refused.message}), close=True,
                  headers=refused.headers)


async def _store(hub: Hub, send: Send, entry: InboxEntry, topic: str, started: float) -> None:
    try:
        stored = await hub.writer.put(entry)
    except Exception:
        # Not stored: Shopify will deliver again. Say so rather than pretend.
        await _error(send, 503, "inbox unavailable; retry later", topic, "store_failed")
        return
    RECEIVE_SECONDS.observe(time.perf_counter() - started)
    outcome = "duplicate" if not stored else ("accepted" if entry.status == "pending" else "unsupported")
    count_received(topic, outcome)
    await send({"type": "http.response.start", "status": 200, "headers": _HEADS[outcome]})
    await send({"type": "http.response.body", "body": _ANSWERS[outcome]})


def _entry(shop_id: int, h: shopify.WebhookHeaders, body: bytes) -> InboxEntry:
    """The delivery as the inbox keeps it. A topic orderhub handles gets its content identity from the worker;
    one it does not is kept as unsupported, known by a digest of its body."""
    supported = h.topic in shopify.SUPPORTED_TOPICS
    return InboxEntry(
        shop_id=shop_id, source="webhook", topic=h.topic,
        identity=None if supported else shopify.identity(h.topic, None, h.webhook_id, body), payload=body,
        status="pending" if supported else "unsupported", webhook_id=h.webhook_id, event_id=h.event_id,
        api_version=h.api_version, triggered_at=h.triggered_at)


def outside_window(triggered_at: datetime | None, window: float) -> str | None:
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
