"""What a store operations manager reads of each store: its day's sales (the store's local day), its POS
terminals and which are silent, its pickups waiting, ready and overdue, the sales that reached orderhub late
or with a flag, and the oversells late sales revealed. Read only; the CLI, the API and the console show the
same answers.

A sale is *late* when the sale service flagged it ``late`` or it reached orderhub more than the silent
threshold (ORDERHUB_POS_SILENT_MINUTES) after it was made; it is *flagged* when it carries any other flag
(``clock_future``, ``clock_past``, ``tender_mismatch``, ...).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, distinct, func, literal, or_, select

from orderhub.adapters.store import pickup_store, pos_devices
from orderhub.adapters.store.schema import facilities, store_sales, store_variances
from orderhub.adapters.store.schema import pos_devices as devices_table
from orderhub.adapters.store.stores import Store, all_stores
from orderhub.domain import money

LATE = "late"
RECENT = timedelta(days=7)  # how far back a store's page lists late and flagged sales and oversells
MAX_LIMIT = 1000


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def flag_list(flags: str | None) -> list[str]:
    return [f for f in (flags or "").split(",") if f]


def is_late(flags: str | None, delay_seconds: int, late_after: timedelta) -> bool:
    return LATE in flag_list(flags) or delay_seconds > late_after.total_seconds()


def is_flagged(flags: str | None) -> bool:
    return any(f != LATE for f in flag_list(flags))


def _late_sql(late_after: timedelta) -> ColumnElement[bool]:
    wrapped = literal(",") + store_sales.c.flags + literal(",")
    return or_(store_sales.c.delay_seconds > int(late_after.total_seconds()), wrapped.like(f"%,{LATE},%"))


def _flagged_sql() -> ColumnElement[bool]:
    wrapped = literal(",") + store_sales.c.flags + literal(",")
    return and_(store_sales.c.flags != "", func.replace(wrapped, f",{LATE},", ",") != ",")


# -- a store's day ---------------------------------------------------------------------------------------------

@dataclass
class DayTotals:
    day: date
    sales: int = 0
    units_sold: int = 0
    units_returned: int = 0
    totals: dict[str, Decimal] = field(default_factory=dict)  # currency -> exact sum
    late: int = 0
    flagged: int = 0
    oversells: int = 0

    def shown_totals(self) -> dict[str, str]:
        """Each currency's total with its currency's decimals (domain/money.py)."""
        return {c: money.show(v, c) for c, v in sorted(self.totals.items())}

    def public(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(), "sales": self.sales, "units_sold": self.units_sold,
                "units_returned": self.units_returned, "totals": self.shown_totals(), "late": self.late,
                "flagged": self.flagged, "oversells": self.oversells}


def day_totals(conn: Connection, store: Store, day: date, late_after: timedelta) -> DayTotals:
    """Sales of the store's local ``day``: counted and summed exactly (amounts are Decimal), currency by
    currency; the rows are streamed, not held."""
    start, end = store.day_bounds(day)
    out = DayTotals(day)
    rows = conn.execute(
        select(store_sales.c.units_sold, store_sales.c.units_returned, store_sales.c.total, store_sales.c.currency,
               store_sales.c.delay_seconds, store_sales.c.flags)
        .where(store_sales.c.facility_id == store.id, store_sales.c.sold_at >= start, store_sales.c.sold_at < end)
        .execution_options(yield_per=500))
    for r in rows:
        out.sales += 1
        out.units_sold += int(r.units_sold or 0)
        out.units_returned += int(r.units_returned or 0)
        out.totals[r.currency] = out.totals.get(r.currency, Decimal(0)) + Decimal(r.total)
        out.late += is_late(r.flags, int(r.delay_seconds or 0), late_after)
        out.flagged += is_flagged(r.flags)
    out.oversells = int(conn.execute(select(func.count()).select_from(store_variances).where(
        store_variances.c.facility_id == store.id, store_variances.c.created_at >= start,
        store_variances.c.created_at < end)).scalar_one())
    return out


# -- devices ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DeviceLine:
    device: pos_devices.Device
    silent: bool
    queue_age_seconds: int | None  # how long its oldest waiting sale waits (the device's clock)
    # Sales the device numbered that orderhub has not received: gaps in its sequence numbers (sales still on it,
    # or lost there), with the first few missing ranges.
    missing: int = 0
    missing_ranges: tuple[tuple[int, int], ...] = ()

    def public(self) -> dict[str, Any]:
        out = self.device.public()
        return out | {"silent": self.silent, "queue_age_seconds": self.queue_age_seconds, "missing": self.missing,
                      "missing_ranges": [list(r) for r in self.missing_ranges]}


def _silent_since(device: pos_devices.Device) -> datetime:
    return device.last_sync_at or device.enrolled_at


def device_line(device: pos_devices.Device, now: datetime, silent_after: timedelta, missing: int = 0,
                missing_ranges: tuple[tuple[int, int], ...] = ()) -> DeviceLine:
    silent = device.status == "active" and _silent_since(device) < now - silent_after
    age = None
    if device.queue_length and device.queue_oldest_at is not None:
        age = max(0, int((now - device.queue_oldest_at).total_seconds()))
    return DeviceLine(device, silent, age, missing, missing_ranges)


def device_lines(conn: Connection, store_id: int | None, now: datetime, silent_after: timedelta,
                 *, silent_only: bool = False) -> list[DeviceLine]:
    devices = pos_devices.list_devices(conn, store_id)
    gaps = missing_sales(conn, [d.id for d in devices])
    lines = [device_line(d, now, silent_after, gaps.get(d.id, 0)) for d in devices]
    return [line for line in lines if line.silent or not silent_only]


def one_device_line(conn: Connection, device: pos_devices.Device, now: datetime,
                    silent_after: timedelta) -> DeviceLine:
    """A device with its missing sales, and the first ranges of them."""
    return device_line(device, now, silent_after, missing_sales(conn, [device.id]).get(device.id, 0),
                       missing_ranges(conn, device.id))


def missing_sales(conn: Connection, device_ids: list[int]) -> dict[int, int]:
    """Device id -> sales it numbered (between the lowest and the highest sequence received) that orderhub has
    not received. Sequences, not clocks, order a device's sales: a gap is a sale still on it, or lost there."""
    if not device_ids:
        return {}
    seq = store_sales.c.sequence
    rows = conn.execute(select(store_sales.c.device_id, func.min(seq), func.max(seq), func.count(distinct(seq)))
                        .where(store_sales.c.device_id.in_(device_ids), seq.is_not(None))
                        .group_by(store_sales.c.device_id)).all()
    return {int(r[0]): int(r[2] - r[1] + 1 - r[3]) for r in rows}


def missing_ranges(conn: Connection, device_id: int, limit: int = 5) -> tuple[tuple[int, int], ...]:
    """The first ``limit`` runs of sequence numbers missing between those received from the device."""
    seq = store_sales.c.sequence
    ordered = select(seq.label("sequence"), func.lag(seq).over(order_by=seq).label("before")).where(
        store_sales.c.device_id == device_id, seq.is_not(None)).subquery()
    rows = conn.execute(select(ordered.c.before + 1, ordered.c.sequence - 1)
                        .where(ordered.c.sequence - ordered.c.before > 1).order_by(ordered.c.sequence).limit(limit))
    return tuple((int(a), int(b)) for a, b in rows)


def silent_per_store(conn: Connection, silent_after: timedelta) -> dict[str, int]:
    """Every store's code -> its active devices that have not synced for longer than ``silent_after`` (0 too,
    so a gauge falls back to 0 when they sync again)."""
    counts = Counter(d.store for d in pos_devices.silent(conn, silent_after))
    return {s.code: counts.get(s.code, 0) for s in all_stores(conn)} | dict(counts)


# -- stores ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Summary:
    store: Store
    today: DayTotals
    devices: int  # active ones
    silent: int
    pickups: dict[str, int]  # waiting, ready, overdue (the overdue are among the ready): pickup_store.counts

    def public(self) -> dict[str, Any]:
        return self.store.public() | {"devices": self.devices, "silent_devices": self.silent,
                                      "today": self.today.public(), "pickups": self.pickups}


def _no_pickups() -> dict[str, int]:
    return dict.fromkeys(pickup_store.COUNTED, 0)


def summary(conn: Connection, store: Store, now: datetime, silent_after: timedelta,
            pickups: dict[str, int] | None = None) -> Summary:
    lines = [line for line in device_lines(conn, store.id, now, silent_after) if line.device.status == "active"]
    if pickups is None:
        pickups = pickup_store.counts(conn, now, store.id).get(store.id) or _no_pickups()
    return Summary(store, day_totals(conn, store, store.day_of(now), silent_after), len(lines),
                   sum(line.silent for line in lines), pickups)


def summaries(conn: Connection, now: datetime, silent_after: timedelta) -> list[Summary]:
    counted = pickup_store.counts(conn, now)  # every store's at once
    return [summary(conn, s, now, silent_after, counted.get(s.id) or _no_pickups()) for s in all_stores(conn)]


# -- sales and oversells ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SaleLine:
    row: Any
    late: bool

    def public(self) -> dict[str, Any]:
        r = self.row
        return {"id": r.id, "sale_ref": r.sale_ref, "device_id": r.device_id, "device": r.device,
                "sequence": r.sequence, "order_id": r.order_id, "device_time": _iso(r.device_time),
                "sold_at": _iso(r.sold_at), "recorded_at": _iso(r.recorded_at), "delay_seconds": r.delay_seconds,
                "units_sold": r.units_sold, "units_returned": r.units_returned,
                "total": money.show(r.total, r.currency), "currency": r.currency, "flags": flag_list(r.flags),
                "late": self.late}


def sales(conn: Connection, store: Store, *, late_after: timedelta, day: date | None = None,
          since: datetime | None = None, late: bool = False, flagged: bool = False, limit: int = 100,
          offset: int = 0) -> list[SaleLine]:
    """The store's sales of its local ``day`` (or since ``since``), newest first; only the late and/or
    flagged ones when asked."""
    stmt = (select(store_sales, devices_table.c.name.label("device"))
            .outerjoin(devices_table, devices_table.c.id == store_sales.c.device_id)
            .where(store_sales.c.facility_id == store.id))
    if day is not None:
        start, end = store.day_bounds(day)
        stmt = stmt.where(store_sales.c.sold_at >= start, store_sales.c.sold_at < end)
    if since is not None:
        stmt = stmt.where(store_sales.c.sold_at >= since)
    if late:
        stmt = stmt.where(_late_sql(late_after))
    if flagged:
        stmt = stmt.where(_flagged_sql())
    stmt = stmt.order_by(store_sales.c.sold_at.desc(), store_sales.c.id.desc()).limit(min(limit, MAX_LIMIT))
    return [SaleLine(r, is_late(r.flags, int(r.delay_seconds or 0), late_after))
            for r in conn.execute(stmt.offset(offset))]


def variances(conn: Connection, store_id: int | None = None, *, since: datetime | None = None, limit: int = 100,
              offset: int = 0) -> list[dict[str, Any]]:
    """Store oversells, newest first: the SKU, the units online orders had reserved that the store no longer
    had, and what became of them (sent elsewhere, waiting for stock)."""
    v = store_variances
    stmt = select(v, facilities.c.code.label("store")).join(facilities, facilities.c.id == v.c.facility_id)
    if store_id is not None:
        stmt = stmt.where(v.c.facility_id == store_id)
    if since is not None:
        stmt = stmt.where(v.c.created_at >= since)
    stmt = stmt.order_by(v.c.created_at.desc(), v.c.id.desc()).limit(min(limit, MAX_LIMIT)).offset(offset)
    return [{"id": r.id, "store": r.store, "sku": r.sku, "kind": r.kind, "short": r.short,
             "on_hand_after": r.on_hand_after, "reserved_before": r.reserved_before, "rebrokered": r.rebrokered,
             "parked": r.parked, "store_sale_id": r.store_sale_id, "order_id": r.order_id, "note": r.note,
             "created_at": _iso(r.created_at)} for r in conn.execute(stmt)]
