"""Jobs for every channel kind alike.

**push-channel-stock** sends each listing's latest quantity to its channel account (services/stock_push.py,
through each account's own kind of stock channel). Every worker already does this continuously (the
``stock-pusher`` loop); the job is the same work on demand or on a schedule, for one account or all, with
a record of what it sent in the run history. **send-channel-operations** does the same for the shipments,
cancellations and refunds owed to the channels (services/channel_ops.py; the ``channel-operations`` loop).

**sync-channel-listings** lists on each account every SKU its channel sells and orderhub knows
(services/channel_listings.py); **check-channel-stock** compares what each channel shows with what it took
and makes what drifted due again (services/stock_drift.py). Both read through the account's kind's stock
reader (adapters/channels.py: ``stock_reader``); an account whose kind has none is skipped with a note.
"""

from __future__ import annotations

from typing import Any

from orderhub.adapters import channels
from orderhub.adapters.store import accounts
from orderhub.domain.channels import ChannelRefused, ChannelUnavailable, ListingReader, StockReader
from orderhub.domain.jobs import Definition, Param, ParamKind
from orderhub.services.channel_listings import SyncReport, sync_account
from orderhub.services.channel_loops import stock_channel_for
from orderhub.services.channel_ops import send_once
from orderhub.services.jobs.context import JobContext
from orderhub.services.jobs.registry import register
from orderhub.services.stock_drift import DriftReport, check_account
from orderhub.services.stock_push import push_once

PUSH_STOCK = "push-channel-stock"
SEND_OPERATIONS = "send-channel-operations"
SYNC_LISTINGS = "sync-channel-listings"
CHECK_STOCK = "check-channel-stock"
ACCOUNT = Param("account", ParamKind.TEXT, "only this channel account (its name); every active one when not given")


def run_push(ctx: JobContext) -> dict[str, Any]:
    account_ids = _account_ids(ctx)
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
    params=(ACCOUNT,
            Param("limit", ParamKind.INT, "send at most this many listings per run", default=1000))),
    run_push)


def _account_ids(ctx: JobContext) -> list[int] | None:
    name = ctx.params.get("account")
    if not name:
        return None
    with ctx.hub.db.read() as conn:
        account = accounts.get(conn, name, secrets=False)
    if account is None:
        raise LookupError(f"no channel account {name}; `orderhub channel list` shows them")
    return [account.id]


def run_operations(ctx: JobContext) -> dict[str, Any]:
    report = send_once(ctx.hub, limit=int(ctx.params.get("limit") or 100), account_ids=_account_ids(ctx))
    for line in report.refused:
        ctx.log(line, "warning")
    ctx.count(read=report.done + report.later + len(report.refused), processed=report.done,
              failed=len(report.refused), skipped=report.later)
    return {"done": report.done, "later": report.later, "refused": len(report.refused)}


register(Definition(
    name=SEND_OPERATIONS, category="fulfilment", per_shop=False, default_schedule="every-5-minutes",
    min_interval_seconds=60,
    description="Channel operations: confirm shipments, cancel lines and refund returns on the channels that "
                "sold the orders (what the worker's channel-operations loop sends continuously)",
    params=(ACCOUNT, Param("limit", ParamKind.INT, "send at most this many operations per run", default=100))),
    run_operations)


# -- reading the channels back -------------------------------------------------------------------------------

def _accounts(ctx: JobContext) -> list[accounts.Account]:
    """The account the run names (disabled or not: a person asked for it), else every active one."""
    name = ctx.params.get("account")
    with ctx.hub.db.read() as conn:
        if name:
            found = accounts.get(conn, name)
            if found is None:
                raise LookupError(f"no channel account {name}; `orderhub channel list` shows them")
            return [found]
        return [a for a in (accounts.by_id(conn, listed.id) for listed in accounts.all_accounts(conn))
                if a is not None and a.status == "active"]


def _reader(ctx: JobContext, account: accounts.Account, skipped: dict[str, str]) -> StockReader | None:
    """The account's stock reader, or None with the reason noted (its kind has none, a setting is missing)."""
    factory = channels.stock_reader(account.kind)
    if factory is None:
        skipped[account.name] = f"orderhub cannot read what {account.kind} accounts show; skipped"
    else:
        try:
            return factory(account, ctx.hub)
        except (ValueError, KeyError) as exc:  # a setting or secret missing, an endpoint not allowed
            skipped[account.name] = f"{account.kind} account {account.name}: {exc}"
    ctx.log(f"{account.name}: {skipped[account.name]}", "warning")
    return None


def run_sync(ctx: JobContext) -> dict[str, Any]:
    report = SyncReport()
    skipped: dict[str, str] = {}
    unavailable: dict[str, str] = {}
    for account in _accounts(ctx):
        reader = _reader(ctx, account, skipped)
        if reader is None:
            continue
        if not isinstance(reader, ListingReader):
            skipped[account.name] = f"orderhub cannot read which SKUs {account.kind} accounts list; skipped"
            ctx.log(f"{account.name}: {skipped[account.name]}", "warning")
            continue
        before = (report.read, report.listed, report.unknown)
        try:
            sync_account(ctx.hub.db, account, reader, run_id=ctx.run_id, report=report)
        except (ChannelUnavailable, ChannelRefused) as exc:
            unavailable[account.name] = str(exc)
            ctx.log(f"{account.name}: {exc}; what was read before is kept, the rest waits for the next run",
                    "warning")
            continue
        ctx.log(f"{account.name}: the channel lists {report.read - before[0]} SKUs; {report.listed - before[1]} "
                f"newly listed, {report.unknown - before[2]} unknown to orderhub")
    return {"read": report.read, "listed": report.listed, "already_listed": report.known - report.listed,
            "unknown": report.unknown, "unknown_reported": report.reported, "accounts": report.accounts,
            "skipped": skipped, "unavailable": unavailable}


def run_check(ctx: JobContext) -> dict[str, Any]:
    report = DriftReport()
    skipped: dict[str, str] = {}
    unavailable: dict[str, str] = {}
    checked: list[str] = []
    for account in _accounts(ctx):
        reader = _reader(ctx, account, skipped)
        if reader is None:
            continue
        try:
            check_account(ctx.hub.db, account, reader, run_id=ctx.run_id, report=report)
        except (ChannelUnavailable, ChannelRefused) as exc:
            unavailable[account.name] = str(exc)
            ctx.log(f"{account.name}: {exc}; checked again next run", "warning")
            continue
        checked.append(account.name)
        drifted = report.found.get(account.name, [])
        if drifted:
            ctx.log(f"{account.name}: {len(drifted)} listing(s) drifted ({', '.join(d.sku for d in drifted[:20])}); "
                    "due again for the stock pusher", "warning")
    return {"checked": report.checked, "in_step": report.in_step, "drifted": report.drifted,
            "pending": report.pending, "missing": report.missing, "accounts": checked, "skipped": skipped,
            "unavailable": unavailable, "error_log_entries": report.entries}


register(Definition(
    name=SYNC_LISTINGS, category="inventory", per_shop=False, default_schedule="daily", min_interval_seconds=300,
    description="Channel listings: list on each channel account every SKU its channel sells and orderhub knows "
                "(the channel's own id kept with it); a SKU orderhub does not know goes to the error log once",
    params=(ACCOUNT,), counts=(("processed", "listed"), ("skipped", "already_listed"), ("failed", "unknown"))),
    run_sync)

register(Definition(
    name=CHECK_STOCK, category="inventory", per_shop=False, default_schedule="hourly", min_interval_seconds=300,
    description="Channel stock drift: compare the quantity each channel shows with the one orderhub sent; a "
                "listing that shows another is sent again, and the error log names the SKUs per account",
    params=(ACCOUNT,), counts=(("read", "checked"), ("processed", "drifted"), ("skipped", "pending"),
                               ("failed", "missing"))),
    run_check)
