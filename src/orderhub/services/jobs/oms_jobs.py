"""Order-management jobs: approve waiting orders, run the brokering, cancel what passed its date."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from orderhub.adapters.store.schema import order_units, orders, shipments, workflows
from orderhub.clock import utcnow
from orderhub.domain.jobs import Definition, Param, ParamKind
from orderhub.services import approval, fulfilment, placement, routing_run
from orderhub.services.jobs.registry import register
from orderhub.services.progress import NOWHERE, Progress

if TYPE_CHECKING:
    from orderhub.adapters.store.shops import Shop
    from orderhub.bootstrap import Hub

BATCH = 500


def _waiting_for_approval() -> Any:
    """Placed orders (their placement workflow completed) that are still created."""
    return (select(orders.c.id).join(workflows, (workflows.c.order_id == orders.c.id)
                                     & (workflows.c.kind == placement.KIND))
            .where(orders.c.status == "created", workflows.c.status == "completed"))


def approve_orders(hub: Hub, shop: Shop | None, params: dict[str, Any], *,
                   progress: Progress = NOWHERE) -> dict[str, Any]:
    """Placed orders still created (unpaid, held, unknown SKU...): run the approval rules again."""
    approved = checked = 0
    after = 0
    with hub.db.read() as conn:
        progress.total(conn.execute(select(func.count()).select_from(_waiting_for_approval().subquery())
                                    ).scalar_one(), "orders")
    while True:
        with hub.db.write() as conn:
            ids = [r.id for r in conn.execute(
                _waiting_for_approval().where(orders.c.id > after).order_by(orders.c.id).limit(BATCH))]
            if not ids:
                break
            after = ids[-1]
            checked += len(ids)
            done = approval.approve(conn, ids, actor="job:approve-orders")
            approval.announce_approved(conn, sorted(done))
            approved += len(done)
        progress.advance(len(ids))
    return {"checked": checked, "approved": approved}


# The queues "create new brokering" may take orders from (unfillable only when asked to).
BROKERABLE = ("brokering", "preorder_parking", "backorder_parking", "rejected_parking")


def broker_orders(hub: Hub, shop: Shop | None, params: dict[str, Any]) -> dict[str, Any]:
    """Run the active routing run on orders waiting in a queue: all brokerable queues, or the one named,
    and the unfillable ones too when ``include_unfillable`` says so."""
    queue = params.get("queue") or "all"
    if queue != "all" and queue not in BROKERABLE:
        raise ValueError(f"queue {queue!r}: choose all or one of {', '.join(BROKERABLE)}")
    queues = list(BROKERABLE if queue == "all" else (queue,))
    if params.get("include_unfillable"):
        queues.append("unfillable")
    return routing_run.run(hub.db, actor="job:broker-orders", queues=queues) | {"queues": queues}


def broker_rejected(hub: Hub, shop: Shop | None, params: dict[str, Any]) -> dict[str, Any]:
    """Units a facility rejected: brokered again (without that facility, as the rules say)."""
    return routing_run.run(hub.db, actor="job:broker-rejected-orders", queues=["rejected_parking"])


def ship_packed(hub: Hub, shop: Shop | None, params: dict[str, Any]) -> dict[str, Any]:
    """Ship packed shipments that have a tracking number, or whose carrier needs none."""
    untracked = {c.strip().lower() for c in (params.get("carriers_without_tracking") or "").split(",") if c.strip()}
    with hub.db.read() as conn:
        packed = conn.execute(select(shipments).join(orders, orders.c.id == shipments.c.order_id)
                              .where(shipments.c.status == "packed", orders.c.status != "held")
                              .order_by(shipments.c.id)).all()
    shipped = waiting = 0
    for s in packed:
        if not s.tracking_number and (s.carrier or "").lower() not in untracked:
            waiting += 1  # the label is not printed yet
            continue
        with hub.db.write() as conn:
            fulfilment.ship(conn, s.order_id, fulfilment.Ctx("job:ship-packed", "packed with a label"),
                            shipment_id=s.id)
        shipped += 1
    return {"read": len(packed), "processed": shipped, "skipped": waiting}


def auto_cancel(hub: Hub, shop: Shop | None, params: dict[str, Any]) -> dict[str, Any]:
    """Units never brokered whose auto-cancel date has passed are cancelled (reservations released)."""
    with hub.db.read() as conn:
        due = conn.execute(select(order_units.c.order_id, order_units.c.id).where(
            order_units.c.auto_cancel_at <= utcnow(), order_units.c.status == "approved")).all()
    by_order: dict[int, list[int]] = {}
    for r in due:
        by_order.setdefault(r.order_id, []).append(r.id)
    for order_id, unit_ids in sorted(by_order.items()):
        with hub.db.write() as conn:
            units = [u for u in conn.execute(select(order_units).where(order_units.c.id.in_(unit_ids)))
                     if u.status == "approved"]  # brokered meanwhile: keep
            # a unit parked for want of stock is cancelled as out of stock: the channel tells its buyer so
            short = [u for u in units if u.queue == "backorder_parking"]
            for group, why in ((short, "out of stock: auto-cancel date passed"),
                               ([u for u in units if u not in short], "auto-cancel date passed")):
                if group:
                    order = conn.execute(select(orders).where(orders.c.id == order_id)).one()
                    fulfilment.transition(conn, order, group, "cancelled", fulfilment.Ctx("job:auto-cancel", why),
                                          kind="cancelled")
    return {"orders": len(by_order), "units_cancelled": sum(len(v) for v in by_order.values())}


# A routing run reads orders, and brokers or parks their units.
BROKERING_COUNTS = (("read", "orders"), ("processed", "units_brokered"), ("skipped", "units_parked"))

register(Definition("approve-orders", "orders", "Approve orders: run the approval rules again on placed orders "
                    "that are not approved yet (unpaid, held, unknown SKU)", per_shop=False,
                    default_schedule="every-5-minutes", counts=(("read", "checked"), ("processed", "approved"))),
         lambda ctx: approve_orders(ctx.hub, ctx.shop, ctx.params, progress=ctx.progress))
register(Definition("broker-orders", "brokering", "Create new brokering: run the active routing run on approved "
                    "order units waiting in a queue", per_shop=False, default_schedule="every-15-minutes",
                    params=(Param("queue", help="all (default), brokering, preorder_parking, backorder_parking or "
                                  "rejected_parking"),
                            Param("include_unfillable", ParamKind.BOOL, "also retry units parked as unfillable",
                                  default=False)), counts=BROKERING_COUNTS),
         lambda ctx: broker_orders(ctx.hub, ctx.shop, ctx.params))
register(Definition("broker-rejected-orders", "brokering", "Rejected orders brokering: broker again the units "
                    "facilities rejected", per_shop=False, default_schedule="every-15-minutes",
                    counts=BROKERING_COUNTS),
         lambda ctx: broker_rejected(ctx.hub, ctx.shop, ctx.params))
register(Definition("ship-packed", "fulfilment", "Shipping: ship packed orders that have a tracking number (or "
                    "whose carrier needs none)", per_shop=False, default_schedule="every-15-minutes",
                    params=(Param("carriers_without_tracking", help="comma-separated carriers that ship without "
                                  "a tracking number, e.g. pickup,courier"),)),
         lambda ctx: ship_packed(ctx.hub, ctx.shop, ctx.params))
register(Definition("auto-cancel", "fulfilment", "Auto cancellations: cancel units never brokered whose "
                    "auto-cancel date has passed", per_shop=False, default_schedule="hourly",
                    min_interval_seconds=3600, counts=(("read", "orders"), ("processed", "units_cancelled"))),
         lambda ctx: auto_cancel(ctx.hub, ctx.shop, ctx.params))
