"""Invoice one order in Retail Pro, exactly once, then post its transfer slips.

The steps, each its own transaction around one HTTP call:

1. **Pin and mark ``sending``.** The first call pins the invoicing store and order number;
   a later call for the order must ask for the same invoice. An order already invoiced is
   skipped without a call.
2. **Call.** Retail Pro refuses a second invoice of the same order number at the same store
   and answers with the first invoice's id, so a call after a crash (the invoice was made, the
   mark was not) finds the invoice instead of making another: the order's idempotency key is
   (store, order number).
3. **Mark** ``invoiced`` (with the invoice's id, and a ledger entry per SKU and facility) only
   when the answer says the invoice exists; ``rejected`` (error log) when the service refused
   the document; ``failed`` (fed again) when the service could not be reached.
4. **Slips.** Each other fulfilling store sends its quantities to the invoicing store; a slip
   that could not be posted stays ``failed`` and is posted by the next run.

Every call, with its request and answer, goes to ``invoice_calls``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, insert, select, update

from orderhub.adapters.retailpro import Outcome, RetailProClient
from orderhub.adapters.store import error_log, invoice_store
from orderhub.adapters.store.db import Database
from orderhub.adapters.store.schema import inventory, inventory_ledger, invoice_transfers, order_invoices, orders
from orderhub.clock import utcnow
from orderhub.domain.inventory import LedgerReason
from orderhub.services.invoicing.rejections import RECORD_TYPE, record_order

TRANSFER_RECORD_TYPE = "invoice_transfer"  # error-log entries of slips Retail Pro refused


class LineError(ValueError):
    """A line of an invoice file that is not what the transform writes."""


@dataclass(frozen=True)
class Sent:
    """What became of one order: ``invoiced`` (now), ``found`` (it was invoiced before: the service
    answered with the first invoice), ``skipped`` (orderhub knew it was invoiced: no call),
    ``rejected`` or ``unavailable``."""

    order_id: int
    order: str
    result: str
    sid: str | None
    message: str
    status: int | None = None
    response: Any = None
    transfers: tuple[str, ...] = ()  # one word per slip: posted | found | failed | rejected

    def record(self) -> dict[str, Any]:
        """The line of the responses file."""
        return {"order_id": self.order_id, "order": self.order, "result": self.result, "sid": self.sid,
                "status": self.status, "message": self.message, "response": self.response,
                "transfers": list(self.transfers)}


def parse_line(raw: Any) -> dict[str, Any]:
    """A line of an invoice file, checked for the keys the sender relies on."""
    if not isinstance(raw, dict):
        raise LineError("is not a JSON object")
    for key, kind in (("order_id", int), ("store", str), ("order_no", str), ("invoice", dict), ("transfers", list)):
        if not isinstance(raw.get(key), kind) or isinstance(raw.get(key), bool):
            raise LineError(f"{key} is missing or not a {kind.__name__}")
    return raw


def send(db: Database, client: RetailProClient, line: dict[str, Any], *, run_id: int | None, topic: str) -> Sent:
    """Invoice the order of one (parsed) line and post its slips; see the module's steps."""
    order_id, name = line["order_id"], str(line.get("order") or f"id {line['order_id']}")
    with db.write() as conn:
        row = conn.execute(select(order_invoices, orders.c.shop_id)
                           .select_from(orders.outerjoin(order_invoices, order_invoices.c.order_id == orders.c.id))
                           .where(orders.c.id == order_id)).first()
        if row is None:
            raise LineError(f"order id {order_id} ({name}) is not in orderhub")
        if row.status == "invoiced":
            return Sent(order_id, name, "skipped", row.sid, f"already invoiced as {row.sid}")
        if row.status == "rejected":  # a person must act first (its error-log entry): a rerun does not resend it
            return Sent(order_id, name, "skipped", None, f"rejected before ({row.error}); see the error log")
        pinned = (row.invoicing_store, row.order_no)
        if row.invoicing_store and pinned != (line["store"], line["order_no"]):
            error = (f"order {name} was first sent as order {pinned[1]} at store {pinned[0]}; this line asks for "
                     f"{line['order_no']} at {line['store']}. Retail Pro may hold the first: dismiss this entry, "
                     "or check Retail Pro and retry")
            record_order(conn, order_id=order_id, shop_id=row.shop_id, topic=topic, kind="validation", error=error,
                         field="InvoicingStore", payload=line, run_id=run_id)
            return Sent(order_id, name, "rejected", None, error)
        sending = {"status": "sending", "invoicing_store": line["store"], "order_no": line["order_no"],
                   "updated_at": utcnow()}
        if row.status is None:  # sent without a feed (an error-log retry of an edited line)
            conn.execute(insert(order_invoices).values(order_id=order_id, attempts=1, **sending))
        else:
            conn.execute(update(order_invoices).where(order_invoices.c.order_id == order_id)
                         .values(attempts=order_invoices.c.attempts + 1, **sending))
        shop_id = row.shop_id

    outcome = client.create_invoice(line["invoice"])
    with db.write() as conn:
        _log(conn, order_id, run_id, "invoice", outcome)
        if outcome.kind in ("created", "duplicate"):
            _invoiced(conn, order_id, line, outcome, topic)
        elif outcome.kind == "rejected":
            field = outcome.errors[0].field if outcome.errors else None
            record_order(conn, order_id=order_id, shop_id=shop_id, topic=topic, kind="rejected",
                         error=f"order {name}: {outcome.message}", field=field, payload=line, run_id=run_id)
        else:
            conn.execute(update(order_invoices).where(order_invoices.c.order_id == order_id).values(
                status="failed", error=outcome.message, updated_at=utcnow()))
    status, response = _last_answer(outcome)
    if outcome.kind not in ("created", "duplicate"):
        return Sent(order_id, name, outcome.kind, None, outcome.message, status, response)
    slips = post_transfers(db, client, order_id, run_id=run_id, topic=topic)
    result = "invoiced" if outcome.kind == "created" else "found"
    message = (f"invoiced as {outcome.sid}" if result == "invoiced"
               else f"Retail Pro already had it as {outcome.sid}; marked invoiced")
    return Sent(order_id, name, result, outcome.sid, message, status, response, tuple(slips))


def post_transfers(db: Database, client: RetailProClient, order_id: int, *, run_id: int | None, topic: str
                   ) -> list[str]:
    """Post the order's slips not yet posted; one word per slip."""
    with db.read() as conn:
        slips = [r for r in invoice_store.transfers_of(conn, order_id).values() if r.status in ("pending", "failed")]
        shop_id = conn.execute(select(orders.c.shop_id).where(orders.c.id == order_id)).scalar()
    results = []
    for slip in slips:
        outcome = client.create_slip(orjson.loads(slip.body))
        with db.write() as conn:
            _log(conn, order_id, run_id, "transfer", outcome)
            values: dict[str, Any] = {"attempts": invoice_transfers.c.attempts + 1, "updated_at": utcnow()}
            if outcome.kind in ("created", "duplicate"):
                values |= {"status": "done", "sid": outcome.sid, "error": None}
                error_log.resolve(conn, TRANSFER_RECORD_TYPE, slip.id)
            elif outcome.kind == "rejected":
                values |= {"status": "rejected", "error": outcome.message}
                error_log.record(conn, error_log.Failure(
                    record_type=TRANSFER_RECORD_TYPE, record_id=slip.id, shop_id=shop_id, topic=topic,
                    source="retailpro", kind="rejected", field=outcome.errors[0].field if outcome.errors else None,
                    error=f"transfer slip {slip.slip_no} from store {slip.from_store} to {slip.to_store}: "
                          f"{outcome.message}", payload=slip.body))
            else:
                values |= {"status": "failed", "error": outcome.message}
            conn.execute(update(invoice_transfers).where(invoice_transfers.c.id == slip.id).values(**values))
        results.append({"created": "posted", "duplicate": "found"}.get(outcome.kind, outcome.kind))
    return results


def _invoiced(conn: Connection, order_id: int, line: dict[str, Any], outcome: Outcome, topic: str) -> None:
    now = utcnow()
    conn.execute(update(order_invoices).where(order_invoices.c.order_id == order_id).values(
        status="invoiced", sid=outcome.sid, document_number=outcome.document_number, error=None, field=None,
        invoiced_at=now, updated_at=now))
    error_log.resolve(conn, RECORD_TYPE, order_id)
    known = invoice_store.transfers_of(conn, order_id)
    for slip in line["transfers"]:
        if slip.get("FromStore") not in known:
            conn.execute(insert(invoice_transfers).values(
                order_id=order_id, from_store=str(slip.get("FromStore")), to_store=str(slip.get("ToStore")),
                slip_no=str(slip.get("SlipNo")), body=orjson.dumps(slip, default=str).decode(), status="pending",
                created_at=now, updated_at=now))
    _ledger(conn, order_id, line, outcome.sid or "", topic)


def _ledger(conn: Connection, order_id: int, line: dict[str, Any], sid: str, topic: str) -> None:
    """One ledger entry per SKU and facility: what the POS took off (orderhub's stock does not move)."""
    now, store = utcnow(), line["store"]
    rows = []
    for facility_id, sku, qty in line.get("stock") or []:
        if not isinstance(facility_id, int) or not sku:
            continue
        position = conn.execute(select(inventory.c.on_hand, inventory.c.reserved).where(
            inventory.c.sku == sku, inventory.c.facility_id == facility_id)).first()
        on_hand, reserved = (position.on_hand, position.reserved) if position else (0, 0)
        rows.append({"sku": sku, "facility_id": facility_id, "reason": LedgerReason.POS_INVOICED.value,
                     "on_hand_before": on_hand, "on_hand_after": on_hand, "reserved_before": reserved,
                     "reserved_after": reserved, "order_id": order_id, "actor": f"job:{topic}",
                     "note": f"Retail Pro invoice {sid} at store {store}: {qty} off at the POS (orderhub took them "
                             "off when they shipped)", "at": now})
    if rows:
        conn.execute(insert(inventory_ledger), rows)


def _log(conn: Connection, order_id: int, run_id: int | None, document: str, outcome: Outcome) -> None:
    """Every exchange of the call; all but the last were retried (the last carries the outcome)."""
    for n, x in enumerate(outcome.exchanges, start=1):
        kind = outcome.kind if n == len(outcome.exchanges) else "retried"
        invoice_store.log_call(conn, order_id, run_id, document, kind, method=x.method, url=x.url,
                               request=x.request_body, status=x.status, response=x.response_body, error=x.error,
                               elapsed_ms=x.elapsed_ms, at=x.at)


def _last_answer(outcome: Outcome) -> tuple[int | None, Any]:
    if not outcome.exchanges:
        return None, None
    last = outcome.exchanges[-1]
    return last.status, last.response_body
