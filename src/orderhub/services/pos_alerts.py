"""The alert for a store's POS terminal that has stopped syncing.

An active device is *silent* when it has not sent sales for longer than ORDERHUB_POS_SILENT_MINUTES
(never synced: since it was enrolled). Its sales wait on the till meanwhile, so the store's stock online is
wrong until they arrive. :func:`check_devices` (the ``check-pos-devices`` job) opens one error-log entry per
silent device and logs one warning, once per silence: a device that stays silent is not reported again on
every run, and an entry a person dismissed stays dismissed until the device syncs and falls silent anew.
When the device syncs again (or is revoked) its entry is resolved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
import structlog
from sqlalchemy import select

from orderhub.adapters.store import error_log, pos_devices
from orderhub.adapters.store.db import Database
from orderhub.adapters.store.schema import error_log as error_log_table
from orderhub.clock import utcnow
from orderhub.config import Settings
from orderhub.services.errors import POS_SILENT

log = structlog.get_logger(__name__)
TOPIC = "pos/silent"


def silent_after(settings: Settings) -> timedelta:
    return timedelta(minutes=max(1, settings.pos_silent_minutes))


def minutes(span: timedelta) -> int:
    return int(span.total_seconds() // 60)


def message(device: pos_devices.Device, threshold: timedelta, now: datetime) -> str:
    since = device.last_sync_at or device.enrolled_at
    what = "has not synced since" if device.last_sync_at else "has never synced since it was enrolled at"
    waiting = (f"; it last reported {device.queue_length} sale(s) waiting on it" if device.queue_length else "")
    return (f"store {device.store}: POS device {device.name} (id {device.id}) {what} "
            f"{since:%Y-%m-%d %H:%M}Z ({minutes(now - since)} min, more than {minutes(threshold)}){waiting}. "
            "Its sales wait on the till and the store's stock online is off until they arrive: check that the "
            "till is on and online; if it was replaced or is gone, revoke it "
            f"(`orderhub device revoke {device.id}`).")


@dataclass
class SilentReport:
    active: int = 0
    silent: list[pos_devices.Device] = field(default_factory=list)
    opened: list[pos_devices.Device] = field(default_factory=list)  # newly silent: an entry and a log line
    back: int = 0  # entries resolved: the device synced again or was revoked


def _entries(conn: Any) -> dict[int, Any]:
    return {r.record_id: r for r in conn.execute(
        select(error_log_table.c.record_id, error_log_table.c.status, error_log_table.c.payload)
        .where(error_log_table.c.record_type == POS_SILENT))}


def _silence_of(entry: Any) -> str | None:
    try:
        return str(orjson.loads(entry.payload or "{}").get("silent_since"))
    except (orjson.JSONDecodeError, AttributeError):
        return None


def check_devices(db: Database, settings: Settings, *, run_id: int | None = None) -> SilentReport:
    threshold, now = silent_after(settings), utcnow()
    report = SilentReport()
    with db.write() as conn:
        report.active = len([d for d in pos_devices.list_devices(conn) if d.status == "active"])
        report.silent = pos_devices.silent(conn, threshold)
        entries = _entries(conn)
        for device in report.silent:
            since = (device.last_sync_at or device.enrolled_at).isoformat()
            known = entries.get(device.id)
            if known is not None and _silence_of(known) == since and known.status != "resolved":
                continue  # this silence was reported already (and maybe dismissed by a person)
            payload = {"store": device.store, "device_id": device.id, "device": device.name,
                       "silent_since": since, "last_seen_at": device.last_seen_at, "version": device.version,
                       "queue_length": device.queue_length, "queue_oldest_at": device.queue_oldest_at,
                       "threshold_minutes": minutes(threshold)}
            error_log.record(conn, error_log.Failure(
                record_type=POS_SILENT, record_id=device.id, shop_id=None, topic=TOPIC, source="pos",
                kind="device_silent", error=message(device, threshold, now),
                payload=orjson.dumps(payload, default=str).decode(), job_run_id=run_id))
            report.opened.append(device)
        silent_ids = {d.id for d in report.silent}
        back = [i for i, e in entries.items() if i not in silent_ids and e.status in ("open", "retrying")]
        error_log.resolve_open(conn, POS_SILENT, back)
        report.back = len(back)
    for device in report.opened:  # after the commit: a log line only for an entry that exists
        since = device.last_sync_at or device.enrolled_at
        log.warning("pos_device_silent", store=device.store, device=device.name, device_id=device.id,
                    silent_since=since.isoformat(), silent_minutes=minutes(now - since),
                    queue_length=device.queue_length)
    if back:
        log.info("pos_devices_syncing_again", devices=sorted(back))
    return report
