"""Stores: facilities of kind ``store``, with the two settings only a store has.

``online_safety_stock`` is the units of every SKU the store keeps back from online selling (its shelf is
also sold at the till); ``timezone`` is the IANA zone of the store's day (today's sales are the sales of
its local day; none: UTC).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from orderhub.adapters.store import facilities as facility_store
from orderhub.adapters.store import pos_devices
from orderhub.adapters.store.schema import facilities

TIMEZONE_MAX = 64  # the column's width


@dataclass(frozen=True)
class Store:
    id: int
    code: str
    name: str
    active: bool
    online_safety_stock: int
    timezone: str | None  # None: UTC

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone or "UTC")

    def day_of(self, moment: datetime) -> date:
        """The store's local date at ``moment``."""
        return moment.astimezone(self.zone).date()

    def day_bounds(self, day: date) -> tuple[datetime, datetime]:
        """The store's local ``day`` as a UTC range [start, end): 23 or 25 hours on the days clocks change."""
        start = datetime.combine(day, time(), tzinfo=self.zone)
        end = datetime.combine(day + timedelta(days=1), time(), tzinfo=self.zone)
        return start.astimezone(timezone.utc), end.astimezone(timezone.utc)

    def public(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "active": self.active,
                "online_safety_stock": self.online_safety_stock, "timezone": self.timezone or "UTC"}


_COLUMNS = (facilities.c.id, facilities.c.code, facilities.c.name, facilities.c.kind, facilities.c.active,
            facilities.c.online_safety_stock, facilities.c.timezone)


def _store(row: Any) -> Store:
    return Store(int(row.id), row.code, row.name, bool(row.active), int(row.online_safety_stock or 0),
                 row.timezone or None)


def all_stores(conn: Connection) -> list[Store]:
    return [_store(r) for r in conn.execute(select(*_COLUMNS).where(facilities.c.kind == "store")
                                            .order_by(facilities.c.sequence, facilities.c.code))]


def get(conn: Connection, code: str) -> Store:
    """The store of this facility code. LookupError naming it, and what to do, when there is none."""
    code = code.strip()
    row = conn.execute(select(*_COLUMNS).where(facilities.c.code == code)).first()
    if row is None:
        raise LookupError(f"no store {code}; `orderhub store list` shows them (a store is a facility of kind "
                          f"store: `orderhub facility add {code or 'CODE'} --name NAME --kind store`)")
    if row.kind != "store":
        raise LookupError(f"facility {code} is a {row.kind}, not a store; `orderhub store list` shows the stores")
    return _store(row)


_UNCHANGED: Any = object()


def change(conn: Connection, code: str, *, online_safety_stock: int | None = None,
           timezone_name: str | None = _UNCHANGED) -> tuple[Store, int]:
    """Change a store's settings (``timezone_name`` '' or None: UTC). Returns the store as it is now and how
    many channel listings have a new quantity to send (the safety stock changes what online channels may sell)."""
    store = get(conn, code)
    values: dict[str, Any] = {}
    if online_safety_stock is not None:
        values["online_safety_stock"] = online_safety_stock
    if timezone_name is not _UNCHANGED:
        values["timezone"] = (timezone_name or "").strip() or None
    if not values:
        return store, 0
    changed = facility_store.change(conn, store.code, label=f"store {store.code}", **values)  # checks them; refreshes the channels' values
    return get(conn, store.code), changed


def find_device(conn: Connection, ref: str, store_code: str | None = None) -> pos_devices.Device:
    """A POS device by id, or by name (within ``store_code`` when given). LookupError naming the device and
    the store, and where to look, when it is not there."""
    if not store_code:
        return pos_devices.find(conn, None, ref)
    store = get(conn, store_code)
    try:
        found = pos_devices.find(conn, store.id, ref)
    except LookupError:
        found = None
    if found is None or found.facility_id != store.id:
        raise LookupError(f"no device {ref.strip()!r} in store {store.code}; `orderhub device list --store "
                          f"{store.code}` shows its devices")
    return found
