"""What a channel must hear when its order's units ship, are cancelled or come back in orderhub: a shipment
notice, a cancellation notice or a refund notice, owed in the same transaction as the change
(adapters/store/channel_operations.py).

A channel is owed only the operations its kind takes this way (adapters/channels.py ``order_operations``: Shopify
takes refunds, its fulfilments and cancellations have jobs of their own); nothing is owed for a cancellation or a
refund the channel made itself, nor for a return refunded with nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from decimal import ROUND_DOWN, Decimal
from typing import Any

from sqlalchemy import Connection, select

from orderhub.adapters import channels
from orderhub.adapters.store import channel_operations
from orderhub.adapters.store import shops as shop_store
from orderhub.adapters.store.schema import order_items, returns
from orderhub.clock import utcnow
from orderhub.domain import money
from orderhub.domain.channels import CancelNotice, RefundNotice, ShipmentNotice

_OPERATION_OF = {"shipped": "ship", "cancelled": "cancel", "returned": "refund"}
_REASONS = (("stock", "out_of_stock"), ("fraud", "fraud"), ("address", "address"), ("customer", "customer_request"))


def cancel_reason(text: str | None) -> str:
    """orderhub's reason in the channels' terms (domain.channels.CANCEL_REASONS), from why it cancelled."""
    said = (text or "").lower()
    return next((code for word, code in _REASONS if word in said), "other")


def refund_reason(text: str | None, disposition: str | None) -> str:
    """orderhub's reason in the channels' terms (domain.channels.REFUND_REASONS)."""
    said = (text or "").lower()
    return "damaged" if disposition == "damaged" or "damage" in said or "defect" in said else "returned"


def split_amount(amount: Decimal, currency: str,
                 weights: Sequence[tuple[str, Decimal]]) -> tuple[tuple[str, Decimal], ...]:
    """``amount`` shared over lines in proportion to their weights (what their returned units cost), each share
    in the currency's decimals; the cents rounding leaves go to the last line, so the shares sum to ``amount``."""
    if not weights:
        return ()
    step = Decimal(1).scaleb(-money.decimals(currency))
    total = sum((w for _, w in weights), Decimal("0"))
    shares: list[tuple[str, Decimal]] = []
    for line, weight in weights[:-1]:
        part = amount * weight / total if total > 0 else amount / len(weights)
        shares.append((line, part.quantize(step, rounding=ROUND_DOWN)))
    shares.append((weights[-1][0], amount - sum((a for _, a in shares), Decimal("0"))))
    return tuple(shares)


def after_transition(conn: Connection, order: Any, units: Sequence[Any], target: str, reason: str | None,
                     detail: dict[str, Any]) -> None:
    """Owe the order's channel a notice for ``units`` that moved to ``target``, if it takes one."""
    operation = _OPERATION_OF.get(target)
    if operation is None or not units:
        return
    if target == "cancelled" and order.source_status == "cancelled":
        return  # the channel cancelled it: nothing to tell it
    if operation not in channels.order_operations(shop_store.kind_of(conn, order.shop_id)):
        return
    items = {r.id: r for r in conn.execute(select(order_items.c.id, order_items.c.shopify_id)
                                           .where(order_items.c.order_id == order.id))}
    counts = Counter(u.item_id for u in units)
    lines = tuple(sorted((items[item_id].shopify_id, n) for item_id, n in counts.items()))
    if target == "shipped":
        reference = f"shipment-{detail['shipment_id']}"
        notice: Any = ShipmentNotice(order.shopify_id, lines, detail.get("carrier") or "",
                                     detail.get("tracking_number"), utcnow(), reference)
    elif target == "cancelled":
        reference = "cancel-" + "-".join(str(u.id) for u in sorted(units, key=lambda u: u.id))
        notice = CancelNotice(order.shopify_id, lines, cancel_reason(reason))
    else:
        notice = _refund_notice(conn, order, units, items, lines, reason, detail)
        if notice is None:
            return
        reference = notice.reference
    payload = asdict(notice)
    if isinstance(notice, ShipmentNotice):
        payload["shipped_at"] = notice.shipped_at.isoformat()
    if isinstance(notice, RefundNotice):  # money travels as text, never as a float
        payload["amount"] = str(notice.amount)
        payload["line_amounts"] = [[line, str(a)] for line, a in notice.line_amounts]
    channel_operations.enqueue(conn, order.shop_id, order.id, operation, reference, payload)


def _refund_notice(conn: Connection, order: Any, units: Sequence[Any], items: dict[int, Any],
                   lines: tuple[tuple[str, int], ...], reason: str | None,
                   detail: dict[str, Any]) -> RefundNotice | None:
    """The refund a return owes the channel, from its ``returns`` row; None when it refunds nothing."""
    # Imported here: order_sync imports fulfilment, which imports this module.
    from orderhub.services.order_sync import ACTOR as CHANNEL_REFUND

    found = conn.execute(select(returns.c.refund_amount, returns.c.currency, returns.c.disposition, returns.c.actor)
                         .where(returns.c.id == detail["return_id"])).first()
    if found is None or Decimal(found.refund_amount) <= 0 or found.actor == CHANNEL_REFUND:
        return None  # nothing to refund, or the channel refunded it itself (order_sync.after_refund)
    currency = found.currency or order.currency
    amount = Decimal(found.refund_amount).quantize(Decimal(1).scaleb(-money.decimals(currency)))
    weights: dict[str, Decimal] = {}
    for u in units:
        line = items[u.item_id].shopify_id
        weights[line] = weights.get(line, Decimal("0")) + Decimal(u.price or 0)
    shares = split_amount(amount, currency, sorted(weights.items()))
    return RefundNotice(order.shopify_id, lines, amount, currency,
                        refund_reason(reason, found.disposition), f"return-{detail['return_id']}", shares,
                        (reason or None) and reason[:200])
