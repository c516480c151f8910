"""What the console shows of each channel account: its health (the last successful read and how long ago,
the operations and stock values it has not taken yet, the errors waiting), its latest orders, and the stock
it offers per listing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from orderhub.adapters.store import accounts, channel_stock, order_queries
from orderhub.adapters.store.schema import channel_operations, error_log, job_runs
from orderhub.clock import utcnow

LAGGING_SECONDS = 3600  # an active account read longer ago than this is shown as lagging


@dataclass(frozen=True)
class Health:
    last_read: datetime | None  # the end of the last successful job run for the account
    lag_seconds: float | None
    stock_pending: int
    operations_pending: int
    operations_failed: int
    errors_open: int
    last_failure: str | None  # the error of its latest failed run, if that came after the last success

    @property
    def state(self) -> str:
        if self.errors_open or self.operations_failed or self.last_failure:
            return "attention"
        if self.lag_seconds is None or self.lag_seconds > LAGGING_SECONDS:
            return "lagging"
        return "ok"


@dataclass(frozen=True)
class AccountRow:
    account: accounts.Account
    health: Health


def health(conn: Connection, account_id: int) -> Health:
    now = utcnow()
    last_ok = conn.execute(select(func.max(job_runs.c.finished_at)).where(
        job_runs.c.shop_id == account_id, job_runs.c.status == "succeeded")).scalar_one_or_none()
    failed = conn.execute(select(job_runs.c.error, job_runs.c.finished_at).where(
        job_runs.c.shop_id == account_id, job_runs.c.status.in_(("failed", "timed_out")))
        .order_by(job_runs.c.id.desc()).limit(1)).first()
    ops = dict(conn.execute(select(channel_operations.c.status, func.count()).where(
        channel_operations.c.account_id == account_id).group_by(channel_operations.c.status)).all())
    errors = conn.execute(select(func.count()).select_from(error_log).where(
        error_log.c.shop_id == account_id, error_log.c.status.in_(("open", "retrying")))).scalar_one()
    recent_failure = failed.error if failed is not None and (last_ok is None or failed.finished_at and
                                                            failed.finished_at > last_ok) else None
    return Health(last_ok, (now - last_ok).total_seconds() if last_ok else None,
                  channel_stock.pending_count(conn, account_id), int(ops.get("pending", 0)),
                  int(ops.get("failed", 0)), int(errors), recent_failure)


def account_rows(conn: Connection) -> list[AccountRow]:
    return [AccountRow(a, health(conn, a.id)) for a in accounts.all_accounts(conn)]


def account_page(conn: Connection, name: str) -> dict[str, Any] | None:
    account = accounts.get(conn, name, secrets=False)
    if account is None:
        return None
    return {"row": AccountRow(account, health(conn, account.id)),
            "orders": order_queries.list_orders(conn, order_queries.OrderFilter(shop=account.name), limit=20),
            "stock": channel_stock.shown(conn, account.id),
            "operations": conn.execute(select(
                channel_operations.c.id, channel_operations.c.kind, channel_operations.c.reference,
                channel_operations.c.status, channel_operations.c.attempts, channel_operations.c.last_error,
                channel_operations.c.created_at)
                .where(channel_operations.c.account_id == account.id)
                .order_by(channel_operations.c.id.desc()).limit(20)).all()}
