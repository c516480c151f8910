"""Orders the invoicing pipeline cannot pass on, kept where a person works from: the error log.

An order whose documents break the service's field table is ``rejected`` (not fed again) and
gets one error-log entry (record type ``invoice``, the order's id) with every field at fault,
the first of them as the entry's field, and the feed record as its payload. Retrying the
entry puts the order back in the next feed (after its data was corrected); retrying it with an
edited payload invoices that payload at once (:mod:`orderhub.services.invoicing.retry`).

A feed line that cannot be read at all is a file row (``job_file_row``): kept with its file
and line, to be dismissed or corrected at the source.
"""

from __future__ import annotations

from typing import Any

import orjson

from orderhub.adapters.store import error_log, invoice_store
from orderhub.domain.invoicing import NotInvoiceable
from orderhub.services.errors import FILE_ROW
from orderhub.services.jobs.context import JobContext
from orderhub.services.jobs.sftp_files import row_record_id

RECORD_TYPE = "invoice"  # error-log entries of orders that could not be invoiced
SOURCE = "retailpro"
_FLUSH_EVERY = 200


def record_order(conn: Any, *, order_id: int, shop_id: int | None, topic: str, kind: str, error: str,
                 field: str | None, payload: Any, run_id: int | None) -> int:
    """Mark the order rejected and open (or reopen) its error-log entry; returns the entry's id."""
    invoice_store.mark_rejected(conn, order_id, error, field)
    return error_log.record(conn, error_log.Failure(
        record_type=RECORD_TYPE, record_id=order_id, shop_id=shop_id, topic=topic, source=SOURCE, kind=kind,
        error=error, payload=orjson.dumps(payload, default=str).decode(), field=field, job_run_id=run_id))


class Batch:
    """Rejections of one file, written a few hundred at a time (a bad feed must not cost a commit per line)."""

    def __init__(self, ctx: JobContext, job: str) -> None:
        self.ctx, self.job = ctx, job
        self._orders: list[tuple[dict[str, Any], NotInvoiceable]] = []
        self._rows: list[tuple[str, int, bytes, str]] = []

    def order(self, record: dict[str, Any], exc: NotInvoiceable) -> None:
        self.ctx.failed_record({"order_id": record.get("order_id"), "order": exc.order,
                                "problems": [str(p) for p in exc.problems]}, str(exc))
        self.ctx.log(str(exc), "warning")
        self._orders.append((record, exc))
        self._maybe_flush()

    def unreadable(self, file: str, line: int, raw: bytes, problem: str) -> None:
        error = f"{file} line {line}: {problem}"
        self.ctx.failed_record({"file": file, "line": line}, error)
        self.ctx.log(error, "warning")
        self._rows.append((file, line, raw, error))
        self._maybe_flush()

    def _maybe_flush(self) -> None:
        if len(self._orders) + len(self._rows) >= _FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        if not self._orders and not self._rows:
            return
        with self.ctx.hub.db.write() as conn:
            shops = {v: k for k, v in invoice_store.shop_domains(conn).items()}
            for record, exc in self._orders:
                record_order(conn, order_id=int(record["order_id"]), shop_id=shops.get(record.get("shop") or ""),
                             topic=self.job, kind="validation", error=str(exc), field=exc.field,
                             payload=record, run_id=self.ctx.run_id)
            for file, line, raw, error in self._rows:
                error_log.record(conn, error_log.Failure(
                    record_type=FILE_ROW, record_id=row_record_id(self.job, file, "", line), shop_id=None,
                    topic=self.job, source="sftp", kind="validation", error=error,
                    payload=orjson.dumps({"file": file, "line": line,
                                          "text": raw.decode("utf-8", "replace")[:100_000]}).decode(),
                    job_run_id=self.ctx.run_id))
        self._orders.clear()
        self._rows.clear()
