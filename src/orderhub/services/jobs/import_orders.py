"""The order jobs that poll Shopify: new orders, updates, cancelled orders, cancelled items.

Each polls the Admin GraphQL API for orders created or updated since its own
watermark (minus a buffer, so nothing slips between runs), page by page, and
stores each order version in the inbox under the same identity a webhook of that
version gets. With webhooks and polling both on, each version is stored once; the
inbox processor then does what the version means (a new order is placed, a
cancellation cancels, a lower quantity cancels units).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson

from orderhub.adapters.fields import parse_time
from orderhub.adapters.shopify import graphql_orders
from orderhub.adapters.shopify.graphql import AdminClient, for_shop
from orderhub.adapters.shopify.webhooks import identity
from orderhub.adapters.store import job_store
from orderhub.adapters.store.inbox import InboxEntry
from orderhub.adapters.store.shops import Shop
from orderhub.bootstrap import Hub
from orderhub.domain.jobs import Definition, Param, ParamKind
from orderhub.services import identify
from orderhub.services.jobs.registry import register
from orderhub.services.progress import NOWHERE, Progress

NAME = "import-new-orders"
MAX_COST = 1000


@dataclass(frozen=True)
class Poll:
    """What one polling job asks Shopify for and keeps."""

    job: str
    field: str  # created_at | updated_at: the time its watermark follows
    terms: str = ""  # more of Shopify's search syntax, e.g. status:cancelled
    keep: Callable[[dict[str, Any]], bool] = lambda payload: True


def _reduced_lines(payload: dict[str, Any]) -> bool:
    """An order still open with a line whose quantity went down (items cancelled, not the order)."""
    if payload.get("cancelled_at"):
        return False
    return any((li.get("current_quantity") is not None and li["current_quantity"] < (li.get("quantity") or 0))
               for li in payload.get("line_items") or [])


NEW_ORDERS = Poll(NAME, "created_at")
ORDER_UPDATES = Poll("import-order-updates", "updated_at")
CANCELLED_ORDERS = Poll("import-cancelled-orders", "updated_at", "status:cancelled")
CANCELLED_ITEMS = Poll("import-cancelled-items", "updated_at", keep=_reduced_lines)


def admin_client(shop: Shop) -> AdminClient:
    return for_shop(shop)


def _read_watermark(hub: Hub, shop: Shop, poll: Poll) -> datetime | None:
    with hub.db.read() as conn:
        return job_store.time_watermark(conn, poll.job, shop.id, poll.field)


def _save_watermark(hub: Hub, shop: Shop, poll: Poll, value: datetime) -> None:
    with hub.db.write() as conn:
        job_store.advance_time_watermark(conn, poll.job, shop.id, poll.field, value)


def complete_order(client: AdminClient, node: dict[str, Any]) -> None:
    """Fetch the lines and discount applications beyond the first page, for orders that have many."""
    for field, query in (("lineItems", graphql_orders.MORE_LINES_QUERY),
                         ("discountApplications", graphql_orders.MORE_DISCOUNTS_QUERY)):
        page = node.get(field) or {}
        while (page.get("pageInfo") or {}).get("hasNextPage"):
            data = client.execute(query, {"id": node["id"], "after": page["pageInfo"]["endCursor"]})
            page = data["order"][field]
            node[field]["nodes"].extend(page.get("nodes") or [])


def inbox_entry(shop_id: int, payload: dict[str, Any]) -> InboxEntry:
    """A polled order as an inbox record, with the identity a webhook of the same version gets."""
    return InboxEntry(shop_id=shop_id, source="poll", topic="orders/updated",
                      identity=identity("orders/updated", payload, None), payload=orjson.dumps(payload).decode())


def poll_orders(client: AdminClient, query: str | None) -> Iterator[list[dict[str, Any]]]:
    """Orders matching the search ``query`` (oldest update first), a page at a time, in webhook (REST) shape.

    The first page asks for one order: Shopify reports its cost, and the page size follows from that,
    staying within one bucket's worth. Orders with more lines than a page carries are completed. Stop
    iterating to stop polling.
    """
    first, cursor = 1, None
    expected_cost = 0.0
    while True:
        text = graphql_orders.orders_query(client.version)  # the version that answers, once Shopify has said
        data = client.execute(text, {"first": first, "after": cursor, "query": query}, expected_cost=expected_cost)
        requested_cost = client.last_requested_cost
        connection = data["orders"]
        nodes = connection.get("nodes") or []
        for node in nodes:
            complete_order(client, node)
        yield [graphql_orders.to_rest(node) for node in nodes]
        if requested_cost and nodes:
            per_node = max(1.0, (requested_cost - 2) / first)
            first = max(1, min(250, int((MAX_COST - 2) // per_node)))
            expected_cost = first * per_node + 2
        page_info = connection.get("pageInfo") or {}
        if not page_info.get("hasNextPage"):
            return
        cursor = page_info.get("endCursor")


def since_query(field: str, since: datetime) -> str:
    """The search for orders with ``field`` at or after ``since`` (to the second, rounded down)."""
    return f"{field}:>='{since.astimezone(timezone.utc):%Y-%m-%dT%H:%M:%SZ}'"


def updated_since_query(since: datetime) -> str:
    return since_query("updated_at", since)


def import_new_orders(hub: Hub, shop: Shop | None, params: dict[str, Any], *,
                      client: AdminClient | None = None, poll: Poll = NEW_ORDERS,
                      progress: Progress = NOWHERE) -> dict[str, Any]:
    """Poll the orders ``poll`` asks for into the inbox; returns what it read and stored."""
    assert shop is not None
    if shop.status == "uninstalled":
        raise ValueError(f"shop {shop.domain} uninstalled the app; add it again to resume polling")
    client = client or admin_client(shop)
    overlap = params.get("overlap_seconds")
    overlap = hub.settings.poll_overlap_seconds if overlap is None else int(overlap)
    limit = int(params["limit"]) if params.get("limit") else None
    if params.get("since"):
        given = params["since"]
        since: datetime | None = given if isinstance(given, datetime) else parse_time(str(given), "since")
    else:
        watermark = _read_watermark(hub, shop, poll)
        since = None if watermark is None else watermark - timedelta(seconds=overlap)
    query = " ".join(filter(None, [poll.terms, since_query(poll.field, since) if since else ""])) or None
    stats = {"pages": 0, "fetched": 0, "stored": 0, "duplicates": 0, "skipped": 0,
             "since": since.isoformat() if since else None}
    newest: datetime | None = None
    progress.total(limit, "orders")  # without a limit, Shopify says how many only page by page
    for payloads in poll_orders(client, query):
        for payload in payloads:
            moment = parse_time(payload[poll.field])
            newest = moment if newest is None or moment > newest else newest
        kept = [p for p in payloads if poll.keep(p)]
        entries = [inbox_entry(shop.id, payload) for payload in kept]
        stored = identify.store_polled(hub.db, shop.id, entries)
        stats["pages"] += 1
        stats["fetched"] += len(payloads)
        stats["skipped"] += len(payloads) - len(kept)
        stats["stored"] += sum(stored)
        stats["duplicates"] += len(stored) - sum(stored)
        progress.advance(len(payloads))
        if limit is not None and stats["fetched"] >= limit:
            break
    if newest is not None:
        _save_watermark(hub, shop, poll, newest)
    stats["watermark"] = newest.isoformat() if newest else None
    stats["throttled"] = client.throttled_count
    stats["waited_seconds"] = round(client.waited_seconds, 3)
    stats["read"], stats["processed"] = stats["fetched"], stats["stored"]
    return stats


POLL_PARAMS = (
    Param("since", ParamKind.TIME, "start from this time instead of the watermark"),
    Param("overlap_seconds", ParamKind.INT, "re-read this many seconds before the watermark (buffer time; "
          "default ORDERHUB_POLL_OVERLAP_SECONDS)"),
    Param("limit", ParamKind.INT, "stop after about this many orders"),
)

for _poll, _description in (
    (NEW_ORDERS, "New orders: import orders created in Shopify since the last run (the batch backup of the "
                 "orders/create webhook)"),
    (ORDER_UPDATES, "Update orders: import order updates from Shopify (payments, edits, fulfilments, notes)"),
    (CANCELLED_ORDERS, "Cancelled orders: import orders cancelled in Shopify and cancel them in orderhub"),
    (CANCELLED_ITEMS, "Cancelled items: import orders whose items were cancelled in Shopify (the order stays) "
                      "and cancel those units"),
):
    register(Definition(name=_poll.job, category="orders", description=_description,
                        default_schedule="every-15-minutes", params=POLL_PARAMS),
             lambda ctx, poll=_poll: import_new_orders(ctx.hub, ctx.shop, ctx.params, poll=poll,
                                                       progress=ctx.progress))
