"""Job ``check-pos-devices``: the stores' POS terminals that stopped syncing.

Each active device that has not synced for longer than ORDERHUB_POS_SILENT_MINUTES gets one error-log entry
naming its store and what to do, once per silence (services/pos_alerts.py); the entry is resolved when the
device syncs again or is revoked. The run succeeds either way: the error log is where a person acts.
"""

from __future__ import annotations

from typing import Any

from orderhub.domain.jobs import Definition
from orderhub.services import pos_alerts
from orderhub.services.jobs.context import JobContext
from orderhub.services.jobs.registry import register

NAME = "check-pos-devices"


def run(ctx: JobContext) -> dict[str, Any]:
    report = pos_alerts.check_devices(ctx.hub.db, ctx.hub.settings, run_id=ctx.run_id)
    threshold = pos_alerts.minutes(pos_alerts.silent_after(ctx.hub.settings))
    for device in report.silent:
        new = " (newly silent: in the error log)" if device in report.opened else ""
        ctx.log(f"store {device.store}: device {device.name} (id {device.id}) has not synced for more than "
                f"{threshold} min{new}", "warning")
    if report.back:
        ctx.log(f"{report.back} device(s) synced again or were revoked; their error-log entries are resolved")
    return {"active": report.active, "syncing": report.active - len(report.silent), "silent": len(report.silent),
            "newly_silent": len(report.opened), "back": report.back}


register(Definition(
    NAME, "misc", "POS devices: find the stores' POS terminals that have not synced for longer than "
    "ORDERHUB_POS_SILENT_MINUTES; each goes to the error log once per silence, naming its store, and its entry "
    "is resolved when it syncs again",
    default_schedule="every-5-minutes", min_interval_seconds=60, per_shop=False,
    counts=(("read", "active"), ("processed", "syncing"), ("failed", "silent"))),
    run)
