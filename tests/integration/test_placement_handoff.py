"""Placement hands rows from step to step: what changed in between (another transaction cancelling or holding
the order) is never overwritten, and each step reads the order's units once per batch, not again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event, select

from orderhub.adapters.store.schema import order_units
from orderhub.bootstrap import Hub
from orderhub.domain.inventory import Position
from orderhub.services import fulfilment
from orderhub.services.workflow import Flow
from tests.oms_support import events, ingest, order, place, position
from tests.support import BIG_ID


def _between(step: str, change: Callable[[Any, int], None]) -> Callable[[str, Flow], str | None]:
    """A fault hook that makes ``change`` in its own transaction just before ``step`` runs, once."""
    done: list[int] = []

    def hook(name: str, flow: Flow) -> str | None:
        if name == step and not done:
            done.append(flow.order_id)
            change(flow.order_id, flow.order_id)
        return None

    return hook


def test_a_line_cancelled_between_validating_and_reserving_is_not_reserved(hub: Hub, oms: Any) -> None:
    ingest(hub, oms)

    def cancel_sku_2(order_id: int, _: int) -> None:
        with hub.db.write() as conn:
            item = conn.execute(select(order_units.c.item_id).where(order_units.c.sku == "SKU-2")).scalar_one()
            fulfilment.cancel(conn, order_id, fulfilment.Ctx("support", "customer changed their mind"),
                              item_id=item)

    # Validate and reserve share a transaction: a change between them is made where each has its own (after a
    # crash, or when the batch went on step by step).
    place(hub, fault=_between("reserve", cancel_sku_2), together=False)
    o = order(hub)
    assert o["status"] == "brokered"
    assert sorted((u["sku"], u["status"]) for u in o["units"]) == [
        ("SKU-1", "brokered"), ("SKU-1", "brokered"), ("SKU-2", "cancelled")]
    assert position(hub, "SKU-1", oms.wh1) == Position(5, 2, 0)
    assert position(hub, "SKU-2", oms.wh1) == Position(5, 0, 0)  # the cancelled unit took no stock


def test_an_order_held_between_reserving_and_recording_stays_held(hub: Hub, oms: Any) -> None:
    ingest(hub, oms)

    def hold(order_id: int, _: int) -> None:
        with hub.db.write() as conn:
            fulfilment.hold(conn, order_id, fulfilment.Ctx("support", "address to check"))

    place(hub, fault=_between("authorise_payment", hold), together=False)  # paid by the channel: one transaction
    o = order(hub)
    assert o["status"] == "held"  # not approved over the hold
    assert "approved" not in [t["kind"] for t in o["timeline"]]


def test_an_order_cancelled_before_it_is_announced_is_announced_as_it_is(hub: Hub, oms: Any) -> None:
    ingest(hub, oms)

    def cancel(order_id: int, _: int) -> None:
        with hub.db.write() as conn:
            fulfilment.cancel(conn, order_id, fulfilment.Ctx("support", "fraud"))

    place(hub, fault=_between("finalise", cancel), together=False)  # record and finalise share a transaction
    o = order(hub)
    assert o["status"] == "cancelled"
    placed = [p for e, p in events(hub) if e == "order.placed"]
    assert [p["status"] for p in placed] == ["cancelled"]
    assert {u["status"] for u in placed[0]["units"]} == {"cancelled"}


def test_each_step_reads_the_units_once_per_batch_and_records_progress_once_per_transaction(hub: Hub,
                                                                                              oms: Any) -> None:
    ids = [BIG_ID + 100, BIG_ID + 200]  # two orders, 3 units each: the stock covers both
    for shopify_id in ids:
        ingest(hub, oms, order_id=shopify_id)
    seen: list[tuple[str, bool]] = []

    def listen(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        seen.append((" ".join(statement.split()), executemany))

    event.listen(hub.db.engine, "before_cursor_execute", listen)
    try:
        place(hub)
    finally:
        event.remove(hub.db.engine, "before_cursor_execute", listen)
    assert [order(hub, shopify_id)["status"] for shopify_id in ids] == ["brokered", "brokered"]
    unit_reads = [s for s, _ in seen if s.startswith("SELECT") and "FROM order_units" in s]
    assert len(unit_reads) == 1  # validate reads them; the later steps are handed them
    # Paid by the channel, the batch's steps commit in one transaction, which writes the flows' progress and
    # step log in one statement each for the whole batch (the claim aside).
    progress = [s for s, many in seen if s.startswith("UPDATE workflows SET updated_at") and not many]
    assert len(progress) == 1
    assert len([s for s, _ in seen if s.startswith("INSERT INTO workflow_steps")]) == 1
    assert not [s for s, many in seen if s.startswith("UPDATE workflows") and many]
