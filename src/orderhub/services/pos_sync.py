"""Taking a batch of sales from a store's POS terminal: stored, each once, before the terminal hears back;
then applied at once, so a store sale changes the store's stock and every channel's quantity the moment its
terminal syncs.

A terminal may send its whole queue any number of times, concurrently, in any order, hours later: each sale
is one inbox record of the store's POS account (its identity is the sale's id), so a sale sent again is
answered ``duplicate`` with what became of it, and counted once. A sale that cannot be recorded as it is
(an unknown SKU, an impossible quantity) is kept in the error log with the device and the sale named, and
answered ``error_logged``: the terminal may forget it, a person fixes it and retries it there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import structlog
from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from orderhub.adapters.pos.channel import KIND, SALE_TOPIC, TRANSLATOR, account_name, envelope, identity
from orderhub.adapters.store import accounts, channel_stock, inbox, inventory_store, pos_devices, traffic
from orderhub.adapters.store.db import Database
from orderhub.adapters.store.inbox import InboxEntry
from orderhub.adapters.store.pos_devices import Device, Report
from orderhub.adapters.store.schema import inbox as inbox_table
from orderhub.clock import utcnow
from orderhub.metrics import INBOX_PROCESSED
from orderhub.services import store_sales
from orderhub.services.process import Processor

log = structlog.get_logger(__name__)

MAX_SALES = 500  # per batch; a terminal with more queued sends several batches
SOURCE = "pos"


class BadBatch(ValueError):
    """The batch as a whole cannot be read (not a JSON object, no list of sales, too many): nothing of it is
    stored, and the terminal keeps its queue."""


@dataclass(frozen=True)
class SaleResult:
    sale_id: str | None
    status: str  # recorded | duplicate | error_logged | queued
    detail: str | None = None

    def public(self) -> dict[str, Any]:
        return {"id": self.sale_id, "status": self.status, **({"detail": self.detail} if self.detail else {})}


def read_batch(body: bytes) -> tuple[list[Any], Report]:
    """The sales of a batch and what the device reports of itself. Raises BadBatch."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadBatch(f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadBatch("the body must be a JSON object: {\"sales\": [...], \"device\": {...}}")
    sales = data.get("sales")
    if not isinstance(sales, list):
        raise BadBatch("\"sales\" must be a list of sales (it may be empty: a device reporting its state)")
    if len(sales) > MAX_SALES:
        raise BadBatch(f"{len(sales)} sales in one batch; send at most {MAX_SALES} per request")
    return sales, _report(data.get("device"))


def _report(raw: Any) -> Report:
    if not isinstance(raw, dict):
        return Report()
    version = raw.get("version")
    length = raw.get("queue_length")
    oldest = raw.get("oldest_queued_at")
    at: datetime | None = None
    if isinstance(oldest, str) and len(oldest) <= 40:
        try:
            at = datetime.fromisoformat(oldest.replace("Z", "+00:00"))
        except ValueError:
            at = None
        if at is not None and at.tzinfo is None:
            at = None
    return Report(version=str(version)[:64] if isinstance(version, str | int) and version != "" else None,
                  queue_length=length if isinstance(length, int) and not isinstance(length, bool)
                  and 0 <= length < 2 ** 31 else None,
                  queue_oldest_at=at)


def store_account(db: Database, store: str) -> int:
    """The id of the POS account that records the store's sales, made the first time it is needed."""
    name = account_name(store)
    with db.read() as conn:
        found = accounts.get(conn, name, secrets=False)
    if found is not None:
        return found.id
    try:
        with db.write() as conn:
            found = accounts.get(conn, name, secrets=False)
            if found is None:
                found = accounts.add(conn, KIND, name, {"store": store}, {}, sales_channel="pos")
    except IntegrityError:  # another terminal of the store made it at the same moment
        with db.read() as conn:
            found = accounts.get(conn, name, secrets=False)
        if found is None:
            raise
    return found.id


class PosSync:
    """One per process: stores and applies terminals' batches."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.processor = Processor(db)
        self._accounts: dict[str, int] = {}

    def take(self, device: Device, sales: Sequence[Any], report: Report) -> list[SaleResult]:
        account_id = self._accounts.get(device.store)
        if account_id is None:
            account_id = self._accounts[device.store] = store_account(self.db, device.store)
        received = utcnow()
        keys = [identity(sale) for sale in sales]
        entries = [InboxEntry(shop_id=account_id, source=SOURCE, topic=SALE_TOPIC, identity=key,
                              payload=orjson.dumps(envelope(sale, device_id=device.id, device_name=device.name,
                                                            store=device.store, received_at=received)).decode())
                   for sale, key in zip(sales, keys, strict=True)]
        stored = inbox.insert_entries(self.db, entries) if entries else []
        new = [sale for sale, fresh in zip(sales, stored, strict=True) if fresh]
        try:
            with self.db.write() as conn:
                # Two terminals of a store syncing at once sell the same SKUs in different orders: making and
                # taking the store's rows of the batch's SKUs first, in one order, makes the second wait instead
                # of deadlock. An unknown SKU gets no row: its sale goes to the error log.
                skus = sorted(channel_stock.known_skus(conn, _skus(new)))
                inventory_store.ensure_rows(conn, device.facility_id, skus)
                inventory_store.lock_rows(conn, device.facility_id, skus)
                ids = _ids(conn, account_id, [k for k, fresh in zip(keys, stored, strict=True) if fresh])
                claimed = inbox.claim_ids(conn, list(ids.values()))
                self.processor.process_records(conn, self._record_together(conn, account_id, claimed))
        except Exception as exc:  # noqa: BLE001 - the sales are stored: a worker applies them (answered queued)
            log.warning("pos_batch_not_applied", device=device.id, store=device.store, sales=len(new),
                        error=f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}")
        with self.db.write() as conn:
            states = _states(conn, account_id, keys)
            sequences = [s.get("sequence") for s in sales if isinstance(s, dict)]
            highest = max((q for q in sequences if isinstance(q, int) and not isinstance(q, bool)), default=None)
            pos_devices.seen(conn, device.id, report, synced=1, last_sequence=highest, new_sales=sum(stored))
        results = []
        seen_in_batch: set[str] = set()
        for sale, key, new in zip(sales, keys, stored, strict=True):
            sale_id = str(sale.get("id")) if isinstance(sale, dict) and sale.get("id") is not None else None
            status, detail = states.get(key, ("queued", None))
            if not new or key in seen_in_batch:
                detail = f"already received ({status})" + (f": {detail}" if detail else "")
                status = "duplicate"
            seen_in_batch.add(key)
            results.append(SaleResult(sale_id, status, detail))
        return results

    def _record_together(self, conn: Connection, account_id: int, rows: list[Any]) -> list[Any]:
        """Record the batch's plain sales together (store_sales.record_many); returns the records left to the
        processor one by one (all of them, if recording together fails: e.g. one was recorded meanwhile)."""
        read = []
        for row in rows:
            try:
                read.append((row, TRANSLATOR.translate(row.topic, orjson.loads(row.payload), row.received_at)))
            except Exception:  # noqa: BLE001 - the processor reports it, one by one
                continue
        if not read:
            return rows
        savepoint = conn.begin_nested()
        try:
            done = set(store_sales.record_many(conn, account_id, [(row.id, sale) for row, sale in read]))
            inbox.finish_many(conn, sorted(done), status="done", outcome="applied")
            self.processor.announce(conn, [(row, ("store_sale.recorded", sale)) for row, sale in read
                                           if row.id in done])
            savepoint.commit()
        except Exception as exc:  # noqa: BLE001
            savepoint.rollback()
            log.info("store_sales_batch_fell_back", records=len(read), error=f"{type(exc).__name__}: {exc}")
            return rows
        if done:
            traffic.add(conn, traffic.PROCESSED, {SALE_TOPIC: len(done)}, utcnow())
            INBOX_PROCESSED.labels(SALE_TOPIC, "applied").inc(len(done))
        return [row for row in rows if row.id not in done]

    def report_only(self, device: Device, report: Report) -> None:
        with self.db.write() as conn:
            pos_devices.seen(conn, device.id, report)


def _skus(sales: Sequence[Any]) -> list[str]:
    """The SKUs the sales name (as sent: a sale that names them wrongly is refused later, by its record)."""
    found = {line["sku"] for sale in sales if isinstance(sale, dict) and isinstance(sale.get("lines"), list)
             for line in sale["lines"] if isinstance(line, dict) and isinstance(line.get("sku"), str)
             and 0 < len(line["sku"]) <= 255}
    return sorted(found)


def _ids(conn: Connection, account_id: int, keys: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for start in range(0, len(keys), 500):
        chunk = list(keys[start:start + 500])
        out.update({r.identity: int(r.id) for r in conn.execute(
            select(inbox_table.c.id, inbox_table.c.identity).where(inbox_table.c.shop_id == account_id,
                                                                   inbox_table.c.identity.in_(chunk)))})
    return out


_STATUS = {"done": "recorded", "failed": "error_logged", "pending": "queued", "processing": "queued"}


def _states(conn: Connection, account_id: int, keys: Sequence[str]) -> dict[str, tuple[str, str | None]]:
    """What became of each sale: recorded, in the error log (with why), or waiting for a worker."""
    out: dict[str, tuple[str, str | None]] = {}
    unique = sorted(set(keys))
    for start in range(0, len(unique), 500):
        chunk = unique[start:start + 500]
        for r in conn.execute(select(inbox_table.c.identity, inbox_table.c.status, inbox_table.c.last_error)
                              .where(inbox_table.c.shop_id == account_id, inbox_table.c.identity.in_(chunk))):
            status = _STATUS.get(r.status, r.status)
            out[r.identity] = (status, (r.last_error or "")[:500] or None if status != "recorded" else None)
    return out
