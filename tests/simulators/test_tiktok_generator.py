"""The TikTok Shop simulator's order generator: deterministic for a seed, with the channel's edge cases."""

from __future__ import annotations

from typing import Any

from orderhub.simulators.tiktok.render import order_json
from orderhub.simulators.tiktok.simulator import Simulator

VOLATILE = {"create_time", "update_time", "paid_time", "rts_sla_time", "tts_sla_time", "cancel_time", "rts_time",
            "collection_time", "delivery_time", "request_cancel_time"}


def _stable(order: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in order.items() if k not in VOLATILE and k != "line_items"} | {
        "line_items": [{k: v for k, v in i.items() if k != "rts_time"} for i in order["line_items"]]}


def _orders(seed: int, count: int = 60) -> list[dict[str, Any]]:
    sim = Simulator(seed=seed)
    return [order_json(o) for o in sim.generate(count)]


def test_the_same_seed_gives_the_same_orders() -> None:
    assert [_stable(o) for o in _orders(11)] == [_stable(o) for o in _orders(11)]
    assert [_stable(o) for o in _orders(11)] != [_stable(o) for o in _orders(12)]


def test_generated_orders_cover_the_edge_cases() -> None:
    orders = _orders(7, 120)
    statuses = {o["status"] for o in orders}
    assert {"UNPAID", "ON_HOLD", "AWAITING_SHIPMENT", "IN_TRANSIT", "DELIVERED", "CANCELLED"} <= statuses
    assert any(len({i["seller_sku"] for i in o["line_items"]}) >= 2 for o in orders)  # several lines
    assert any(len(o["line_items"]) > len({i["seller_sku"] for i in o["line_items"]}) for o in orders)  # units
    assert any(i["is_gift"] and i["sale_price"] == "0.00" for o in orders for i in o["line_items"])
    assert any(o["payment"]["seller_discount"] != "0.00" for o in orders)
    assert any(o["payment"]["platform_discount"] != "0.00" for o in orders)
    assert any(o["recipient_address"]["name"] == "" and "buyer_email" not in o for o in orders)  # restricted
    assert any(o["fulfillment_type"] == "FULFILLMENT_BY_TIKTOK" for o in orders)
    assert any(len(o["packages"]) == 2 for o in orders)
    assert any(o["status"] == "CANCELLED" and o["cancellation_initiator"] == "BUYER" for o in orders)
    text = "".join(o["recipient_address"]["full_address"] + o["recipient_address"]["name"] for o in orders)
    assert any(ord(c) > 0xFFFF for c in text) and "ö" in text  # emoji and accents
    assert any(o["buyer_message"] for o in orders)


def test_generated_orders_have_consistent_money() -> None:
    from decimal import Decimal

    for order in _orders(3, 40):
        pay = order["payment"]
        live = [i for i in order["line_items"] if i["display_status"] != "CANCELLED" or order["status"] == "CANCELLED"]
        assert Decimal(pay["sub_total"]) == sum(Decimal(i["sale_price"]) for i in live)
        assert Decimal(pay["total_amount"]) == Decimal(pay["sub_total"]) + Decimal(pay["shipping_fee"]) + \
            Decimal(pay["tax"])
