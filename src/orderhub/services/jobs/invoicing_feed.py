"""Job ``feed-completed-orders``: the feed of completed orders not yet invoiced, written to SFTP.

The first step of invoicing in the POS/ERP (then ``transform-invoices``, ``send-invoices``,
``report-invoice-failures``; ``orderhub invoicing setup`` chains them). An order is in the feed
when every item it still delivers left its facility, it was not sold at the POS itself, and it
was not invoiced yet: never fed, failed, or fed ``refeed_after`` ago without being invoiced
(its file was lost). With ``location``, only orders fulfilled (at least in part) there.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from orderhub.adapters.store import facilities as facility_store
from orderhub.adapters.store import invoice_store
from orderhub.adapters.store.invoice_store import Selection
from orderhub.clock import utcnow
from orderhub.domain.jobs import Definition, Param, ParamKind
from orderhub.services.invoicing import feed, files
from orderhub.services.jobs.context import JobContext
from orderhub.services.jobs.registry import register
from orderhub.services.jobs.sftp_files import connect

NAME = "feed-completed-orders"
FOLDER = "/retailpro/feed"


def run(ctx: JobContext) -> dict[str, Any]:
    folder = (ctx.params["folder"] or FOLDER).rstrip("/") or "/"
    facility_id = None
    if ctx.params["location"]:
        with ctx.hub.db.read() as conn:
            facility_id = facility_store.id_of(conn, ctx.params["location"])  # LookupError names the known ones
    channels = tuple(c.strip() for c in (ctx.params["pos_channels"] or "").split(",") if c.strip())
    now = utcnow()
    sel = Selection(run_id=ctx.run_id, refeed_before=now - timedelta(seconds=ctx.params["refeed_after"]),
                    facility_id=facility_id, pos_channels=channels)
    name = files.file_name(files.FEED_PREFIX, now, ctx.run_id, ctx.params["compress"])
    path = posixpath.join(folder, name)
    stats, blocks = feed.blocks(ctx.hub.db, sel, name, compress=ctx.params["compress"], check=ctx.check)
    ctx.progress.total(None, "orders")  # the selection is read block by block, not counted first
    counted = _counting(ctx, blocks)
    first = next(counted, None)
    if first is None:
        ctx.log("no completed orders to invoice" + (f" ({stats.skipped} had nothing fulfilled from a facility)"
                                                    if stats.skipped else ""))
        return {"orders": 0, "skipped": stats.skipped, "path": None}
    with connect(ctx.hub) as sftp:
        sftp.makedirs(folder)
        written = sftp.write_atomic(path, _prepend(first, counted))
    with ctx.hub.db.write() as conn:
        fed = invoice_store.mark_fed(conn, ctx.run_id)
    ctx.log(f"wrote {path}: {stats.orders} order(s), {stats.items} item line(s), {written} bytes"
            + (f"; {stats.refed} fed again (failed or not invoiced in time)" if stats.refed else ""))
    result = {"path": path, "orders": stats.orders, "fed": fed, "items": stats.items, "refed": stats.refed,
              "skipped": stats.skipped, "bytes": written}
    if stats.reader_peak_mb:
        result |= {"workers": len(stats.reader_peak_mb),
                   "worker_peak_mb": [round(mb, 1) for mb in stats.reader_peak_mb]}
    return result


def _counting(ctx: JobContext, blocks: Iterator[feed.Block]) -> Iterator[bytes]:
    for block in blocks:
        if block.orders:
            ctx.count(read=block.orders, processed=block.orders)
            ctx.progress.advance(block.orders)
            yield block.data


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


register(Definition(
    NAME, "fulfilment", "Invoicing 1/4: write the feed of completed orders not yet invoiced (every item "
    "fulfilled; orders sold at the POS excluded) to SFTP, for the POS/ERP (Retail Pro)",
    params=(Param("folder", help=f"the SFTP folder the feed goes to (default {FOLDER})", default=FOLDER),
            Param("location", help="only orders fulfilled (at least in part) at this facility code; empty: all"),
            Param("pos_channels", help="channels whose orders were sold at the POS and are never invoiced again "
                  "(comma-separated; default pos)", default="pos"),
            Param("refeed_after", ParamKind.DURATION, "feed again an order fed this long ago and still not "
                  "invoiced (default 1d)", default=86400),
            Param("compress", ParamKind.BOOL, "gzip the feed (.jsonl.gz; default true)", default=True)),
    default_schedule="every-15-minutes", per_shop=False),
    run)
