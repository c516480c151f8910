"""Turn invoicing on in one step: the feed on a schedule, and the other three jobs chained after it
with the delays HotWax's invoicing workflow uses (transform a few minutes after the feed, the
calls a few minutes after the transform, the failure report five minutes after the calls, even
when they failed); and what the pipeline holds right now."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from orderhub.adapters.store import invoice_store
from orderhub.adapters.store.schema import error_log, invoice_transfers
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
