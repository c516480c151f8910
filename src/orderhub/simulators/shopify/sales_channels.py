"""The sales channels a simulated shop sells through: the online store, POS, draft orders, and the
Facebook & Instagram and TikTok apps, whose orders go through the shop's own checkout.

An order's REST body says only ``source_name`` and ``app_id`` (for an app's order, the app's id: the
same for an Instagram and a Facebook sale); the Admin API's ``Order.channelInformation`` also names the
channel definition (sub-channel). The data, and where each shape and value comes from, is in
samples/sales_channels.json.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from orderhub.simulators.shopify.store import gid

# The key of the channel an order was sold through, kept beside the order's REST fields until the order
# is stored (actions.place_orders): webhook bodies never carry it.
PRIVATE_KEY = "_sales_channel"

CHANNELS: dict[str, dict[str, Any]] = json.loads(
    resources.files("orderhub.simulators.shopify").joinpath("samples/sales_channels.json").read_text("utf-8")
)["channels"]
SOCIAL = ("instagram", "facebook", "tiktok")


def check(key: str) -> str:
    if key not in CHANNELS:
        raise ValueError(f"no sales channel {key!r}; the simulated shops sell through {', '.join(CHANNELS)}")
    return key


def source_name(key: str) -> str:
    channel = CHANNELS[key]
    return str(channel["app_id"]) if channel["source_name"] == "app_id" else str(channel["source_name"])


def stamp(order: dict[str, Any], key: str) -> None:
    """Mark a REST order as sold through channel ``key``: its source_name and app_id."""
    order["source_name"] = source_name(check(key))
    order["app_id"] = CHANNELS[key]["app_id"]
    order[PRIVATE_KEY] = key


def key_of(rest: dict[str, Any]) -> str | None:
    """The channel an order was sold through: as recorded, else the first one its source_name names."""
    recorded = rest.get(PRIVATE_KEY)
    if recorded in CHANNELS:
        return str(recorded)
    return next((k for k in CHANNELS if source_name(k) == rest.get("source_name")), None)


def channel_information(key: str | None) -> dict[str, Any] | None:
    """Order.channelInformation of an order sold through ``key`` (null when the channel has none)."""
    channel = CHANNELS.get(key or "")
    if channel is None or channel["channel_id"] is None:
        return None
    definition = channel["definition"]
    return {
        "id": gid("ChannelInformation", channel["channel_id"]),
        "channelId": gid("Channel", channel["channel_id"]),
        "app": {"id": gid("App", channel["app_id"]), "title": channel["app_title"]},
        "channelDefinition": None if definition is None else {**definition,
                                                               "id": gid("ChannelDefinition", definition["id"])},
    }
