"""Initial load: every product, then every historical order, from Shopify through bulk operations.

``import-products-bulk`` runs a bulk query over the shop's products (with their variants
and inventory items) and upserts them through the order store, a few hundred products
per transaction. ``import-orders-bulk`` (which needs a products import that succeeded)
runs one over the orders and writes each order into the inbox under the identity a
webhook or a poll of that version gets, so the three deduplicate; an order that names a
SKU orderhub does not know goes to the error log, linked to the run, instead.

Each job waits for its operation by polling, and stops waiting as soon as the processor
has recorded the operation's ``bulk_operations/finish`` webhook in ``job_state`` (job
``bulk_operations/finish``, key the operation's gid). The result file is streamed as it
downloads: one order (with its lines) is parsed at a time and a batch of a few thousand
is held until it is written in one transaction, so memory stays flat however many
orders the shop has (it grows only with the catalogue's SKUs). Writing on a thread of
its own while the next batch is parsed was measured slower (GIL handovers), so it is not.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import orjson
from sqlalchemy import delete, select
from sqlalchemy.exc import DBAPIError

from orderhub.adapters.shopify import bulk
from orderhub.adapters.shopify.graphql import AdminClient
from orderhub.adapters.shopify.webhooks import identity
from orderhub.adapters.store import error_log
from orderhub.adapters.store import order_store as store
from orderhub.adapters.store.inbox import InboxEntry
from orderhub.adapters.store.schema import error_log as error_table
from orderhub.adapters.store.schema import job_state, variants
from orderhub.adapters.store.shops import Shop
from orderhub.domain.errors import InvalidRecord
from orderhub.domain.jobs import Definition, Param, ParamKind, Policy
from orderhub.domain.model import Freshness, Product, Variant
from orderhub.services import identify
from orderhub.services.errors import BULK_ORDER
from orderhub.services.jobs.context import JobContext
from orderhub.services.jobs.import_orders import admin_client, since_query
from orderhub.services.jobs.registry import register

PRODUCTS_JOB = "import-products-bulk"
ORDERS_JOB = "import-orders-bulk"
FINISH_TOPIC = "bulk_operations/finish"  # also the job_state namespace the processor records finishes in
SOURCE = "bulk"  # inbox.source of the orders this job stores
TOPIC = "orders/updated"  # stored like a poll: the processor applies whatever version it is
RECORD_TYPE = BULK_ORDER  # error-log entries of orders naming unknown SKUs: record_id hashes the version
PRODUCT_BATCH = 250  # products per transaction
ORDER_BATCH = 2000  # orders per inbox transaction: keeps SQLite's write lock short for the webhook receivers
MAX_POLL_SECONDS = 30.0
_CHECK_EVERY = 0.25  # seconds between looks at job_state while waiting


# -- the bulk operation -------------------------------------------------------------------------------------

@dataclass
class Waited:
    """How a wait for a bulk operation went."""

    operation: bulk.BulkOperation
    seconds: float
    webhook: bool  # the finish webhook came before polling saw the operation finish


def finish_recorded(ctx: JobContext, operation_id: str) -> Callable[[], bool]:
    """A ``finished`` signal for :func:`bulk.wait`: True once the processor has recorded the
    operation's finish webhook. It checks the run too, so a released or timed-out run stops waiting."""
    assert ctx.shop is not None
    stmt = select(job_state.c.value).where(job_state.c.job == FINISH_TOPIC, job_state.c.shop_id == ctx.shop.id,
                                           job_state.c.key == operation_id)
    last = 0.0

    def finished() -> bool:
        nonlocal last
        ctx.check()
        if time.monotonic() - last < _CHECK_EVERY:
            return False
        last = time.monotonic()
        with ctx.hub.db.read() as conn:
            return conn.execute(stmt).first() is not None

    return finished


def _forget_finishes(ctx: JobContext, keep: str | None = None) -> None:
    """Drop the shop's recorded finishes (but ``keep``'s): one bulk query runs per shop at a time,
    so older ones are of no use to anybody."""
    assert ctx.shop is not None
    stmt = delete(job_state).where(job_state.c.job == FINISH_TOPIC, job_state.c.shop_id == ctx.shop.id)
    with ctx.hub.db.write() as conn:
        conn.execute(stmt if keep is None else stmt.where(job_state.c.key != keep))


def _same_query(a: str | None, b: str) -> bool:
    return a is not None and a.split() == b.split()


def start(ctx: JobContext, client: AdminClient, query: str) -> bulk.BulkOperation:
    """Start the bulk query; or, when Shopify says the same query is already running for the
    shop (a run before this one started it and died), follow that one."""
    try:
        operation = bulk.start(client, query)
    except bulk.BulkStartRefused as refused:
        if refused.running_id is None:
            raise
        running = bulk.poll(client, refused.running_id)
        if not _same_query(running.query, query):
            raise
        ctx.log(f"bulk operation {running.id} with this query is already running for the shop; following it")
        operation = running
    else:
        ctx.log(f"bulk operation {operation.id} started")
    _forget_finishes(ctx, keep=operation.id)
    return operation


def run_operation(ctx: JobContext, client: AdminClient, query: str, *, first_pause: float = 1.0,
                  timeout: float = 3600.0) -> Waited:
    """Start the query and wait until it is COMPLETED (raises :class:`bulk.BulkOperationFailed` with
    its id and error code otherwise). Pauses between polls grow from ``first_pause``; the finish
    webhook ends a pause early."""
    operation = start(ctx, client, query)
    began = time.monotonic()
    signal = finish_recorded(ctx, operation.id)
    told = False

    def finished() -> bool:
        nonlocal told
        told = told or signal()
        return told

    try:
        done = bulk.wait(client, operation.id, timeout=timeout, interval=first_pause,
                         max_interval=max(MAX_POLL_SECONDS, first_pause), finished=finished)
    finally:
        _forget_finishes(ctx)
    waited = Waited(done, time.monotonic() - began, told)
    ctx.log(f"bulk operation {done.id} completed after {waited.seconds:.1f}s "
            f"({'finish webhook' if told else 'polling'}): {done.root_object_count} records, "
            f"{done.object_count} objects, {done.file_size or 0} bytes")
    return waited


def result_lines(operation: bulk.BulkOperation) -> Iterator[bytes]:
    """The operation's JSONL, streamed (nothing when it found nothing)."""
    if operation.url is None:
        return iter(())
    return bulk.download_lines(operation.url, operation_id=operation.id)


def _client(ctx: JobContext) -> AdminClient:
    shop = ctx.shop
    assert shop is not None
    if shop.status == "uninstalled":
        raise ValueError(f"shop {shop.domain} uninstalled the app; add it again before importing")
    return admin_client(shop)


# -- products -----------------------------------------------------------------------------------------------

def to_product(p: bulk.BulkProduct) -> Product:
    """A bulk product as the order store keeps it (status in the REST words the webhooks use)."""
    updated = p.updated_at or p.created_at
    if updated is None:
        raise InvalidRecord(f"product {p.id}.updatedAt", "required field is missing")
    return Product(
        shopify_id=p.id, updated_at=updated, title=p.title, handle=p.handle, vendor=p.vendor,
        product_type=p.product_type, status=p.status.lower() if p.status else None, tags=p.tags,
        variants=tuple(Variant(shopify_id=v.id, sku=v.sku or None, title=v.title, price=v.price, barcode=v.barcode,
                               inventory_item_id=v.inventory_item.id if v.inventory_item else None)
                       for v in p.variants))


def _store_products(ctx: JobContext, batch: list[tuple[int, Product]]) -> None:
    """One transaction for the batch, a savepoint for each product, so one the database refuses
    (a value too long for its column, say) is reported and the rest are kept."""
    assert ctx.shop is not None
    applied = unchanged = 0
    with ctx.hub.db.write() as conn:
        for line, product in batch:
            savepoint = conn.begin_nested()
            try:
                fresh = store.apply_product(conn, ctx.shop.id, product)
                savepoint.commit()
            except DBAPIError as exc:
                savepoint.rollback()
                ctx.failed_record({"line": line, "id": product.shopify_id, "title": product.title},
                                  f"line {line}: product {product.shopify_id}: the database refused it: "
                                  f"{str(exc.orig).splitlines()[0]}")
                continue
            if fresh in (Freshness.NEW, Freshness.NEWER):
                applied += 1
            else:
                unchanged += 1
    ctx.count(processed=applied, skipped=unchanged)


def import_products(ctx: JobContext, lines: Iterable[bytes], *, operation_id: str | None = None,
                    batch_size: int = PRODUCT_BATCH) -> dict[str, int]:
    """Upsert the products of a :data:`bulk.PRODUCTS_QUERY` file, ``batch_size`` per transaction."""
    stats = {"products": 0, "variants": 0, "invalid": 0}
    batch: list[tuple[int, Product]] = []
    ctx.progress.total(None, "products")
    for group in bulk.grouped(lines, operation_id=operation_id):
        stats["products"] += 1
        ctx.count(read=1)
        ctx.progress.advance()
        try:
            product = to_product(bulk.parse_product(group))
        except InvalidRecord as exc:
            stats["invalid"] += 1
            ctx.failed_record({"line": group.line, "record": group.record}, str(exc))
            continue
        stats["variants"] += len(product.variants)
        batch.append((group.line, product))
        if len(batch) >= batch_size:
            _store_products(ctx, batch)
            batch = []
            ctx.check()
    if batch:
        _store_products(ctx, batch)
    return stats


def import_products_bulk(ctx: JobContext) -> dict[str, Any]:
    client = _client(ctx)
    waited = run_operation(ctx, client, bulk.PRODUCTS_QUERY, first_pause=_first_pause(ctx),
                           timeout=PRODUCTS_POLICY.timeout_seconds)
    began = time.monotonic()
    stats = import_products(ctx, result_lines(waited.operation), operation_id=waited.operation.id)
    ctx.log(f"{stats['products']} products with {stats['variants']} variants read in "
            f"{time.monotonic() - began:.1f}s: {ctx.counts['processed']} new or newer, "
            f"{ctx.counts['skipped']} unchanged, {ctx.counts['failed']} failed")
    return {**stats, **_operation_stats(waited)}


# -- orders -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class UnknownSku:
    """An order naming SKUs orderhub does not know: (line index, SKU) of each such line."""

    record_id: int
    order_id: str
    name: str
    lines: tuple[tuple[int, str], ...]
    payload: bytes


@dataclass
class OrderBatch:
    entries: list[InboxEntry] = field(default_factory=list)
    unknown: list[UnknownSku] = field(default_factory=list)
    fixed: list[int] = field(default_factory=list)  # error-log records of orders that now import

    def __len__(self) -> int:
        return len(self.entries) + len(self.unknown)


def known_skus(ctx: JobContext) -> frozenset[str]:
    """Every SKU of the shop's variants (deleted ones too: historical orders name them)."""
    assert ctx.shop is not None
    with ctx.hub.db.read() as conn:
        return frozenset(conn.execute(select(variants.c.sku).where(
            variants.c.shop_id == ctx.shop.id, variants.c.sku.is_not(None)).distinct()).scalars())


def record_id(shop_id: int, order_identity: str) -> int:
    """The error-log identity of an order version: the same version is one entry however often it
    is imported (a positive 63-bit number)."""
    digest = hashlib.sha256(f"{RECORD_TYPE}\0{shop_id}\0{order_identity}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def _earlier_entries(ctx: JobContext) -> tuple[set[int], set[int]]:
    """Record ids of this shop's unknown-SKU entries: (open or retrying, dismissed)."""
    assert ctx.shop is not None
    with ctx.hub.db.read() as conn:
        rows = conn.execute(select(error_table.c.record_id, error_table.c.status).where(
            error_table.c.record_type == RECORD_TYPE, error_table.c.shop_id == ctx.shop.id,
            error_table.c.status.in_(("open", "retrying", "dismissed")))).all()
    return ({r.record_id for r in rows if r.status != "dismissed"},
            {r.record_id for r in rows if r.status == "dismissed"})


def _describe(shop: Shop, unknown: UnknownSku) -> str:
    lines = ", ".join(f"line_items[{i}].sku {sku!r}" for i, sku in unknown.lines)
    return (f"bulk order {unknown.name} (Shopify id {unknown.order_id}): {lines}: not a SKU of any variant "
            f"orderhub knows for {shop.domain}; import the product (import-products-bulk, or its webhook), "
            f"then run {ORDERS_JOB} again: the order is imported and this entry resolved")


def _write_orders(ctx: JobContext, batch: OrderBatch) -> None:
    """The batch's orders into the inbox (the raw insert path), its unknown-SKU orders into the error
    log, linked to the run; error-log entries of orders that now import are resolved."""
    shop = ctx.shop
    assert shop is not None
    if batch.entries:
        stored = identify.store_polled(ctx.hub.db, shop.id, batch.entries)
        new = sum(stored)
        ctx.count(processed=new, skipped=len(stored) - new)
    if not batch.unknown and not batch.fixed:
        return
    with ctx.hub.db.write() as conn:
        for u in batch.unknown:
            error_log.record(conn, error_log.Failure(
                record_type=RECORD_TYPE, record_id=u.record_id, shop_id=shop.id, topic=TOPIC, source=SOURCE,
                kind="validation", error=_describe(shop, u), field=f"line_items[{u.lines[0][0]}].sku",
                payload=u.payload.decode(), job_run_id=ctx.run_id))
        error_log.resolve_open(conn, RECORD_TYPE, batch.fixed)


def import_orders(ctx: JobContext, lines: Iterable[bytes], *, operation_id: str | None = None,
                  batch_size: int = ORDER_BATCH) -> dict[str, int]:
    """Write the orders of a :func:`bulk.orders_query` file into the inbox, streaming.

    Counts: read (orders in the file), processed (stored), skipped (stored before, by any
    path; or named in an error-log entry a person dismissed), failed (invalid, or naming
    a SKU orderhub does not know).
    """
    shop = ctx.shop
    assert shop is not None
    known = known_skus(ctx)
    logged, dismissed = _earlier_entries(ctx)
    stats = {"orders": 0, "unknown_sku": 0, "invalid": 0, "dismissed": 0, "resolved": 0}
    batch, read = OrderBatch(), 0
    ctx.progress.total(None, "orders")
    for group in bulk.grouped(lines, operation_id=operation_id):
        stats["orders"] += 1
        read += 1
        ctx.progress.advance()
        try:
            order = bulk.parse_order(group)
        except InvalidRecord as exc:
            stats["invalid"] += 1
            ctx.failed_record({"line": group.line, "id": group.id}, str(exc))
            continue
        payload = order.payload
        version = identity(TOPIC, payload, None)
        unknown = tuple((i, sku) for i, item in enumerate(payload.get("line_items") or ())
                        if (sku := item.get("sku")) and sku not in known)
        if not unknown:
            batch.entries.append(InboxEntry(shop_id=shop.id, source=SOURCE, topic=TOPIC, identity=version,
                                            payload=orjson.dumps(payload).decode()))
            if logged and (rid := record_id(shop.id, version)) in logged:
                batch.fixed.append(rid)
                stats["resolved"] += 1
        elif (rid := record_id(shop.id, version)) in dismissed:
            stats["dismissed"] += 1
            ctx.count(skipped=1)
        else:
            stats["unknown_sku"] += 1
            u = UnknownSku(rid, order.id, order.name, unknown, orjson.dumps(payload))
            ctx.failed_record({"order_id": order.id, "name": order.name, "updated_at": payload["updated_at"],
                               "line_items": [{"index": i, "sku": sku} for i, sku in unknown]},
                              _describe(shop, u))
            batch.unknown.append(u)
        if len(batch) >= batch_size:
            ctx.count(read=read)
            _write_orders(ctx, batch)
            batch, read = OrderBatch(), 0
            ctx.check()
    ctx.count(read=read)
    if len(batch):
        _write_orders(ctx, batch)
    return stats


def orders_query(version: str, since: datetime | None, until: datetime | None) -> str:
    """:func:`bulk.orders_query` of ``version`` over the orders created in [since, until) (either end open)."""
    if since and until and since >= until:
        raise ValueError(f"since ({since.isoformat()}) must be before until ({until.isoformat()})")
    terms = []
    if since:
        terms.append(since_query("created_at", since))
    if until:
        terms.append(f"created_at:<'{until.astimezone(timezone.utc):%Y-%m-%dT%H:%M:%SZ}'")
    everything = bulk.orders_query(version)
    if not terms:
        return everything
    query = everything.replace("orders {", f"orders(query: {orjson.dumps(' '.join(terms)).decode()}) {{", 1)
    assert query != everything, "the bulk orders query no longer opens with 'orders {'"
    return query


def import_orders_bulk(ctx: JobContext) -> dict[str, Any]:
    client = _client(ctx)
    query = orders_query(client.version, ctx.params.get("since"), ctx.params.get("until"))
    waited = run_operation(ctx, client, query, first_pause=_first_pause(ctx), timeout=ORDERS_POLICY.timeout_seconds)
    began = time.monotonic()
    stats = import_orders(ctx, result_lines(waited.operation), operation_id=waited.operation.id)
    seconds = time.monotonic() - began
    ctx.log(f"{stats['orders']} orders read in {seconds:.1f}s ({stats['orders'] / max(seconds, 1e-9):,.0f}/s): "
            f"{ctx.counts['processed']} stored in the inbox, {ctx.counts['skipped']} there already or dismissed, "
            f"{stats['unknown_sku']} naming unknown SKUs (error log), {stats['invalid']} invalid")
    return {**stats, **_operation_stats(waited), "import_seconds": round(seconds, 3)}


# -- the catalogue ------------------------------------------------------------------------------------------

def _first_pause(ctx: JobContext) -> float:
    value = ctx.params.get("poll_seconds")
    return 1.0 if not value else float(value)


def _operation_stats(waited: Waited) -> dict[str, Any]:
    op = waited.operation
    return {"operation": op.id, "objects": op.object_count, "file_bytes": op.file_size or 0,
            "wait_seconds": round(waited.seconds, 3), "finish_webhook": waited.webhook}


POLL_PARAM = Param("poll_seconds", ParamKind.DURATION,
                   "the first pause between polls of the bulk operation (default 1s); pauses grow by half each "
                   f"time, up to {MAX_POLL_SECONDS:g}s or this if longer; the bulk_operations/finish webhook ends "
                   "any pause")
PRODUCTS_POLICY = Policy(timeout_seconds=4 * 3600, max_retries=1, retry_delay_seconds=300)
ORDERS_POLICY = Policy(timeout_seconds=12 * 3600, max_retries=1, retry_delay_seconds=300)

register(Definition(PRODUCTS_JOB, "initial-load", "Import products in bulk: import all products from Shopify; "
                    "run it before importing orders in bulk", params=(POLL_PARAM,), default_schedule="daily",
                    min_interval_seconds=3600, policy=PRODUCTS_POLICY), import_products_bulk)
register(Definition(ORDERS_JOB, "initial-load", "Import orders in bulk: import historical orders; needs a "
                    "completed products import",
                    params=(Param("since", ParamKind.TIME, "only orders created at or after this time"),
                            Param("until", ParamKind.TIME, "only orders created before this time"), POLL_PARAM),
                    default_schedule="daily", min_interval_seconds=3600, requires=(PRODUCTS_JOB,),
                    policy=ORDERS_POLICY), import_orders_bulk)
