"""Order-management jobs: approve waiting orders, run the brokering, cancel what passed its date."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from orderhub.adapters.store.schema import order_units, orders, workflows
from orderhub.clock import utcnow
from orderhub.domain.jobs import Definition
from orderhub.services import approval, fulfilment, placement, routing_run
from orderhub.services.jobs.registry import register

if TYPE_CHECKING:
    from orderhub.adapters.store.shops import Shop
    from orderhub.bootstrap import Hub

BATCH = 500


def approve_orders(hub: Hub, shop: Shop | None, params: dict[str, Any]) -> dict[str, Any]:
    """Placed orders still created (unpaid, held, unknown SKU...): run the approval rules again."""
    approved = checked = 0
    after = 0
    while True:
        with hub.db.write() as conn:
            ids = [r.id for r in conn.execute(
                select(orders.c.id).join(workflows, (workflows.c.order_id == orders.c.id)
                                         & (workflows.c.kind == placement.KIND))
                .where(orders.c.status == "created", workflows.c.status == "completed", orders.c.id > after)
                .order_by(orders.c.id).limit(BATCH))]
            if not ids:
                break
            after = ids[-1]
            checked += len(ids)
            done = approval.approve(conn, ids, actor="job:approve-orders")
            approval.announce_approved(conn, sorted(done))
            approved += len(done)
    return {"checked": checked, "approved": approved}


def broker_orders(hub: Hub, shop: Shop | None, params: dict[str, Any]) -> dict[str, Any]:
    return routing_run.run(hub.db, actor="job:broker-orders")


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
            order = conn.execute(select(orders).where(orders.c.id == order_id)).one()
            units = [u for u in conn.execute(select(order_units).where(order_units.c.id.in_(unit_ids)))
                     if u.status == "approved"]  # brokered meanwhile: keep
            if units:
                fulfilment.transition(conn, order, units, "cancelled",
                                      fulfilment.Ctx("job:auto-cancel", "auto-cancel date passed"), kind="cancelled")
    return {"orders": len(by_order), "units_cancelled": sum(len(v) for v in by_order.values())}


register(Definition("approve-orders", "orders", "Approve orders: run the approval rules again on placed orders "
                    "that are not approved yet (unpaid, held, unknown SKU)", per_shop=False,
                    default_schedule="every-5-minutes"),
         lambda ctx: approve_orders(ctx.hub, ctx.shop, ctx.params))
register(Definition("broker-orders", "brokering", "Create new brokering: run the active routing run on approved "
                    "order units waiting in queues", per_shop=False, default_schedule="every-15-minutes"),
         lambda ctx: broker_orders(ctx.hub, ctx.shop, ctx.params))
register(Definition("auto-cancel", "fulfilment", "Auto cancellations: cancel units never brokered whose "
                    "auto-cancel date has passed", per_shop=False, default_schedule="hourly",
                    min_interval_seconds=3600),
         lambda ctx: auto_cancel(ctx.hub, ctx.shop, ctx.params))
