"""Pre-order jobs: the presell catalogue, promise dates, telling customers of later dates, and releasing.

- ``refresh-presell-catalogue`` adds SKUs sold ahead of stock to the pre-order or backorder catalogue
  (and takes them out again), parks their waiting units and gives them their first promise;
- ``update-promise-dates`` promises every waiting unit again, first come first served, recording what moved;
- ``notify-promise-changes`` e-mails each customer once per order whose dates moved later;
- ``release-preorders`` moves units whose promise date has come, and whose stock is there, into brokering.

The work is in :mod:`orderhub.services.presell`; these jobs batch it (a transaction per batch of SKUs or per
order) and report. A customer's mail is sent before its changes are marked told: a crash in between sends
that one mail again, never none.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import Connection

from orderhub.adapters.mail import Mailer, MailError, MailRefusedError, required_config
from orderhub.adapters.store import presell_store
from orderhub.adapters.store import purchase_orders as po_store
from orderhub.clock import utcnow
from orderhub.domain.jobs import Definition, Param, ParamKind
from orderhub.domain.presell import Presell
from orderhub.services import presell, routing_run
from orderhub.services.jobs.context import JobContext
from orderhub.services.jobs.registry import register

REFRESH = "refresh-presell-catalogue"
UPDATE = "update-promise-dates"
NOTIFY = "notify-promise-changes"
RELEASE = "release-preorders"
SKU_BATCH = 200  # SKUs per transaction
ORDER_BATCH = 100  # orders read per query by the notification job

R = TypeVar("R", presell.RefreshReport, presell.PromiseReport, presell.ReleaseReport)


def today() -> date:
    """The day promises are made for and compared with (UTC)."""
    return utcnow().date()


def _in_batches(ctx: JobContext, skus: Sequence[str], report: R, work: Callable[[Connection, list[str]], R]) -> R:
    """Run ``work`` on SKU batches, one transaction each, merging what each batch did into ``report``."""
    ordered = sorted(skus)
    for start in range(0, len(ordered), SKU_BATCH):
        ctx.check()
        with ctx.hub.db.write() as conn:
            report.merge(work(conn, ordered[start:start + SKU_BATCH]))
    return report


def _listed(skus: Sequence[str], limit: int = 50) -> str:
    shown = sorted(skus)
    return ", ".join(shown[:limit]) + (f" and {len(shown) - limit} more" if len(shown) > limit else "")


# -- refresh-presell-catalogue -------------------------------------------------------------------------------------

def refresh_catalogue(ctx: JobContext) -> dict[str, Any]:
    """Judge every SKU with open purchase orders, in the catalogue, or with units waiting."""
    code = (ctx.params.get("channel") or "").strip()
    day, now, actor = today(), utcnow(), f"job:{REFRESH}"
    with ctx.hub.db.read() as conn:
        view = presell.channel_view(conn, code) if code else None
        skus = (set(po_store.open_quantities(conn)) | set(presell_store.catalogue(conn))
                | presell_store.waiting_skus(conn))
    report = _in_batches(ctx, sorted(skus), presell.RefreshReport(), lambda conn, batch: presell.refresh_catalogue(
        conn, batch, today=day, now=now, actor=actor, channel=view))
    for kind in Presell:
        added = [s for s, k in report.added.items() if k is kind]
        removed = [s for s, k in report.removed.items() if k is kind]
        if added:
            ctx.log(f"added to the {kind.value} catalogue: {_listed(added)}")
        if removed:
            ctx.log(f"removed from the {kind.value} catalogue: {_listed(removed)}")
    for sku, (old, new) in sorted(report.kind_changed.items()):
        ctx.log(f"{sku}: now sold as a {new.value} (was a {old.value})")
    ctx.log(f"{report.skus} SKU(s) checked ({'channel ' + code if code else 'all facilities'}): "
            f"{len(report.added)} added, {len(report.removed)} removed, {report.parked} unit(s) parked, "
            f"{report.promised} unit(s) promised a date")
    ctx.count(read=report.skus, processed=len(report.added) + len(report.removed) + len(report.kind_changed))
    return {"skus": report.skus, "added": {s: k.value for s, k in sorted(report.added.items())},
            "removed": {s: k.value for s, k in sorted(report.removed.items())},
            "kind_changed": {s: new.value for s, (_old, new) in sorted(report.kind_changed.items())},
            "parked": report.parked, "promised": report.promised, "channel": code or None}


# -- update-promise-dates -------------------------------------------------------------------------------------------

def update_promise_dates(ctx: JobContext) -> dict[str, Any]:
    """Promise again the waiting units of catalogue SKUs, and of any SKU whose waiting units were promised."""
    day, now, actor = today(), utcnow(), f"job:{UPDATE}"
    with ctx.hub.db.read() as conn:
        skus = set(presell_store.catalogue(conn)) | presell_store.waiting_skus(conn, promised_only=True)
    report = _in_batches(ctx, sorted(skus), presell.PromiseReport(), lambda conn, batch: presell.update_promises(
        conn, batch, today=day, now=now, actor=actor))
    ctx.log(f"{report.units} waiting unit(s) of {len(skus)} SKU(s): {report.given} promised a first date, "
            f"{report.changed} promise(s) moved ({report.later} later or lost), "
            f"{report.orders_changed} order promise date(s) changed")
    ctx.count(read=report.units, processed=report.given + report.changed)
    return {"skus": len(skus), "units": report.units, "given": report.given, "changed": report.changed,
            "later": report.later, "orders_changed": report.orders_changed}


# -- notify-promise-changes ------------------------------------------------------------------------------------------

def _when(promise: date | None) -> str:
    return promise.isoformat() if promise else "no date yet"


def subject(n: presell.Notice) -> str:
    return f"Your order {n.order_name}: new expected date"


def render_text(n: presell.Notice) -> str:
    lines = [f"Hello {n.customer_name}," if n.customer_name else "Hello,", "",
             f"some items of your order {n.order_name} will reach you later than we told you:", ""]
    for line in n.lines:
        sku = f" ({line.sku})" if line.sku else ""
        lines.append(f"  {line.quantity} x {line.title}{sku}: now expected {_when(line.promise)} "
                     f"(was {_when(line.was)})")
    if any(line.promise is None for line in n.lines):
        lines += ["", "Where there is no date yet, we will write again as soon as we know one."]
    lines += ["", "We are sorry for the wait. The rest of your order is not affected.", ""]
    return "\n".join(lines)


def render_html(n: presell.Notice) -> str:
    def h(value: object) -> str:
        return html.escape(str(value), quote=True)

    rows = "".join(f"<tr><td>{line.quantity}</td><td>{h(line.title)}</td><td>{h(line.sku or '')}</td>"
                   f"<td>{h(_when(line.promise))}</td><td>{h(_when(line.was))}</td></tr>" for line in n.lines)
    greeting = f"Hello {h(n.customer_name)}," if n.customer_name else "Hello,"
    later = ("<p>Where there is no date yet, we will write again as soon as we know one.</p>"
             if any(line.promise is None for line in n.lines) else "")
    return ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body>"
            f"<p>{greeting}</p><p>some items of your order {h(n.order_name)} will reach you later than we told "
            "you:</p>"
            '<table border="1" cellpadding="4" cellspacing="0"><tr><th>quantity</th><th>item</th><th>SKU</th>'
            f"<th>now expected</th><th>was</th></tr>{rows}</table>{later}"
            "<p>We are sorry for the wait. The rest of your order is not affected.</p></body></html>")


def notify_promise_changes(ctx: JobContext) -> dict[str, Any]:
    """One mail per order with promise changes not told yet; the changes are then marked told."""
    mailer = Mailer(required_config(ctx.hub.settings, f"job {NOTIFY}"))
    sent = skipped = failed = 0
    after = 0
    while True:
        ctx.check()
        with ctx.hub.db.read() as conn:
            ids = presell_store.pending_order_ids(conn, after_id=after, limit=ORDER_BATCH)
        if not ids:
            break
        after = ids[-1]
        for order_id in ids:
            ctx.check()
            with ctx.hub.db.read() as conn:
                n = presell.notice(conn, order_id)
            if n is None:
                continue
            if not n.lines:  # cancelled, or promised no later than told after all
                _mark(ctx, n)
                skipped += 1
                continue
            problem = _send(mailer, n)
            if problem is not None:
                ctx.failed_record({"order_id": n.order_id, "order": n.order_name, "email": n.email}, problem)
                failed += 1
                continue
            _mark(ctx, n)
            sent += 1
    ctx.log(f"{sent} customer(s) mailed, {skipped} order(s) with nothing left to tell, {failed} not mailed")
    ctx.count(read=sent + skipped + failed, processed=sent, skipped=skipped)
    return {"sent": sent, "skipped": skipped, "not_sent": failed}


def _recipient(name: str | None, email: str) -> str:
    """``"Name" <address>`` as text: the mail adapter parses it, non-ASCII addresses included (which
    ``email.headerregistry.Address`` refuses to build)."""
    if not name:
        return email
    quoted = " ".join(name.split()).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{quoted}" <{email}>'


def _send(mailer: Mailer, n: presell.Notice) -> str | None:
    """Mail the customer; returns why it was not sent when the order is to blame (the run fails when the
    server is)."""
    if not n.email:
        return f"order {n.order_name}: no e-mail address on the order or its customer; add one to tell the customer"
    try:
        to = _recipient(n.customer_name, n.email)
        mailer.send_mail(to, subject(n), render_text(n), html=render_html(n))
    except MailRefusedError as exc:
        return f"order {n.order_name}: the mail server refused {n.email}: {exc}"
    except MailError as exc:
        raise RuntimeError(f"job {NOTIFY}: order {n.order_name}: the mail was not sent: {exc}") from exc
    except ValueError as exc:  # the address cannot be written in a header (e.g. a non-ASCII local part)
        reason = str(exc).strip()
        if reason.endswith(")") and "(" not in reason:  # the email package's defects end with a stray ")"
            reason = reason[:-1]
        return (f"order {n.order_name}: cannot send to {n.email!r} ({reason}); correct the address on the order "
                "or tell the customer another way")
    return None


def _mark(ctx: JobContext, n: presell.Notice) -> None:
    with ctx.hub.db.write() as conn:
        presell_store.mark_notified(conn, n.change_ids, now=utcnow())


# -- release-preorders -------------------------------------------------------------------------------------------------

def release_preorders(ctx: JobContext) -> dict[str, Any]:
    """Release the units due into brokering; with ``run_brokering``, run the routing run on them right away."""
    day, now, actor = today(), utcnow(), f"job:{RELEASE}"
    with ctx.hub.db.read() as conn:
        skus = presell_store.waiting_skus(conn, due_by=day)
    report = _in_batches(ctx, sorted(skus), presell.ReleaseReport(), lambda conn, batch: presell.release(
        conn, batch, today=day, now=now, actor=actor))
    ctx.log(f"{report.considered} parked unit(s) of {len(skus)} SKU(s) due by {day.isoformat()}: "
            f"{report.released} released into brokering ({len(report.orders)} order(s))")
    stats: dict[str, Any] = {"skus": len(skus), "considered": report.considered, "released": report.released,
                             "orders": len(report.orders)}
    if ctx.params["run_brokering"] and report.released:
        brokered = routing_run.run(ctx.hub.db, actor=actor, queues=[presell.BROKERING])
        ctx.log(f"routing run: {brokered['units_brokered']} unit(s) brokered, {brokered['units_parked']} parked")
        stats["brokering"] = brokered
    ctx.count(read=report.considered, processed=report.released)
    return stats


register(Definition(
    name=REFRESH, category="pre-order",
    description="Auto refresh presell catalog: add products to and remove them from the pre-order and backorder "
                "catalogues by inventory, purchase orders and waiting units; park waiting units and promise them",
    default_schedule="hourly", per_shop=False,
    params=(Param("channel", help="judge availability by this channel's ATP (its facilities and thresholds) "
                  "instead of all facilities", max_len=32),)),
    refresh_catalogue)

register(Definition(
    name=UPDATE, category="pre-order",
    description="Update promise date: promise waiting pre-order and backorder units again, first come first "
                "served, recording every promise that moved on the order's timeline",
    default_schedule="hourly", per_shop=False),
    update_promise_dates)

register(Definition(
    name=NOTIFY, category="pre-order",
    description="Promise date change: notify customers of changed promise dates for their orders (one e-mail "
                "per order)",
    default_schedule="hourly", per_shop=False),
    notify_promise_changes)

register(Definition(
    name=RELEASE, category="pre-order",
    description="Auto releasing: release pre-orders whose promise date has passed into brokering, when their "
                "stock is there",
    default_schedule="hourly", per_shop=False,
    params=(Param("run_brokering", ParamKind.BOOL, "run the routing run on the released units right away",
                  default=False),)),
    release_preorders)
