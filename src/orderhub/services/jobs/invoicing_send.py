"""Job ``send-invoices``: call Retail Pro's Order to Invoice API once per order of each invoice file.

Each file's lines are sent in order (:func:`orderhub.services.invoicing.send.send`: an order is
invoiced at most once, whatever happens between the call and the mark) and every answer is
written, one JSON line per order, to ``responses-....jsonl`` in the responses folder (beside
the input by default). A file whose orders were all answered is archived. When Retail Pro
stops answering (``stop_after_unavailable`` orders in a row), the run stops, keeps the file
where it is and fails, so the job's retry (or the next run) picks up where it stopped: orders
already invoiced are skipped without a call. Slips that could not be posted before are posted
first.
"""

from __future__ import annotations

import posixpath
import tempfile
from typing import IO, Any

import orjson

from orderhub.adapters.retailpro import RetailProClient, RetailProConfig
from orderhub.adapters.sftp import RemoteFile, SftpClient
from orderhub.adapters.store import invoice_store
from orderhub.domain.jobs import Definition, Param, ParamKind
from orderhub.services.invoicing import files, rejections
from orderhub.services.invoicing.send import LineError, parse_line, post_transfers, send
from orderhub.services.jobs.context import JobContext
from orderhub.services.jobs.registry import register
from orderhub.services.jobs.sftp_files import connect

NAME = "send-invoices"
FOLDER = "/retailpro/invoices"
_SPOOL_CHUNK = 256 * 1024


class RetailProDown(RuntimeError):
    pass


def run(ctx: JobContext) -> dict[str, Any]:
    folder = (ctx.params["folder"] or FOLDER).rstrip("/") or "/"
    archive = ctx.params["archive"] or posixpath.join(folder, "archive")
    responses = (ctx.params["responses_folder"] or folder).rstrip("/") or "/"
    limit = max(1, ctx.params["stop_after_unavailable"])
    stats: dict[str, Any] = {"files": 0, "invoiced": 0, "found": 0, "skipped": 0, "rejected": 0, "unavailable": 0,
                             "slips": 0, "responses": []}
    with RetailProClient(RetailProConfig.from_settings(ctx.hub.settings)) as client, \
            connect(ctx.hub) as sftp, connect(ctx.hub) as out:
        stats["slips"] = _post_left_over_slips(ctx, client)
        out.makedirs(responses)
        for remote in sftp.list(folder, f"{files.INVOICES_PREFIX}*.jsonl*"):
            ctx.check()
            stats["files"] += 1
            ctx.read_file(remote.path)
            with tempfile.TemporaryFile() as spool:
                stopped = _send_file(ctx, client, sftp, remote, spool, limit, stats)
                name = "responses-" + files.stem(remote.name).removeprefix(files.INVOICES_PREFIX) + \
                    f"-run{ctx.run_id}.jsonl"
                path = posixpath.join(responses, name)
                if spool.tell():
                    spool.seek(0)
                    out.write_atomic(path, iter(lambda: spool.read(_SPOOL_CHUNK), b""))
                    stats["responses"].append(path)
            if stopped:
                raise RetailProDown(f"Retail Pro is not answering ({stopped}); {remote.name} stays in {folder} for "
                                    f"the next run, which skips the {stats['invoiced'] + stats['found']} order(s) "
                                    "invoiced so far")
            sftp.move(remote.path, archive)
            ctx.log(f"{remote.name}: {stats['invoiced']} invoiced, {stats['found']} found invoiced, "
                    f"{stats['rejected']} rejected, {stats['unavailable']} unanswered so far; responses in {path}")
    return stats


def _send_file(ctx: JobContext, client: RetailProClient, sftp: SftpClient, remote: RemoteFile, spool: IO[bytes],
               limit: int, stats: dict[str, Any]) -> str | None:
    """Send one file's orders; the last error when Retail Pro stopped answering, else None."""
    rejected = rejections.Batch(ctx, NAME)
    in_a_row = 0
    try:
        with sftp.open_read(remote.path) as stream:
            for number, raw in files.read_lines(stream, remote.name):
                ctx.check()
                ctx.count(read=1)
                try:
                    sent = send(ctx.hub.db, client, parse_line(orjson.loads(raw)), run_id=ctx.run_id, topic=NAME)
                except (orjson.JSONDecodeError, LineError) as exc:
                    rejected.unreadable(remote.name, number, raw, str(exc))
                    continue
                spool.write(orjson.dumps(sent.record() | {"file": remote.name, "line": number}, default=str) + b"\n")
                stats[sent.result] += 1
                if sent.result in ("invoiced", "found"):
                    ctx.count(processed=1)
                elif sent.result == "skipped":
                    ctx.count(skipped=1)
                else:
                    ctx.failed_record(sent.record(), f"order {sent.order}: {sent.message}")
                    ctx.log(f"order {sent.order}: {sent.message}", "warning")
                in_a_row = in_a_row + 1 if sent.result == "unavailable" else 0
                if in_a_row >= limit:
                    return sent.message
    finally:
        rejected.flush()
    return None


def _post_left_over_slips(ctx: JobContext, client: RetailProClient) -> int:
    with ctx.hub.db.read() as conn:
        orders = invoice_store.open_transfer_orders(conn, limit=1000)
    posted = 0
    for order_id in orders:
        ctx.check()
        results = post_transfers(ctx.hub.db, client, order_id, run_id=ctx.run_id, topic=NAME)
        posted += sum(1 for r in results if r in ("posted", "found"))
    if orders:
        ctx.log(f"posted {posted} transfer slip(s) left over from earlier runs ({len(orders)} order(s))")
    return posted


register(Definition(
    NAME, "fulfilment", "Invoicing 3/4: call Retail Pro's Order to Invoice API once per order of the new invoice "
    "files (then post transfer slips), log every request and response, store the responses on SFTP beside the "
    "input; orders are marked invoiced only on success and never invoiced twice",
    params=(Param("folder", help=f"where the invoice files are (default {FOLDER})", default=FOLDER),
            Param("archive", help="where sent files go (default <folder>/archive)"),
            Param("responses_folder", help="where the responses go (default: the folder of the input)"),
            Param("stop_after_unavailable", ParamKind.INT, "stop the run (and keep the file) after this many orders "
                  "in a row went unanswered (default 3)", default=3)),
    default_schedule="every-15-minutes", per_shop=False),
    run)
