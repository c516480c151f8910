"""What a channel must hear when its order's units ship or are cancelled in orderhub: a shipment notice or a
cancellation notice, owed in the same transaction as the change (adapters/store/channel_operations.py).

Channels orderhub sends no operations to this way (Shopify, whose fulfilments have jobs of their own) owe
nothing; neither does a cancellation the channel made itself.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from sqlalchemy import Connection, select

from orderhub.adapters import channels
from orderhub.adapters.store import channel_operations
from orderhub.adapters.store import shops as shop_store
from orderhub.adapters.store.schema import order_items
from orderhub.clock import utcnow
from orderhub.domain.channels import CancelNotice, ShipmentNotice

_REASONS = (("stock", "out_of_stock"), ("fraud", "fraud"), ("address", "address"), ("customer", "customer_request"))


def cancel_reason(text: str | None) -> str:
    """orderhub's reason in the channels' terms (domain.channels.CANCEL_REASONS), from why it cancelled."""
    said = (text or "").lower()
    return next((code for word, code in _REASONS if word in said), "other")


def after_transition(conn: Connection, order: Any, units: Sequence[Any], target: str, reason: str | None,
                     detail: dict[str, Any]) -> None:
    """Owe the order's channel a notice for ``units`` that moved to ``target``, if it takes one."""
    if target not in ("shipped", "cancelled") or not units:
        return
    if target == "cancelled" and order.source_status == "cancelled":
        return  # the channel cancelled it: nothing to tell it
    if channels.order_channel(shop_store.kind_of(conn, order.shop_id)) is None:
        return
    line_ids = dict(conn.execute(select(order_items.c.id, order_items.c.shopify_id)
                                 .where(order_items.c.order_id == order.id)).all())
    lines = tuple(sorted((line_ids[item_id], n) for item_id, n in Counter(u.item_id for u in units).items()))
    if target == "shipped":
        reference = f"shipment-{detail['shipment_id']}"
        notice: Any = ShipmentNotice(order.shopify_id, lines, detail.get("carrier") or "",
                                     detail.get("tracking_number"), utcnow(), reference)
        kind = "ship"
    else:
        reference = "cancel-" + "-".join(str(u.id) for u in sorted(units, key=lambda u: u.id))
        notice = CancelNotice(order.shopify_id, lines, cancel_reason(reason))
        kind = "cancel"
    payload = asdict(notice)
    if isinstance(notice, ShipmentNotice):
        payload["shipped_at"] = notice.shipped_at.isoformat()
    channel_operations.enqueue(conn, order.shop_id, order.id, kind, reference, payload)
