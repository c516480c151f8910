"""Job ``purge-personal-data``: erase the personal data of orders completed more than ORDERHUB_PERSONAL_DATA_DAYS
ago (services/privacy/retention.py), keeping the orders and their invoices pseudonymised.

A run takes at most ``max_orders`` orders, oldest first: the files on SFTP that carry them are rewritten first
(should the server fail, the run fails before anything changed, and the next run does it again), then the
database, ``batch_size`` orders per transaction. Unset (or 0) days: the run does nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from orderhub.clock import utcnow
from orderhub.domain.jobs import Definition, Param, ParamKind
from orderhub.services.jobs.context import JobContext
from orderhub.services.jobs.registry import register
from orderhub.services.privacy import remote_files, retention
from orderhub.services.privacy.scrub import Person

NAME = "purge-personal-data"


def run(ctx: JobContext) -> dict[str, Any]:
    days = ctx.params["days"] if ctx.params["days"] is not None else ctx.hub.settings.personal_data_days
    batch = ctx.params["batch_size"]
    most = ctx.params["max_orders"]
    if days < 0 or not 1 <= batch <= 1000 or most < 1:
        raise ValueError(f"job {NAME}: days must be 0 or more, batch_size between 1 and 1000, max_orders at "
                         f"least 1 (got {days}, {batch}, {most})")
    if days == 0:
        ctx.log("ORDERHUB_PERSONAL_DATA_DAYS is not set (or 0): personal data is kept")
        return {"days": 0, "orders": 0}
    cutoff = utcnow() - timedelta(days=days)
    due: list[int] = []
    after = None
    with ctx.hub.db.read() as conn:
        while len(due) < most:
            found = retention.due(conn, cutoff, min(batch, most - len(due)), after)
            if not found:
                break
            due += [r.id for r in found]
            after = (found[-1].updated_at, found[-1].id)
        folders = remote_files.folders(conn)
    ctx.progress.total(len(due), "orders")
    files: list[str] = []
    if due and remote_files.configured(ctx.hub):
        # Lines naming these orders lose their personal fields (the feed's buyer, the invoice's customer).
        found_files = remote_files.search(ctx.hub, folders, Person(), set(due))
        if found_files.error is not None:
            raise RuntimeError(f"the SFTP server could not be searched ({found_files.error}); nothing was purged, "
                               "the next run tries again")
        files = remote_files.rewrite(ctx.hub, found_files.hits, Person(), set(due))
    changed: dict[str, int] = {}
    for start in range(0, len(due), batch):
        ctx.check()
        part = due[start:start + batch]
        with ctx.hub.db.write() as conn:
            for table, n in retention.purge(conn, part).items():
                changed[table] = changed.get(table, 0) + n
        ctx.count(read=len(part), processed=len(part))
        ctx.progress.advance(len(part))
    ctx.log(f"personal data of {len(due)} order(s) completed before {cutoff.isoformat(timespec='seconds')} erased; "
            f"{len(files)} file(s) on SFTP rewritten")
    return {"days": days, "cutoff": cutoff.isoformat(), "orders": len(due), "rows": changed, "files": files}


register(Definition(
    name=NAME, category="misc",
    description="Retention of personal data: erase the customer's personal data from orders completed more than "
                "ORDERHUB_PERSONAL_DATA_DAYS ago (addresses, e-mail, note, raw records, deliveries, files), keeping "
                "the orders and invoices pseudonymised",
    default_schedule="daily", per_shop=False,
    params=(Param("days", ParamKind.INT, "days to keep (default: ORDERHUB_PERSONAL_DATA_DAYS)"),
            Param("batch_size", ParamKind.INT, "orders per transaction", default=200),
            Param("max_orders", ParamKind.INT, "orders per run at most", default=10_000)),
), run)
