"""Pickup in store: the store marks an order ready, the customer collects it with the code, or it expires.

- ``ready``: every unit of the order is picked at its pickup store; the pickup gets a new code (returned to
  the person who marked it ready, e-mailed to the customer, stored only hashed) and a collect-by date;
- ``collect``: the right code hands the order over: its units are packed and shipped as a shipment with the
  carrier "pickup in store" (stock leaves the store's on hand, the SHIPPED ledger reason) and completed; a
  wrong code counts, and ``MAX_ATTEMPTS`` wrong codes lock the pickup until ``reset``;
- ``expire``: a ready pickup past its collect-by date is cancelled: the order's units are cancelled (the
  reservations released, so the shelf's stock is sold again), the channel is owed its cancellation (a
  marketplace through its operations; a Shopify order, cancelled whole, through the upload-cancellations job,
  which refunds the customer), and the customer is e-mailed.

Every e-mail is written to ``pickup_mails`` in the transaction that changed the pickup; the send-pickup-mail
job sends it (services/jobs/pickup_jobs.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from orderhub.adapters.store import facilities as facility_store
from orderhub.adapters.store import pickup_store, timeline
from orderhub.adapters.store import units as unit_store
from orderhub.adapters.store.schema import customers, facilities, orders, pickups
from orderhub.clock import utcnow
from orderhub.domain import lifecycle, pickup_mail
from orderhub.domain.brokering import ships
from orderhub.domain.pickup import (
    MAX_ATTEMPTS,
    OPEN,
    PickupError,
    PickupStatus,
    code_matches,
    collect_by,
    hash_code,
    new_code,
    normalise,
)
from orderhub.services import fulfilment
from orderhub.services.fulfilment import Ctx, NotFound

CARRIER = "pickup in store"


@dataclass(frozen=True)
class Ready:
    order: str
    store: str
    code: str  # shown once, to the person who marked it ready; the customer has it by e-mail
    collect_by: datetime


@dataclass(frozen=True)
class Attempt:
    """What a code at the counter did: collected, or refused (with how many tries are left)."""

    collected: bool
    message: str
    attempts_left: int = 0
    locked: bool = False


def _order(conn: Connection, order_id: int) -> Any:
    row = conn.execute(select(orders).where(orders.c.id == order_id)).first()
    if row is None:
        raise NotFound(f"no order {order_id}; list pickups with `orderhub pickup list`")
    return row


def _label(order: Any) -> str:
    return f"order {order.name or order.shopify_id} (id {order.id})"


def _store(conn: Connection, order: Any) -> Any:
    if order.pickup_facility_id is None:
        where = f" (pickup location {order.pickup_location} has no facility: give a facility its name)" \
            if order.pickup_location else ""
        raise PickupError(f"{_label(order)} is not a pickup in store order{where}")
    return conn.execute(select(facilities).where(facilities.c.id == order.pickup_facility_id)).one()


def _live_units(conn: Connection, order: Any) -> list[Any]:
    return [u for u in unit_store.of_orders(conn, [order.id])[order.id]
            if ships(u.ship_group) and u.status not in lifecycle.DROPPED]


def days_of(store: Any, default_days: int) -> int:
    return int(store.pickup_days) if store.pickup_days else default_days


# -- ready ---------------------------------------------------------------------------------------------------------

def ready(conn: Connection, order_id: int, *, actor: str, default_days: int) -> Ready:
    """Mark an order ready for pickup (see module doc); marking it again gives a new code and date."""
    order = _order(conn, order_id)
    store = _store(conn, order)
    current = pickup_store.of_order(conn, order.id, lock=True)
    if current is not None and current.status not in OPEN:
        raise PickupError(f"{_label(order)}: its pickup is {current.status}; nothing is left to make ready")
    if order.status == "held":
        raise PickupError(f"{_label(order)} is held; release it first (`orderhub orders release`)")
    units = _live_units(conn, order)
    not_ready = [u for u in units if u.status != "picked" or u.facility_id != store.id]
    if not units or not_ready:
        states = ", ".join(sorted({f"{u.status}" + ("" if u.facility_id in (None, store.id) else " elsewhere")
                                   for u in not_ready})) or "none"
        raise PickupError(f"{_label(order)}: {len(not_ready) or 'no'} unit(s) not picked at {store.code} ({states}); "
                          f"pick every unit at the store first (`orderhub orders pick {order.id}`)")
    now = utcnow()
    code = new_code()
    salt, digest = hash_code(code)
    until = collect_by(now, days_of(store, default_days))
    pickup_id = pickup_store.upsert_ready(conn, order.id, store.id, {
        "status": PickupStatus.READY.value, "ready_at": now, "ready_by": actor, "collect_by": until,
        "code_salt": salt, "code_hash": digest, "failed_attempts": 0, "locked_at": None, "reminded_at": None})
    _queue_mail(conn, pickup_id, order, store, "ready", until, code=code)
    timeline.add(conn, [timeline.Entry(order.id, "pickup_ready", {"store": store.code,
                                                                   "collect_by": until.isoformat()}, actor)])
    return Ready(order.name or order.shopify_id, store.code, code, until)


# -- collect -------------------------------------------------------------------------------------------------------

def collect(conn: Connection, order_id: int, code: str, *, actor: str) -> Attempt:
    """Hand the order over if ``code`` is right; a wrong code is counted (commit the transaction either way:
    the count must stay)."""
    order = _order(conn, order_id)
    store = _store(conn, order)
    pickup = pickup_store.of_order(conn, order.id, lock=True)
    if pickup is None or pickup.status != PickupStatus.READY:
        state = "not ready yet" if pickup is None or pickup.status == PickupStatus.WAITING else pickup.status
        raise PickupError(f"{_label(order)}: the pickup is {state}; only a ready pickup can be collected")
    if pickup.locked_at is not None:
        raise PickupError(f"{_label(order)}: the pickup is locked after {pickup.failed_attempts} wrong codes; "
                          f"a manager must reset it (`orderhub pickup reset {order.id}`)")
    if not normalise(code) or not code_matches(code, pickup.code_salt, pickup.code_hash):
        failed = pickup_store.count_failure(conn, pickup.id)
        locked = failed >= MAX_ATTEMPTS
        if locked:
            pickup_store.change(conn, pickup.id, locked_at=utcnow())
        timeline.add(conn, [timeline.Entry(order.id, "pickup_code_refused",
                                           {"store": store.code, "failed_attempts": failed, "locked": locked}, actor)])
        if locked:
            return Attempt(False, f"{_label(order)}: wrong code; the pickup is now locked after {failed} wrong codes: "
                                  f"a manager must reset it (`orderhub pickup reset {order.id}`)", 0, True)
        left = MAX_ATTEMPTS - failed
        return Attempt(False, f"{_label(order)}: wrong code; {left} attempt(s) left before the pickup locks", left)
    ctx = Ctx(actor, f"collected at {store.code}")
    _, shipment_ids = fulfilment.pack(conn, order.id, ctx, [u.id for u in _live_units(conn, order)
                                                           if u.status == "picked"], carrier=CARRIER)
    for sid in shipment_ids:
        fulfilment.ship(conn, order.id, ctx, shipment_id=sid, carrier=CARRIER)
    handed = [u for u in _live_units(conn, order) if u.status == "shipped"]
    fulfilment.transition(conn, _order(conn, order.id), handed, "completed", ctx, kind="pickup_collected",
                          detail={"store": store.code, "handed_over_by": actor})
    now = utcnow()
    pickup_store.change(conn, pickup.id, status=PickupStatus.COLLECTED.value, collected_at=now, collected_by=actor,
                        code_hash=None, code_salt=None)
    return Attempt(True, f"{_label(order)} collected at {store.code}, handed over by {actor}")


def reset(conn: Connection, order_id: int, *, actor: str) -> str:
    """Unlock a pickup locked by wrong codes: the customer's code works again."""
    order = _order(conn, order_id)
    _store(conn, order)
    pickup = pickup_store.of_order(conn, order.id, lock=True)
    if pickup is None or pickup.status != PickupStatus.READY:
        raise PickupError(f"{_label(order)}: no ready pickup to reset")
    pickup_store.change(conn, pickup.id, failed_attempts=0, locked_at=None)
    timeline.add(conn, [timeline.Entry(order.id, "pickup_reset", {"failed_attempts": pickup.failed_attempts},
                                       actor)])
    return f"{_label(order)}: pickup unlocked; the customer's code works again"


# -- expiry and reminders ------------------------------------------------------------------------------------------

def expire(conn: Connection, pickup: Any, *, actor: str) -> str:
    """Cancel a ready pickup whose collect-by date passed; what was done, in words."""
    order = _order(conn, pickup.order_id)
    store = _store(conn, order)
    if order.status in ("cancelled", "rejected"):
        pickup_store.change(conn, pickup.id, status=PickupStatus.CANCELLED.value, closed_at=utcnow(),
                            code_hash=None, code_salt=None)
        return f"{_label(order)} was already cancelled; its pickup is closed"
    fulfilment.cancel(conn, order.id, Ctx(actor, f"not collected at {store.code} by {_when(store, pickup.collect_by)}"))
    pickup_store.change(conn, pickup.id, status=PickupStatus.EXPIRED.value, closed_at=utcnow(), code_hash=None,
                        code_salt=None)
    _queue_mail(conn, pickup.id, order, store, "cancelled", pickup.collect_by)
    timeline.add(conn, [timeline.Entry(order.id, "pickup_expired", {"store": store.code,
                                                                     "collect_by": pickup.collect_by.isoformat()},
                                       actor)])
    return f"{_label(order)}: not collected at {store.code} by {_when(store, pickup.collect_by)}; cancelled"


def remind(conn: Connection, pickup: Any) -> None:
    order = _order(conn, pickup.order_id)
    store = _store(conn, order)
    _queue_mail(conn, pickup.id, order, store, "reminder", pickup.collect_by)
    pickup_store.change(conn, pickup.id, reminded_at=utcnow())


# -- e-mails ---------------------------------------------------------------------------------------------------------

def _when(store: Any, at: datetime) -> str:
    """A time as the store's clock shows it."""
    zone = facility_store.zone_of(store.timezone)
    local = at.astimezone(zone) if zone else at
    return local.strftime("%Y-%m-%d %H:%M") + ("" if zone else " UTC")


def _queue_mail(conn: Connection, pickup_id: int, order: Any, store: Any, kind: str, until: datetime,
                code: str | None = None) -> int:
    person = (conn.execute(select(customers.c.first_name, customers.c.last_name, customers.c.email)
                           .where(customers.c.id == order.customer_id)).first() if order.customer_id else None)
    name = " ".join(p for p in (person.first_name, person.last_name) if p) if person else ""
    recipient = order.email or (person.email if person else None)
    language = pickup_mail.language_for(order.customer_locale, store.country_code)
    address = ", ".join(p for p in (store.address1, " ".join(x for x in (store.zip, store.city) if x)) if p)
    mail = pickup_mail.render(kind, language, customer=name or None, order=order.name or order.shopify_id,
                              store=store.name, address=address or store.name, collect_by=_when(store, until),
                              code=code)
    return pickup_store.add_mail(conn, pickup_id=pickup_id, order_id=order.id, kind=kind, recipient=recipient,
                                 locale=language, subject=mail.subject, text=mail.text, html=mail.html)


def close_cancelled(conn: Connection) -> int:
    """Open pickups whose order was cancelled some other way (by the channel, by hand) are closed."""
    rows = conn.execute(select(pickups.c.id).join(orders, orders.c.id == pickups.c.order_id).where(
        pickups.c.status.in_([s.value for s in OPEN]), orders.c.status.in_(("cancelled", "rejected")))).all()
    if rows:
        conn.execute(update(pickups).where(pickups.c.id.in_([r.id for r in rows])).values(
            status=PickupStatus.CANCELLED.value, closed_at=utcnow(), updated_at=utcnow(), code_hash=None,
            code_salt=None))
    return len(rows)


# -- reading and settings --------------------------------------------------------------------------------------------

LIST_STATUSES = ("waiting", "ready", "overdue", "collected", "expired", "cancelled", "open")


def list_pickups(conn: Connection, *, store: str | None = None, status: str | None = None,
                 limit: int = 500) -> list[dict[str, Any]]:
    """Pickup orders of one store (a facility code) or all, by status: waiting, ready, overdue (ready past
    its collect-by date), collected, expired, cancelled, or open (waiting or ready)."""
    if status is not None and status not in LIST_STATUSES:
        raise PickupError(f"status {status!r}: choose one of {', '.join(LIST_STATUSES)}")
    facility_id = None
    if store is not None:
        row = conn.execute(select(facilities.c.id).where(facilities.c.code == store)).first()
        if row is None:
            raise NotFound(f"no facility {store}; list them with `orderhub facility list`")
        facility_id = int(row.id)
    now = utcnow()
    statuses = {"overdue": None, "open": ["waiting", "ready"], None: None}.get(status, [status] if status else None)
    rows = pickup_store.listing(conn, facility_id=facility_id, statuses=statuses,
                                overdue_at=now if status == "overdue" else None, limit=limit)
    return [{"order_id": r.order_id, "order": r.name or r.shopify_id, "order_status": r.order_status,
             "store": r.store, "status": r.pickup_status,
             "overdue": r.pickup_status == "ready" and r.collect_by is not None and r.collect_by <= now,
             "ready_at": r.ready_at, "collect_by": r.collect_by, "failed_attempts": r.failed_attempts or 0,
             "locked": r.locked_at is not None, "collected_at": r.collected_at, "collected_by": r.collected_by}
            for r in rows]


def set_days(conn: Connection, store: str, days: int | None) -> str:
    """How many days a ready pickup waits at ``store`` (None: the ORDERHUB_PICKUP_DAYS default)."""
    if days is not None and not 1 <= days <= 365:
        raise PickupError(f"store {store}: pickup days must be 1 to 365 (got {days})")
    if not conn.execute(update(facilities).where(facilities.c.code == store).values(pickup_days=days)).rowcount:
        raise NotFound(f"no facility {store}; list them with `orderhub facility list`")
    return f"{store}: ready pickups wait {days} day(s)" if days else f"{store}: ready pickups wait the default days"
