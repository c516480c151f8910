"""Turn invoicing on in one step: the feed on a schedule, and the other three jobs chained after it
with the delays HotWax's invoicing workflow uses (transform a few minutes after the feed, the
calls a few minutes after the transform, the failure report five minutes after the calls, even
when they failed); and what the pipeline holds right now."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import func, select

from orderhub.adapters.store import invoice_store
from orderhub.adapters.store.schema import error_log, invoice_calls, invoice_transfers
from orderhub.bootstrap import Hub
from orderhub.services.jobs import admin
from orderhub.services.jobs.manager import JobManager

FEED, TRANSFORM, SEND, REPORT = ("feed-completed-orders", "transform-invoices", "send-invoices",
                                 "report-invoice-failures")
RECORD_TYPES = ("invoice", "invoice_transfer")


@dataclass(frozen=True)
class Plan:
    every: str = "every-15-minutes"
    recipients: str = ""
    transform_delay: str = "3m"
    send_delay: str = "3m"
    report_delay: str = "5m"
    feed_params: dict[str, Any] | None = None
    transform_params: dict[str, Any] | None = None


def install(hub: Hub, plan: Plan) -> list[str]:
    """Schedule the feed and chain the rest; returns what was set up, one line each."""
    if not plan.recipients.strip():
        raise ValueError("give the report's recipients (comma-separated addresses)")
    JobManager(hub).schedule(FEED, [None], expression=plan.every, params=plan.feed_params or {})
    admin.chain(hub, FEED, TRANSFORM, delay=plan.transform_delay, params=plan.transform_params or {})
    admin.chain(hub, TRANSFORM, SEND, delay=plan.send_delay)
    admin.chain(hub, SEND, REPORT, delay=plan.report_delay, params={"recipients": plan.recipients},
                trigger_on="finished")
    return [f"{FEED}: {plan.every}",
            f"{TRANSFORM}: {plan.transform_delay} after each successful {FEED}",
            f"{SEND}: {plan.send_delay} after each successful {TRANSFORM}",
            f"{REPORT}: {plan.report_delay} after each {SEND}, failed or not, to {plan.recipients}"]


def status(hub: Hub) -> dict[str, Any]:
    """Orders by invoicing status, slips by status, and the open error-log entries of invoicing."""
    with hub.db.read() as conn:
        orders = invoice_store.status_counts(conn)
        slips = {r.status: r.n for r in conn.execute(
            select(invoice_transfers.c.status, func.count().label("n")).group_by(invoice_transfers.c.status))}
        open_entries = conn.execute(select(func.count()).select_from(error_log).where(
            error_log.c.record_type.in_(RECORD_TYPES), error_log.c.status == "open")).scalar_one()
    return {"orders": orders, "slips": slips, "open_errors": int(open_entries)}


def order_view(hub: Hub, order_id: int) -> dict[str, Any]:
    """One order's invoicing: its status and invoice, its slips, and every call made for it."""
    with hub.db.read() as conn:
        row = invoice_store.get(conn, order_id)
        if row is None:
            raise LookupError(f"order id {order_id} has not entered invoicing (not completed, or not fed yet)")
        slips = invoice_store.transfers_of(conn, order_id)
        calls = conn.execute(select(invoice_calls).where(invoice_calls.c.order_id == order_id)
                             .order_by(invoice_calls.c.id)).all()
    return {
        "order_id": order_id, "status": row.status, "store": row.invoicing_store, "order_no": row.order_no,
        "sid": row.sid, "document_number": row.document_number, "attempts": row.attempts, "error": row.error,
        "field": row.field, "feed_file": row.feed_file, "fed_at": row.fed_at, "invoiced_at": row.invoiced_at,
        "slips": [{"from": s.from_store, "to": s.to_store, "slip_no": s.slip_no, "status": s.status, "sid": s.sid,
                   "error": s.error} for s in slips.values()],
        "calls": [{"id": c.id, "at": c.at, "document": c.document, "outcome": c.outcome, "method": c.method,
                   "url": c.url, "status": c.status, "elapsed_ms": c.elapsed_ms, "error": c.error,
                   "request": orjson.loads(c.request), "response": orjson.loads(c.response) if c.response else None}
                  for c in calls],
    }
