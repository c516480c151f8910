"""Jobs for every channel kind alike.

**push-channel-stock** sends each listing's latest quantity to its channel account (services/stock_push.py,
through each account's own kind of stock channel). Every worker already does this continuously (the
``stock-pusher`` loop); the job is the same work on demand or on a schedule, for one account or all, with
a record of what it sent in the run history.
"""

from __future__ import annotations

from typing import Any

from orderhub.adapters.store import accounts
from orderhub.domain.jobs import Definition, Param, ParamKind
from orderhub.services.channel_loops import stock_channel_for
from orderhub.services.jobs.context import JobContext
from orderhub.services.jobs.registry import register
from orderhub.services.stock_push import push_once

PUSH_STOCK = "push-channel-stock"


def run_push(ctx: JobContext) -> dict[str, Any]:
    name = ctx.params.get("account")
    account_ids = None
    if name:
        with ctx.hub.db.read() as conn:
            account = accounts.get(conn, name, secrets=False)
        if account is None:
            raise LookupError(f"no channel account {name}; `orderhub channel list` shows them")
        account_ids = [account.id]
    report = push_once(ctx.hub.db, stock_channel_for(ctx.hub), limit=int(ctx.params.get("limit") or 1000),
                       backoff_base=ctx.hub.settings.backoff_base_seconds,
                       backoff_max=ctx.hub.settings.backoff_max_seconds, account_ids=account_ids)
    for account_name, why in report.unavailable.items():
        ctx.log(f"{account_name}: {why}", "warning")
    ctx.count(read=report.sent + report.refused + report.superseded, processed=report.sent, failed=report.refused)
    return {"sent": report.sent, "refused": report.refused, "superseded": report.superseded,
            "unavailable": report.unavailable}


register(Definition(
    name=PUSH_STOCK, category="inventory", per_shop=False, default_schedule="every-5-minutes",
    min_interval_seconds=60,
    description="Channel stock: send the latest quantity of every listing to its channel account (each "
                "channel's way: single calls for a few SKUs, its bulk feed for many)",
    params=(Param("account", ParamKind.TEXT, "only this channel account (its name); every active one when not "
                                              "given"),
            Param("limit", ParamKind.INT, "send at most this many listings per run", default=1000))),
    run_push)
