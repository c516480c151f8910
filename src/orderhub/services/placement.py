"""The order-placement workflow: validate → reserve inventory → authorise payment → record → finalise.

Every new order enters the order management system through it. A failing step runs
the compensations in reverse (void the authorisation, release the reservations) and
the order ends ``rejected`` with the reason on its timeline. Events about an order
are written to the outbox only by the last step, in its transaction, so an order
that is compensated never emits ``order.placed`` — or anything else.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from orderhub.adapters.payments import PaymentDeclined, PaymentError, PaymentGateway, PaymentUnavailable
from orderhub.adapters.store import inventory_store, outbox, timeline
from orderhub.adapters.store import units as unit_store
from orderhub.adapters.store.db import Database
from orderhub.adapters.store.inventory_store import Movement
from orderhub.adapters.store.schema import orders, payment_authorizations
from orderhub.clock import utcnow
from orderhub.domain import money
from orderhub.domain.approval import PAID
from orderhub.domain.inventory import LedgerReason
from orderhub.services import approval, brokering, workflow
from orderhub.services.workflow import Definition, Engine, Fault, Flow, Outcomes, Step

KIND = "place_order"
ACTOR = "placement"
PAYMENT_WAIT_SECONDS = 900.0
GATEWAY_RETRY_SECONDS = 60.0


def accept(conn: Connection, order_ids: Sequence[int]) -> None:
    """New orders enter the OMS: create their units and start placing them (caller's transaction)."""
    unit_store.explode(conn, order_ids)
    workflow.start(conn, KIND, order_ids)


def _orders(conn: Connection, flows: list[Flow]) -> dict[int, Any]:
    return {r.id: r for r in conn.execute(select(orders).where(orders.c.id.in_([f.order_id for f in flows])))}


# -- validate -----------------------------------------------------------------------------------------

def validate(conn: Connection, flows: list[Flow]) -> Outcomes:
    found = _orders(conn, flows)
    units = unit_store.of_orders(conn, [f.order_id for f in flows])
    outcomes: Outcomes = {}
    for f in flows:
        order = found.get(f.order_id)
        if order is None:
            outcomes[f.id] = workflow.fail(f"order {f.order_id} no longer exists")
        elif not units[f.order_id]:
            outcomes[f.id] = workflow.fail(f"order {order.name}: no units to fulfil (every line has quantity 0)")
        elif order.status not in ("created", "held"):
            outcomes[f.id] = workflow.fail(f"order {order.name} is {order.status}; only created orders are placed")
    return outcomes


# -- reserve --------------------------------------------------------------------------------------------

def reserve(conn: Connection, flows: list[Flow]) -> Outcomes:
    result, candidates = brokering.decide(conn, [f.order_id for f in flows], statuses=("created",))
    done = brokering.apply(conn, result, candidates, actor=ACTOR, waiting_status="created",
                           brokered_status="created")
    for f in flows:
        out = done.get(f.order_id)
        f.context["reserved"] = [list(r) for r in out.reserved] if out else []
    return {}


def release_reservations(conn: Connection, flows: list[Flow]) -> None:
    moves = [Movement(sku, facility, 1, order_id=f.order_id, unit_id=unit)
             for f in flows for unit, sku, facility in f.context.get("reserved", [])]
    inventory_store.move(conn, moves, reason=LedgerReason.RELEASED, actor=ACTOR, reserved_sign=-1,
                         note="placement compensated")
    unit_store.save(conn, [{"id": m.unit_id, "status": "created", "facility_id": None, "queue": None,
                            "reason": None} for m in moves])
    for f in flows:
        f.context["reserved"] = []


# -- authorise payment -------------------------------------------------------------------------------

class Payments:
    """Takes the payment step: the channel's word when it collected the payment, else the gateway."""

    def __init__(self, db: Database, gateway: PaymentGateway | None) -> None:
        self.db = db
        self.gateway = gateway

    def authorise(self, flows: list[Flow]) -> Outcomes:
        with self.db.read() as conn:
            found = _orders(conn, flows)
        outcomes: Outcomes = {}
        for f in flows:
            order = found[f.order_id]
            if f.context.get("payment"):
                continue  # authorised before a crash; the record step did not commit
            if order.payment_status in PAID:
                f.context["payment"] = {"by": "channel", "status": order.payment_status}
            elif self.gateway is None:
                outcomes[f.id] = workflow.wait(f"waiting for payment: it is {order.payment_status}",
                                               PAYMENT_WAIT_SECONDS)
            else:
                outcomes[f.id] = self._gateway(f, order)
        return outcomes

    def _gateway(self, f: Flow, order: Any) -> workflow.Outcome:
        assert self.gateway is not None
        try:
            auth = self.gateway.authorize(order.name or order.shopify_id, Decimal(order.total_price), order.currency,
                                          idempotency_key=f"orderhub-{KIND}-{f.id}-authorize")
        except PaymentDeclined as exc:
            return workflow.fail(f"payment declined: {exc}")
        except PaymentUnavailable as exc:
            return workflow.wait(f"payment gateway unavailable: {exc}", GATEWAY_RETRY_SECONDS)
        except PaymentError as exc:
            return workflow.fail(f"payment refused: {exc}")
        f.context["payment"] = {"by": "gateway", "authorization": auth.id,
                                "amount": money.show(auth.amount, auth.currency), "currency": auth.currency}
        return workflow.OK

    def void(self, flows: list[Flow]) -> None:
        """Compensation, outside any transaction: void gateway authorisations (idempotent)."""
        for f in flows:
            payment = f.context.get("payment") or {}
            if payment.get("by") == "gateway" and self.gateway is not None and not payment.get("voided"):
                self.gateway.void(payment["authorization"], idempotency_key=f"orderhub-{KIND}-{f.id}-void")
                payment["voided"] = True


def record_payment(conn: Connection, flows: list[Flow]) -> Outcomes:
    now = utcnow()
    rows = [f for f in flows if (f.context.get("payment") or {}).get("by") == "gateway"]
    if rows:
        conn.execute(insert(payment_authorizations), [
            {"order_id": f.order_id, "gateway": "gateway", "reference": f.context["payment"]["authorization"],
             "amount": Decimal(f.context["payment"]["amount"]), "currency": f.context["payment"]["currency"],
             "status": "authorized", "created_at": now, "updated_at": now} for f in rows])
        conn.execute(update(orders).where(orders.c.id == bindparam("oid")).values(payment_status="authorized"),
                     [{"oid": f.order_id} for f in rows])
    return {}


def mark_voided(conn: Connection, flows: list[Flow]) -> None:
    ids = [f.order_id for f in flows if (f.context.get("payment") or {}).get("by") == "gateway"]
    if ids:
        conn.execute(update(payment_authorizations).where(payment_authorizations.c.order_id.in_(ids))
                     .values(status="voided", updated_at=utcnow()))
        conn.execute(update(orders).where(orders.c.id.in_(ids)).values(payment_status="voided"))


# -- record and finalise -----------------------------------------------------------------------------

def record(conn: Connection, flows: list[Flow]) -> Outcomes:
    """Decide approval now that payment and stock are known; the order is placed either way."""
    found = _orders(conn, flows)
    outcomes: Outcomes = {f.id: workflow.fail(f"order {found[f.order_id].name} was cancelled while being placed")
                          for f in flows if found[f.order_id].status == "cancelled"}
    approved = approval.approve(conn, [f.order_id for f in flows if f.id not in outcomes], actor=ACTOR)
    for f in flows:
        f.context["approved"] = f.order_id in approved
    return outcomes


def unrecord(conn: Connection, flows: list[Flow]) -> None:
    approval.unapprove(conn, [f.order_id for f in flows if f.context.get("approved")])


def finalise(conn: Connection, flows: list[Flow]) -> Outcomes:
    events = []
    for summary in approval.summaries(conn, [f.order_id for f in flows]):
        oid = summary["id"]
        kinds = ["order.created"]
        if summary["status"] != "created":
            kinds.append("order.approved")
        if summary["status"] in ("brokered", "completed"):  # completed: it needed no shipping (gift cards)
            kinds.append(f"order.{summary['status']}")
        kinds.append("order.placed")
        events += [outbox.Event(kind, summary, f"order:{oid}", oid) for kind in kinds]
    outbox.add_many(conn, events)
    timeline.add(conn, [timeline.Entry(f.order_id, "placed", {"workflow": f.id}, ACTOR) for f in flows])
    return {}


def rejected(conn: Connection, flows: list[Flow]) -> None:
    """After compensation: the order is rejected, visibly, with the reason; its units with it."""
    now = utcnow()
    ids = [f.order_id for f in flows]
    # An order cancelled while it was being placed stays cancelled.
    conn.execute(update(orders).where(orders.c.id == bindparam("oid"), orders.c.status != "cancelled").values(
        status="rejected", status_reason=bindparam("why"), updated_at=now,
        lifecycle_version=orders.c.lifecycle_version + 1),
        [{"oid": f.order_id, "why": f.error} for f in flows])
    units = unit_store.of_orders(conn, ids)
    unit_store.save(conn, [{"id": u.id, "status": "rejected", "facility_id": None, "queue": None,
                            "reason": "placement failed"} for us in units.values() for u in us
                           if u.status != "cancelled"])
    timeline.add(conn, [timeline.Entry(f.order_id, "rejected", {"reason": f.error, "workflow": f.id}, ACTOR)
                        for f in flows])


def definition(payments: Payments) -> Definition:
    return Definition(KIND, (
        Step("validate", validate),
        Step("reserve", reserve, compensate=release_reservations),
        Step("authorise_payment", record_payment, compensate=mark_voided, outside=payments.authorise,
             compensate_outside=payments.void),
        Step("record", record, compensate=unrecord),
        Step("finalise", finalise),
    ), on_compensated=rejected)


def engine(db: Database, *, gateway: PaymentGateway | None, worker: str, batch_size: int = 200,
           fault: Fault | None = None) -> Engine:
    return Engine(db, definition(Payments(db, gateway)), worker=worker, batch_size=batch_size, fault=fault)

