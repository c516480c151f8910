"""POS terminals of stores: one-time enrolment codes, enrolment, the device credential, what each device
reports when it syncs, and revocation.

A person makes a code for a store (``orderhub device code --store BOS01``); the terminal trades it, once and
before it expires, for a device credential scoped to that store. Only SHA-256 hashes of codes and
credentials are stored, and look-ups are by hash, so timing reveals nothing of either.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from orderhub.adapters.store.schema import facilities, pos_devices, pos_enrolment_codes
from orderhub.clock import utcnow

CODE_TTL = timedelta(hours=24)
TOKEN_PREFIX = "ohpos_"
# Codes are typed on a till: 12 characters of an alphabet without look-alikes (0/O, 1/I/L), in groups of four.
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
NAME_MAX = 100


class EnrolmentRefused(ValueError):
    """The code is unknown, used or expired (the message says which, never which stores exist)."""


@dataclass(frozen=True)
class Device:
    id: int
    facility_id: int
    store: str  # the store's facility code
    name: str
    status: str
    version: str | None
    enrolled_at: datetime
    last_seen_at: datetime | None
    last_sync_at: datetime | None
    queue_length: int | None
    queue_oldest_at: datetime | None
    last_sequence: int | None
    sales: int
    revoked_at: datetime | None

    def public(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in self.__dict__.items()}


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def normalise_code(code: str) -> str:
    """What a person typed, as the code was issued: upper case, without spaces and dashes."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def new_code(conn: Connection, facility_id: int, *, actor: str, ttl: timedelta = CODE_TTL) -> tuple[str, datetime]:
    """A one-time code that enrols one device into the store; returns (code as shown, expiry)."""
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(12))
    expires = utcnow() + ttl
    conn.execute(insert(pos_enrolment_codes).values(facility_id=facility_id, code_hash=_hash(raw), created_by=actor,
                                                    created_at=utcnow(), expires_at=expires))
    return "-".join(raw[i:i + 4] for i in range(0, 12, 4)), expires


def enrol(conn: Connection, code: str, name: str, version: str | None) -> tuple[Device, str]:
    """Trade a code for a device credential (returned once, in clear). A device of the same name in the
    store is enrolled again: its old credential stops working (a till that was reinstalled)."""
    name = name.strip()
    if not name or len(name) > NAME_MAX:
        raise ValueError(f"a device needs a name of 1 to {NAME_MAX} characters")
    now = utcnow()
    row = conn.execute(select(pos_enrolment_codes).where(
        pos_enrolment_codes.c.code_hash == _hash(normalise_code(code)))).first()
    if row is None:
        raise EnrolmentRefused("this enrolment code is not known; ask for a new one (orderhub device code)")
    if row.used_at is not None:
        raise EnrolmentRefused("this enrolment code was used already; each code enrols one device")
    if row.expires_at <= now:
        raise EnrolmentRefused("this enrolment code expired; ask for a new one (orderhub device code)")
    # Claimed by a conditional update: two devices racing with one code cannot both win.
    taken = conn.execute(update(pos_enrolment_codes).where(pos_enrolment_codes.c.id == row.id,
                                                           pos_enrolment_codes.c.used_at.is_(None))
                         .values(used_at=now)).rowcount
    if not taken:
        raise EnrolmentRefused("this enrolment code was used already; each code enrols one device")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    values = dict(token_hash=_hash(token), status="active", version=(version or None) and version[:64],
                  enrolled_at=now, revoked_at=None, revoked_by=None)
    existing = conn.execute(select(pos_devices.c.id).where(pos_devices.c.facility_id == row.facility_id,
                                                           pos_devices.c.name == name)).first()
    if existing is None:
        device_id = int(conn.execute(insert(pos_devices).values(facility_id=row.facility_id, name=name, **values)
                                     .returning(pos_devices.c.id)).scalar_one())
    else:
        device_id = int(existing.id)
        conn.execute(update(pos_devices).where(pos_devices.c.id == device_id).values(**values))
    conn.execute(update(pos_enrolment_codes).where(pos_enrolment_codes.c.id == row.id).values(device_id=device_id))
    found = get(conn, device_id)
    assert found is not None
    return found, token


_COLUMNS = (*pos_devices.c, facilities.c.code.label("store"))


def _device(row: Any) -> Device:
    return Device(row.id, row.facility_id, row.store, row.name, row.status, row.version, row.enrolled_at,
                  row.last_seen_at, row.last_sync_at, row.queue_length, row.queue_oldest_at, row.last_sequence,
                  int(row.sales or 0), row.revoked_at)


def _select() -> Any:
    return select(*_COLUMNS).join(facilities, facilities.c.id == pos_devices.c.facility_id)


def get(conn: Connection, device_id: int) -> Device | None:
    row = conn.execute(_select().where(pos_devices.c.id == device_id)).first()
    return None if row is None else _device(row)


def identify(conn: Connection, token: str) -> Device | None:
    """The active device whose credential this is, else None."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = conn.execute(_select().where(pos_devices.c.token_hash == _hash(token),
                                       pos_devices.c.status == "active")).first()
    return None if row is None else _device(row)


def find(conn: Connection, store_id: int | None, ref: str) -> Device:
    """A device by id, or by name within a store. LookupError naming what was asked when none matches."""
    ref = ref.strip()
    stmt = _select()
    if ref.isdigit() and len(ref) < 10:
        stmt = stmt.where(pos_devices.c.id == int(ref))
    elif store_id is not None:
        stmt = stmt.where(pos_devices.c.facility_id == store_id, pos_devices.c.name == ref)
    else:
        stmt = stmt.where(pos_devices.c.name == ref)
    rows = conn.execute(stmt).all()
    if not rows:
        raise LookupError(f"no device {ref!r}" + ("" if store_id is None else " in this store")
                          + "; `orderhub device list` shows them")
    if len(rows) > 1:
        raise LookupError(f"{len(rows)} devices are named {ref!r} in different stores; give the store (--store) "
                          "or the device's id")
    return _device(rows[0])


def list_devices(conn: Connection, store_id: int | None = None) -> list[Device]:
    stmt = _select().order_by(facilities.c.code, pos_devices.c.name)
    if store_id is not None:
        stmt = stmt.where(pos_devices.c.facility_id == store_id)
    return [_device(r) for r in conn.execute(stmt)]


def revoke(conn: Connection, device_id: int, *, actor: str) -> bool:
    """Its credential stops working at once. False when it was revoked already."""
    return bool(conn.execute(update(pos_devices).where(pos_devices.c.id == device_id,
                                                       pos_devices.c.status == "active")
                             .values(status="revoked", revoked_at=utcnow(), revoked_by=actor[:100])).rowcount)


@dataclass(frozen=True)
class Report:
    """What a device says of itself when it calls: its software version and the sales still on it."""

    version: str | None = None
    queue_length: int | None = None
    queue_oldest_at: datetime | None = None


def seen(conn: Connection, device_id: int, report: Report, *, synced: int = 0, last_sequence: int | None = None,
         new_sales: int = 0) -> None:
    """Record a call: when, what the device reported, and (for a sync) the sales it brought."""
    now = utcnow()
    values: dict[str, Any] = {"last_seen_at": now}
    if report.version:
        values["version"] = report.version[:64]
    if report.queue_length is not None:
        values["queue_length"] = report.queue_length
        values["queue_oldest_at"] = report.queue_oldest_at
    if synced:
        values["last_sync_at"] = now
    if new_sales:
        values["sales"] = pos_devices.c.sales + new_sales
    if last_sequence is not None:
        greatest = func.max if conn.dialect.name == "sqlite" else func.greatest
        values["last_sequence"] = greatest(func.coalesce(pos_devices.c.last_sequence, last_sequence), last_sequence)
    conn.execute(update(pos_devices).where(pos_devices.c.id == device_id).values(**values))


def silent(conn: Connection, older_than: timedelta) -> list[Device]:
    """Active devices that have not synced for longer than ``older_than`` (never synced: since enrolment)."""
    cutoff = utcnow() - older_than
    last = func.coalesce(pos_devices.c.last_sync_at, pos_devices.c.enrolled_at)
    return [_device(r) for r in conn.execute(_select().where(pos_devices.c.status == "active", last < cutoff)
                                             .order_by(last))]
