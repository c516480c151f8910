"""Helpers for store tests: a store, an enrolled POS device, and store sales and oversells written as the
sale service writes them (rows put in directly, with the times a test needs)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert, update

from orderhub.adapters.store import facilities, pos_devices
from orderhub.adapters.store.schema import facilities as facilities_table
from orderhub.adapters.store.schema import pos_devices as devices_table
from orderhub.adapters.store.schema import store_sales, store_variances
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow

_inbox_ids = itertools.count(900_000)


def add_store(hub: Hub, code: str = "BOS01", name: str = "Boston Back Bay", **settings: Any) -> int:
    with hub.db.write() as conn:
        store_id = facilities.add(conn, code, name, "store")
        if settings:
            conn.execute(update(facilities_table).where(facilities_table.c.id == store_id).values(**settings))
    return store_id


def enrol(hub: Hub, store_id: int, name: str = "till-1", *, synced_ago: timedelta | None = None,
          queue: int | None = None, version: str | None = "pos 4.2") -> pos_devices.Device:
    """A device enrolled with a fresh code; ``synced_ago``: when it last synced (None: never)."""
    with hub.db.write() as conn:
        code, _ = pos_devices.new_code(conn, store_id, actor="test")
        device, _token = pos_devices.enrol(conn, code, name, version)
        if synced_ago is not None or queue is not None:
            now = utcnow()
            conn.execute(update(devices_table).where(devices_table.c.id == device.id).values(
                last_sync_at=None if synced_ago is None else now - synced_ago,
                last_seen_at=None if synced_ago is None else now - synced_ago, queue_length=queue,
                queue_oldest_at=None if not queue else now - timedelta(minutes=45)))
        found = pos_devices.get(conn, device.id)
    assert found is not None
    return found


def silence(hub: Hub, device_id: int, ago: timedelta) -> None:
    """The device last synced ``ago`` (and was enrolled before that)."""
    with hub.db.write() as conn:
        conn.execute(update(devices_table).where(devices_table.c.id == device_id).values(
            last_sync_at=utcnow() - ago, enrolled_at=utcnow() - ago - timedelta(days=1)))


def add_sale(conn: Connection, store_id: int, sold_at: datetime, total: str, currency: str = "USD", *,
             device_id: int | None = None, ref: str | None = None, units: int = 1, returned: int = 0,
             delay: timedelta = timedelta(seconds=5), flags: str = "", sequence: int | None = None) -> int:
    inbox_id = next(_inbox_ids)
    return int(conn.execute(insert(store_sales).values(
        inbox_id=inbox_id, facility_id=store_id, device_id=device_id, sale_ref=ref or f"S-{inbox_id}",
        sequence=inbox_id if sequence is None else sequence, device_time=sold_at, sold_at=sold_at, recorded_at=sold_at + delay,
        delay_seconds=int(delay.total_seconds()), units_sold=units, units_returned=returned, total=Decimal(total),
        currency=currency, flags=flags).returning(store_sales.c.id)).scalar_one())


def add_oversell(conn: Connection, store_id: int, sku: str, short: int, *, at: datetime | None = None,
                 note: str | None = None) -> int:
    return int(conn.execute(insert(store_variances).values(
        facility_id=store_id, sku=sku, kind="oversell", short=short, on_hand_after=0, reserved_before=short,
        rebrokered=short, parked=0, note=note, created_at=at or utcnow()).returning(store_variances.c.id))
        .scalar_one())
