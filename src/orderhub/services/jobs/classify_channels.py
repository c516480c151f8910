"""``classify-order-channels``: work out the channel of an account's stored orders again, with today's rules
and the shop's mapping of source names (domain/sales_channels.py, ``orderhub shop source-channel``).

New orders are classified as they arrive; this is for the orders stored before a mapping was set, or
before orderhub told the channels apart (a marketplace's orders were ``online`` then). Each order is read
as its latest stored version recorded it (its source name and the channel information Shopify named),
else from the inbox record of that version while the inbox keeps it; an order neither knows is left as
it is and counted as skipped. A channel that says only ``online`` for a source nothing names never
replaces a channel already worked out. Each change is on the order's timeline.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import insert, select, update

from orderhub.adapters.shopify.channel import TRANSLATOR as SHOPIFY
from orderhub.adapters.store import accounts, order_queries, source_channels
from orderhub.adapters.store.schema import inbox, order_events, orders
from orderhub.clock import utcnow
from orderhub.domain import sales_channels
from orderhub.domain.errors import InvalidRecord
from orderhub.domain.jobs import Definition, Param, ParamKind
from orderhub.domain.model import Order
from orderhub.domain.sales_channels import ChannelInformation
from orderhub.services.jobs.registry import register

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from orderhub.services.jobs.context import JobContext

NAME = "classify-order-channels"
ACTOR = f"job:{NAME}"
BATCH = 500
Sold = tuple[str | None, ChannelInformation | None]  # source name, channel information


def _sold(conn: Connection, account_id: int, shopify_ids: list[str]) -> dict[str, Sold]:
    """How each of a shop's orders was sold, as its latest stored version says (orders that cannot say are
    left out)."""
    latest: dict[str, Any] = {}
    for r in conn.execute(select(order_events.c.order_shopify_id, order_events.c.inbox_id, order_events.c.detail)
                          .where(order_events.c.shop_id == account_id,
                                 order_events.c.order_shopify_id.in_(shopify_ids),
                                 order_events.c.kind.in_(("created", "updated")))
                          .order_by(order_events.c.id)):
        latest[r.order_shopify_id] = r
    found: dict[str, Sold] = {}
    unrecorded: dict[str, int] = {}  # stored before versions recorded it: its inbox record says
    for shopify_id, event in latest.items():
        detail = orjson.loads(event.detail)
        if isinstance(detail, dict) and "source_name" in detail:
            found[shopify_id] = (detail["source_name"], order_queries.channel_information(detail))
        elif event.inbox_id is not None:
            unrecorded[shopify_id] = event.inbox_id
    payloads = _payloads(conn, list(unrecorded.values()))
    for shopify_id, inbox_id in unrecorded.items():
        if inbox_id not in payloads:
            continue
        topic, payload, at = payloads[inbox_id]
        try:
            record = SHOPIFY.translate(topic, orjson.loads(payload), at)
        except (InvalidRecord, ValueError):
            continue
        if isinstance(record, Order):
            found[shopify_id] = (record.source_name, record.channel_information)
    return found


def _payloads(conn: Connection, inbox_ids: list[int]) -> dict[int, tuple[str, str, datetime]]:
    if not inbox_ids:
        return {}
    return {r.id: (r.topic, r.payload, r.triggered_at or r.received_at) for r in conn.execute(
        select(inbox.c.id, inbox.c.topic, inbox.c.payload, inbox.c.triggered_at, inbox.c.received_at)
        .where(inbox.c.id.in_(inbox_ids)))}


def _channel(sold: Sold, mapping: dict[str, str]) -> tuple[str, bool]:
    """A Shopify order's channel by today's rules, and whether it is only a guess (online, nothing named)."""
    source, info = sold
    channel = sales_channels.mapped(source, mapping)
    if channel is not None:
        return channel, False
    channel = sales_channels.classify(source, info)
    return channel, sales_channels.is_guess(channel, source, info)


def _accounts(ctx: JobContext) -> list[Any]:
    name = (ctx.params.get("account") or "").strip()
    with ctx.hub.db.read() as conn:
        if not name:
            return accounts.all_accounts(conn)
        found = accounts.get(conn, name, secrets=False)
    if found is None:
        raise ValueError(f"no channel account {name}; `orderhub channel list` and `orderhub shop list` show them")
    return [found]


def classify(ctx: JobContext) -> dict[str, Any]:
    """Every order of each account (the one named, or all), read again; returns what changed."""
    read, changed, skipped = 0, 0, 0
    moved: dict[str, int] = {}
    for account in _accounts(ctx):
        with ctx.hub.db.read() as conn:
            mapping = source_channels.of_account(conn, account.id)
        after = 0
        while True:
            ctx.check()
            with ctx.hub.db.write() as conn:
                batch = conn.execute(select(orders.c.id, orders.c.shopify_id, orders.c.channel)
                                     .where(orders.c.shop_id == account.id, orders.c.id > after)
                                     .order_by(orders.c.id).limit(BATCH)).all()
                if not batch:
                    break
                after = batch[-1].id
                shopify = account.kind == "shopify"
                sold = _sold(conn, account.id, [r.shopify_id for r in batch]) if shopify else {}
                for row in batch:
                    how = sold.get(row.shopify_id, (None, None))
                    if account.kind in sales_channels.MARKETPLACES:  # a marketplace's orders take its kind
                        channel, guess = account.kind, False
                    elif shopify and row.shopify_id in sold:
                        channel, guess = _channel(how, mapping)
                    else:
                        skipped += 1
                        continue
                    if channel == row.channel or (guess and row.channel != sales_channels.ONLINE):
                        continue
                    conn.execute(update(orders).where(orders.c.id == row.id).values(channel=channel))
                    conn.execute(insert(order_events).values(
                        shop_id=account.id, order_shopify_id=row.shopify_id, inbox_id=None, kind="channel",
                        detail=orjson.dumps({"from": row.channel, "to": channel, "source_name": how[0]}).decode(),
                        actor=ACTOR, at=utcnow()))
                    changed += 1
                    moved[channel] = moved.get(channel, 0) + 1
            read += len(batch)
            ctx.count(read=len(batch))
    ctx.count(processed=changed, skipped=skipped)
    return {"orders": read, "changed": changed, "unknown_source": skipped, "now": dict(sorted(moved.items()))}


register(Definition(NAME, "orders", "Classify order channels: work out the channel of stored orders again (after "
                    "`orderhub shop source-channel`, or for orders stored before orderhub told the channels "
                    "apart); new orders are classified as they arrive", per_shop=False, default_schedule="daily",
                    min_interval_seconds=3600,
                    params=(Param("account", ParamKind.TEXT, "only this shop or channel account (its name); every "
                                  "account when not given"),)),
         classify)
