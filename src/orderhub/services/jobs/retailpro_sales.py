"""Job ``import-retailpro-sales``: the sales and returns rung at stores' own Retail Pro registers, as store sales.

For every store (a facility of kind ``store``; its Retail Pro store code is ``pos_store_code``, else its code),
the job reads from Prism each finished receipt modified since the store's watermark less an overlap (so a receipt
saved while the last run read is not lost), page by page, oldest change first. Each receipt becomes one inbox
record of the store's POS account - the record orderhub's own POS sync API writes for a terminal's sale
(adapters/retailpro_sales.py) - and the processor applies it at once: its units leave the store's stock (and
every channel's quantity), as an order of channel ``pos`` completed at the store; what a return receipt brings
back goes back on the shelf, through the store sale it was bought in when orderhub has that one.

Re-reading is harmless: a receipt is the record ``sale:retailpro:<sid>``, stored once. Invoices orderhub itself
sent for its online orders are Retail Pro documents too, and are skipped (see ``own_document``). A receipt that
cannot be recorded (an unknown UPC, no currency) goes to the error log naming the store and the receipt, and is
a failed record of the run. The watermark (``job_state``, key ``store:<code>``) is Retail Pro's own
``modified_datetime`` of the newest receipt read, so the two machines' clocks never need to agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import select

from orderhub.adapters import retailpro_sales
from orderhub.adapters.retailpro import MAX_PAGE_SIZE, RetailProClient, RetailProConfig, RetailProError
from orderhub.adapters.store import facilities as facility_store
from orderhub.adapters.store import inbox, inventory_store, job_store, pos_stock
from orderhub.adapters.store.facilities import FacilityRecord as Facility
from orderhub.adapters.store.inbox import InboxEntry
from orderhub.adapters.store.schema import inbox as inbox_table
from orderhub.adapters.store.schema import order_invoices
from orderhub.clock import utcnow
from orderhub.domain.jobs import Definition, Param, ParamKind
from orderhub.services.jobs.context import JobContext
from orderhub.services.jobs.registry import register
from orderhub.services.pos_sync import store_account
from orderhub.services.process import Processor

NAME = "import-retailpro-sales"
SOURCE = "poll"
DEFAULT_OVERLAP_SECONDS = 600  # a receipt saved while the last run read it shows up this late at most
MAX_PAGES = 200  # per store and run; the next run goes on from the newest receipt read
LOGGED = 50  # receipts named in the run's log; all failed ones are in its failed-records file


@dataclass
class StoreRun:
    facility: Facility
    store: str  # Retail Pro's store code
    account_id: int
    read: int = 0
    recorded: int = 0
    already: int = 0
    own: int = 0
    failed: int = 0
    newest: datetime | None = None


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


def _invoice_sids(ctx: JobContext, sids: list[str]) -> set[str]:
    if not sids:
        return set()
    with ctx.hub.db.read() as conn:
        return {r.sid for r in conn.execute(select(order_invoices.c.sid).where(order_invoices.c.sid.in_(sids)))}


def _known_sales(ctx: JobContext, refs: list[str]) -> set[str]:
    """Those of the receipts (sids) orderhub has as a store sale record already."""
    if not refs:
        return set()
    keys = {retailpro_sales.identity(ref): ref for ref in refs}
    with ctx.hub.db.read() as conn:
        found = conn.execute(select(inbox_table.c.identity).where(inbox_table.c.identity.in_(sorted(keys)),
                                                                  inbox_table.c.topic == retailpro_sales.TOPIC))
        return {keys[r.identity] for r in found}


def _page(ctx: JobContext, run: StoreRun, docs: list[dict[str, Any]], processor: Processor) -> list[dict[str, Any]]:
    """Store and apply one page of receipts; returns the failed ones as (record, error) dicts."""
    sids = [str(d.get("sid")) for d in docs if d.get("sid")]
    invoices = _invoice_sids(ctx, sids)
    refs = sorted({str(d["ref_sale_sid"]) for d in docs if d.get("ref_sale_sid")})
    known = _known_sales(ctx, refs) | (set(refs) & set(sids))
    received = utcnow()
    entries: list[InboxEntry] = []
    for doc in docs:
        run.read += 1
        at = _time(doc.get("modified_datetime"))
        if at is not None and (run.newest is None or at > run.newest):
            run.newest = at
        if not doc.get("sid") or retailpro_sales.own_document(doc, invoices):
            run.own += 1
            continue
        ref = str(doc.get("ref_sale_sid") or "")
        payload = retailpro_sales.envelope(
            doc, facility=run.facility.code, currency=ctx.params.get("currency") or None, received_at=received,
            taxes_included=bool(ctx.params.get("taxes_included")),
            returns_sale=retailpro_sales.sale_id(ref) if ref in known else None)
        entries.append(InboxEntry(shop_id=run.account_id, source=SOURCE, topic=retailpro_sales.TOPIC,
                                  identity=retailpro_sales.identity(str(doc["sid"])),
                                  payload=orjson.dumps(payload).decode()))
    stored = inbox.insert_entries(ctx.hub.db, entries) if entries else []
    fresh = [e for e, new in zip(entries, stored, strict=True) if new]
    run.already += len(entries) - len(fresh)
    if not fresh:
        return []
    upcs = sorted({line["upc"] for e in fresh for line in orjson.loads(e.payload)["sale"]["lines"]
                   if isinstance(line.get("upc"), str)})
    with ctx.hub.db.write() as conn:  # the rows first, then locked in one order: a terminal syncing waits
        skus = sorted(set(pos_stock.skus_of_upcs(conn, upcs).values()))
        inventory_store.ensure_rows(conn, run.facility.id, skus)
    keys = [e.identity for e in fresh]
    with ctx.hub.db.write() as conn:
        inventory_store.lock_rows(conn, run.facility.id, skus)
        rows = conn.execute(select(inbox_table.c.id).where(inbox_table.c.shop_id == run.account_id,
                                                           inbox_table.c.identity.in_(keys)))
        processor.process_records(conn, inbox.claim_ids(conn, [r.id for r in rows]))
    with ctx.hub.db.read() as conn:
        states = conn.execute(select(inbox_table.c.identity, inbox_table.c.status, inbox_table.c.last_error,
                                     inbox_table.c.payload)
                              .where(inbox_table.c.shop_id == run.account_id, inbox_table.c.identity.in_(keys))).all()
    failed = []
    for row in states:
        if row.status == "failed":
            source = orjson.loads(row.payload)["retailpro"]
            failed.append({"store": run.store, "facility": run.facility.code, "sid": source["sid"],
                           "document_number": source["document_number"], "error": row.last_error})
        else:
            run.recorded += 1
    run.failed += len(failed)
    return failed


def import_store(ctx: JobContext, client: RetailProClient, processor: Processor, facility: Facility) -> StoreRun:
    store = facility.pos_store_code or facility.code
    run = StoreRun(facility, store, store_account(ctx.hub.db, facility.code))
    key = f"store:{store}"
    overlap = timedelta(seconds=max(0, int(ctx.params.get("overlap_seconds") or DEFAULT_OVERLAP_SECONDS)))
    with ctx.hub.db.read() as conn:
        watermark = job_store.time_watermark(conn, NAME, 0, key)
    # A first run starts now: the stock orderhub took over from Retail Pro already counts older receipts.
    since = ctx.params.get("since") or (watermark or utcnow()) - overlap
    logged = 0
    for page_no in range(1, MAX_PAGES + 1):
        ctx.check()
        docs = client.receipts(store, since, page_no, MAX_PAGE_SIZE)
        for record in _page(ctx, run, docs, processor):
            message = (f"store {store} ({facility.code}) receipt {record['document_number']} (sid {record['sid']}): "
                       f"{record['error']}")
            ctx.failed_record({k: v for k, v in record.items() if k != "error"}, message)
            if logged < LOGGED:
                ctx.log(message, "warning")
                logged += 1
        if len(docs) < MAX_PAGE_SIZE:
            break
    else:
        ctx.log(f"store {store}: more than {MAX_PAGES * MAX_PAGE_SIZE} receipts changed; the next run reads on",
                "warning")
    if run.newest is not None:
        with ctx.hub.db.write() as conn:
            job_store.advance_time_watermark(conn, NAME, 0, key, run.newest)
    return run


def stores(ctx: JobContext) -> list[Facility]:
    with ctx.hub.db.read() as conn:
        return facility_store.chosen_stores(conn, ctx.params.get("locations"))


def run(ctx: JobContext) -> dict[str, Any]:
    chosen = stores(ctx)
    stats: dict[str, Any] = {"stores": 0, "recorded": 0, "already_imported": 0, "orderhub_invoices": 0,
                             "failed": 0, "unreachable": []}
    processor = Processor(ctx.hub.db)
    with RetailProClient(RetailProConfig.from_settings(ctx.hub.settings)) as client:
        for facility in chosen:
            store = facility.pos_store_code or facility.code
            try:
                done = import_store(ctx, client, processor, facility)
            except RetailProError as exc:
                stats["unreachable"].append(store)
                ctx.failed_record({"store": store, "facility": facility.code}, str(exc))
                ctx.log(f"store {store} ({facility.code}): {exc}", "warning")
                continue
            stats["stores"] += 1
            stats["recorded"] += done.recorded
            stats["already_imported"] += done.already
            stats["orderhub_invoices"] += done.own
            stats["failed"] += done.failed
            ctx.count(read=done.read, processed=done.recorded, skipped=done.already + done.own)
            ctx.log(f"store {store} ({facility.code}): {done.read} receipt(s) read, {done.recorded} recorded, "
                    f"{done.already} already imported, {done.own} orderhub's own invoices skipped, "
                    f"{done.failed} to the error log")
    if stats["unreachable"] and not stats["stores"]:
        raise RuntimeError(f"no store's receipts could be read from Retail Pro ({', '.join(stats['unreachable'])})")
    return stats


register(Definition(
    NAME, "orders", "Store sales from Retail Pro: import the sales and returns rung at each store's Retail Pro "
    "registers (modified since the last run, with an overlap) as store sales of the store's POS account; "
    "orderhub's own invoices are skipped",
    params=(Param("locations", help="facility codes of the stores to read (comma-separated); default every store"),
            Param("since", ParamKind.TIME, "read receipts modified since this time instead of the watermark"),
            Param("overlap_seconds", ParamKind.INT, "re-read this many seconds before each store's watermark "
                  f"(default {DEFAULT_OVERLAP_SECONDS})"),
            Param("currency", help="the currency of receipts whose tenders name none (ISO 4217, e.g. EUR)"),
            Param("taxes_included", ParamKind.BOOL, "the registers' prices include tax (default no)")),
    default_schedule="every-15-minutes", min_interval_seconds=300, per_shop=False),
    run)
