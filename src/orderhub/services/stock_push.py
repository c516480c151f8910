"""The stock pusher: sends each listing's latest quantity (adapters/store/channel_stock.py) to its channel.

One call per account and round, outside any database transaction; a listing is marked sent only if its
value is still the latest when the channel answers, so a movement during the call is sent next round.
A channel that is down keeps its values pending, with backoff, and gets the latest ones when it is back.
A listing the channel refuses (an unknown SKU, a feed's per-SKU error) is tried again with backoff too, and
waits in the error log, one entry per listing, naming the account, the SKU and the channel's reason; the
entry is resolved when the channel takes a value of it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

import orjson
import structlog
from sqlalchemy import Connection

from orderhub.adapters.store import accounts, channel_stock, error_log
from orderhub.adapters.store.db import Database
from orderhub.domain.channels import ChannelUnavailable, StockChannel, StockUpdate
from orderhub.services.channel_listings import record_id
from orderhub.services.errors import STOCK_REFUSED
from orderhub.services.process import backoff

log = structlog.get_logger(__name__)

ChannelFor = Callable[[accounts.Account], StockChannel]


@dataclass
class PushReport:
    sent: int = 0
    refused: int = 0
    unavailable: dict[str, str] = field(default_factory=dict)  # account name -> why
    superseded: int = 0  # taken by the channel, but a newer value came meanwhile: it goes next round


def push_once(db: Database, channel_for: ChannelFor, *, limit: int = 1000, backoff_base: float = 1.0,
              backoff_max: float = 300.0, account_ids: Collection[int] | None = None) -> PushReport:
    """Send every pending value that is due (up to ``limit`` listings; of ``account_ids`` only, when given),
    one call per account."""
    report = PushReport()
    with db.write() as conn:
        due = channel_stock.claim(conn, limit=limit, account_ids=account_ids)
        found = {account_id: accounts.by_id(conn, account_id) for account_id in due}
    for account_id, items in due.items():
        account = found[account_id]
        if account is None:
            continue
        updates = [StockUpdate(i.sku, i.location, i.wanted, i.channel_ref, i.version, i.attempts) for i in items]
        try:
            refused = channel_for(account).push_stock(updates)
        except ChannelUnavailable as exc:
            report.unavailable[account.name] = str(exc)
            with db.write() as conn:
                for item in sorted(items, key=lambda i: (i.sku, i.location)):
                    delay = exc.retry_after or backoff(item.attempts + 1, backoff_base, backoff_max)
                    channel_stock.failed(conn, item, f"{account.kind} unavailable: {exc}", delay)
            log.warning("stock_push_unavailable", account=account.name, listings=len(items), error=str(exc))
            continue
        with db.write() as conn:
            for item in sorted(items, key=lambda i: (i.sku, i.location)):  # in channel_stock.want's order
                reason = refused.get((item.sku, item.location))
                if reason is not None:
                    channel_stock.failed(conn, item, reason, backoff(item.attempts + 1, backoff_base, backoff_max))
                    if item.attempts == 0:  # once per value: a listing refused for days keeps one entry
                        _record_refusal(conn, account, item, reason)
                    report.refused += 1
            taken = channel_stock.sent_many(conn, [i for i in items if (i.sku, i.location) not in refused])
            report.sent += len(taken)
            report.superseded += len(items) - len(taken) - sum(1 for i in items if (i.sku, i.location) in refused)
            _resolve_refusals(conn, taken)
    return report


def refusal_id(account_id: int, sku: str, location: str) -> int:
    """The error-log record id of a listing's refusals: stable per (account, SKU, location)."""
    return record_id("refused", account_id, sku, location)


def _record_refusal(conn: Connection, account: accounts.Account, item: channel_stock.Pending, reason: str) -> None:
    where = f" at {item.location}" if item.location else ""
    error_log.record(conn, error_log.Failure(
        record_type=STOCK_REFUSED, record_id=refusal_id(item.account_id, item.sku, item.location),
        shop_id=item.account_id, topic=f"{account.kind}/stock", source="channel", kind="channel_refused",
        error=f"{account.kind} account {account.name} refused the stock of SKU {item.sku}{where} "
              f"({item.wanted}): {reason}"[:2000],
        payload=orjson.dumps({"account_id": item.account_id, "sku": item.sku, "location": item.location,
                              "quantity": item.wanted}).decode(), field=item.sku[:200]))


def _resolve_refusals(conn: Connection, taken: Sequence[channel_stock.Pending]) -> None:
    """The channel took these listings' values: their refusals in the error log are over."""
    error_log.resolve_open(conn, STOCK_REFUSED, (refusal_id(i.account_id, i.sku, i.location) for i in taken))
