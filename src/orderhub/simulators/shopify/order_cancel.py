"""``orderCancel`` and ``job(id:)``: cancelling an order as a job, as Shopify's Admin API does.

``orderCancel(orderId, reason, refundMethod | refund, restock, notifyCustomer, staffNote)`` answers with
a ``job`` (``done: false``) and ``orderCancelUserErrors`` (code NOT_FOUND for an order the
shop does not have, INVALID for one already cancelled), plus the deprecated
``userErrors``. The simulator does the job's work at once: the order is cancelled (and,
with ``refund``, refunded first) and its webhooks go out; ``job(id:)`` then reports
``done: true``. ``refundMethod: {originalPaymentMethodsRefund}`` (from 2025-07) says whether
to refund; the deprecated ``refund`` says so before it. The simulator refunds to the original
payment methods only: a store-credit refund is refused.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

from orderhub.simulators.shopify.actions import ActionError, cancel_order
from orderhub.simulators.shopify.resolvers import RequestContext, parse_gid
from orderhub.simulators.shopify.store import gid


def _errors(code: str, field: list[str], message: str) -> dict[str, Any]:
    return {"job": None, "orderCancelUserErrors": [{"code": code, "field": field, "message": message}],
            "userErrors": [{"field": field, "message": message}]}


def _job(job_id: int, done: bool) -> dict[str, Any]:
    return {"__typename": "Job", "id": gid("Job", job_id), "done": done, "query": lambda info: info.root_value}


def _order_cancel(info: GraphQLResolveInfo, orderId: str, reason: str, restock: bool, refund: bool | None = None,
                  notifyCustomer: bool | None = False, staffNote: str | None = None,
                  refundMethod: dict[str, Any] | None = None) -> dict[str, Any]:
    ctx: RequestContext = info.context
    order_id = parse_gid(orderId, "Order")
    if refundMethod is not None:
        if refundMethod.get("storeCreditRefund") is not None:
            return _errors("INVALID", ["refundMethod", "storeCreditRefund"],
                           "The simulator refunds to the original payment methods only")
        refund = bool(refundMethod.get("originalPaymentMethodsRefund"))
    with ctx.store.lock:
        order = ctx.shop.orders.get(order_id)
        if order is None:
            return _errors("NOT_FOUND", ["orderId"], "Order does not exist")
        if order.get("cancelled_at"):
            return _errors("INVALID", ["orderId"], f"Order {order['name']} has already been cancelled")
        try:
            events = cancel_order(ctx.store, ctx.shop, order, reason=reason.lower(), refund=bool(refund),
                                  restock=restock, staff_note=staffNote)
        except ActionError as exc:
            return _errors("INVALID", ["orderId"], str(exc))
        job_id = ctx.store.next_id("job")
        ctx.shop.jobs[job_id] = True
    if ctx.emit is None:
        raise GraphQLError("this simulator cannot send webhooks")
    ctx.emit(ctx.shop, events)
    return {"job": _job(job_id, False), "orderCancelUserErrors": [], "userErrors": []}


def _job_root(info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:
    ctx: RequestContext = info.context
    job_id = parse_gid(id, "Job")
    with ctx.store.lock:
        done = ctx.shop.jobs.get(job_id)
    return None if done is None else _job(job_id, done)


ORDER_CANCEL_ROOT: dict[str, Any] = {"orderCancel": _order_cancel, "job": _job_root}
