"""Job ``report-invoice-failures``: e-mail the invoice calls that failed since the last report.

A failed call is one whose final answer was a refusal (the document broke a rule of Retail
Pro's) or no answer at all (the service was down); calls that a retry got through are not
failures. The mail lists each one (order, document, error, HTTP status, the response) and
attaches them all as JSON Lines. Nothing failed: no mail, unless ``send_empty``. The report
remembers the last call it covered only once the mail is accepted, so a report that could
not be sent is sent (with anything newer) by the next run.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Connection, select

from orderhub.adapters.mail import Attachment, Mailer, MailError, required_config
from orderhub.adapters.store import invoice_store
from orderhub.adapters.store.db import upsert
from orderhub.adapters.store.schema import job_state
from orderhub.domain.jobs import Definition, Param, ParamKind
from orderhub.services.jobs.context import JobContext
from orderhub.services.jobs.misc_jobs import parse_recipients
from orderhub.services.jobs.registry import register

NAME = "report-invoice-failures"
STATE_KEY = "reported_through_call"
MAX_CALLS = 100_000  # in one report's attachment; the rest go in the next
LISTED = 50  # in the mail's text
RESPONSE_CHARS = 2000


def _reported_through(conn: Connection) -> int:
    value = conn.execute(select(job_state.c.value).where(job_state.c.job == NAME, job_state.c.shop_id == 0,
                                                         job_state.c.key == STATE_KEY)).scalar()
    return int(value) if value else 0


def _save(conn: Connection, call_id: int) -> None:
    upsert(conn, job_state, {"job": NAME, "shop_id": 0, "key": STATE_KEY, "value": str(call_id)},
           keys=("job", "shop_id", "key"), update=("value",))


def describe(call: Any) -> dict[str, Any]:
    """One failed call as the report shows it."""
    response = call.response or ""
    return {"call_id": call.id, "order_id": call.order_id, "order": call.order_name or f"id {call.order_id}",
            "document": call.document, "outcome": call.outcome, "at": call.at.isoformat(), "run_id": call.run_id,
            "status": call.status, "error": call.error, "request": orjson.loads(call.request),
            "response": orjson.loads(response) if response else None}


def render_text(failures: list[dict[str, Any]]) -> str:
    refused = sum(1 for f in failures if f["outcome"] == "rejected")
    lines = [f"{len(failures)} invoice call(s) to Retail Pro failed since the last report "
             f"({refused} refused by Retail Pro, {len(failures) - refused} unanswered).", "",
             "Refused orders are in the error log (record type invoice): correct and retry, or dismiss them.",
             "Unanswered orders are sent again by the next feed; nothing needs doing unless they keep failing.", ""]
    for f in failures[:LISTED]:
        response = orjson.dumps(f["response"]).decode() if f["response"] is not None else "(no answer)"
        lines += [f"- order {f['order']} ({f['document']}, {f['at']}): {f['outcome']}, HTTP {f['status'] or '-'}",
                  f"  error: {f['error'] or '-'}",
                  f"  response: {response[:RESPONSE_CHARS]}"]
    if len(failures) > LISTED:
        lines.append(f"... and {len(failures) - LISTED} more: all are in the attached file.")
    return "\n".join(lines) + "\n"


def run(ctx: JobContext) -> dict[str, Any]:
    recipients = parse_recipients(ctx.params["recipients"])
    config = required_config(ctx.hub.settings, f"job {NAME}")
    with ctx.hub.db.read() as conn:
        since = _reported_through(conn)
        calls = invoice_store.failed_calls(conn, since, MAX_CALLS)
        through = calls[-1].id if calls else since
    failures = [describe(c) for c in calls]
    ctx.count(read=len(failures))
    if not failures and not ctx.params["send_empty"]:
        ctx.log(f"no failed invoice calls since call {since}; no mail sent")
        return {"failures": 0, "sent": False}
    subject = (f"orderhub: {len(failures)} invoice call(s) to Retail Pro failed" if failures
               else "orderhub: no invoice calls to Retail Pro failed")
    attachment = Attachment(b"".join(orjson.dumps(f) + b"\n" for f in failures), "invoice-failures.jsonl",
                            "application/x-ndjson")
    try:
        sent = Mailer(config).send_mail(recipients, subject, render_text(failures),
                                        attachments=[attachment] if failures else [])
    except MailError as exc:
        raise RuntimeError(f"job {NAME}: the report was not sent: {exc}") from exc
    with ctx.hub.db.write() as conn:
        _save(conn, through)
    ctx.count(processed=len(failures))
    ctx.log(f"report of {len(failures)} failed call(s) sent to {len(recipients) - len(sent.refused)} recipient(s)")
    return {"failures": len(failures), "sent": True, "message_id": sent.message_id, "through_call": through}


register(Definition(
    NAME, "fulfilment", "Invoicing 4/4: e-mail a report of the Order to Invoice calls that failed (order, error, "
    "response) since the last report; no mail when nothing failed unless send_empty",
    params=(Param("recipients", help="who gets the report (comma-separated addresses)", required=True),
            Param("send_empty", ParamKind.BOOL, "send a report even when nothing failed", default=False)),
    default_schedule="hourly", per_shop=False),
    run)
