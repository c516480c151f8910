"""TikTok Shop's webhooks: ``POST /webhooks/tiktok/{account}``.

The body is read within the webhook size cap, the deadline and the shared body budget (bodies.py), and
the ``Authorization`` signature (HMAC-SHA256 of app key + raw body, keyed by the account's app secret) is
checked in constant time before anything else is done with it. An unknown account gets the same answer
as a wrong signature, after the same work, so account names cannot be probed. A verified notification is
stored in the inbox as it came (topic ``tiktok/notification``, identity its ``tts_notification_id``, so a
redelivery is one record) and answered 200 at once; the ``fetch-tiktok-orders`` job fetches the order it
names (services/jobs/tiktok_jobs.py), or ``decide-tiktok-cancellations`` answers the buyer's cancellation
request it announces (services/jobs/tiktok_cancellations.py). Notifications that name no order are kept as
unsupported.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

import orjson
from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from orderhub.adapters.store import accounts
from orderhub.adapters.store.inbox import InboxEntry
from orderhub.adapters.tiktok.channel import NOTIFICATION_TOPIC
from orderhub.adapters.tiktok.signing import webhook_valid
from orderhub.bootstrap import Hub
from orderhub.entrypoints.http import bodies
from orderhub.metrics import RECEIVE_SECONDS, WEBHOOKS_RECEIVED

router = APIRouter()
NOT_AUTHENTICATED = "webhook not authenticated: unknown account, or missing or invalid Authorization signature"
_UNKNOWN = ("", "unknown-account-secret")  # checked against when the account is unknown: the same work, then 401


def _answer(status: int, message: str, outcome: str, headers: dict[str, str] | None = None) -> Response:
    WEBHOOKS_RECEIVED.labels(NOTIFICATION_TOPIC, outcome).inc()
    return Response(orjson.dumps({"error": message} if status >= 400 else {"status": message}), status_code=status,
                    headers={"content-type": "application/json", **(headers or {})})


def _keys(hub: Hub, name: str) -> tuple[int, str, str] | None:
    """(account id, app key, app secret) of an active TikTok account, or None."""
    with hub.db.read() as conn:
        found = accounts.get(conn, name)
    if found is None or found.kind != "tiktok" or found.status != "active":
        return None
    return found.id, str(found.settings.get("app_key", "")), found.credentials.get("app_secret", "")


async def _body(request: Request, hub: Hub) -> bytes | Response:
    try:
        return await bodies.read_within(request.headers, request.receive, request.app.state.body_budget,
                                        hub.settings.max_webhook_bytes, hub.settings)
    except bodies.Refused as refused:
        WEBHOOKS_RECEIVED.labels(NOTIFICATION_TOPIC, "refused").inc()
        return refused.response()
    except bodies.ClientGone:
        return _answer(400, "the client disconnected before the body was complete", "malformed",
                       {"connection": "close"})


@router.post("/webhooks/tiktok/{account}", include_in_schema=False)
async def tiktok_webhook(account: str, request: Request) -> Response:
    started = time.perf_counter()
    hub: Hub = request.app.state.hub
    signature = request.headers.get("authorization", "")
    if not signature:  # refused on the headers: the body is not read, the connection ends
        return _answer(401, NOT_AUTHENTICATED, "not_authenticated", {"connection": "close"})
    body = await _body(request, hub)
    if isinstance(body, Response):
        return body
    keys = await run_in_threadpool(_keys, hub, account)
    app_key, secret = (keys[1], keys[2]) if keys else _UNKNOWN
    if not webhook_valid(app_key, secret, body, signature) or keys is None:
        return _answer(401, NOT_AUTHENTICATED, "not_authenticated")
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return _answer(400, "body is not valid JSON", "malformed")
    notification = payload.get("tts_notification_id") if isinstance(payload, dict) else None
    if not isinstance(notification, (str, int)) or not str(notification).strip():
        return _answer(400, "body has no tts_notification_id", "malformed")
    entry = InboxEntry(shop_id=keys[0], source="webhook", topic=NOTIFICATION_TOPIC,
                       identity=f"{NOTIFICATION_TOPIC}:{str(notification)[:100]}", payload=body.decode("utf-8"),
                       status="pending" if _names_order(payload) else "unsupported",
                       webhook_id=str(notification)[:100], triggered_at=_sent_at(payload))
    try:
        stored = await hub.writer.put(entry)
    except Exception:
        return _answer(503, "inbox unavailable; retry later", "store_failed")  # TikTok delivers again
    RECEIVE_SECONDS.observe(time.perf_counter() - started)
    if not stored:
        return _answer(200, "duplicate", "duplicate")
    return _answer(200, "accepted" if entry.status == "pending" else "unsupported", "accepted")


def _names_order(payload: dict[str, Any]) -> bool:
    data = payload.get("data")
    return isinstance(data, dict) and str(data.get("order_id") or "").isdigit()


def _sent_at(payload: dict[str, Any]) -> datetime | None:
    stamp = payload.get("timestamp")
    if isinstance(stamp, int) and not isinstance(stamp, bool) and 0 < stamp < 253402300799:
        return datetime.fromtimestamp(stamp, timezone.utc)
    return None
