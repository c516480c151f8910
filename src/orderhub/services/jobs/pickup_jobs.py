"""Pickup in store jobs: expire pickups not collected in time (and remind customers a day before), and send the
pickup e-mails waiting in their outbox.

- ``expire-pickups`` cancels ready pickups past their collect-by date (services/pickups.py ``expire``), one
  transaction each, and queues the reminder e-mail of those that expire within a day;
- ``send-pickup-mail`` sends the e-mails written beside each pickup change, retrying a failed one later
  (``RETRY_MINUTES``); one that cannot be sent after ``MAX_ATTEMPTS`` tries, or has no address, goes to the
  error log naming the order.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson

from orderhub.adapters.mail import Mailer, MailError, required_config
from orderhub.adapters.store import error_log, pickup_store
from orderhub.clock import utcnow
from orderhub.domain.jobs import Definition
from orderhub.domain.pickup import PickupError, reminder_cutoff
from orderhub.services import pickups
from orderhub.services.jobs.context import JobContext
from orderhub.services.jobs.registry import register

EXPIRE = "expire-pickups"
SEND = "send-pickup-mail"
MAX_ATTEMPTS = 5
RETRY_MINUTES = (1, 5, 15, 60)  # after the 1st, 2nd, 3rd and later failures
BATCH = 100


def expire_pickups(ctx: JobContext) -> dict[str, Any]:
    actor, now = f"job:{EXPIRE}", utcnow()
    expired = reminded = failed = 0
    with ctx.hub.db.write() as conn:
        closed = pickups.close_cancelled(conn)
    while True:
        ctx.check()
        with ctx.hub.db.read() as conn:
            due = pickup_store.due(conn, expire_before=now, limit=BATCH)
        done_now = 0
        for pickup in due:
            try:
                with ctx.hub.db.write() as conn:
                    ctx.log(pickups.expire(conn, pickup, actor=actor))
                expired += 1
                done_now += 1
            except (PickupError, ValueError) as exc:  # e.g. an order that cannot be cancelled any more
                failed += 1
                ctx.failed_record({"order_id": pickup.order_id, "pickup_id": pickup.id}, str(exc))
        if len(due) < BATCH or not done_now:
            break
    with ctx.hub.db.read() as conn:
        to_remind = pickup_store.due(conn, remind_before=reminder_cutoff(now), limit=1000)
    for pickup in to_remind:
        with ctx.hub.db.write() as conn:
            pickups.remind(conn, pickup)
        reminded += 1
    ctx.count(read=expired + reminded, processed=expired + reminded)  # failures: counted by failed_record
    return {"expired": expired, "reminded": reminded, "failed": failed, "closed_cancelled": closed}


def send_pickup_mail(ctx: JobContext) -> dict[str, Any]:
    now = utcnow()
    with ctx.hub.db.read() as conn:
        waiting = pickup_store.pending_mails(conn, now, BATCH * 5)
    if not waiting:
        return {"sent": 0, "retrying": 0, "failed": 0}
    mailer = Mailer(required_config(ctx.hub.settings, f"job {SEND}"))
    sent = retrying = failed = 0
    for mail in waiting:
        ctx.check()
        problem = _send(mailer, mail)
        with ctx.hub.db.write() as conn:
            if problem is None:
                pickup_store.mail_sent(conn, mail.id)
                sent += 1
                continue
            attempts = mail.attempts + 1
            give_up = mail.recipient is None or attempts >= MAX_ATTEMPTS
            wait = RETRY_MINUTES[min(attempts, len(RETRY_MINUTES)) - 1]
            retry_at = None if give_up else now + timedelta(minutes=wait)
            pickup_store.mail_failed(conn, mail.id, problem, retry_at=retry_at)
            if give_up:
                failed += 1
                error_log.record(conn, error_log.Failure(
                    record_type=pickup_store.MAIL_RECORD_TYPE, record_id=mail.id, shop_id=None,
                    topic=f"pickup/{mail.kind}", source="mail", kind="retries_exhausted", error=problem,
                    payload=orjson.dumps({"order_id": mail.order_id, "kind": mail.kind,
                                          "attempts": attempts}).decode()))
                ctx.failed_record({"order_id": mail.order_id, "mail_id": mail.id}, problem)
            else:
                retrying += 1
                ctx.log(f"{problem}; trying again at {retry_at.isoformat(timespec='minutes')}" if retry_at else problem)
    ctx.count(read=len(waiting), processed=sent)  # failures: counted by failed_record
    return {"sent": sent, "retrying": retrying, "failed": failed}


def _send(mailer: Mailer, mail: Any) -> str | None:
    """None when sent, else what went wrong, naming the order (never the code)."""
    what = f"order id {mail.order_id}: the pickup {mail.kind} e-mail"
    if not mail.recipient:
        return f"{what} has no address to go to (no e-mail on the order or its customer); tell the customer another way"
    try:
        mailer.send_mail(mail.recipient, mail.subject, mail.body_text, html=mail.body_html)
    except (MailError, ValueError) as exc:
        return f"{what} to {mail.recipient} was not sent: {exc}"
    return None


register(Definition(EXPIRE, "fulfilment", "Pickups not collected: cancel ready pickups past their collect-by date "
                    "(units cancelled, stock released, the channel told, the customer e-mailed) and remind "
                    "customers a day before", per_shop=False, default_schedule="every-15-minutes"),
         expire_pickups)
register(Definition(SEND, "fulfilment", "Pickup e-mails: send the customer e-mails of pickup in store (ready with "
                    "the code, reminder, cancelled), retrying failures", per_shop=False,
                    default_schedule="every-5-minutes"),
         send_pickup_mail)
