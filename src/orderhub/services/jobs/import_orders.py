"""Job ``import-new-orders``: the batch backup of the orders webhooks.

Polls the Admin GraphQL API for orders updated since the last watermark (minus
an overlap window, so nothing slips between runs), page by page, and stores each
order version in the inbox under the same identity a webhook of that version
gets. With webhooks and polling both on, each version is stored once.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson
from sqlalchemy import select

from orderhub.adapters.shopify import graphql_orders
from orderhub.adapters.shopify.fields import parse_time
from orderhub.adapters.shopify.graphql import AdminClient
from orderhub.adapters.shopify.webhooks import identity
from orderhub.adapters.store.db import upsert
from orderhub.adapters.store.inbox import InboxEntry, insert_entries
from orderhub.adapters.store.schema import job_state
from orderhub.adapters.store.shops import Shop
from orderhub.bootstrap import Hub
from orderhub.domain.jobs import Definition, Param, ParamKind
from orderhub.services.jobs.registry import register

NAME = "import-new-orders"
WATERMARK = "updated_at"
MAX_COST = 1000


def graphql_endpoint(shop: Shop) -> str:
    base = (shop.admin_url or f"https://{shop.domain}").rstrip("/")
    return f"{base}/admin/api/{shop.api_version}/graphql.json"


def admin_client(shop: Shop) -> AdminClient:
    if not shop.access_token:
        raise ValueError(f"shop {shop.domain} has no access token; add one with "
                         f"`orderhub shop add {shop.domain} --secret ... --access-token ...`")
    return AdminClient(graphql_endpoint(shop), shop.access_token)


def _read_watermark(hub: Hub, shop: Shop) -> datetime | None:
    with hub.db.read() as conn:
        value = conn.execute(select(job_state.c.value).where(
            job_state.c.job == NAME, job_state.c.shop_id == shop.id, job_state.c.key == WATERMARK)).scalar()
    return None if value is None else parse_time(value)


def _later_watermark(excluded: Any) -> Any:
    return job_state.c.value < excluded.value  # ISO UTC text sorts as time


def _save_watermark(hub: Hub, shop: Shop, value: datetime) -> None:
    with hub.db.write() as conn:
        upsert(conn, job_state, dict(job=NAME, shop_id=shop.id, key=WATERMARK, value=value.isoformat()),
               keys=("job", "shop_id", "key"), update=("value",),
               where=_later_watermark)


def complete_lines(client: AdminClient, node: dict[str, Any]) -> None:
    """Fetch the lines beyond the first page for orders that have many."""
    page = node.get("lineItems") or {}
    while (page.get("pageInfo") or {}).get("hasNextPage"):
        data = client.execute(graphql_orders.MORE_LINES_QUERY,
                              {"id": node["id"], "after": page["pageInfo"]["endCursor"]})
        page = data["order"]["lineItems"]
        node["lineItems"]["nodes"].extend(page.get("nodes") or [])


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
        data = client.execute(graphql_orders.ORDERS_QUERY, {"first": first, "after": cursor, "query": query},
                              expected_cost=expected_cost)
        requested_cost = client.last_requested_cost
        connection = data["orders"]
        nodes = connection.get("nodes") or []
        for node in nodes:
            complete_lines(client, node)
        yield [graphql_orders.to_rest(node) for node in nodes]
        if requested_cost and nodes:
            per_node = max(1.0, (requested_cost - 2) / first)
            first = max(1, min(250, int((MAX_COST - 2) // per_node)))
            expected_cost = first * per_node + 2
        page_info = connection.get("pageInfo") or {}
        if not page_info.get("hasNextPage"):
            return
        cursor = page_info.get("endCursor")


def updated_since_query(since: datetime) -> str:
    """The search for orders updated at or after ``since`` (to the second, rounded down)."""
    return f"updated_at:>='{since.astimezone(timezone.utc):%Y-%m-%dT%H:%M:%SZ}'"


def import_new_orders(hub: Hub, shop: Shop | None, params: dict[str, Any], *,
                      client: AdminClient | None = None) -> dict[str, Any]:
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
        watermark = _read_watermark(hub, shop)
        since = None if watermark is None else watermark - timedelta(seconds=overlap)
    query = None if since is None else updated_since_query(since)
    stats = {"pages": 0, "fetched": 0, "stored": 0, "duplicates": 0, "since": since.isoformat() if since else None}
    newest: datetime | None = None
    for payloads in poll_orders(client, query):
        entries = [inbox_entry(shop.id, payload) for payload in payloads]
        for payload in payloads:
            updated = parse_time(payload["updated_at"])
            newest = updated if newest is None or updated > newest else newest
        stored = insert_entries(hub.db, entries) if entries else []
        stats["pages"] += 1
        stats["fetched"] += len(entries)
        stats["stored"] += sum(stored)
        stats["duplicates"] += len(stored) - sum(stored)
        if limit is not None and stats["fetched"] >= limit:
            break
    if newest is not None:
        _save_watermark(hub, shop, newest)
    stats["watermark"] = newest.isoformat() if newest else None
    stats["throttled"] = client.throttled_count
    stats["waited_seconds"] = round(client.waited_seconds, 3)
    return stats


register(Definition(
    name=NAME, category="orders",
    description="New orders: import new and updated orders from Shopify (the batch backup of the orders webhooks)",
    default_schedule="every-15-minutes",
    params=(Param("since", ParamKind.TIME, "start from this time instead of the watermark"),
            Param("overlap_seconds", ParamKind.INT, "re-read this many seconds before the watermark (buffer time; "
                  "default ORDERHUB_POLL_OVERLAP_SECONDS)"),
            Param("limit", ParamKind.INT, "stop after about this many orders")),
), lambda ctx: import_new_orders(ctx.hub, ctx.shop, ctx.params))
