"""The order-placement workflow: validate → reserve inventory → authorise payment → record → finalise.

Every new order enters the order management system through it. A failing step runs
the compensations in reverse (void the authorisation, release the reservations) and
the order ends ``rejected`` with the reason on its timeline. Events about an order
are written to the outbox only by the last step, in its transaction, so an order
that is compensated never emits ``order.placed`` — or anything else.

Each step reads what it needs once per batch and hands it on in ``flow.rows``: the
order (with its shop's domain), its units and its shipping address, as the steps
wrote them. Rows handed from an earlier transaction may be out of date (the order
cancelled or held meanwhile), so every write that depends on them is conditional on
the order's ``lifecycle_version`` and the units' status and facility being as read,
and the last step checks the versions before announcing; a mismatch raises
``workflow.Stale`` and the step runs again on rows read afresh.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from orderhub.adapters.payments import PaymentDeclined, PaymentError, PaymentGateway, PaymentUnavailable
from orderhub.adapters.store import inventory_store, outbox, timeline
from orderhub.adapters.store import units as unit_store
from orderhub.adapters.store.db import Database
from orderhub.adapters.store.inventory_store import Movement
from orderhub.adapters.store.schema import order_addresses, order_units, orders, payment_authorizations, shops
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


# -- the rows handed from step to step ----------------------------------------------------------------

# The columns the steps use (validation, brokering, payment, approval, the events' summary, the timeline's
# keys): a step that needs another one adds it here.
_ORDER_COLUMNS = ("id", "shop_id", "shopify_id", "name", "status", "payment_status", "fulfillment_status",
                  "status_reason", "approved_at", "lifecycle_version", "updated_at", "channel", "shipping_method",
                  "priority", "ship_by", "promise_date", "source_created_at", "origin_facility_id",
                  "pickup_facility_id", "pickup_location", "currency", "total_price")
_UNIT_COLUMNS = ("id", "order_id", "item_id", "seq", "sku", "status", "facility_id", "queue", "reason", "ship_group",
                 "price", "rejected_facilities")
_ORDERS = select(*(orders.c[name] for name in _ORDER_COLUMNS), shops.c.domain).join(
    shops, shops.c.id == orders.c.shop_id).where(orders.c.id.in_(bindparam("order_ids", expanding=True)))
_UNITS = select(*(order_units.c[name] for name in _UNIT_COLUMNS)).where(
    order_units.c.order_id.in_(bindparam("order_ids", expanding=True))).order_by(order_units.c.id)


def _load(conn: Connection, flows: list[Flow], *, addresses: bool = False) -> None:
    """Read, for the flows not handed them yet, the order (with its shop's ``domain``), its units and, if
    asked, its shipping address into ``flow.rows``; one statement per table for the batch."""
    need = sorted({f.order_id for f in flows if "order" not in f.rows})
    if need:
        found = {r.id: r for r in _records(conn.execute(_ORDERS, {"order_ids": need}))}
        units: dict[int, list[Any]] = {oid: [] for oid in need}
        for u in _records(conn.execute(_UNITS, {"order_ids": need})):
            units[u.order_id].append(u)
        for f in flows:
            if "order" not in f.rows:
                f.rows |= {"order": found.get(f.order_id), "units": units.get(f.order_id, [])}
    need = sorted({f.order_id for f in flows if addresses and "address" not in f.rows})
    if need:
        found_addresses = {r.order_id: r._asdict() for r in conn.execute(
            select(order_addresses).where(order_addresses.c.order_id.in_(need), order_addresses.c.kind == "shipping"))}
        for f in flows:
            f.rows.setdefault("address", found_addresses.get(f.order_id))


def _records(result: Any) -> list[Any]:
    """Rows as records a step can update as it writes them, for the next step."""
    make = _record_type(tuple(result.keys()))
    return [make(*row) for row in result.all()]


@functools.lru_cache(maxsize=16)
def _record_type(keys: tuple[str, ...]) -> type:
    """A mutable record of these columns: slots, so making thousands a batch is cheap and a step that sets a
    column no step read fails at once instead of handing on a value nobody wrote."""
    return dataclasses.make_dataclass("Record", keys, slots=True, eq=False)


def _present(flows: list[Flow]) -> list[Flow]:
    return [f for f in flows if f.rows.get("order") is not None]


def _keys(flows: list[Flow]) -> dict[int, tuple[int, str]]:
    """The orders' timeline keys, from the handed rows."""
    return {f.order_id: (f.rows["order"].shop_id, f.rows["order"].shopify_id) for f in _present(flows)}


def _write_units(flows: list[Flow], changes: Sequence[dict[str, Any]]) -> None:
    """Keep the handed units as a step wrote them."""
    by_id = {c["id"]: c for c in changes}
    for f in flows:
        for u in f.rows.get("units", ()):
            c = by_id.get(u.id)
            if c is not None:
                u.status, u.facility_id, u.queue, u.reason = c["status"], c["facility_id"], c["queue"], c["reason"]


@contextmanager
def _fenced() -> Iterator[None]:
    try:
        yield
    except unit_store.Changed as exc:
        raise workflow.Stale(str(exc)) from exc


# -- validate -----------------------------------------------------------------------------------------

def validate(conn: Connection, flows: list[Flow]) -> Outcomes:
    _load(conn, flows)
    outcomes: Outcomes = {}
    for f in flows:
        order = f.rows["order"]
        if order is None:
            outcomes[f.id] = workflow.fail(f"order {f.order_id} no longer exists")
        elif not f.rows["units"]:
            outcomes[f.id] = workflow.fail(f"order {order.name}: no units to fulfil (every line has quantity 0)")
        elif order.status not in ("created", "held"):
            outcomes[f.id] = workflow.fail(f"order {order.name} is {order.status}; only created orders are placed")
    return outcomes


# -- reserve --------------------------------------------------------------------------------------------

def reserve(conn: Connection, flows: list[Flow]) -> Outcomes:
    _load(conn, flows, addresses=True)
    present = _present(flows)
    result, candidates = brokering.decide(
        conn, [f.order_id for f in flows], statuses=("created",),
        order_rows={f.order_id: f.rows["order"] for f in present},
        units={f.order_id: f.rows["units"] for f in flows},
        addresses={f.order_id: f.rows["address"] for f in flows if f.rows["address"] is not None})
    with _fenced():
        done = brokering.apply(conn, result, candidates, actor=ACTOR, waiting_status="created",
                               brokered_status="created", seen={u.id: u for f in flows for u in f.rows["units"]},
                               keys=_keys(flows))
    _write_units(flows, [c for out in done.values() for c in out.units])
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
        if any("order" not in f.rows for f in flows):
            with self.db.read() as conn:
                _load(conn, flows)
        outcomes: Outcomes = {}
        for f in flows:
            order = f.rows["order"]
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

    def calls_out(self, flows: list[Flow]) -> bool:
        """Whether :meth:`authorise` would call out for these flows: the gateway (an order not paid yet, a
        gateway configured), or the database for rows not handed on. If not, it may run in a transaction."""
        for f in flows:
            order = f.rows.get("order")
            if order is None:
                return True
            if not f.context.get("payment") and order.payment_status not in PAID and self.gateway is not None:
                return True
        return False

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
        for f in rows:
            if f.rows.get("order") is not None:
                f.rows["order"].payment_status = "authorized"
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
    _load(conn, flows, addresses=True)
    outcomes: Outcomes = {f.id: workflow.fail(f"order {f.order_id} no longer exists")
                          for f in flows if f.rows["order"] is None}
    outcomes |= {f.id: workflow.fail(f"order {f.rows['order'].name} was cancelled while being placed")
                 for f in _present(flows) if f.rows["order"].status == "cancelled"}
    going = [f for f in flows if f.id not in outcomes]
    with _fenced():
        done = approval.approve_rows(conn, [f.order_id for f in going], {f.order_id: f.rows["order"] for f in going},
                                     {f.order_id: f.rows["units"] for f in going},
                                     {f.order_id: f.rows["address"] for f in going if f.rows["address"] is not None},
                                     actor=ACTOR, handed=True)
    _write_units(going, done.units)
    for f in flows:
        f.context["approved"] = f.order_id in done.approved
    for f in going:
        for column, value in done.orders.get(f.order_id, {}).items():
            setattr(f.rows["order"], column, value)
    return outcomes


def unrecord(conn: Connection, flows: list[Flow]) -> None:
    approval.unapprove(conn, [f.order_id for f in flows if f.context.get("approved")])


def finalise(conn: Connection, flows: list[Flow]) -> Outcomes:
    """Announce the orders as the steps before left them (read again only if not handed: after a crash)."""
    handed = _present(flows)  # before any read: rows present now were handed by the steps before
    if handed:  # announce nothing another transaction changed since: check the versions, one narrow read
        versions = dict(conn.execute(select(orders.c.id, orders.c.lifecycle_version)
                                     .where(orders.c.id.in_([f.order_id for f in handed]))).all())
        if any(versions.get(f.order_id) != f.rows["order"].lifecycle_version for f in handed):
            raise workflow.Stale("orders changed since they were recorded")
    _load(conn, flows)
    events = []
    for f in sorted(_present(flows), key=lambda f: f.order_id):
        summary = approval.summary(f.rows["order"], f.rows["units"])
        oid = summary["id"]
        kinds = ["order.created"]
        if summary["status"] != "created":
            kinds.append("order.approved")
        if summary["status"] in ("brokered", "completed"):  # completed: it needed no shipping (gift cards)
            kinds.append(f"order.{summary['status']}")
        kinds.append("order.placed")
        events += [outbox.Event(kind, summary, f"order:{oid}", oid) for kind in kinds]
    outbox.add_many(conn, events)
    timeline.add(conn, [timeline.Entry(f.order_id, "placed", {"workflow": f.id}, ACTOR) for f in flows],
                 keys=_keys(flows))
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
             compensate_outside=payments.void, calls_out=payments.calls_out),
        Step("record", record, compensate=unrecord),
        Step("finalise", finalise),
        # Every step is safe to redo after a crash (its writes commit with the flow's progress, the gateway is
        # called with idempotency keys), so a batch commits once, or around the payment at the gateway.
    ), on_compensated=rejected, together=True)


def engine(db: Database, *, gateway: PaymentGateway | None, worker: str, batch_size: int = 200,
           fault: Fault | None = None) -> Engine:
    return Engine(db, definition(Payments(db, gateway)), worker=worker, batch_size=batch_size, fault=fault)

