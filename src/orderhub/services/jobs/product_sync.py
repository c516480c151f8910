"""Products job: products, variants and the category structure (collections) from Shopify.

``sync-products`` polls the products updated since its watermark (less an overlap, so
nothing slips between runs), oldest first, a page at a time within the cost limit, and
stores each in the inbox as a ``products/update`` record under the identity a webhook
of that version gets: with webhooks on as well, each version is stored once, and the
processor applies it (the product, its variants; a variant gone from it is marked
deleted). Deleted products arrive by the ``products/delete`` webhook.

It then reads every collection with its rules and products and keeps them in
``job_state`` (job ``sync-products``, key ``collection:<id>``, the collection as JSON),
replacing what it kept before and dropping collections Shopify no longer has. A
product's category, as thresholds select by it, is its product type; the collections
are the structure a person browses (a smart collection says which rule it follows).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, delete, select

from orderhub.adapters.fields import parse_time
from orderhub.adapters.shopify import graphql_products
from orderhub.adapters.shopify.webhooks import identity
from orderhub.adapters.store import job_store
from orderhub.adapters.store.db import upsert
from orderhub.adapters.store.inbox import InboxEntry
from orderhub.adapters.store.schema import job_state
from orderhub.domain.jobs import Definition, Param, ParamKind
from orderhub.services import identify
from orderhub.services.jobs.context import JobContext
from orderhub.services.jobs.import_orders import admin_client, since_query
from orderhub.services.jobs.registry import register

NAME = "sync-products"
TOPIC = "products/update"
WATERMARK = "updated_at"
COLLECTION_KEY = "collection:"


def stored_collections(conn: Connection, shop_id: int) -> list[dict[str, Any]]:
    """The shop's collections as the last run found them (id, title, handle, rules, product ids), by title."""
    rows = conn.execute(select(job_state.c.value).where(
        job_state.c.job == NAME, job_state.c.shop_id == shop_id, job_state.c.key.startswith(COLLECTION_KEY)))
    return sorted((orjson.loads(r.value) for r in rows), key=lambda c: (c["title"], c["id"]))


def _sync_products(ctx: JobContext, since: datetime | None) -> dict[str, Any]:
    assert ctx.shop is not None
    client = admin_client(ctx.shop)
    stats = {"pages": 0, "fetched": 0, "stored": 0, "duplicates": 0}
    newest: datetime | None = None
    for page in graphql_products.products(client, since_query("updated_at", since) if since else None):
        ctx.check()
        entries = [InboxEntry(shop_id=ctx.shop.id, source="poll", topic=TOPIC, identity=identity(TOPIC, p, None),
                              payload=orjson.dumps(p).decode()) for p in page]
        stored = identify.store_polled(ctx.hub.db, ctx.shop.id, entries)
        for p in page:
            moment = parse_time(p["updated_at"], f"product {p['id']} updated_at")
            newest = moment if newest is None or moment > newest else newest
        stats["pages"] += 1
        stats["fetched"] += len(page)
        stats["stored"] += sum(stored)
        stats["duplicates"] += len(stored) - sum(stored)
        ctx.count(read=len(page), processed=sum(stored), skipped=len(stored) - sum(stored))
    if newest is not None:
        with ctx.hub.db.write() as conn:
            job_store.advance_time_watermark(conn, NAME, ctx.shop.id, WATERMARK, newest)
    stats["watermark"] = newest.isoformat() if newest else None
    stats["throttled"], stats["waited_seconds"] = client.throttled_count, round(client.waited_seconds, 3)
    return stats


def _sync_collections(ctx: JobContext) -> dict[str, Any]:
    """Every collection, kept in job_state in one transaction (so readers never see half a structure)."""
    assert ctx.shop is not None
    found = []
    for collection in graphql_products.collections(admin_client(ctx.shop)):
        ctx.check()
        found.append(collection)
    with ctx.hub.db.write() as conn:
        conn.execute(delete(job_state).where(job_state.c.job == NAME, job_state.c.shop_id == ctx.shop.id,
                                             job_state.c.key.startswith(COLLECTION_KEY)))
        for c in found:
            upsert(conn, job_state, dict(job=NAME, shop_id=ctx.shop.id, key=f"{COLLECTION_KEY}{c.id}",
                                         value=orjson.dumps(c.as_dict()).decode()),
                   keys=("job", "shop_id", "key"), update=("value",))
    ctx.log(f"{len(found)} collections: " + ", ".join(f"{c.title} ({len(c.product_ids)})" for c in found[:20])
            + (" ..." if len(found) > 20 else ""))
    return {"collections": len(found), "collection_products": sum(len(c.product_ids) for c in found)}


def sync_products(ctx: JobContext) -> dict[str, Any]:
    """Poll updated products into the inbox, then refresh the collections."""
    shop = ctx.shop
    assert shop is not None
    if shop.status == "uninstalled":
        raise ValueError(f"shop {shop.domain} uninstalled the app; add it again to resume syncing products")
    if ctx.params.get("since"):
        since: datetime | None = ctx.params["since"]
    else:
        with ctx.hub.db.read() as conn:
            watermark = job_store.time_watermark(conn, NAME, shop.id, WATERMARK)
        overlap = ctx.params.get("overlap_seconds")
        overlap = ctx.hub.settings.poll_overlap_seconds if overlap is None else overlap
        since = None if watermark is None else watermark - timedelta(seconds=overlap)
    stats = {"since": since.isoformat() if since else None, **_sync_products(ctx, since)}
    if ctx.params["collections"]:
        stats.update(_sync_collections(ctx))
    return stats


register(Definition(
    NAME, "products", "Sync: sync products and category structures (collections) from Shopify into orderhub and "
    "keep them up to date (products updated since the last run, through the inbox; every collection)",
    params=(Param("since", ParamKind.TIME, "read products updated since this time instead of the watermark"),
            Param("overlap_seconds", ParamKind.INT, "re-read this many seconds before the watermark (default "
                  "ORDERHUB_POLL_OVERLAP_SECONDS)"),
            Param("collections", ParamKind.BOOL, "also refresh the collections", default=True)),
    default_schedule="hourly", min_interval_seconds=3600),
    sync_products)
