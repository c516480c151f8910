"""The stock pusher: sends each listing's latest quantity (adapters/store/channel_stock.py) to its channel.

One call per account and round, outside any database transaction; a listing is marked sent only if its
value is still the latest when the channel answers, so a movement during the call is sent next round.
A channel that is down keeps its values pending, with backoff, and gets the latest ones when it is back.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field

import structlog

from orderhub.adapters.store import accounts, channel_stock
from orderhub.adapters.store.db import Database
from orderhub.domain.channels import ChannelUnavailable, StockChannel, StockUpdate
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
                for item in items:
                    delay = exc.retry_after or backoff(item.attempts + 1, backoff_base, backoff_max)
                    channel_stock.failed(conn, item, f"{account.kind} unavailable: {exc}", delay)
            log.warning("stock_push_unavailable", account=account.name, listings=len(items), error=str(exc))
            continue
        with db.write() as conn:
            for item in items:
                reason = refused.get((item.sku, item.location))
                if reason is not None:
                    channel_stock.failed(conn, item, reason, backoff(item.attempts + 1, backoff_base, backoff_max))
                    report.refused += 1
                elif channel_stock.sent(conn, item):
                    report.sent += 1
                else:
                    report.superseded += 1
    return report
