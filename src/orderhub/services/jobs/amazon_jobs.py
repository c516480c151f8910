"""Amazon's jobs: import orders (notified ones at once, then everything updated since the last run) and push
stock to Amazon listings.

**import-amazon-orders**, per active Amazon account (or the one named):

1. Orders Amazon notified (ORDER_CHANGE, kept by the processor as signals) are read with getOrder and
   getOrderItems and stored, without waiting for getOrders to show the change (Amazon documents that
   updates take about two minutes to appear there). A signal is cleared only after its order is stored,
   and only if no newer notification came meanwhile.
2. getOrders by ``LastUpdatedAfter`` = the watermark less the overlap (at least two minutes), page by page;
   each order with its items is stored as one inbox record per version (``amazon/order``, identity
   ``(account, order id, LastUpdateDate)``: a re-read or notified version is one record). The watermark
   then moves to the ``LastUpdatedBefore`` Amazon answered, and only after every page is stored.

The job manager runs per-shop jobs for Shopify shops only, so these run for the whole hub and loop over
the Amazon accounts themselves.

Stock goes out through the channel-neutral pusher (the worker's stock-pusher loop and push-channel-stock),
with Amazon's stock channel: patchListingsItem for a few SKUs, a JSON_LISTINGS_FEED for many
(adapters/amazon/stock.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson
import structlog
from sqlalchemy import delete, select

from orderhub.adapters.amazon import channel as amazon
from orderhub.adapters.amazon.client import SpApiClient
from orderhub.adapters.amazon.notifications import IMPORT_JOB, KEY_PREFIX, NOTIFIED_JOB
from orderhub.adapters.amazon.orders import OrderPages, get_order, inbox_entry, version_identity, with_items
from orderhub.adapters.store import accounts, job_store
from orderhub.adapters.store.accounts import Account
from orderhub.adapters.store.inbox import insert_entries
from orderhub.adapters.store.schema import inbox, job_state
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.domain.channels import ChannelUnavailable
from orderhub.domain.jobs import Definition, Param, ParamKind
from orderhub.services.jobs.registry import register
from orderhub.services.progress import NOWHERE, Progress

log = structlog.get_logger(__name__)

WATERMARK = "LastUpdatedBefore"
MIN_OVERLAP_SECONDS = 120  # Amazon: order changes can take about two minutes to show in getOrders
DEFAULT_OVERLAP_SECONDS = 300
FIRST_RUN_DAYS = 7  # a first run (no watermark, no `since`) reads this far back


def amazon_accounts(hub: Hub, name: str | None = None) -> list[Account]:
    """The active Amazon accounts (with their secrets), or the one named."""
    with hub.db.read() as conn:
        listed = [a for a in accounts.all_accounts(conn, amazon.KIND)
                  if a.status == "active" and (name is None or a.name == name.strip().lower())]
        if name is not None and not listed:
            raise ValueError(f"no active Amazon account named {name}; `orderhub channel list` shows them")
        found = [accounts.by_id(conn, a.id) for a in listed]
    return [a for a in found if a is not None]


def _stored_versions(hub: Hub, account_id: int, identities: list[str]) -> set[str]:
    if not identities:
        return set()
    with hub.db.read() as conn:
        return set(conn.execute(select(inbox.c.identity).where(inbox.c.shop_id == account_id,
                                                               inbox.c.identity.in_(identities))).scalars())


def _notified(hub: Hub, account_id: int) -> list[tuple[str, str]]:
    with hub.db.read() as conn:
        rows = conn.execute(select(job_state.c.key, job_state.c.value).where(
            job_state.c.job == NOTIFIED_JOB, job_state.c.shop_id == account_id,
            job_state.c.key.startswith(KEY_PREFIX))).all()
    return [(r.key, r.value) for r in rows]


def _clear(hub: Hub, account_id: int, key: str, value: str) -> None:
    with hub.db.write() as conn:  # only the signal read: a newer notification of the order stays
        conn.execute(delete(job_state).where(job_state.c.job == NOTIFIED_JOB, job_state.c.shop_id == account_id,
                                             job_state.c.key == key, job_state.c.value == value))


def import_notified(hub: Hub, account: Account, client: SpApiClient) -> dict[str, int]:
    """Read and store the orders Amazon notified changes of."""
    stats = {"notified": 0, "stored": 0, "duplicates": 0, "unknown": 0}
    for key, value in _notified(hub, account.id):
        order_id = str(orjson.loads(value).get("order_id") or key[len(KEY_PREFIX):])
        payload = get_order(client, order_id)
        stats["notified"] += 1
        if payload is None:
            stats["unknown"] += 1
            log.warning("amazon_notified_order_unknown", account=account.name, order=order_id)
        else:
            stored = insert_entries(hub.db, [inbox_entry(account.id, payload)])
            stats["stored" if stored[0] else "duplicates"] += 1
        _clear(hub, account.id, key, value)
    return stats


def import_orders(hub: Hub, account: Account, params: dict[str, Any], *, client: SpApiClient | None = None,
                  progress: Progress = NOWHERE, **client_options: Any) -> dict[str, Any]:
    """One account's run of import-amazon-orders; returns what it read and stored."""
    client = client or amazon.client(account, hub, **client_options)
    stats: dict[str, Any] = {"account": account.name, "pages": 0, "fetched": 0, "stored": 0, "duplicates": 0}
    stats["notifications"] = import_notified(hub, account, client)
    overlap = max(MIN_OVERLAP_SECONDS, int(params.get("overlap_seconds") or DEFAULT_OVERLAP_SECONDS))
    given = params.get("since")
    if given:
        since: datetime = given if isinstance(given, datetime) else datetime.fromisoformat(str(given))
    else:
        with hub.db.read() as conn:
            watermark = job_store.time_watermark(conn, IMPORT_JOB, account.id, WATERMARK)
        since = (watermark - timedelta(seconds=overlap)) if watermark else utcnow() - timedelta(days=FIRST_RUN_DAYS)
    stats["since"] = since.isoformat()
    pages = OrderPages(client, since)
    for orders in pages:
        # Versions stored already (the overlap re-reads them) need no second getOrderItems.
        known = _stored_versions(hub, account.id, [version_identity(o) for o in orders])
        new = [o for o in orders if version_identity(o) not in known]
        entries = [inbox_entry(account.id, with_items(client, o)) for o in new]
        stored = insert_entries(hub.db, entries) if entries else []
        stats["pages"] += 1
        stats["fetched"] += len(orders)
        stats["stored"] += sum(stored)
        stats["duplicates"] += len(orders) - sum(stored)
        progress.advance(len(orders))
    if pages.updated_before is not None:  # every page is stored: Amazon showed everything up to here
        with hub.db.write() as conn:
            job_store.advance_time_watermark(conn, IMPORT_JOB, account.id, WATERMARK, pages.updated_before)
    stats["watermark"] = pages.updated_before.isoformat() if pages.updated_before else None
    stats["throttled"], stats["waited_seconds"] = client.throttled, round(client.waited_seconds, 3)
    return stats


def run_import(hub: Hub, params: dict[str, Any], progress: Progress = NOWHERE) -> dict[str, Any]:
    """Every account in turn; one that fails does not keep the others from their orders (the run then fails,
    naming each that did, and the failed ones keep their watermarks)."""
    runs, failed = [], []
    for account in amazon_accounts(hub, params.get("account")):
        try:
            runs.append(import_orders(hub, account, params, progress=progress))
        except ChannelUnavailable as exc:
            failed.append(str(exc))
            log.warning("amazon_import_failed", account=account.name, error=str(exc))
    if failed:
        raise ChannelUnavailable("; ".join(failed))
    read = sum(r["fetched"] + r["notifications"]["notified"] for r in runs)
    processed = sum(r["stored"] + r["notifications"]["stored"] for r in runs)
    return {"accounts": runs, "read": read, "processed": processed}


register(Definition(
    name=IMPORT_JOB, category="orders", per_shop=False, default_schedule="every-15-minutes",
    description="Amazon orders: import orders Amazon notified, then every order updated since the last run "
                "(with an overlap), for each Amazon account",
    params=(Param("account", help="only this Amazon account (default: every active one)"),
            Param("since", ParamKind.TIME, "read orders updated since this time instead of the watermark"),
            Param("overlap_seconds", ParamKind.INT, f"re-read this many seconds before the watermark (at least "
                                                    f"{MIN_OVERLAP_SECONDS}; default {DEFAULT_OVERLAP_SECONDS})"))),
    lambda ctx: run_import(ctx.hub, ctx.params, ctx.progress))
