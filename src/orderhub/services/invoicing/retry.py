"""Retrying invoicing's error-log entries.

- An order (record type ``invoice``) goes back into the next feed, built again from orderhub's
  data (correct the order first). With an edited payload it is invoiced at once: the payload
  is the feed record (transformed with the transform job's scheduled parameters, then sent)
  or the invoice line Retail Pro refused (sent as edited).
- A slip (``invoice_transfer``) is posted by the next run of ``send-invoices``; an edited
  payload replaces the slip's body first.

The entry is resolved when the order is invoiced or the slip posted.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Connection, select, update

from orderhub.adapters.retailpro import RetailProClient, RetailProConfig
from orderhub.adapters.store.db import Database
from orderhub.adapters.store.schema import invoice_transfers, job_chains, job_schedules, order_invoices
from orderhub.clock import utcnow
from orderhub.domain.invoicing import FeedError, NotInvoiceable, transform
from orderhub.domain.jobs import validate_params
from orderhub.services.invoicing.send import LineError, Sent, parse_line, send


class RetryRefused(Exception):
    pass


def requeue_order(conn: Connection, order_id: int) -> None:
    """Put the order back in the next feed (it is ``failed``: fed again)."""
    row = conn.execute(select(order_invoices.c.status, order_invoices.c.sid)
                       .where(order_invoices.c.order_id == order_id)).first()
    if row is not None and row.status == "invoiced":
        raise RetryRefused(f"order id {order_id} is invoiced already (Retail Pro invoice {row.sid}); dismiss the entry")
    conn.execute(update(order_invoices).where(order_invoices.c.order_id == order_id)
                 .values(status="failed", updated_at=utcnow()))


def requeue_transfer(conn: Connection, transfer_id: int, payload: str | None) -> None:
    """Post the slip again at the next run of send-invoices (with ``payload`` as its body, if given)."""
    row = conn.execute(select(invoice_transfers.c.status).where(invoice_transfers.c.id == transfer_id)).first()
    if row is None:
        raise RetryRefused(f"transfer slip {transfer_id} is gone (its order was deleted)")
    if row.status == "done":
        raise RetryRefused(f"transfer slip {transfer_id} was posted already; dismiss the entry")
    values: dict[str, Any] = {"status": "failed", "updated_at": utcnow()}
    if payload is not None:
        body = orjson.loads(payload)
        if not isinstance(body, dict) or not isinstance(body.get("Items"), list):
            raise RetryRefused("the edited slip must be a JSON object with Items, as Retail Pro's Transfer/Slip takes")
        values["body"] = payload
    conn.execute(update(invoice_transfers).where(invoice_transfers.c.id == transfer_id).values(**values))


def invoice_now(db: Database, settings: Any, order_id: int, payload: str, *, topic: str = "error-log retry") -> Sent:
    """Invoice an order from an edited payload at once: a feed record (transformed) or an invoice line."""
    from orderhub.services.jobs import invoicing_transform  # the job's parameters decide the transform

    data = orjson.loads(payload)
    try:
        if isinstance(data, dict) and "invoice" in data:
            line = parse_line(data)
        else:
            with db.read() as conn:
                params = _scheduled_params(conn, invoicing_transform.NAME)
            options = invoicing_transform.options(validate_params(
                invoicing_transform.NAME, invoicing_transform.DEFINITION.params, params))
            line = transform(data, options).line()
            line = orjson.loads(orjson.dumps(line, default=str))  # as the file would carry it
    except (FeedError, NotInvoiceable, LineError, ValueError) as exc:
        raise RetryRefused(str(exc)) from None
    if line["order_id"] != order_id:
        raise RetryRefused(f"the edited payload is for order id {line['order_id']}, not {order_id}")
    with db.write() as conn:
        conn.execute(update(order_invoices).where(order_invoices.c.order_id == order_id,
                                                  order_invoices.c.status == "rejected")
                     .values(status="failed", updated_at=utcnow()))
    with RetailProClient(RetailProConfig.from_settings(settings)) as client:
        sent = send(db, client, line, run_id=None, topic=topic)
    if sent.result not in ("invoiced", "found", "skipped"):
        raise RetryRefused(f"order {sent.order}: {sent.message}")
    return sent


def _scheduled_params(conn: Connection, job: str) -> dict[str, Any]:
    """The parameters the job runs with: its chain's (as invoicing is set up), else its schedule's."""
    row = (conn.execute(select(job_chains.c.params).where(job_chains.c.downstream_job == job)
                        .order_by(job_chains.c.enabled.desc(), job_chains.c.id)).first()
           or conn.execute(select(job_schedules.c.params).where(job_schedules.c.job == job)
                           .order_by(job_schedules.c.enabled.desc(), job_schedules.c.id)).first())
    return orjson.loads(row.params) if row else {}
