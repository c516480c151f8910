"""The channel-operations sender: confirms shipments, cancels lines and refunds returns on the channels that
sold them.

Each operation is sent outside any database transaction and marked done when the channel took it; a channel
that is down gets it again with backoff; one the channel refuses for good waits in the error log, where a
person retries or dismisses it. Channels' own idempotency makes a repeat harmless.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
import structlog

from orderhub.adapters import channels
from orderhub.adapters.store import accounts, channel_operations, error_log
from orderhub.bootstrap import Hub
from orderhub.domain.channels import (
    CancelNotice,
    ChannelRefused,
    ChannelUnavailable,
    OrderChannel,
    RefundNotice,
    ShipmentNotice,
)
from orderhub.services.process import backoff

log = structlog.get_logger(__name__)


@dataclass
class SendReport:
    done: int = 0
    later: int = 0
    refused: list[str] = field(default_factory=list)


def _perform(channel: OrderChannel, op: channel_operations.Operation) -> None:
    p = op.payload
    lines = tuple((str(line), int(n)) for line, n in p["lines"])
    if op.kind == "ship":
        channel.confirm_shipment(ShipmentNotice(p["order_ref"], lines, p["carrier"], p.get("tracking"),
                                                datetime.fromisoformat(p["shipped_at"]), p["reference"]))
    elif op.kind == "cancel":
        channel.cancel_lines(CancelNotice(p["order_ref"], lines, p["reason"]))
    elif op.kind == "refund":
        shares = tuple((str(line), Decimal(str(a))) for line, a in p.get("line_amounts") or ())
        channel.refund(RefundNotice(p["order_ref"], lines, Decimal(str(p["amount"])), p["currency"], p["reason"],
                                    p["reference"], shares, p.get("note")))
    else:
        raise ChannelRefused(f"orderhub does not know the operation {op.kind!r}")


def send_once(hub: Hub, *, limit: int = 100) -> SendReport:
    report = SendReport()
    with hub.db.write() as conn:
        due = channel_operations.claim(conn, limit=limit)
        found = {op.account_id: accounts.by_id(conn, op.account_id) for op in due}
    channels_of: dict[int, Any] = {}
    taken: list[int] = []  # marked done together at the end: a repeat after a crash is harmless
    for op in due:
        account = found[op.account_id]
        if account is None:
            continue
        what = f"{account.kind} account {account.name}: {op.kind} of order {op.payload.get('order_ref')}"
        try:
            if op.account_id not in channels_of:
                factory = channels.order_channel(account.kind)
                if factory is None:
                    raise ChannelRefused(f"orderhub sends {account.kind} no operations")
                channels_of[op.account_id] = factory(account, hub)
            _perform(channels_of[op.account_id], op)
        except ChannelUnavailable as exc:
            with hub.db.write() as conn:
                channel_operations.later(conn, op.id, str(exc), exc.retry_after or backoff(
                    op.attempts + 1, hub.settings.backoff_base_seconds, hub.settings.backoff_max_seconds))
            report.later += 1
            log.warning("channel_operation_later", account=account.name, operation=op.kind, error=str(exc))
            continue
        except ChannelRefused as exc:
            with hub.db.write() as conn:
                channel_operations.parked(conn, op.id, str(exc))
                error_log.record(conn, error_log.Failure(
                    record_type=channel_operations.RECORD_TYPE, record_id=op.id, shop_id=op.account_id,
                    topic=f"{account.kind}/{op.kind}", source="channel", kind="channel_refused",
                    error=f"{what}: {exc}", payload=orjson.dumps(op.payload).decode()))
            report.refused.append(f"{what}: {exc}")
            continue
        taken.append(op.id)
    if taken:
        with hub.db.write() as conn:
            channel_operations.done(conn, taken)
    report.done = len(taken)
    return report
