"""Facilities, facility groups and sales channels."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, fields
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, delete, insert, select, update

from orderhub.adapters.store.db import upsert
from orderhub.adapters.store.schema import (
    channel_facility_groups,
    channels,
    facilities,
    facility_daily_load,
    facility_group_members,
    facility_groups,
    inventory,
)
from orderhub.clock import utcnow

KINDS = ("warehouse", "store", "dropship")
SAFETY_STOCK_MAX = 1_000_000


@dataclass(frozen=True)
class FacilityRecord:
    id: int
    code: str
    name: str
    kind: str
    address1: str | None
    city: str | None
    province: str | None
    zip: str | None
    country_code: str | None
    latitude: float | None
    longitude: float | None
    daily_capacity: int | None
    ship_from_store: bool
    sequence: int
    active: bool
    pos_store_code: str | None = None  # its store in the POS/ERP; None: the same as code
    online_safety_stock: int = 0  # units of every SKU kept back from online selling (stores)
    timezone: str | None = None  # IANA name of its local time (a store's day); None: UTC
    groups: tuple[str, ...] = ()


EDITABLE = ("name", "kind", "address1", "city", "province", "zip", "country_code", "latitude", "longitude",
            "daily_capacity", "ship_from_store", "sequence", "active", "pos_store_code", "online_safety_stock",
            "timezone")


def check(values: dict[str, Any], code: str, label: str | None = None) -> None:
    """Refuse values a facility cannot have, naming the facility (``label``: as the caller knows it, e.g.
    "store BOS01") and the field."""
    label = label or f"facility {code}"
    if "kind" in values and values["kind"] not in KINDS:
        raise ValueError(f"{label}: kind must be one of {', '.join(KINDS)} (got {values['kind']!r})")
    lat, lon = values.get("latitude"), values.get("longitude")
    if lat is not None and not -90 <= lat <= 90:
        raise ValueError(f"{label}: latitude must be between -90 and 90 (got {lat})")
    if lon is not None and not -180 <= lon <= 180:
        raise ValueError(f"{label}: longitude must be between -180 and 180 (got {lon})")
    store = values.get("pos_store_code")
    if store is not None and not (store.strip() and len(store) <= 32):
        raise ValueError(f"{label}: the POS store code must be 1 to 32 characters (got {store!r})")
    cap = values.get("daily_capacity")
    if cap is not None and cap < 0:
        raise ValueError(f"{label}: daily capacity cannot be negative (got {cap})")
    buffer = values.get("online_safety_stock")
    if buffer is not None and not (isinstance(buffer, int) and 0 <= buffer <= SAFETY_STOCK_MAX):
        raise ValueError(f"{label}: the online safety stock is 0 to {SAFETY_STOCK_MAX:,} units "
                         f"(got {buffer!r})")
    zone = values.get("timezone")
    if zone is not None and not known_timezone(zone):
        raise ValueError(f"{label}: {str(zone)[:64]!r} is not a time zone; give an IANA name such as "
                         "Europe/Paris")


def known_timezone(name: str) -> bool:
    return zone_of(name) is not None


def zone_of(name: str | None) -> ZoneInfo | None:
    """The IANA time zone ``name`` stands for; None when it is empty or no zone (a facility's clock is UTC)."""
    if not isinstance(name, str) or not name or len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # unknown, or not a zone name at all
        return None


def add(conn: Connection, code: str, name: str, kind: str, **values: Any) -> int:
    unknown = set(values) - set(EDITABLE)
    if unknown:
        raise ValueError(f"facility {code}: unknown field(s) {', '.join(sorted(unknown))}")
    check(values | {"kind": kind}, code)
    if conn.execute(select(facilities.c.id).where(facilities.c.code == code)).first() is not None:
        raise ValueError(f"facility {code} already exists; change it with `orderhub facility set {code}`")
    return int(conn.execute(insert(facilities).values(code=code, name=name, kind=kind, created_at=utcnow(),
                                                      **values).returning(facilities.c.id)).scalar_one())


def change(conn: Connection, code: str, *, label: str | None = None, **values: Any) -> int:
    """Change a facility; returns how many channel listings have a new quantity to send because of it."""
    unknown = set(values) - set(EDITABLE)
    if unknown:
        raise ValueError(f"facility {code}: unknown field(s) {', '.join(sorted(unknown))}")
    check(values, code, label)
    if not conn.execute(update(facilities).where(facilities.c.code == code).values(**values)).rowcount:
        raise LookupError(f"no facility {code}; list them with `orderhub facility list`")
    if "online_safety_stock" in values:
        # What the channels show of this facility's SKUs changes with it. Imported here: channel_stock
        # reads facilities through this module.
        from orderhub.adapters.store import channel_stock

        skus = conn.execute(select(inventory.c.sku).where(inventory.c.facility_id == id_of(conn, code))).scalars()
        return channel_stock.refresh(conn, list(skus))
    return 0


def id_of(conn: Connection, code: str) -> int:
    row = conn.execute(select(facilities.c.id).where(facilities.c.code == code)).first()
    if row is None:
        raise LookupError(f"no facility {code}; list them with `orderhub facility list`")
    return int(row.id)


def all_facilities(conn: Connection, *, active_only: bool = False) -> list[FacilityRecord]:
    groups = _group_codes(conn)
    stmt = select(facilities).order_by(facilities.c.sequence, facilities.c.id)
    if active_only:
        stmt = stmt.where(facilities.c.active.is_(True))
    names = [f.name for f in fields(FacilityRecord) if f.name != "groups"]
    return [FacilityRecord(**{n: getattr(r, n) for n in names}, groups=tuple(sorted(groups.get(r.id, ()))))
            for r in conn.execute(stmt)]


def chosen_stores(conn: Connection, locations: str | None) -> list[FacilityRecord]:
    """The active facilities a job's ``locations`` parameter names (comma-separated codes), or every active
    store when it names none. LookupError naming the codes that are no facility."""
    wanted = [c.strip() for c in (locations or "").split(",") if c.strip()]
    every = all_facilities(conn, active_only=True)
    by_code = {f.code: f for f in every}
    unknown = [c for c in wanted if c not in by_code]
    if unknown:
        raise LookupError(f"no facility {', '.join(unknown)}; list them with `orderhub facility list`")
    return [by_code[c] for c in wanted] if wanted else [f for f in every if f.kind == "store"]


def _group_codes(conn: Connection) -> dict[int, set[str]]:
    out: dict[int, set[str]] = defaultdict(set)
    for r in conn.execute(select(facility_group_members.c.facility_id, facility_groups.c.code)
                          .join(facility_groups, facility_groups.c.id == facility_group_members.c.group_id)):
        out[r.facility_id].add(r.code)
    return out


def add_to_group(conn: Connection, group_code: str, facility_code: str, *, group_name: str | None = None) -> None:
    """Put a facility in a group, creating the group on first use."""
    upsert(conn, facility_groups, {"code": group_code, "name": group_name or group_code}, keys=("code",))
    group_id = conn.execute(select(facility_groups.c.id).where(facility_groups.c.code == group_code)).scalar_one()
    upsert(conn, facility_group_members, {"group_id": group_id, "facility_id": id_of(conn, facility_code)},
           keys=("group_id", "facility_id"))


def remove_from_group(conn: Connection, group_code: str, facility_code: str) -> None:
    group_id = select(facility_groups.c.id).where(facility_groups.c.code == group_code).scalar_subquery()
    facility_id = id_of(conn, facility_code)
    conn.execute(delete(facility_group_members).where(facility_group_members.c.group_id == group_id,
                                                      facility_group_members.c.facility_id == facility_id))


def orders_today(conn: Connection, day: str) -> dict[int, int]:
    load = facility_daily_load
    return {r.facility_id: r.orders for r in conn.execute(
        select(load.c.facility_id, load.c.orders).where(load.c.day == day))}


def count_orders(conn: Connection, day: str, counts: dict[int, int]) -> None:
    """Add newly allocated orders to each facility's count for the day."""
    for facility_id, n in sorted(counts.items()):
        if not n:
            continue
        done = conn.execute(update(facility_daily_load).where(
            facility_daily_load.c.facility_id == facility_id, facility_daily_load.c.day == day)
            .values(orders=facility_daily_load.c.orders + n)).rowcount
        if not done:
            upsert(conn, facility_daily_load, {"facility_id": facility_id, "day": day, "orders": n},
                   keys=("facility_id", "day"), update=("orders",))


# -- channels -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Channel:
    id: int
    code: str
    name: str
    threshold: int
    groups: tuple[str, ...]
    last_units: int = 0  # the last N units of every SKU are offered on this channel only


def set_channel(conn: Connection, code: str, *, name: str | None = None, threshold: int | None = None,
                groups: tuple[str, ...] | None = None, last_units: int | None = None) -> None:
    """Create or change a channel: its ATP threshold, the facility groups it sells from, and the last units
    of every SKU kept for it alone."""
    for what, value in (("threshold", threshold), ("last units", last_units)):
        if value is not None and value < 0:
            raise ValueError(f"channel {code}: {what} cannot be negative (got {value})")
    values: dict[str, Any] = {"code": code, "name": name or code, "threshold": threshold or 0,
                              "last_units": last_units or 0}
    update_cols = [k for k, v in (("name", name), ("threshold", threshold), ("last_units", last_units))
                   if v is not None]
    upsert(conn, channels, values, keys=("code",), update=update_cols or None)
    channel_id = conn.execute(select(channels.c.id).where(channels.c.code == code)).scalar_one()
    if groups is not None:
        conn.execute(delete(channel_facility_groups).where(channel_facility_groups.c.channel_id == channel_id))
        for group in sorted(set(groups)):
            row = conn.execute(select(facility_groups.c.id).where(facility_groups.c.code == group)).first()
            if row is None:
                raise LookupError(f"channel {code}: no facility group {group}; "
                                  "create it with `orderhub facility group GROUP FACILITY`")
            conn.execute(insert(channel_facility_groups).values(channel_id=channel_id, group_id=row.id))


def get_channel(conn: Connection, code: str) -> Channel | None:
    row = conn.execute(select(channels).where(channels.c.code == code)).first()
    if row is None:
        return None
    groups = tuple(r.code for r in conn.execute(
        select(facility_groups.c.code).join(channel_facility_groups,
                                            channel_facility_groups.c.group_id == facility_groups.c.id)
        .where(channel_facility_groups.c.channel_id == row.id).order_by(facility_groups.c.code)))
    return Channel(row.id, row.code, row.name, row.threshold, groups, row.last_units)


def last_units(conn: Connection) -> dict[str, int]:
    """Sales channel code -> the last units of every SKU offered there alone, for the channels that keep any."""
    return {r.code: r.last_units for r in conn.execute(select(channels.c.code, channels.c.last_units)
                                                         .where(channels.c.last_units > 0))}


def channel_facilities(conn: Connection, channel: Channel) -> frozenset[int] | None:
    """The facility ids a channel sells from; None when it has no groups (every facility)."""
    if not channel.groups:
        return None
    return frozenset(r.facility_id for r in conn.execute(
        select(facility_group_members.c.facility_id)
        .join(facility_groups, facility_groups.c.id == facility_group_members.c.group_id)
        .where(facility_groups.c.code.in_(channel.groups))))


def channel_codes(conn: Connection) -> list[str]:
    return [r.code for r in conn.execute(select(channels.c.code).order_by(channels.c.code))]
