"""Job ``transform-invoices``: feed files in, Order-to-Invoice JSON out, in a separate SFTP folder.

Each feed line becomes one line of ``invoices-....jsonl(.gz)``: the order's Retail Pro invoice
(exactly the body ``POST /api/v1/Document/Ordertoinvoice`` takes) and the transfer slips of
the other stores that fulfilled it (see :mod:`orderhub.domain.invoicing`). An order whose
values do not fit the service's field table is not written: it goes to the error log with the
order and every field at fault (nothing is cut), and is not fed again until a person retries
it (after correcting the order) or dismisses it. The feed file is archived once its output is
in place; a run that stopped before that is simply done again (the same output, rewritten).

A feed is read a piece at a time (a gzip member the feed wrote, handed on still compressed, or
else a block of lines); worker processes (:mod:`orderhub.services.invoicing.workers`, one per
CPU, for feeds of a megabyte or more) transform the pieces, and their invoice lines are written
in order, each piece's a gzip member of its own. Line numbers, counts and the error log are as
if the file were read line by line.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from typing import Any

from orderhub.adapters.sftp import RemoteFile, SftpClient
from orderhub.domain.invoicing import INVOICING_RULES, UPC_SOURCES, Options
from orderhub.domain.jobs import Definition, Param, ParamKind
from orderhub.services.invoicing import files, invoice_lines, rejections, workers
from orderhub.services.invoicing.invoice_lines import Refused
from orderhub.services.jobs.context import JobContext
from orderhub.services.jobs.registry import register
from orderhub.services.jobs.sftp_files import connect

NAME = "transform-invoices"
FEED_FOLDER = "/retailpro/feed"
OUT_FOLDER = "/retailpro/invoices"
WORKERS = min(4, workers.cpus())  # worker processes transforming pieces of the feed
WORKERS_FROM_BYTES = 1024 * 1024  # smaller feeds (a few thousand orders) are transformed in the job's own thread
BLOCK_BYTES = files.PIECE_BYTES  # of feed lines per task (about 350 orders), unless the feed's gzip members say
AHEAD = 4  # pieces waiting per worker (small: still compressed), so a slow moment of the reading stalls no worker


def options(params: dict[str, Any]) -> Options:
    """The transform's options from the job's parameters; ValueError names the one at fault."""
    types: dict[str, int] = {}
    for pair in (params.get("delivery_types") or "").split(","):
        if pair.strip():
            method, sep, code = pair.rpartition("=")
            if not sep or not code.strip().isdigit() or not method.strip():
                raise ValueError(f"delivery_types: {pair.strip()!r} is not METHOD=CODE (e.g. Store pickup=2)")
            types[method.strip().lower()] = int(code)
    return Options(invoicing=params.get("invoicing") or "last-to-fulfil", upc_source=params.get("upc") or "barcode",
                   delivery_types=types, default_delivery_type=params.get("delivery_type", 1),
                   payment_type=params.get("payment_type", 1),
                   document_number=params.get("document_number") or "CF",
                   document_type=params.get("document_type") or None, timezone=params.get("timezone") or "UTC")


def run(ctx: JobContext) -> dict[str, Any]:
    opts = options(ctx.params)
    source = (ctx.params["feed_folder"] or FEED_FOLDER).rstrip("/") or "/"
    target = (ctx.params["folder"] or OUT_FOLDER).rstrip("/") or "/"
    archive = ctx.params["archive"] or posixpath.join(source, "archive")
    stats: dict[str, Any] = {"files": 0, "written": []}
    with connect(ctx.hub) as sftp, connect(ctx.hub) as out:
        out.makedirs(target)
        feeds = sftp.list(source, f"{files.FEED_PREFIX}*.jsonl*")
        ctx.progress.total(None, "orders")  # the feeds' lines are counted as they are read
        processes = WORKERS if sum(f.size for f in feeds) >= WORKERS_FROM_BYTES else 0
        with workers.Pool(invoice_lines.transform_block, opts, bool(ctx.params["compress"]),
                          processes=processes) as pool:
            for remote in feeds:
                ctx.check()
                stats["files"] += 1
                name = files.INVOICES_PREFIX + files.stem(remote.name).removeprefix(files.FEED_PREFIX) + ".jsonl" + (
                    files.GZIP_SUFFIX if ctx.params["compress"] else "")
                path = posixpath.join(target, name)
                ctx.read_file(remote.path)
                rejected = rejections.Batch(ctx, NAME)
                written = out.write_atomic(path, _documents(ctx, sftp, remote, pool, rejected))
                rejected.flush()
                sftp.move(remote.path, archive)
                ctx.log(f"{remote.name} -> {path}: {written} bytes")
                stats["written"].append(path)
        if processes:
            stats["workers"] = processes
            stats["worker_peak_mb"] = [round(mb, 1) for mb in pool.peak_rss_mb]
    return stats


def _documents(ctx: JobContext, sftp: SftpClient, remote: RemoteFile, pool: workers.Pool,
               rejected: rejections.Batch) -> Iterator[bytes]:
    with sftp.open_read(remote.path) as stream:
        before = 0  # lines of the pieces done
        for done in pool.map(files.read_pieces(stream, remote.name, BLOCK_BYTES), ahead=AHEAD):
            ctx.count(read=done.read, processed=done.written)
            ctx.progress.advance(done.read)
            for failure in done.failures:
                if isinstance(failure, Refused):
                    rejected.order(failure.record, failure.error())
                else:
                    rejected.unreadable(remote.name, before + failure.line, failure.raw, failure.problem)
            if done.data:
                yield done.data
            if done.too_long is not None:
                raise files.LineTooLong(f"{remote.name} line {before + done.too_long} is longer than "
                                        f"{files.MAX_LINE_BYTES} bytes")
            before += done.lines
            ctx.check()


DEFINITION = Definition(
    NAME, "fulfilment", "Invoicing 2/4: turn new completed-order feeds into the JSON of Retail Pro's "
    "Order to Invoice API (with transfer slips for orders fulfilled by several stores), in a separate SFTP folder; "
    "values that do not fit a field go to the error log, never cut",
    params=(Param("feed_folder", help=f"where the feeds are (default {FEED_FOLDER})", default=FEED_FOLDER),
            Param("folder", help=f"where the invoice files go (default {OUT_FOLDER})", default=OUT_FOLDER),
            Param("archive", help="where read feeds go (default <feed_folder>/archive)"),
            Param("invoicing", help="which store invoices an order fulfilled by several: "
                  f"{' or '.join(INVOICING_RULES)} (default last-to-fulfil), or a store code",
                  default="last-to-fulfil"),
            Param("upc", help=f"the item's UPC: {', '.join(UPC_SOURCES)} (default barcode)", default="barcode"),
            Param("delivery_type", ParamKind.INT, "DeliveryType code (default 1)", default=1),
            Param("delivery_types", help="DeliveryType by shipping method, e.g. 'Store pickup=2,Express=3'"),
            Param("payment_type", ParamKind.INT, "PaymentType code (default 1)", default=1),
            Param("document_number", help="NoDocument for customers without one (default CF)", default="CF"),
            Param("document_type", help="TypeDocument sent with it (default none)"),
            Param("timezone", help="the stores' time zone for CreatedDate (default UTC)", default="UTC"),
            Param("compress", ParamKind.BOOL, "gzip the invoice files (default true)", default=True)),
    default_schedule="every-15-minutes", per_shop=False)
register(DEFINITION, run)
