"""The Walmart jobs: import orders (and acknowledge them within Walmart's four hours), and push stock.

**import-walmart-orders** reads, per Walmart account, the orders released and not acknowledged yet
(``GET /v3/orders/released``) and every order changed since its watermark less an overlap (``GET
/v3/orders`` by ``lastModifiedStartDate``, seller-fulfilled and WFS), page by page. Each version of an
order goes to the inbox once (topic ``walmart/order``, identity ``order:<purchaseOrderId>@<version>``: a
released and a changed listing of one version are one record), as Walmart sent it, completed only by the
same order's lines where a listing left them out. Only after a page is committed are its released orders
acknowledged; when each was released (its ``orderDate``: Walmart releases no earlier) and acknowledged is
kept in ``job_state`` (key ``ack:<purchaseOrderId>``), and the result counts the orders still not
acknowledged three hours after release (``ack_due_soon``; Walmart's deadline is four). The watermark, the
latest version read, moves only after everything read is stored; a run that fails stores what it read and
the next run reads from the old watermark again (the inbox drops what it has).

Stock goes out through the channel-neutral pusher (the worker's stock-pusher loop and push-channel-stock),
with Walmart's stock channel (adapters/walmart/inventory.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import delete, select

from orderhub.adapters.store import accounts, job_store
from orderhub.adapters.store.accounts import Account
from orderhub.adapters.store.db import upsert
from orderhub.adapters.store.inbox import InboxEntry, insert_entries
from orderhub.adapters.store.schema import job_state
from orderhub.adapters.walmart import orders as walmart_orders
from orderhub.adapters.walmart import translate
from orderhub.adapters.walmart.channel import ORDER_TOPIC, client_for, identity
from orderhub.adapters.walmart.client import WalmartClient
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.domain.channels import ChannelRefused, ChannelUnavailable
from orderhub.domain.errors import InvalidRecord
from orderhub.domain.jobs import Definition, Param, ParamKind, Policy
from orderhub.services.jobs.context import JobContext
from orderhub.services.jobs.registry import register

IMPORT = "import-walmart-orders"
WATERMARK = "lastModified"
ACK_WARNING = timedelta(hours=3)  # Walmart wants an acknowledgement within four hours of release
ACK_KEPT = timedelta(days=7)  # acknowledged orders' bookkeeping is dropped after this
FIRST_RUN_DAYS = 7  # a first run reads orders created this many days back (Walmart's own default)


def walmart_accounts(hub: Hub, name: str | None) -> list[Account]:
    """The active Walmart accounts (secrets decrypted), or the one named."""
    with hub.db.read() as conn:
        return accounts.to_work(conn, "walmart", "Walmart", name)


def _version_ms(payload: dict[str, Any]) -> datetime | None:
    try:
        return translate.version(payload)
    except InvalidRecord:
        return None  # stored all the same: the processor's error log names the field


def _complete(client: WalmartClient, payload: dict[str, Any]) -> dict[str, Any]:
    """An order whose listing left its lines out, with the lines of the same order fetched."""
    if (payload.get("orderLines") or {}).get("orderLine") or not payload.get("purchaseOrderId"):
        return payload
    full = walmart_orders.get_order(client, str(payload["purchaseOrderId"]))
    return {**payload, "orderLines": full.get("orderLines")}


class _Import:
    """One account's run: stores pages, remembers the newest version and the released orders."""

    def __init__(self, hub: Hub, account: Account, client: WalmartClient) -> None:
        self.hub, self.account, self.client = hub, account, client
        self.newest: datetime | None = None
        self.stats = {"pages": 0, "fetched": 0, "stored": 0, "duplicates": 0}

    def store(self, page: list[dict[str, Any]]) -> None:
        page = [_complete(self.client, p) for p in page]
        entries = [InboxEntry(shop_id=self.account.id, source="poll", topic=ORDER_TOPIC, identity=identity(p),
                              payload=orjson.dumps(p).decode()) for p in page]
        stored = insert_entries(self.hub.db, entries) if entries else []
        self.stats["pages"] += 1
        self.stats["fetched"] += len(page)
        self.stats["stored"] += sum(stored)
        self.stats["duplicates"] += len(stored) - sum(stored)
        for payload in page:
            at = _version_ms(payload)
            if at is not None and (self.newest is None or at > self.newest):
                self.newest = at


def _ack_key(purchase_order_id: str) -> str:
    return f"ack:{purchase_order_id}"[:100]


def _note_release(hub: Hub, account: Account, released: dict[str, datetime]) -> None:
    """Remember when each released order was released (kept from the first time it was seen)."""
    if not released:
        return
    with hub.db.write() as conn:
        known = {r.key for r in conn.execute(select(job_state.c.key).where(
            job_state.c.job == IMPORT, job_state.c.shop_id == account.id,
            job_state.c.key.in_([_ack_key(po) for po in released])))}
        for po, at in released.items():
            if _ack_key(po) not in known:
                upsert(conn, job_state, {"job": IMPORT, "shop_id": account.id, "key": _ack_key(po),
                                         "value": orjson.dumps({"released": at.isoformat(),
                                                                "acknowledged": None}).decode()},
                       keys=("job", "shop_id", "key"), update=("value",))


def _note_ack(hub: Hub, account: Account, po: str, released: datetime) -> None:
    with hub.db.write() as conn:
        upsert(conn, job_state, {"job": IMPORT, "shop_id": account.id, "key": _ack_key(po),
                                 "value": orjson.dumps({"released": released.isoformat(),
                                                        "acknowledged": utcnow().isoformat()}).decode()},
               keys=("job", "shop_id", "key"), update=("value",))


def acknowledgements(hub: Hub, account_id: int) -> dict[str, dict[str, datetime | None]]:
    """The released orders orderhub keeps track of: purchase order id -> when released and acknowledged."""
    with hub.db.read() as conn:
        rows = conn.execute(select(job_state.c.key, job_state.c.value).where(
            job_state.c.job == IMPORT, job_state.c.shop_id == account_id, job_state.c.key.like("ack:%"))).all()
    out: dict[str, dict[str, datetime | None]] = {}
    for row in rows:
        value = orjson.loads(row.value)
        out[row.key[4:]] = {k: datetime.fromisoformat(v) if v else None for k, v in value.items()}
    return out


def _ack_report(hub: Hub, account: Account, now: datetime) -> int:
    """How many released orders are unacknowledged three hours after release; forgets old acknowledged ones."""
    tracked = acknowledgements(hub, account.id)
    old = [po for po, t in tracked.items() if t["acknowledged"] is not None and t["acknowledged"] < now - ACK_KEPT]
    if old:
        with hub.db.write() as conn:
            conn.execute(delete(job_state).where(job_state.c.job == IMPORT, job_state.c.shop_id == account.id,
                                                 job_state.c.key.in_([_ack_key(po) for po in old])))
    return sum(1 for t in tracked.values()
               if t["acknowledged"] is None and t["released"] is not None and t["released"] < now - ACK_WARNING)


def import_orders(hub: Hub, account: Account, params: dict[str, Any], *, client: WalmartClient | None = None,
                  ctx: JobContext | None = None) -> dict[str, Any]:
    """One account's import: read, store, acknowledge, then move the watermark."""
    client = client or client_for(account, hub)
    now = utcnow()
    overlap = params.get("overlap_seconds")
    overlap = hub.settings.poll_overlap_seconds if overlap is None else int(overlap)
    if params.get("since"):
        since: datetime | None = params["since"]
    else:
        with hub.db.read() as conn:
            mark = job_store.time_watermark(conn, IMPORT, account.id, WATERMARK)
        since = None if mark is None else mark - timedelta(seconds=overlap)
    run = _Import(hub, account, client)
    released: dict[str, datetime] = {}
    for page in walmart_orders.released(client):
        run.store(page)
        for payload in page:
            at = _release_time(payload)
            if at is not None:
                released[str(payload["purchaseOrderId"])] = at
        if ctx is not None:
            ctx.check()
    _note_release(hub, account, released)
    first = now - timedelta(days=int(params.get("first_run_days") or FIRST_RUN_DAYS))
    for node_type in walmart_orders.SHIP_NODE_TYPES:
        for page in walmart_orders.changed(client, since, now, created_since=first, ship_node_type=node_type):
            run.store(page)
            if ctx is not None:
                ctx.check()
    acknowledged, ack_failed = 0, []
    for po, at in released.items():  # after their records are committed: an order is never taken unseen
        try:
            walmart_orders.acknowledge(client, po)
        except (ChannelUnavailable, ChannelRefused) as exc:
            ack_failed.append(f"{po}: {exc}")
            continue
        _note_ack(hub, account, po, at)
        acknowledged += 1
    if run.newest is not None:
        with hub.db.write() as conn:
            job_store.advance_time_watermark(conn, IMPORT, account.id, WATERMARK, run.newest)
    if ctx is not None:
        for failure in ack_failed:
            ctx.log(f"{account.name}: acknowledging purchase order {failure}", "warning")
    return {**run.stats, "since": since.isoformat() if since else None, "released": len(released),
            "acknowledged": acknowledged, "ack_failed": len(ack_failed), "ack_due_soon": _ack_report(hub, account, now),
            "watermark": run.newest.isoformat() if run.newest else None, "throttled": client.throttled}


def _release_time(payload: dict[str, Any]) -> datetime | None:
    try:
        return translate.epoch_ms(translate.Fields(payload), "orderDate", required=True)
    except InvalidRecord:
        return None


def _run_import(ctx: JobContext) -> dict[str, Any]:
    totals: dict[str, Any] = {"accounts": {}}
    failures = []
    for account in walmart_accounts(ctx.hub, ctx.params.get("account")):
        try:
            result = import_orders(ctx.hub, account, ctx.params, ctx=ctx)
        except ChannelUnavailable as exc:  # the message names the account and the operation
            failures.append(str(exc))
            ctx.log(str(exc), "error")
            continue
        totals["accounts"][account.name] = result
        ctx.count(read=result["fetched"], processed=result["stored"], skipped=result["duplicates"])
        if result["ack_due_soon"]:
            ctx.log(f"{account.name}: {result['ack_due_soon']} order(s) released over three hours ago are not "
                    "acknowledged; Walmart's deadline is four hours", "warning")
    totals["ack_due_soon"] = sum(r["ack_due_soon"] for r in totals["accounts"].values())
    if failures:
        raise ChannelUnavailable("; ".join(failures))
    return totals


ACCOUNT = Param("account", ParamKind.TEXT, "the Walmart account (its name); all active ones when not given")
register(Definition(
    name=IMPORT, category="orders", per_shop=False, default_schedule="every-15-minutes", min_interval_seconds=60,
    description="Walmart orders: import released and changed orders from each Walmart account and acknowledge "
                "the released ones (Walmart's deadline: four hours)",
    params=(ACCOUNT,
            Param("since", ParamKind.TIME, "read orders changed since this time instead of the watermark"),
            Param("overlap_seconds", ParamKind.INT, "re-read this many seconds before the watermark (default "
                                                    "ORDERHUB_POLL_OVERLAP_SECONDS)"),
            Param("first_run_days", ParamKind.INT, f"a first run reads orders created this many days back "
                                                   f"(default {FIRST_RUN_DAYS}, at most 180)")),
    policy=Policy(max_retries=2)), _run_import)
