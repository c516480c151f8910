"""The channel-operations sender: confirms shipments, cancels lines and refunds returns on the channels that
sold them, and tells channels about their customers (a consent change, an erasure: kinds ``consent`` and ``erase``,
about a person rather than an order, sent through the kind's customer channel). Each account's operations go on a
thread of their own, so a slow channel holds up no other; a channel that takes many cancellations in one call
(Amazon's acknowledgement feed) gets them together.

Each operation is sent outside any database transaction and marked done when the channel took it; a channel
that is down gets it again with backoff; one the channel refuses for good waits in the error log, where a
person retries or dismisses it. Channels' own idempotency makes a repeat harmless.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import orjson
import structlog

from orderhub.adapters import channels
from orderhub.adapters.store import accounts, channel_operations, error_log
from orderhub.bootstrap import Hub
from orderhub.domain.channels import (
    BatchCancels,
    CancelNotice,
    ChannelRefused,
    ChannelUnavailable,
    ConsentNotice,
    CustomerChannel,
    ErasureNotice,
    OrderChannel,
    RefundNotice,
    ShipmentNotice,
)
from orderhub.domain.errors import message
from orderhub.services.process import backoff

log = structlog.get_logger(__name__)

CUSTOMER_OPERATIONS = frozenset({"consent", "erase"})  # about a person: order_id None, customer_id the identity
MAX_ACCOUNTS_AT_ONCE = 8  # accounts whose operations one round sends side by side
LEASE_SECONDS = 660.0  # longer than the slowest call (an Amazon order feed waits up to ten minutes)


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


def _perform_for_customer(channel: CustomerChannel, op: channel_operations.Operation) -> None:
    p = op.payload
    try:
        if op.kind == "consent":
            notice: ConsentNotice | ErasureNotice = ConsentNotice(
                str(p["customer_ref"]), str(p["purpose"]), str(p["state"]), datetime.fromisoformat(p["occurred_at"]),
                p.get("opt_in_level"), op.reference)
        else:
            notice = ErasureNotice(str(p["customer_ref"]), op.reference)
    except (KeyError, TypeError, ValueError) as exc:
        raise ChannelRefused(f"its payload lacks what the channel needs ({message(exc)}); dismiss this") from None
    if isinstance(notice, ConsentNotice):
        channel.update_consent(notice)
    else:
        channel.request_erasure(notice)


def send_once(hub: Hub, *, limit: int = 100, account_ids: Collection[int] | None = None) -> SendReport:
    """Send the operations that are due (of ``account_ids`` only, when given), each account's on its own
    thread: a channel that is slow to answer (Amazon processing a feed) never holds up the others."""
    with hub.db.write() as conn:
        due = channel_operations.claim(conn, limit=limit, lease_seconds=LEASE_SECONDS, account_ids=account_ids)
        found = {op.account_id: accounts.by_id(conn, op.account_id) for op in due}
    by_account: dict[int, list[channel_operations.Operation]] = defaultdict(list)
    for op in due:
        by_account[op.account_id].append(op)
    work = [(account, by_account[account_id]) for account_id, account in found.items() if account is not None]
    if len(work) > 1:
        with ThreadPoolExecutor(min(len(work), MAX_ACCOUNTS_AT_ONCE), thread_name_prefix="channel-ops") as pool:
            reports = list(pool.map(lambda w: _send_account(hub, *w), work))
    else:
        reports = [_send_account(hub, *w) for w in work]
    return SendReport(sum(r.done for r in reports), sum(r.later for r in reports),
                      [line for r in reports for line in r.refused])


def _send_account(hub: Hub, account: accounts.Account, ops: list[channel_operations.Operation]) -> SendReport:
    report = SendReport()
    taken: list[int] = []  # marked done together at the end: a repeat after a crash is harmless
    about_people = [op for op in ops if op.kind in CUSTOMER_OPERATIONS]
    if about_people:
        _send_customer_ops(hub, account, about_people, report, taken)
    ops = [op for op in ops if op.kind not in CUSTOMER_OPERATIONS]
    if ops:
        _send_order_ops(hub, account, ops, report, taken)
    if taken:
        with hub.db.write() as conn:
            channel_operations.done(conn, taken)
    report.done = len(taken)
    return report


def _send_customer_ops(hub: Hub, account: accounts.Account, ops: list[channel_operations.Operation],
                       report: SendReport, taken: list[int]) -> None:
    try:
        factory = channels.customer_channel(account.kind)
        if factory is None:
            raise ChannelRefused(f"orderhub tells {channels.TITLES.get(account.kind, account.kind)} nothing about "
                                 "its customers (it has no API for their consent or erasure): act in its seller "
                                 "portal if needed, then dismiss this")
        channel = factory(account, hub)
    except ChannelRefused as exc:
        for op in ops:
            _refused(hub, account, op, exc, report)
        return
    _one_by_one(hub, account, ops, lambda op: _perform_for_customer(channel, op), report, taken)


def _send_order_ops(hub: Hub, account: accounts.Account, ops: list[channel_operations.Operation],
                    report: SendReport, taken: list[int]) -> None:
    try:
        factory = channels.order_channel(account.kind)
        if factory is None:
            raise ChannelRefused(f"orderhub sends {account.kind} no operations")
        channel = factory(account, hub)
    except ChannelRefused as exc:
        for op in ops:
            _refused(hub, account, op, exc, report)
        return
    batched = [op for op in ops if op.kind == "cancel"] if hasattr(channel, "cancel_many") else []
    if batched:
        _cancel_together(hub, account, channel, batched, report, taken)
    taken_here = channels.order_operations(account.kind)

    def perform(op: channel_operations.Operation) -> None:
        if op.kind not in taken_here:
            raise ChannelRefused(f"{channels.TITLES.get(account.kind, account.kind)} takes no {op.kind} "
                                 "through channel operations")
        _perform(channel, op)

    _one_by_one(hub, account, [op for op in ops if op not in batched], perform, report, taken)


def _one_by_one(hub: Hub, account: accounts.Account, ops: list[channel_operations.Operation],
                perform: Callable[[channel_operations.Operation], None], report: SendReport,
                taken: list[int]) -> None:
    """Send each operation: taken, later (the channel is down), or refused into the error log."""
    for op in ops:
        try:
            perform(op)
        except ChannelUnavailable as exc:
            _later(hub, account, op, exc, report)
            continue
        except ChannelRefused as exc:
            _refused(hub, account, op, exc, report)
            continue
        taken.append(op.id)


def _cancel_together(hub: Hub, account: accounts.Account, channel: BatchCancels,
                     ops: list[channel_operations.Operation], report: SendReport, taken: list[int]) -> None:
    notices = [CancelNotice(op.payload["order_ref"], tuple((str(line), int(n)) for line, n in op.payload["lines"]),
                            op.payload["reason"]) for op in ops]
    try:
        results = channel.cancel_many(notices)
    except ChannelUnavailable as exc:
        for op in ops:
            _later(hub, account, op, exc, report)
        return
    for op, failure in zip(ops, results, strict=True):
        if failure is None:
            taken.append(op.id)
        else:
            _refused(hub, account, op, failure, report)


def _what(account: accounts.Account, op: channel_operations.Operation) -> str:
    if op.kind in CUSTOMER_OPERATIONS:
        what = f"{op.payload.get('purpose')} consent" if op.kind == "consent" else "erasure"
        return f"{account.kind} account {account.name}: {what} of customer {op.payload.get('customer_ref')}"
    return f"{account.kind} account {account.name}: {op.kind} of order {op.payload.get('order_ref')}"


def _later(hub: Hub, account: accounts.Account, op: channel_operations.Operation, exc: ChannelUnavailable,
           report: SendReport) -> None:
    with hub.db.write() as conn:
        channel_operations.later(conn, op.id, str(exc), exc.retry_after or backoff(
            op.attempts + 1, hub.settings.backoff_base_seconds, hub.settings.backoff_max_seconds))
    report.later += 1
    log.warning("channel_operation_later", account=account.name, operation=op.kind, error=str(exc))


def _refused(hub: Hub, account: accounts.Account, op: channel_operations.Operation, exc: Exception,
             report: SendReport) -> None:
    what = _what(account, op)
    with hub.db.write() as conn:
        channel_operations.parked(conn, op.id, str(exc))
        error_log.record(conn, error_log.Failure(
            record_type=channel_operations.RECORD_TYPE, record_id=op.id, shop_id=op.account_id,
            topic=f"{account.kind}/{op.kind}", source="channel", kind="channel_refused",
            error=f"{what}: {exc}", payload=orjson.dumps(op.payload).decode()))
    report.refused.append(f"{what}: {exc}")
