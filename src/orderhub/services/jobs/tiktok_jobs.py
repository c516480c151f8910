"""The TikTok Shop jobs: poll orders into the inbox, fetch the orders notifications name, push stock.

- ``import-tiktok-orders`` reads orders updated since its watermark (minus an overlap, so nothing slips
  between runs), page by page, completes any the list leaves without their line items from Get Order
  Detail, and stores each version as a ``tiktok/order`` record with the identity (order id, update time):
  a version polled twice, or also fetched after a notification, is one record. The watermark moves only
  after every page is stored.
- ``fetch-tiktok-orders`` fetches the orders TikTok's notifications named (the webhook door stores them;
  the processor keeps each as a signal, newest per order) and stores them the same way.
- stock goes out through the channel-neutral pusher (the worker's stock-pusher loop and
  ``push-channel-stock``), with TikTok's stock channel (adapters/tiktok/stock.py).

UNPAID orders are not stored (see adapters/tiktok/translate.py): orderhub reserves nothing for an order
that may never be paid; TikTok's next version of it (paid, or cancelled) has a new update time and comes in
then.

The jobs run for the whole hub and take ``account`` (a TikTok account's name) to work on one; without it
they work on every active TikTok account. (The job manager's per-shop runs are Shopify shops.)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import orjson
import structlog
from sqlalchemy import delete, select

from orderhub.adapters.fields import parse_time
from orderhub.adapters.store import accounts, job_store
from orderhub.adapters.store.inbox import InboxEntry, insert_entries
from orderhub.adapters.store.schema import job_state
from orderhub.adapters.tiktok import api
from orderhub.adapters.tiktok.channel import FETCH_JOB, ORDER_TOPIC, client_for, order_identity
from orderhub.adapters.tiktok.client import TikTokClient, TikTokError
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.domain.jobs import Definition, Param, ParamKind
from orderhub.services.jobs.registry import register
from orderhub.services.progress import NOWHERE, Progress

log = structlog.get_logger(__name__)

IMPORT_JOB = "import-tiktok-orders"
FETCH_ROUNDS = 100  # rounds one fetch run makes while notifications keep coming
WATERMARK = "update_time"
FIRST_RUN_DAYS = 7  # how far back the first poll of an account reads
SKIPPED_STATUSES = frozenset({"UNPAID"})


def tiktok_accounts(hub: Hub, name: str | None) -> list[accounts.Account]:
    """The account named (any status: asked for by name), else every active TikTok account; secrets read."""
    with hub.db.read() as conn:
        return accounts.to_work(conn, "tiktok", "TikTok", name)


def _entry(account: accounts.Account, payload: dict[str, Any]) -> InboxEntry:
    return InboxEntry(shop_id=account.id, source="poll", topic=ORDER_TOPIC,
                      identity=order_identity(str(payload.get("id")), payload.get("update_time")),
                      payload=orjson.dumps(payload).decode())


def _complete(client: TikTokClient, page: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The page with the line items the list left out, from Get Order Detail (the same orders, nothing else)."""
    lacking = [str(o.get("id")) for o in page if not o.get("line_items")]
    if not lacking:
        return page
    detail = {str(o.get("id")): o for o in api.order_details(client, lacking)}
    completed = []
    for order in page:
        found = detail.get(str(order.get("id")))
        if not order.get("line_items") and found is not None:
            order = dict(order, line_items=found.get("line_items"))
        completed.append(order)
    return completed


def store_orders(hub: Hub, account: accounts.Account, payloads: list[dict[str, Any]]) -> dict[str, int]:
    kept = [p for p in payloads if p.get("status") not in SKIPPED_STATUSES]
    stored = insert_entries(hub.db, [_entry(account, p) for p in kept]) if kept else []
    return {"stored": sum(stored), "duplicates": len(stored) - sum(stored), "skipped": len(payloads) - len(kept)}


def import_orders(hub: Hub, account: accounts.Account, params: dict[str, Any], *, client: TikTokClient | None = None,
                  progress: Progress = NOWHERE, page_size: int = api.PAGE_SIZE) -> dict[str, Any]:
    """Poll one account's orders into the inbox; returns what it read and stored."""
    client = client or client_for(account, hub)
    overlap = params.get("overlap_seconds")
    overlap = hub.settings.poll_overlap_seconds if overlap is None else int(overlap)
    if params.get("since"):
        given = params["since"]
        since: datetime = given if isinstance(given, datetime) else parse_time(str(given), "since")
    else:
        with hub.db.read() as conn:
            watermark = job_store.time_watermark(conn, IMPORT_JOB, account.id, WATERMARK)
        since = (utcnow() - timedelta(days=FIRST_RUN_DAYS)) if watermark is None \
            else watermark - timedelta(seconds=overlap)
    stats: dict[str, Any] = {"account": account.name, "pages": 0, "fetched": 0, "stored": 0, "duplicates": 0,
                             "skipped": 0, "since": since.isoformat()}
    newest: int | None = None
    for page in api.search_orders(client, updated_since=since, page_size=page_size):
        page = _complete(client, page)
        for payload in page:
            moment = payload.get("update_time")
            if isinstance(moment, int) and (newest is None or moment > newest):
                newest = moment
        counts = store_orders(hub, account, page)
        stats["pages"] += 1
        stats["fetched"] += len(page)
        for key, n in counts.items():
            stats[key] += n
        progress.advance(len(page))
    if newest is not None:  # every page is stored: only now may the next run start later
        mark = datetime.fromtimestamp(newest, tz=utcnow().tzinfo)
        with hub.db.write() as conn:
            job_store.advance_time_watermark(conn, IMPORT_JOB, account.id, WATERMARK, mark)
        stats["watermark"] = mark.isoformat()
    stats["throttled"] = client.throttled
    return stats


def fetch_notified(hub: Hub, account: accounts.Account, *, client: TikTokClient | None = None,
                   rounds: int = FETCH_ROUNDS) -> dict[str, Any]:
    """Fetch the orders notifications named and store them as order records, round after round while new
    notifications keep coming (a burst is read by one run, up to ``rounds`` rounds, not by a run each)."""
    total: dict[str, Any] = {}
    for _ in range(rounds):
        stats, client = _fetch_round(hub, account, client)
        total = stats if not total else {k: v if k == "account" else total[k] + v for k, v in stats.items()}
        if not stats["notified"]:
            break
    return total


def _fetch_round(hub: Hub, account: accounts.Account, client: TikTokClient | None
                 ) -> tuple[dict[str, Any], TikTokClient | None]:
    """One round: a signal is cleared only when the order it named was stored and no newer notification
    came meanwhile."""
    with hub.db.read() as conn:
        signals = {r.key: r.value for r in conn.execute(select(job_state.c.key, job_state.c.value).where(
            job_state.c.job == FETCH_JOB, job_state.c.shop_id == account.id))}
    stats: dict[str, Any] = {"account": account.name, "notified": len(signals), "fetched": 0, "stored": 0,
                             "duplicates": 0, "skipped": 0, "missing": 0}
    if not signals:
        return stats, client
    client = client or client_for(account, hub)
    found = api.order_details(client, sorted(signals))
    counts = store_orders(hub, account, found)
    stats["fetched"] = len(found)
    for key, n in counts.items():
        stats[key] += n
    seen = {str(o.get("id")) for o in found}
    stats["missing"] = len(set(signals) - seen)
    if stats["missing"]:
        log.warning("tiktok_notified_orders_missing", account=account.name,
                    orders=sorted(set(signals) - seen)[:20])
    with hub.db.write() as conn:
        for key, value in signals.items():  # only the signals read: a newer one for the order stays
            conn.execute(delete(job_state).where(job_state.c.job == FETCH_JOB, job_state.c.shop_id == account.id,
                                                 job_state.c.key == key, job_state.c.value == value))
    return stats, client


def _each_account(hub: Hub, params: dict[str, Any], work: Callable[[accounts.Account], dict[str, Any]]
                  ) -> dict[str, Any]:
    results, failures = [], {}
    for account in tiktok_accounts(hub, params.get("account")):
        try:
            results.append(work(account))
        except TikTokError as exc:  # one account down does not stop the others; the run says which
            failures[account.name] = str(exc)
            log.warning("tiktok_job_account_failed", account=account.name, error=str(exc))
    totals = {k: sum(r.get(k, 0) for r in results) for k in ("fetched", "stored", "duplicates", "skipped")}
    out = {"accounts": results, "failed_accounts": failures, **totals,
           "read": totals["fetched"], "processed": totals["stored"]}
    if failures and not results:
        raise RuntimeError("; ".join(failures.values()))
    return out


ACCOUNT = Param("account", ParamKind.TEXT, "the TikTok account's name (default: every active TikTok account)")
register(Definition(name=IMPORT_JOB, category="orders", per_shop=False,
                    description="TikTok orders: import orders created or changed in TikTok Shop since the last run",
                    default_schedule="every-5-minutes",
                    params=(ACCOUNT, Param("since", ParamKind.TIME, "start from this time instead of the watermark"),
                            Param("overlap_seconds", ParamKind.INT, "re-read this many seconds before the watermark "
                                  "(default ORDERHUB_POLL_OVERLAP_SECONDS)"))),
         lambda ctx: _each_account(ctx.hub, ctx.params,
                                   lambda a: import_orders(ctx.hub, a, ctx.params, progress=ctx.progress)))
register(Definition(name=FETCH_JOB, category="orders", per_shop=False,
                    description="TikTok notified orders: fetch the orders TikTok's notifications named",
                    default_schedule="every-5-minutes", params=(ACCOUNT,)),
         lambda ctx: _each_account(ctx.hub, ctx.params, lambda a: fetch_notified(ctx.hub, a)))
