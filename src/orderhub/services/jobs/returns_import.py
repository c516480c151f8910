"""Order jobs after placement: returns from Shopify, and cancellations to Shopify.

``import-returns`` polls the orders updated since its watermark (less an overlap), reads
their refunds, and stores each refund made since then in the inbox as a ``refunds/create``
record, in the webhook's shape and under the identity a webhook of that refund gets
(``refund:<id>``). With the ``refunds/create`` webhook on as well, each refund is stored
once; the processor then makes its returns (shipped units restocked where they shipped
from, or a damaged variance when Shopify did not restock) exactly once.

``upload-cancellations`` (when its parameter ``enabled`` is true) cancels in Shopify, with
``orderCancel``, the orders orderhub cancelled whole - by ``auto-cancel`` or by a person -
that Shopify still has open. It asks Shopify first, so an order found cancelled there
(a run that stopped after sending, or a person who cancelled it in Shopify too) is not
cancelled twice, and records each upload on the order's timeline (``cancellation_uploaded``),
which is what later runs skip by. Orders with only some units cancelled are not uploaded:
``orderCancel`` cancels a whole order.

The Admin API queries of both jobs live here: the brief of this change gave orders no
client module of their own besides :mod:`orderhub.adapters.shopify.graphql_orders`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, and_, exists, select

from orderhub.adapters.fields import numeric_id, parse_time
from orderhub.adapters.shopify import order_cancel
from orderhub.adapters.shopify.graphql import AdminClient
from orderhub.adapters.shopify.graphql_products import paged
from orderhub.adapters.shopify.webhooks import identity
from orderhub.adapters.store import job_store, timeline
from orderhub.adapters.store.inbox import InboxEntry
from orderhub.adapters.store.schema import order_events, orders
from orderhub.domain.jobs import Definition, Param, ParamKind
from orderhub.services import identify
from orderhub.services.jobs.context import JobContext
from orderhub.services.jobs.import_orders import admin_client, since_query
from orderhub.services.jobs.registry import register

RETURNS = "import-returns"
CANCELLATIONS = "upload-cancellations"
TOPIC = "refunds/create"
WATERMARK = "updated_at"
UPLOADED = "cancellation_uploaded"  # the timeline kind of an order cancelled in Shopify by this job
LINES_PER_REFUND = 10  # more are fetched with ORDER_REFUNDS_QUERY

_REFUND = """id createdAt note
        refundLineItems(first: %d) {
          pageInfo { hasNextPage }
          nodes { lineItem { id } quantity restockType location { id } subtotalSet { shopMoney { amount } } }
        }
        transactions(first: 5) { nodes { id kind status gateway amountSet { shopMoney { amount currencyCode } } } }"""
REFUNDS_QUERY = """
query OrderRefunds($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes { id updatedAt refunds(first: 20) { %s } }
  }
}
""" % (_REFUND % LINES_PER_REFUND)
ORDER_REFUNDS_QUERY = """
query OneOrderRefunds($id: ID!) { order(id: $id) { id updatedAt refunds { %s } } }
""" % (_REFUND % 250)

ORDER_STATE_QUERY = "query OrderState($id: ID!) { order(id: $id) { id name cancelledAt } }"
CANCEL_REASONS = ("customer", "declined", "fraud", "inventory", "other", "staff")


# -- import-returns -----------------------------------------------------------------------------------

def refund_to_rest(order_id: str, node: dict[str, Any]) -> dict[str, Any]:
    """A GraphQL Refund as the ``refunds/create`` webhook payload (what the processor's translator reads)."""
    def amount(money_set: Any) -> str | None:
        return ((money_set or {}).get("shopMoney") or {}).get("amount")

    return {
        "id": int(numeric_id(node["id"], "refund.id")), "order_id": int(order_id), "created_at": node.get("createdAt"),
        "note": node.get("note"),
        "refund_line_items": [{
            "line_item_id": int(numeric_id(li["lineItem"]["id"], "refund_line_items.line_item.id")),
            "quantity": li.get("quantity"), "restock_type": (li.get("restockType") or "no_restock").lower(),
            "location_id": (int(numeric_id(li["location"]["id"], "refund_line_items.location.id"))
                            if li.get("location") else None),
            "subtotal": amount(li.get("subtotalSet")),
        } for li in (node.get("refundLineItems") or {}).get("nodes") or []],
        "transactions": [{
            "id": int(numeric_id(t["id"], "transactions.id")), "kind": (t.get("kind") or "").lower(),
            "status": (t.get("status") or "").lower(), "gateway": t.get("gateway"),
            "amount": amount(t.get("amountSet")),
            "currency": ((t.get("amountSet") or {}).get("shopMoney") or {}).get("currencyCode"),
        } for t in (node.get("transactions") or {}).get("nodes") or []],
    }


def _complete(client: AdminClient, order: dict[str, Any]) -> list[dict[str, Any]]:
    """The order's refunds, all their lines included (read again when a refund has more than a page)."""
    refunds = order.get("refunds") or []
    if any(((r.get("refundLineItems") or {}).get("pageInfo") or {}).get("hasNextPage") for r in refunds):
        refunds = ((client.execute(ORDER_REFUNDS_QUERY, {"id": order["id"]}) or {}).get("order") or {}).get(
            "refunds") or []
    return refunds


def import_returns(ctx: JobContext) -> dict[str, Any]:
    """Store the refunds made since the watermark in the inbox, as their webhooks would."""
    shop = ctx.shop
    assert shop is not None
    if shop.status == "uninstalled":
        raise ValueError(f"shop {shop.domain} uninstalled the app; add it again to resume importing returns")
    since: datetime | None = ctx.params.get("since")
    if since is None:
        with ctx.hub.db.read() as conn:
            mark = job_store.time_watermark(conn, RETURNS, shop.id, WATERMARK)
        overlap = ctx.params.get("overlap_seconds")
        overlap = ctx.hub.settings.poll_overlap_seconds if overlap is None else overlap
        since = None if mark is None else mark - timedelta(seconds=overlap)
    client = admin_client(shop)
    stats = {"since": since.isoformat() if since else None, "orders": 0, "refunds": 0, "stored": 0, "duplicates": 0}
    newest: datetime | None = None
    query = since_query("updated_at", since) if since else None
    for nodes in paged(client, REFUNDS_QUERY, {"query": query}, "orders"):
        ctx.check()
        entries = []
        for order in nodes:
            order_id = numeric_id(order["id"], "order.id")
            updated = parse_time(order["updatedAt"], f"order {order_id} updatedAt")
            newest = updated if newest is None or updated > newest else newest
            for node in _complete(client, order):
                created = node.get("createdAt")
                if since is not None and created and parse_time(created, "refund createdAt") < since:
                    continue  # stored by an earlier run
                payload = refund_to_rest(order_id, node)
                entries.append(InboxEntry(shop_id=shop.id, source="poll", topic=TOPIC,
                                          identity=identity(TOPIC, payload, None),
                                          payload=orjson.dumps(payload).decode()))
        stored = identify.store_polled(ctx.hub.db, shop.id, entries)
        stats["orders"] += len(nodes)
        stats["refunds"] += len(entries)
        stats["stored"] += sum(stored)
        stats["duplicates"] += len(stored) - sum(stored)
        ctx.count(read=len(entries), processed=sum(stored), skipped=len(stored) - sum(stored))
    if newest is not None:
        with ctx.hub.db.write() as conn:
            job_store.advance_time_watermark(conn, RETURNS, shop.id, WATERMARK, newest)
    stats["watermark"] = newest.isoformat() if newest else None
    stats["throttled"], stats["waited_seconds"] = client.throttled_count, round(client.waited_seconds, 3)
    return stats


# -- upload-cancellations -----------------------------------------------------------------------------

def _to_upload(conn: Connection, shop_id: int, limit: int) -> list[Any]:
    """Orders cancelled whole in orderhub, open in Shopify as orderhub last heard, not uploaded yet."""
    uploaded = exists().where(and_(order_events.c.shop_id == orders.c.shop_id,
                                   order_events.c.order_shopify_id == orders.c.shopify_id,
                                   order_events.c.kind == UPLOADED))
    return conn.execute(select(orders.c.id, orders.c.shopify_id, orders.c.name).where(
        orders.c.shop_id == shop_id, orders.c.status == "cancelled", orders.c.source_status == "open", ~uploaded)
        .order_by(orders.c.id).limit(limit)).all()


def _cancelled_by(conn: Connection, shop_id: int, shopify_id_: str) -> tuple[str | None, str | None]:
    """Who cancelled the order in orderhub, and why (its latest ``cancelled`` timeline entry)."""
    row = conn.execute(select(order_events.c.actor, order_events.c.detail).where(
        order_events.c.shop_id == shop_id, order_events.c.order_shopify_id == shopify_id_,
        order_events.c.kind == "cancelled").order_by(order_events.c.id.desc()).limit(1)).first()
    if row is None:
        return None, None
    return row.actor, (orjson.loads(row.detail) or {}).get("reason")


def _record(ctx: JobContext, order_id: int, detail: dict[str, Any]) -> None:
    with ctx.hub.db.write() as conn:
        timeline.add(conn, [timeline.Entry(order_id, UPLOADED, detail, f"job:{CANCELLATIONS}")])


def upload_cancellations(ctx: JobContext) -> dict[str, Any]:
    """Cancel in Shopify, once each, the orders orderhub cancelled that Shopify has open."""
    shop, params = ctx.shop, ctx.params
    assert shop is not None
    if not params["enabled"]:
        ctx.log("upload of cancelled orders is not enabled: run with enabled=true (or schedule it so)")
        return {"enabled": False, "uploaded": 0}
    reason = str(params["reason"]).lower()
    if reason not in CANCEL_REASONS:
        raise ValueError(f"job {CANCELLATIONS}: reason must be one of {', '.join(CANCEL_REASONS)} (got {reason!r})")
    with ctx.hub.db.read() as conn:
        due = _to_upload(conn, shop.id, int(params["limit"]))
        who = {r.shopify_id: _cancelled_by(conn, shop.id, r.shopify_id) for r in due}
    client = admin_client(shop)
    uploaded = already = 0
    for row in due:
        ctx.check()
        label = f"order {row.name or ''} (Shopify id {row.shopify_id}, orderhub id {row.id})".replace("  ", " ")
        gid = f"gid://shopify/Order/{row.shopify_id}"
        current = (client.execute(ORDER_STATE_QUERY, {"id": gid}) or {}).get("order")
        if current is None:
            ctx.failed_record({"order_id": row.id, "shopify_id": row.shopify_id},
                              f"{label}: Shopify has no such order; it cannot be cancelled there")
            continue
        actor, why = who[row.shopify_id]
        if current.get("cancelledAt"):
            _record(ctx, row.id, {"sent": False, "cancelled_in_shopify_at": current["cancelledAt"]})
            already += 1
            ctx.count(read=1, skipped=1)
            continue
        note = f"Cancelled in orderhub by {actor or 'orderhub'}" + (f": {why}" if why else "")
        result = order_cancel.cancel(client, gid, reason=reason, refund=params["refund"], restock=params["restock"],
                                     notify=params["notify_customer"], note=note[:255])
        errors = result.get("orderCancelUserErrors") or []
        if errors:
            ctx.failed_record({"order_id": row.id, "shopify_id": row.shopify_id, "errors": errors},
                              f"{label}: Shopify refused orderCancel: "
                              + "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors))
            continue
        _record(ctx, row.id, {"sent": True, "job": (result.get("job") or {}).get("id"), "reason": reason,
                              "refund": params["refund"], "restock": params["restock"], "cancelled_by": actor})
        uploaded += 1
        ctx.count(read=1, processed=1)
    ctx.log(f"{uploaded} cancellation(s) uploaded, {already} already cancelled in Shopify")
    return {"enabled": True, "candidates": len(due), "uploaded": uploaded, "already_cancelled": already}


register(Definition(
    RETURNS, "orders", "Returns: check Shopify for orders that have been returned (refunded) and create the "
    "returns in orderhub; returned units are restocked, or logged as a damaged variance when not restocked",
    params=(Param("since", ParamKind.TIME, "read orders updated since this time instead of the watermark"),
            Param("overlap_seconds", ParamKind.INT, "re-read this many seconds before the watermark (default "
                  "ORDERHUB_POLL_OVERLAP_SECONDS)")),
    default_schedule="every-15-minutes"),
    import_returns)
register(Definition(
    CANCELLATIONS, "fulfilment", "Auto cancellations: cancel in Shopify the orders orderhub cancelled (after their "
    "auto-cancel date, or by a person) that Shopify still has open, when upload for cancelled orders is enabled",
    params=(Param("enabled", ParamKind.BOOL, "upload cancelled orders to Shopify", default=False),
            Param("reason", help="the cancel reason Shopify records: " + ", ".join(CANCEL_REASONS),
                  default="inventory"),
            Param("refund", ParamKind.BOOL, "refund what the customer paid", default=True),
            Param("restock", ParamKind.BOOL, "restock the inventory Shopify committed to the order", default=True),
            Param("notify_customer", ParamKind.BOOL, "let Shopify e-mail the customer", default=False),
            Param("limit", ParamKind.INT, "orders per run", default=500)),
    default_schedule="every-15-minutes"),
    upload_cancellations)
