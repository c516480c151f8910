"""Pickups and their customer e-mails, as stored (schema/pickups.py); the pickup store of a channel location."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, Select, and_, false, func, insert, or_, select, update

from orderhub.adapters.store import secrets as secret_box
from orderhub.adapters.store.schema import facilities, orders, pickup_mails, pickups
from orderhub.clock import utcnow

MAIL_RECORD_TYPE = "pickup_mail"  # error log entries of e-mails that could not be sent


def facility_for_location(conn: Connection, location_id: str, name: str | None) -> int | None:
    """The facility a channel location is collected at: the one named like the location (its code is the
    location's name, case aside: the convention inventory sync maps locations by), else the one whose code
    is the location's id; None when none is."""
    for candidate in (name, location_id):
        if candidate:
            row = conn.execute(select(facilities.c.id).where(
                func.lower(facilities.c.code) == candidate.strip().lower())).first()
            if row is not None:
                return int(row.id)
    return None


def of_order(conn: Connection, order_id: int, *, lock: bool = False) -> Any:
    stmt = select(pickups).where(pickups.c.order_id == order_id)
    if lock and conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return conn.execute(stmt).first()


def upsert_ready(conn: Connection, order_id: int, facility_id: int, values: dict[str, Any]) -> int:
    """Make the order's pickup ready with ``values`` (created on first use); its id."""
    now = utcnow()
    current = of_order(conn, order_id, lock=True)
    if current is None:
        return int(conn.execute(insert(pickups).values(order_id=order_id, facility_id=facility_id, created_at=now,
                                                       updated_at=now, **values).returning(pickups.c.id)).scalar_one())
    conn.execute(update(pickups).where(pickups.c.id == current.id).values(facility_id=facility_id, updated_at=now,
                                                                          **values))
    return int(current.id)


def change(conn: Connection, pickup_id: int, **values: Any) -> None:
    conn.execute(update(pickups).where(pickups.c.id == pickup_id).values(updated_at=utcnow(), **values))


def count_failure(conn: Connection, pickup_id: int) -> int:
    """One more wrong code; the count now (counted in the database, so two counters at once both count)."""
    conn.execute(update(pickups).where(pickups.c.id == pickup_id).values(
        failed_attempts=pickups.c.failed_attempts + 1, updated_at=utcnow()))
    return int(conn.execute(select(pickups.c.failed_attempts).where(pickups.c.id == pickup_id)).scalar_one())


def due(conn: Connection, *, expire_before: datetime | None = None, remind_before: datetime | None = None,
        limit: int = 200) -> list[Any]:
    """Ready pickups whose collect-by date passed (``expire_before``), or that are to be reminded: ready,
    not reminded yet, collect-by before ``remind_before``."""
    stmt = select(pickups).where(pickups.c.status == "ready")
    if expire_before is not None:
        stmt = stmt.where(pickups.c.collect_by <= expire_before)
    if remind_before is not None:
        stmt = stmt.where(pickups.c.reminded_at.is_(None), pickups.c.collect_by <= remind_before)
    return conn.execute(stmt.order_by(pickups.c.collect_by, pickups.c.id).limit(limit)).all()


ENDED_ORDER = ("cancelled", "rejected", "completed")  # a pickup order in one of these without a pickup waits no more


def _where(stmt: Select[Any], *, facility_id: int | None, statuses: Sequence[str] | None,
           overdue_at: datetime | None) -> Select[Any]:
    """The pickup orders ``listing`` and ``counts`` read: of one facility or all, by pickup status ("waiting"
    includes live orders without a pickup row yet), ready past ``overdue_at``."""
    stmt = (stmt.select_from(orders).join(facilities, facilities.c.id == orders.c.pickup_facility_id)
            .outerjoin(pickups, pickups.c.order_id == orders.c.id))
    if facility_id is not None:
        stmt = stmt.where(orders.c.pickup_facility_id == facility_id)
    if statuses:
        wanted = list(statuses)
        stmt = stmt.where(or_(pickups.c.status.in_(wanted),
                              and_(pickups.c.id.is_(None), orders.c.status.not_in(ENDED_ORDER))
                              if "waiting" in wanted else false()))
    if overdue_at is not None:
        stmt = stmt.where(pickups.c.status == "ready", pickups.c.collect_by <= overdue_at)
    return stmt


def listing(conn: Connection, *, facility_id: int | None, statuses: Sequence[str] | None, overdue_at: datetime | None,
            limit: int = 500) -> list[Any]:
    """Pickup orders (with or without a pickup row yet: one without is still waiting), newest first.
    ``statuses`` filters on the pickup status ("waiting" includes orders without a row, unless the order
    ended); ``overdue_at`` keeps ready pickups whose collect-by date is before it."""
    status = func.coalesce(pickups.c.status, "waiting").label("pickup_status")
    stmt = select(orders.c.id.label("order_id"), orders.c.name, orders.c.shopify_id,
                  orders.c.status.label("order_status"), orders.c.email, facilities.c.code.label("store"), status,
                  pickups.c.ready_at, pickups.c.collect_by,
                  pickups.c.failed_attempts, pickups.c.locked_at, pickups.c.collected_at, pickups.c.collected_by)
    stmt = _where(stmt, facility_id=facility_id, statuses=statuses, overdue_at=overdue_at)
    return conn.execute(stmt.order_by(orders.c.id.desc()).limit(limit)).all()


COUNTED = ("waiting", "ready", "overdue")


def counts(conn: Connection, now: datetime, facility_id: int | None = None) -> dict[int, dict[str, int]]:
    """Each facility's id -> how many pickups wait to be made ready, are ready, and are overdue (ready past
    their collect-by date at ``now``; counted among the ready too): the rows ``listing`` gives for those
    statuses, counted in the database. A facility without any is left out."""
    out: dict[int, dict[str, int]] = {}
    for name, statuses, overdue_at in (("waiting", ["waiting"], None), ("ready", ["ready"], None),
                                       ("overdue", ["ready"], now)):
        stmt = _where(select(orders.c.pickup_facility_id, func.count()), facility_id=facility_id,
                      statuses=statuses, overdue_at=overdue_at)
        for facility, n in conn.execute(stmt.group_by(orders.c.pickup_facility_id)):
            out.setdefault(int(facility), dict.fromkeys(COUNTED, 0))[name] = int(n)
    return out


def store_of_order(conn: Connection, order_id: int) -> str | None:
    """The code of the store an order is collected at; None for an order that is not a pickup (or not there)."""
    return conn.execute(select(facilities.c.code).join(orders, orders.c.pickup_facility_id == facilities.c.id)
                        .where(orders.c.id == order_id)).scalar_one_or_none()


# -- e-mails -------------------------------------------------------------------------------------------------------

def add_mail(conn: Connection, *, pickup_id: int, order_id: int, kind: str, recipient: str | None, locale: str,
             subject: str, text: str, html: str) -> int:
    now = utcnow()
    # Encrypted at rest like every secret: the ready e-mail holds the verification code.
    return int(conn.execute(insert(pickup_mails).values(
        pickup_id=pickup_id, order_id=order_id, kind=kind, recipient=recipient, locale=locale, subject=subject,
        body_text=secret_box.encrypt(conn, "pickup_mails.body_text", text),
        body_html=secret_box.encrypt(conn, "pickup_mails.body_html", html),
        status="pending", attempts=0, available_at=now, created_at=now).returning(pickup_mails.c.id)).scalar_one())


def pending_mails(conn: Connection, now: datetime, limit: int) -> list[Any]:
    """The e-mails due, their bodies decrypted."""
    rows = conn.execute(select(pickup_mails).where(pickup_mails.c.status == "pending",
                                                   pickup_mails.c.available_at <= now)
                        .order_by(pickup_mails.c.id).limit(limit)).all()
    about = "pickup e-mail {}"
    return [SimpleNamespace(**(r._asdict() | {
        "body_text": secret_box.decrypt(conn, "pickup_mails.body_text", r.body_text, about.format(r.id)),
        "body_html": secret_box.decrypt(conn, "pickup_mails.body_html", r.body_html, about.format(r.id))}))
        for r in rows]


def mail_sent(conn: Connection, mail_id: int) -> None:
    """Sent: the bodies go (the ready e-mail holds the verification code in clear)."""
    conn.execute(update(pickup_mails).where(pickup_mails.c.id == mail_id).values(
        status="sent", sent_at=utcnow(), attempts=pickup_mails.c.attempts + 1, body_text=None, body_html=None,
        last_error=None))


def mail_failed(conn: Connection, mail_id: int, error: str, *, retry_at: datetime | None) -> None:
    """A failed attempt: tried again at ``retry_at``, or given up (None), and its bodies dropped then."""
    values: dict[str, Any] = {"attempts": pickup_mails.c.attempts + 1, "last_error": error[:2000]}
    if retry_at is None:
        values |= {"status": "failed", "body_text": None, "body_html": None}
    else:
        values["available_at"] = retry_at
    conn.execute(update(pickup_mails).where(pickup_mails.c.id == mail_id).values(**values))


def mails_of(conn: Connection, order_id: int) -> list[Any]:
    return conn.execute(select(pickup_mails.c.id, pickup_mails.c.kind, pickup_mails.c.status, pickup_mails.c.recipient,
                               pickup_mails.c.locale, pickup_mails.c.attempts, pickup_mails.c.last_error,
                               pickup_mails.c.created_at, pickup_mails.c.sent_at)
                        .where(pickup_mails.c.order_id == order_id).order_by(pickup_mails.c.id)).all()
