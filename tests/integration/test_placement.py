"""Orders entering the OMS: placement with compensation, events only after commit, approval, brokering."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from orderhub.adapters.store import inventory_store
from orderhub.adapters.store.schema import workflows
from orderhub.bootstrap import Hub
from orderhub.domain.inventory import LedgerReason, Position
from orderhub.services import routing_run
from tests.oms_support import events, ingest, order, place, position

STEPS = ["validate", "reserve", "authorise_payment", "record", "finalise"]


def test_a_paid_order_is_placed_approved_and_brokered_with_its_stock_reserved(hub: Hub, oms: Any) -> None:
    ingest(hub, oms)
    assert order(hub)["status"] == "created" and events(hub) == []  # nothing said before placement ends
    place(hub)
    o = order(hub)
    assert (o["status"], o["payment_status"], o["fulfillment_status"]) == ("brokered", "paid", "unfulfilled")
    assert [(u["sku"], u["status"], u["facility"]) for u in o["units"]] == [
        ("SKU-1", "brokered", "WH-BER"), ("SKU-1", "brokered", "WH-BER"), ("SKU-2", "brokered", "WH-BER")]
    assert position(hub, "SKU-1", oms.wh1) == Position(5, 2, 0)
    assert position(hub, "SKU-2", oms.wh1) == Position(5, 1, 0)
    assert [e for e, _ in events(hub)] == ["order.created", "order.approved", "order.brokered", "order.placed"]
    # Channels hear of the ATP the reservation took, per SKU and facility.
    changed = [(p["sku"], p["facility"], p["reason"], p["atp_before"], p["atp"])
               for _, p in events(hub, "inventory.")]
    assert changed[-2:] == [("SKU-1", "WH-BER", "reserved", 5, 3), ("SKU-2", "WH-BER", "reserved", 5, 4)]
    kinds = [t["kind"] for t in o["timeline"]]
    assert kinds[-3:] == ["brokering", "approved", "placed"]
    brokering = next(t for t in o["timeline"] if t["kind"] == "brokering")
    assert brokering["actor"] == "placement" and brokering["detail"]["explanation"]


@pytest.mark.parametrize("step", STEPS)
def test_a_failure_at_any_step_compensates_and_leaks_no_event(hub: Hub, oms: Any, step: str) -> None:
    ingest(hub, oms)
    place(hub, fault=lambda name, flow: f"injected failure in {name}" if name == step else None)
    o = order(hub)
    assert o["status"] == "rejected"
    assert o["status_reason"] == f"injected failure in {step}"
    assert {u["status"] for u in o["units"]} == {"rejected"}
    assert position(hub, "SKU-1", oms.wh1) == Position(5, 0, 0)  # any reservation was released
    assert position(hub, "SKU-2", oms.wh1) == Position(5, 0, 0)
    assert [e for e, _ in events(hub)] == []
    if STEPS.index(step) > STEPS.index("reserve"):  # the stock taken and given back, both said
        assert [p["reason"] for _, p in events(hub, "inventory.")][-4:] == ["reserved"] * 2 + ["released"] * 2
    assert o["timeline"][-1]["kind"] == "rejected"
    with hub.db.read() as conn:
        assert conn.execute(select(workflows.c.status)).scalar_one() == "compensated"


def test_an_unpaid_order_waits_for_its_payment_then_goes_through(hub: Hub, oms: Any) -> None:
    ingest(hub, oms, financial_status="pending")
    place(hub)
    o = order(hub)
    assert o["status"] == "created" and o["payment_status"] == "pending"
    assert position(hub, "SKU-1", oms.wh1).reserved == 2  # the stock stays held while it waits
    with hub.db.read() as conn:
        wf = conn.execute(select(workflows)).one()
    assert wf.status == "running" and "waiting for payment" in wf.error
    ingest(hub, oms, "orders/paid", financial_status="paid", updated_at="2026-11-23T11:00:00-05:00")
    place(hub)
    assert order(hub)["status"] == "brokered"
    assert [e for e, _ in events(hub)][-1] == "order.placed"


def test_an_order_beyond_stock_is_approved_and_parked_then_brokered_when_stock_arrives(hub: Hub, oms: Any) -> None:
    with hub.db.write() as conn:
        inventory_store.set_on_hand(conn, "SKU-1", oms.wh1, 1, reason=LedgerReason.CYCLE_COUNT, actor="test")
    ingest(hub, oms)
    place(hub)
    o = order(hub)
    assert o["status"] == "approved"
    parked = [u for u in o["units"] if u["status"] == "approved"]
    assert parked and all(u["queue"] == "backorder_parking" for u in parked)
    assert "order.brokered" not in [e for e, _ in events(hub)]
    with hub.db.write() as conn:
        inventory_store.set_on_hand(conn, "SKU-1", oms.wh2, 3, reason=LedgerReason.RECEIVED, actor="test")
    summary = routing_run.run(hub.db, actor="test")
    assert summary["units_brokered"] == len(parked)
    o = order(hub)
    assert o["status"] == "brokered"
    assert {u["facility"] for u in o["units"]} == {"WH-BER", "WH-MUC"}
    assert [e for e, _ in events(hub)][-1] == "order.brokered"


def test_a_cancellation_in_shopify_cancels_and_releases_the_reservations(hub: Hub, oms: Any) -> None:
    ingest(hub, oms)
    place(hub)
    ingest(hub, oms, "orders/cancelled", updated_at="2026-11-23T12:00:00-05:00",
           cancelled_at="2026-11-23T12:00:00-05:00", cancel_reason="customer")
    o = order(hub)
    assert o["status"] == "cancelled"
    assert {u["status"] for u in o["units"]} == {"cancelled"}
    assert position(hub, "SKU-1", oms.wh1) == Position(5, 0, 0)
    assert [e for e, _ in events(hub)][-1] == "order.cancelled"
    assert o["timeline"][-1]["actor"] == "shopify"


# -- orders whose payment orderhub takes through the gateway ---------------------------------------------

@pytest.fixture(scope="module")
def gateway() -> Iterator[Any]:
    from orderhub.simulators.payments.server import start_in_thread

    sim, url, stop = start_in_thread("sk_test_orders", magic_amounts=True)
    yield type("Gw", (), {"sim": sim, "url": url})
    stop()


@pytest.fixture
def paying_hub(hub: Hub, gateway: Any) -> Hub:
    import dataclasses

    gateway.sim.reset()
    hub.settings = dataclasses.replace(hub.settings, payment_gateway_url=gateway.url,
                                       payment_gateway_key="sk_test_orders")
    return hub


def test_an_unpaid_order_is_authorised_at_the_gateway(paying_hub: Hub, oms: Any, gateway: Any) -> None:
    ingest(paying_hub, oms, financial_status="pending")
    place(paying_hub)
    o = order(paying_hub)
    assert (o["status"], o["payment_status"]) == ("brokered", "authorized")
    [payment] = o["payments"]
    [auth] = gateway.sim.authorizations()
    assert payment["reference"] == auth["id"]
    assert Decimal(payment["amount"]) == Decimal("38.20") == Decimal(auth["amount"])
    assert auth["reference"] == o["name"]


def test_a_declined_card_rejects_the_order_and_releases_its_stock(paying_hub: Hub, oms: Any, gateway: Any) -> None:
    # A total ending in .51 is declined by the gateway: shipping of 5.31 makes it 38.51.
    ingest(paying_hub, oms, financial_status="pending",
           shipping_lines=[{"id": 1, "title": "DHL", "code": "dhl", "price": "5.31", "discounted_price": "5.31"}])
    place(paying_hub)
    o = order(paying_hub)
    assert o["status"] == "rejected" and "declined" in o["status_reason"]
    assert "insufficient_funds" in o["status_reason"]
    assert position(paying_hub, "SKU-1", oms.wh1) == Position(5, 0, 0)
    assert [e for e, _ in events(paying_hub) if e.startswith("order.")] == []


def test_a_failure_after_authorisation_voids_it_at_the_gateway(paying_hub: Hub, oms: Any, gateway: Any) -> None:
    ingest(paying_hub, oms, financial_status="pending")
    place(paying_hub, fault=lambda name, flow: "ERP recording failed" if name == "finalise" else None)
    o = order(paying_hub)
    assert o["status"] == "rejected" and o["payment_status"] == "voided"
    assert [a["status"] for a in gateway.sim.authorizations()] == ["voided"]
    assert o["payments"][0]["status"] == "voided"


def test_an_order_held_while_its_payment_is_authorised_stays_held(paying_hub: Hub, oms: Any, gateway: Any) -> None:
    """The gateway is called between two transactions of the batch; a hold committed meanwhile is not approved
    over: the step finds the order changed and runs again on what it reads afresh."""
    from orderhub.services import fulfilment

    def hold_first(name: str, flow: Any) -> None:
        if name == "authorise_payment" and not held:
            held.append(flow.order_id)
            with paying_hub.db.write() as conn:
                fulfilment.hold(conn, flow.order_id, fulfilment.Ctx("support", "address to check"))

    held: list[int] = []
    ingest(paying_hub, oms, financial_status="pending")
    place(paying_hub, fault=hold_first)
    o = order(paying_hub)
    assert held and (o["status"], o["payment_status"]) == ("held", "authorized")
    assert "approved" not in [t["kind"] for t in o["timeline"]]
    assert len(gateway.sim.authorizations()) == 1  # authorised again on the rerun: the same authorisation
    assert position(paying_hub, "SKU-1", oms.wh1).reserved == 2


def test_a_gateway_that_does_not_answer_makes_the_order_wait_not_fail(paying_hub: Hub, oms: Any,
                                                                      gateway: Any) -> None:
    from orderhub.simulators.payments.rules import parse_rule

    gateway.sim.add_rule(parse_rule({"match": {"any": True}, "outcome": "error", "status": 503}))
    ingest(paying_hub, oms, financial_status="pending")
    place(paying_hub)
    assert order(paying_hub)["status"] == "created"
    with paying_hub.db.read() as conn:
        wf = conn.execute(select(workflows)).one()
    assert wf.status == "running" and "unavailable" in wf.error
    assert gateway.sim.authorizations() == []


def test_the_approve_job_approves_a_placed_order_once_its_rules_pass(hub: Hub, oms: Any) -> None:
    from orderhub.services import fulfilment
    from orderhub.services.jobs.oms_jobs import approve_orders

    ingest(hub, oms)
    with hub.db.write() as conn:  # held before placement: placed, but not approved
        fulfilment.hold(conn, int(order(hub)["id"]), fulfilment.Ctx("fraud-check", "check the address"))
    place(hub)
    assert order(hub)["status"] == "held"
    assert approve_orders(hub, None, {}) == {"checked": 0, "approved": 0}  # held: not created
    with hub.db.write() as conn:
        fulfilment.release(conn, int(order(hub)["id"]), fulfilment.Ctx("fraud-check", "address confirmed"))
    assert approve_orders(hub, None, {}) == {"checked": 1, "approved": 1}
    assert order(hub)["status"] == "brokered"
    assert [e for e, _ in events(hub)][-2:] == ["order.approved", "order.brokered"]


def test_units_parked_with_an_auto_cancel_date_are_cancelled_when_it_passes(hub: Hub, oms: Any) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from orderhub.adapters.store import routing_store
    from orderhub.adapters.store.schema import order_units
    from orderhub.clock import utcnow
    from orderhub.services.jobs.oms_jobs import auto_cancel

    with hub.db.write() as conn:
        routing_store.save_run(conn, {"name": "strict ⏱", "routings": [{
            "name": "all", "filters": {"queues": ["brokering"]},
            "rules": [{"name": "whole or park", "split": "none",
                       "action": {"kind": "queue", "queue": "backorder_parking", "auto_cancel_days": 7}}]}]})
        inventory_store.set_on_hand(conn, "SKU-2", oms.wh1, 0, reason=LedgerReason.CYCLE_COUNT, actor="test")
    ingest(hub, oms)
    place(hub)
    units = order(hub)["units"]
    assert {u["queue"] for u in units} == {"backorder_parking"}
    with hub.db.write() as conn:
        dates = {r.auto_cancel_at for r in conn.execute(order_units.select())}
        assert len(dates) == 1 and next(iter(dates)) > utcnow() + timedelta(days=6)
        assert auto_cancel(hub, None, {})["units_cancelled"] == 0
        conn.execute(update(order_units).values(auto_cancel_at=utcnow() - timedelta(minutes=1)))
    assert auto_cancel(hub, None, {}) == {"orders": 1, "units_cancelled": 3}
    o = order(hub)
    assert o["status"] == "cancelled" and o["timeline"][-1]["actor"] == "job:auto-cancel"


def test_lines_removed_or_reduced_in_shopify_cancel_their_units_and_release_stock(hub: Hub, oms: Any) -> None:
    from tests.support import BIG_ID, order_payload

    ingest(hub, oms)
    place(hub)
    first = order_payload()["line_items"][0]
    ingest(hub, oms, "orders/updated", updated_at="2026-11-23T12:00:00-05:00",
           line_items=[dict(first, current_quantity=1)])  # SKU-2's line gone, SKU-1 down to 1
    o = order(hub, BIG_ID)
    assert sorted((u["sku"], u["status"]) for u in o["units"]) == [
        ("SKU-1", "brokered"), ("SKU-1", "cancelled"), ("SKU-2", "cancelled")]
    assert position(hub, "SKU-1", oms.wh1) == Position(5, 1, 0)
    assert position(hub, "SKU-2", oms.wh1) == Position(5, 0, 0)
    assert o["status"] == "brokered"
    assert any(t["detail"].get("reason") == "quantity reduced in Shopify" for t in o["timeline"])
