"""Refunds from every place Shopify reports them (refunds/create, and the refunds an order's own body
carries on orders/updated and orders/cancelled) are counted once, by refund id, and restock once."""

from __future__ import annotations

import itertools
from datetime import datetime, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderhub.adapters.store import order_queries
from orderhub.bootstrap import Hub
from orderhub.domain.inventory import Position
from tests.integration.test_refund_returns import SKU_1_LINE, refund, shipped_order
from tests.oms_support import order, position
from tests.support import BIG_ID, add_shop, drain, order_payload, put


def _with_refunds(updated_at: str, *refunds: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body = order_payload(updated_at=updated_at, **changes)
    # As Shopify embeds them: without order_id on some versions, with their transactions.
    body["refunds"] = [{k: v for k, v in r.items() if k != "order_id"} for r in refunds]
    return body


def _refunded(hub: Hub) -> tuple[str, list[str], int]:
    o = order(hub)
    events = [e for e in o["timeline"] if e["kind"] == "refunded"]
    return o["total_refunded"], [r["shopify_id"] for r in o["refunds"]], len(events)


def test_a_refund_in_an_updated_order_counts_once_when_refunds_create_follows(hub: Hub, oms: Any) -> None:
    shipped_order(hub, oms)
    r = refund(501, [(SKU_1_LINE, 1, "return")])
    put(hub, "orders/updated", _with_refunds("2026-11-24T10:00:05Z", r), shop_id=oms.shop.id)
    drain(hub)
    assert _refunded(hub) == ("10.00", ["501"], 1)
    assert position(hub, "SKU-1", oms.wh1) == Position(4, 0, 0)  # restocked from the order's body
    put(hub, "refunds/create", r, shop_id=oms.shop.id)
    put(hub, "orders/cancelled", _with_refunds("2026-11-24T10:00:09Z", r, cancelled_at="2026-11-24T10:00:09Z",
                                               cancel_reason="customer"), shop_id=oms.shop.id)
    drain(hub)
    assert _refunded(hub) == ("10.00", ["501"], 1)
    assert position(hub, "SKU-1", oms.wh1) == Position(4, 0, 0)  # not twice


def test_refunds_create_first_then_the_order_body_adds_only_the_new_one(hub: Hub, oms: Any) -> None:
    shipped_order(hub, oms)
    first, second = refund(601, [(SKU_1_LINE, 1, "no_restock")]), refund(602, [(SKU_1_LINE, 1, "no_restock")])
    put(hub, "refunds/create", first, shop_id=oms.shop.id)
    drain(hub)
    put(hub, "orders/updated", _with_refunds("2026-11-24T11:00:00Z", first, second), shop_id=oms.shop.id)
    drain(hub)
    assert _refunded(hub) == ("20.00", ["601", "602"], 2)


def test_an_older_version_of_the_order_still_reports_a_refund_nobody_else_did(hub: Hub, oms: Any) -> None:
    shipped_order(hub, oms)
    put(hub, "orders/updated", order_payload(updated_at="2026-11-25T09:00:00Z"), shop_id=oms.shop.id)
    drain(hub)
    put(hub, "orders/updated", _with_refunds("2026-11-24T12:00:00Z", refund(701, [(SKU_1_LINE, 1, "return")])),
        shop_id=oms.shop.id)
    drain(hub)
    o = order(hub)
    assert o["source_updated_at"].startswith("2026-11-25T09:00:00")  # the older version did not overwrite it
    assert _refunded(hub) == ("10.00", ["701"], 1)


def test_shopifys_test_refund_without_created_at_is_kept_with_the_time_it_was_sent(hub: Hub, oms: Any) -> None:
    shipped_order(hub, oms)
    body = refund(801, [(SKU_1_LINE, 1, "no_restock")]) | {"created_at": None}
    sent = datetime(2026, 11, 24, 18, 30, tzinfo=timezone.utc)
    put(hub, "refunds/create", body, shop_id=oms.shop.id, triggered_at=sent)
    drain(hub)
    o = order(hub)
    [kept] = o["refunds"]
    assert kept["time_source"] == "notification" and kept["source_created_at"].startswith("2026-11-24T18:30:00")
    [event] = [e for e in o["timeline"] if e["kind"] == "refunded"]
    assert event["detail"]["time_taken_from"] == "notification"


def test_a_refund_without_created_at_takes_its_processed_at(hub: Hub, oms: Any) -> None:
    shipped_order(hub, oms)
    body = refund(802, [(SKU_1_LINE, 1, "no_restock")]) | {"created_at": None,
                                                           "processed_at": "2026-11-24T09:15:00-05:00"}
    put(hub, "refunds/create", body, shop_id=oms.shop.id)
    drain(hub)
    [kept] = order(hub)["refunds"]
    assert kept["time_source"] == "processed_at" and kept["source_created_at"].startswith("2026-11-24T14:15:00")


_orders = itertools.count(1)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_in_any_arrival_order_with_redeliveries_each_refund_counts_once(hub, data):  # type: ignore[no-untyped-def]
    shop = add_shop(hub)
    order_id = BIG_ID + 100_000 * next(_orders)
    first, second = (refund(order_id + n, [(order_id + 2, 1, "no_restock")]) | {"order_id": order_id}
                     for n in (11, 12))
    with_first = _with_refunds("2026-11-24T10:00:00Z", first, order_id=order_id)
    with_both = _with_refunds("2026-11-24T11:00:00Z", first, second, order_id=order_id,
                              cancelled_at="2026-11-24T11:00:00Z", cancel_reason="customer")
    records = [("refunds/create", first), ("refunds/create", second), ("orders/updated", with_first),
               ("orders/cancelled", with_both)]
    arrivals = data.draw(st.permutations(records + data.draw(st.lists(st.sampled_from(records), max_size=3))))
    put(hub, "orders/create", order_payload(order_id), shop_id=shop.id)
    for n, (topic, body) in enumerate(arrivals):
        put(hub, topic, body, shop_id=shop.id, webhook_id=f"{order_id}-{n}")
    drain(hub)
    with hub.db.read() as conn:
        o = order_queries.get_order(conn, order_queries.require_order_id(conn, str(order_id)))
    assert o["total_refunded"] == "20.00"
    assert sorted(r["shopify_id"] for r in o["refunds"]) == [str(order_id + 11), str(order_id + 12)]
    assert len([e for e in o["timeline"] if e["kind"] == "refunded"]) == 2


def test_a_refund_without_a_currency_is_shown_in_the_order_currency(hub: Hub, oms: Any) -> None:
    """Shopify's "10" with no currency beside it: the order's (EUR) decimals, on the refund, the
    total refunded and the timeline alike."""
    shipped_order(hub, oms)
    body = refund(901, [(SKU_1_LINE, 1, "no_restock")])
    body["transactions"] = [{"kind": "refund", "status": "success", "amount": "10"}]
    put(hub, "refunds/create", body, shop_id=oms.shop.id)
    drain(hub)
    o = order(hub)
    [kept] = o["refunds"]
    [event] = [e for e in o["timeline"] if e["kind"] == "refunded"]
    assert (kept["currency"], kept["amount"], o["total_refunded"], event["detail"]["amount"]) == (
        None, "10.00", "10.00", "10.00")
