"""The drift check: does each channel still show what orderhub last sent it?

Someone edits a quantity in the channel's own back office (Seller Central, Seller Center), or an update is
lost on the channel's side: the channel then shows something else than the value it took, and orderhub,
believing it sent, would never send again until the next movement. The check reads what the channel shows
(its kind's ``StockReader``) for every listing whose latest value was taken, and makes each one that shows
something else due again (channel_stock.drifted), so the stock pusher corrects it. Listings whose latest
value is still to send are left to the pusher. What drifted on an account goes to the error log, one entry
per account and run, naming the SKUs, so a person learns who keeps editing stock behind orderhub's back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from orderhub.adapters.store import channel_stock, error_log
from orderhub.adapters.store.accounts import Account
from orderhub.adapters.store.db import Database
from orderhub.domain.channels import StockReader
from orderhub.services.channel_listings import record_id
from orderhub.services.errors import STOCK_DRIFT

RECORD_TYPE = STOCK_DRIFT  # error-log entries of listings that drifted, one per account and run
READ_BATCH = 500  # listings asked of the channel at once (its adapter pages its own calls)
NAMED_IN_TEXT = 20  # SKUs the entry's text names; its payload has them all


@dataclass
class Drift:
    sku: str
    location: str
    shown: int
    sent: int


@dataclass
class DriftReport:
    checked: int = 0  # listings whose shown quantity was compared
    in_step: int = 0  # the channel shows what it took
    drifted: int = 0  # it shows something else: due again
    pending: int = 0  # the latest value is still to send: the pusher's
    missing: int = 0  # the channel does not have the listing
    found: dict[str, list[Drift]] = field(default_factory=dict)  # account name -> what drifted
    entries: list[int] = field(default_factory=list)  # error-log entries made


def check_account(db: Database, account: Account, reader: StockReader, *, run_id: int | None = None,
                  report: DriftReport | None = None) -> DriftReport:
    """Compare what the account's channel shows with what it took; make what drifted due again."""
    report = report if report is not None else DriftReport()
    with db.read() as conn:
        values = channel_stock.sent_values(conn, account.id)
    taken = [v for v in values if v.in_step]
    report.pending += len(values) - len(taken)
    drifts: list[Drift] = []
    for start in range(0, len(taken), READ_BATCH):
        batch = taken[start:start + READ_BATCH]
        shown = reader.read_stock([(v.sku, v.location, v.channel_ref) for v in batch])
        drifts += _compare(db, account, batch, shown, report)
    if drifts:
        report.found[account.name] = drifts
        with db.write() as conn:
            report.entries.append(_record(conn, account, drifts, run_id))
    return report


def _compare(db: Database, account: Account, batch: Sequence[channel_stock.Sent], shown: dict[tuple[str, str], int],
             report: DriftReport) -> list[Drift]:
    drifts: list[Drift] = []
    with db.write() as conn:
        for value in batch:
            quantity = shown.get((value.sku, value.location))
            if quantity is None:
                report.missing += 1
                continue
            report.checked += 1
            assert value.sent is not None  # in step: the channel took a value
            if quantity == value.sent:
                report.in_step += 1
                continue
            note = (f"the drift check found {account.kind} showing {quantity}, not the {value.sent} it took; "
                    "sent again")
            if channel_stock.drifted(conn, account.id, value, note):
                drifts.append(Drift(value.sku, value.location, quantity, value.sent))
                report.drifted += 1
            else:  # a new value came meanwhile: the pusher sends it anyway
                report.pending += 1
    return drifts


def _record(conn: Any, account: Account, drifts: list[Drift], run_id: int | None) -> int:
    named = ", ".join(f"{d.sku}{'@' + d.location if d.location else ''} (showed {d.shown}, sent {d.sent})"
                      for d in drifts[:NAMED_IN_TEXT])
    more = f" and {len(drifts) - NAMED_IN_TEXT} more" if len(drifts) > NAMED_IN_TEXT else ""
    payload = {"account": account.name, "kind": account.kind, "run_id": run_id,
               "drifted": [{"sku": d.sku, "location": d.location, "shown": d.shown, "sent": d.sent} for d in drifts]}
    return error_log.record(conn, error_log.Failure(
        record_type=RECORD_TYPE, record_id=record_id("drift", run_id, account.id), shop_id=account.id,
        topic=f"{account.kind}/stock", source="channel", kind="stock_drift", field="quantity",
        payload=orjson.dumps(payload).decode(), job_run_id=run_id,
        error=(f"{account.kind} account {account.name}: {len(drifts)} listing(s) showed another quantity than "
               f"orderhub sent: {named}{more}. orderhub sends its values again; if someone changes stock in the "
               "channel's own back office, change it in orderhub instead (a count or an adjustment), then "
               "dismiss this entry")))
