"""What the console shows of stores: every store's day with its devices and pickups, one store's page (devices
with their last sync and queue, open pickups, late and flagged sales, oversells), and the silent devices the
dashboard warns about."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from orderhub.adapters.store import pos_devices, store_views, stores
from orderhub.services import pickups

RECENT_ROWS = 50
PICKUP_ROWS = 200  # open pickups on a store's page, newest first; `orderhub pickup list` has them all


def silent_devices(conn: Connection, silent_after: timedelta) -> list[pos_devices.Device]:
    return pos_devices.silent(conn, silent_after)


def list_page(conn: Connection, now: datetime, silent_after: timedelta) -> dict[str, Any]:
    return {"summaries": store_views.summaries(conn, now, silent_after),
            "silent": silent_devices(conn, silent_after), "threshold_minutes": int(silent_after.total_seconds() // 60)}


def store_page(conn: Connection, code: str, now: datetime, silent_after: timedelta) -> dict[str, Any] | None:
    try:
        store = stores.get(conn, code)
    except LookupError:
        return None
    since = now - store_views.RECENT
    return {"summary": store_views.summary(conn, store, now, silent_after),
            "devices": store_views.device_lines(conn, store.id, now, silent_after),
            "late": store_views.sales(conn, store, late_after=silent_after, since=since, late=True,
                                      limit=RECENT_ROWS),
            "flagged": store_views.sales(conn, store, late_after=silent_after, since=since, flagged=True,
                                         limit=RECENT_ROWS),
            "oversells": store_views.variances(conn, store.id, since=since, limit=RECENT_ROWS),
            "pickups": pickups.list_pickups(conn, store=store.code, status="open", limit=PICKUP_ROWS),
            "threshold_minutes": int(silent_after.total_seconds() // 60), "now": now}
