"""Authorised shops and the shop's webhook addresses."""

from __future__ import annotations

from typing import Any

from orderhub.simulators.tiktok.errors import BAD_FIELD, fail
from orderhub.simulators.tiktok.gateway import Call, Handler, Scope_
from orderhub.simulators.tiktok.webhooks import EVENT_NAMES


def authorized_shops(call: Call) -> dict[str, Any]:
    assert call.token is not None
    return {"shops": [shop.describe() for shop in call.token.seller.shops]}


def get_webhooks(call: Call) -> dict[str, Any]:
    hooks = [{"event_type": event, "address": h["address"], "create_time": h["create_time"],
              "update_time": h["update_time"]} for event, h in sorted(call.shop_data.webhooks.items())]
    return {"webhooks": hooks, "total_count": len(hooks)}


def _event_type(body: dict[str, Any]) -> str:
    event = body.get("event_type")
    if event not in EVENT_NAMES.values():
        names = ", ".join(sorted(EVENT_NAMES.values()))
        raise fail(BAD_FIELD, f"invalid param error: event_type must be one of {names}.")
    return str(event)


def put_webhook(call: Call) -> dict[str, Any]:
    event = _event_type(call.body)
    address = call.body.get("address")
    if not isinstance(address, str) or not address.startswith(("https://", "http://")) or len(address) > 2048:
        raise fail(BAD_FIELD, "invalid param error: address must be an http(s) URL.")
    now = call.sim.clock.now()
    old = call.shop_data.webhooks.get(event)
    call.shop_data.webhooks[event] = {"address": address, "app_key": call.app_key,
                                      "create_time": old["create_time"] if old else now, "update_time": now}
    return {}


def delete_webhook(call: Call) -> dict[str, Any]:
    call.shop_data.webhooks.pop(_event_type(call.body), None)
    return {}


TABLE: list[tuple[str, str, str, Handler, Scope_]] = [
    ("GET", "/authorization/202309/shops", "getAuthorizedShops", authorized_shops, "seller"),
    ("GET", "/event/202309/webhooks", "getShopWebhooks", get_webhooks, "shop"),
    ("PUT", "/event/202309/webhooks", "updateShopWebhook", put_webhook, "shop"),
    ("DELETE", "/event/202309/webhooks", "deleteWebhookForAnEvent", delete_webhook, "shop"),
]
