"""Stock out to the channels (schema/channel_stock.py): which SKUs each account lists, the quantity each
listing should show, and what the channel last took.

:func:`refresh` runs in the transaction of every stock movement (inventory_store), so a sale, a receipt,
a count or a return anywhere changes what every channel should show before that transaction commits;
the stock pusher (services/stock_push.py) sends the latest value of each listing and nothing older.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, and_, delete, func, or_, select, tuple_, union, update

from orderhub.adapters.store import facilities as facility_store
from orderhub.adapters.store import presell_store
from orderhub.adapters.store import thresholds as threshold_store
from orderhub.adapters.store.db import upsert, upsert_many
from orderhub.adapters.store.safety_stock import effective_safety_stock
from orderhub.adapters.store.schema import channel_listings, channel_stock, inventory, shops, variants
from orderhub.adapters.store.schema import facilities as facility_table
from orderhub.clock import utcnow
from orderhub.domain.inventory import Position, channel_atp
from orderhub.domain.planning import ThresholdBook

DEFAULT_SALES_CHANNEL = "online"


@dataclass(frozen=True)
class Pending:
    """A listing whose channel does not show the latest value yet."""

    account_id: int
    sku: str
    location: str
    wanted: int
    version: int
    attempts: int
    channel_ref: str | None


def list_skus(conn: Connection, account_id: int, skus: Iterable[str], *, location: str = "",
              refs: dict[str, str] | None = None) -> int:
    """The account sells these SKUs (at ``location``): from now on their stock goes to it. Returns how many
    listings are new; every listed SKU's value is worked out at once."""
    now = utcnow()
    wanted = sorted(set(skus))
    rows = [{"account_id": account_id, "sku": s, "location": location, "channel_ref": (refs or {}).get(s),
             "listed_at": now} for s in wanted]
    before = _count(conn, account_id)
    upsert_many(conn, channel_listings, rows, keys=("account_id", "sku", "location"), update=("channel_ref",))
    refresh(conn, wanted)
    return _count(conn, account_id) - before


def _count(conn: Connection, account_id: int) -> int:
    return int(conn.execute(select(func.count()).select_from(channel_listings)
                            .where(channel_listings.c.account_id == account_id)).scalar_one())


def refresh(conn: Connection, skus: Iterable[str]) -> int:
    """Work out what every listing of these SKUs should show (its sales channel's ATP) and keep each value
    that changed as the one to send. Returns how many listings changed."""
    wanted = sorted(set(skus))
    if not wanted:
        return 0
    listings = conn.execute(
        select(channel_listings.c.account_id, channel_listings.c.sku, channel_listings.c.location,
               func.coalesce(shops.c.sales_channel, DEFAULT_SALES_CHANNEL).label("sales_channel"))
        .join(shops, shops.c.id == channel_listings.c.account_id)
        .where(channel_listings.c.sku.in_(wanted))).all()
    if not listings:
        return 0
    positions: dict[str, list[tuple[int, Position]]] = defaultdict(list)
    for r in conn.execute(select(inventory.c.sku, inventory.c.facility_id, inventory.c.on_hand, inventory.c.reserved,
                                 effective_safety_stock().label("safety_stock"))
                          .join(facility_table, facility_table.c.id == inventory.c.facility_id)
                          .where(inventory.c.sku.in_(wanted))):
        positions[r.sku].append((r.facility_id, Position(r.on_hand, r.reserved, r.safety_stock)))
    facts = presell_store.product_facts(conn, wanted)
    views = {code: _view(conn, code) for code in {r.sales_channel for r in listings}}
    kept = facility_store.last_units(conn)  # units other channels keep for themselves: never shown here
    values = []
    for r in listings:
        threshold, facilities, book = views[r.sales_channel]
        fact = facts.get(r.sku)
        applied = book.applicable(r.sales_channel, sku=r.sku, category=fact.category if fact else None,
                                  tags=fact.tags if fact else (), default=threshold)
        held = sum(n for code, n in kept.items() if code != r.sales_channel)
        values.append((r.account_id, r.sku, r.location,
                       channel_atp(positions[r.sku], threshold=applied.threshold + held, facilities=facilities)))
    return want(conn, values)


def refresh_all(conn: Connection, *, batch: int = 500) -> int:
    """Work out every listing again (a sales channel's threshold, facilities or kept units changed)."""
    skus = sorted(conn.execute(select(channel_listings.c.sku).distinct()).scalars())
    return sum(refresh(conn, skus[start:start + batch]) for start in range(0, len(skus), batch))


def _view(conn: Connection, code: str) -> tuple[int, frozenset[int] | None, ThresholdBook]:
    channel = facility_store.get_channel(conn, code)
    if channel is None:  # a sales channel nobody configured: everything, nothing held back
        return 0, None, ThresholdBook(())
    return (channel.threshold, facility_store.channel_facilities(conn, channel),
            ThresholdBook(threshold_store.rules(conn, code)))


def want(conn: Connection, values: Sequence[tuple[int, str, str, int]]) -> int:
    """Keep each (account, SKU, location, quantity) as the value to send, where it differs from the last one
    wanted; the same value again is no news. Returns how many changed."""
    if not values:
        return 0
    now = utcnow()
    keys = {(a, s, loc) for a, s, loc, _ in values}
    current = {(r.account_id, r.sku, r.location): (r.wanted, r.version) for r in conn.execute(
        select(channel_stock.c.account_id, channel_stock.c.sku, channel_stock.c.location, channel_stock.c.wanted,
               channel_stock.c.version)
        .where(channel_stock.c.sku.in_(sorted({s for _, s, _, _ in values})),
               channel_stock.c.account_id.in_(sorted({a for a, _, _, _ in values}))))
        if (r.account_id, r.sku, r.location) in keys}
    changed = 0
    # In one order (the pusher marks what it sent in the same): two transactions never wait on each other in a ring.
    for account_id, sku, location, quantity in sorted(values):
        before = current.get((account_id, sku, location))
        if before is not None and before[0] == quantity:
            continue
        version = 1 if before is None else before[1] + 1
        upsert(conn, channel_stock, {"account_id": account_id, "sku": sku, "location": location, "wanted": quantity,
                                     "version": version, "changed_at": now, "available_at": now, "attempts": 0,
                                     "last_error": None},
               keys=("account_id", "sku", "location"),
               update=("wanted", "version", "changed_at", "available_at", "attempts", "last_error"))
        current[(account_id, sku, location)] = (quantity, version)
        changed += 1
    return changed


_UNSENT = or_(channel_stock.c.sent_version.is_(None), channel_stock.c.sent_version != channel_stock.c.version)


def claim(conn: Connection, *, limit: int, lease_seconds: float = 120.0,
          account_ids: Iterable[int] | None = None) -> dict[int, list[Pending]]:
    """Take the listings whose latest value the channel does not show yet and may be tried now, by active
    account, for ``lease_seconds`` (in a write transaction: two pushers never send the same listing at once)."""
    stmt = (
        select(channel_stock, channel_listings.c.channel_ref)
        .join(shops, shops.c.id == channel_stock.c.account_id)
        .outerjoin(channel_listings, and_(channel_listings.c.account_id == channel_stock.c.account_id,
                                          channel_listings.c.sku == channel_stock.c.sku,
                                          channel_listings.c.location == channel_stock.c.location))
        .where(_UNSENT, channel_stock.c.available_at <= utcnow(), shops.c.status == "active")
        .order_by(channel_stock.c.account_id, channel_stock.c.changed_at).limit(limit))
    if account_ids is not None:
        stmt = stmt.where(channel_stock.c.account_id.in_(sorted(set(account_ids))))
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=channel_stock, skip_locked=True)
    rows = conn.execute(stmt).all()
    until = utcnow() + timedelta(seconds=lease_seconds)
    key = tuple_(channel_stock.c.account_id, channel_stock.c.sku, channel_stock.c.location, channel_stock.c.version)
    for start in range(0, len(rows), 500):  # a new value (want) makes the listing due again at once, lease or not
        batch = [(r.account_id, r.sku, r.location, r.version) for r in rows[start:start + 500]]
        conn.execute(update(channel_stock).where(key.in_(batch)).values(available_at=until))
    found: dict[int, list[Pending]] = defaultdict(list)
    for r in rows:
        found[r.account_id].append(Pending(r.account_id, r.sku, r.location, r.wanted, r.version, r.attempts,
                                           r.channel_ref))
    return dict(found)


def due_now(conn: Connection, account_id: int, sku: str, location: str) -> bool:
    """Send the listing's latest value at the pusher's next round (a person retries it). False when it has no
    value waiting to be sent."""
    return bool(conn.execute(update(channel_stock).where(
        channel_stock.c.account_id == account_id, channel_stock.c.sku == sku, channel_stock.c.location == location,
        _UNSENT).values(available_at=utcnow(), attempts=0)).rowcount)


def due_accounts(conn: Connection) -> list[int]:
    """The active accounts with a listing whose latest value may be sent now."""
    return [int(r.account_id) for r in conn.execute(
        select(channel_stock.c.account_id).distinct()
        .join(shops, shops.c.id == channel_stock.c.account_id)
        .where(_UNSENT, channel_stock.c.available_at <= utcnow(), shops.c.status == "active")
        .order_by(channel_stock.c.account_id))]


def sent_many(conn: Connection, items: Sequence[Pending]) -> list[Pending]:
    """The channel took these values: mark those still the latest; returns them. On PostgreSQL a listing that
    another transaction is changing right now (a sale being recorded) is left as it is, not waited for: its
    new value goes at the next round, or, if that transaction leaves it alone, this value goes again
    (harmless: the same quantity)."""
    by_key = {(i.account_id, i.sku, i.location, i.version, i.wanted): i for i in items}
    key = tuple_(channel_stock.c.account_id, channel_stock.c.sku, channel_stock.c.location, channel_stock.c.version,
                 channel_stock.c.wanted)
    pk = tuple_(channel_stock.c.account_id, channel_stock.c.sku, channel_stock.c.location)
    done: list[Pending] = []
    wanted = sorted(by_key)
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        stmt = (select(channel_stock.c.account_id, channel_stock.c.sku, channel_stock.c.location,
                       channel_stock.c.version, channel_stock.c.wanted).where(key.in_(chunk))
                .order_by(channel_stock.c.account_id, channel_stock.c.sku, channel_stock.c.location))
        if conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        found = [tuple(r) for r in conn.execute(stmt)]
        if not found:
            continue
        conn.execute(update(channel_stock).where(pk.in_([f[:3] for f in found]))
                     .values(sent=channel_stock.c.wanted, sent_version=channel_stock.c.version, sent_at=utcnow(),
                             attempts=0, last_error=None))
        done += [by_key[f] for f in found]  # type: ignore[index]
    return done


def failed(conn: Connection, item: Pending, error: str, delay_seconds: float) -> None:
    """The channel did not take the value: try again after ``delay_seconds`` (a newer value goes at once)."""
    conn.execute(update(channel_stock).where(
        channel_stock.c.account_id == item.account_id, channel_stock.c.sku == item.sku,
        channel_stock.c.location == item.location, channel_stock.c.version == item.version)
        .values(attempts=channel_stock.c.attempts + 1, last_error=error[:2000],
                available_at=utcnow() + timedelta(seconds=delay_seconds)))


def shown(conn: Connection, account_id: int) -> list[dict[str, Any]]:
    """Each listing of the account: what orderhub wants it to show, what the channel took, and any error."""
    return [dict(r._mapping) for r in conn.execute(
        select(channel_stock.c.sku, channel_stock.c.location, channel_stock.c.wanted, channel_stock.c.sent,
               channel_stock.c.changed_at, channel_stock.c.sent_at, channel_stock.c.attempts,
               channel_stock.c.last_error)
        .where(channel_stock.c.account_id == account_id).order_by(channel_stock.c.sku, channel_stock.c.location))]


def pending_count(conn: Connection, account_id: int) -> int:
    return int(conn.execute(select(func.count()).select_from(channel_stock)
                            .where(channel_stock.c.account_id == account_id, _UNSENT)).scalar_one())


# -- listings a person manages, and the drift check ---------------------------------------------------------

def known_skus(conn: Connection, skus: Iterable[str]) -> set[str]:
    """Those of ``skus`` orderhub knows: in its inventory or its product catalogue."""
    wanted = sorted(set(skus))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):  # bounded IN lists
        chunk = wanted[start:start + 500]
        found.update(conn.execute(union(select(inventory.c.sku).where(inventory.c.sku.in_(chunk)),
                                        select(variants.c.sku).where(variants.c.sku.in_(chunk),
                                                                     variants.c.deleted_at.is_(None)))).scalars())
    return found


def unlist(conn: Connection, account_id: int, skus: Iterable[str], *, location: str | None = None) -> int:
    """The account no longer sells these SKUs (at ``location``; at every location when None): nothing more
    is sent for them, and what was pending is dropped. Returns how many listings went."""
    wanted = sorted(set(skus))
    if not wanted:
        return 0
    where_listing = [channel_listings.c.account_id == account_id, channel_listings.c.sku.in_(wanted)]
    where_stock = [channel_stock.c.account_id == account_id, channel_stock.c.sku.in_(wanted)]
    if location is not None:
        where_listing.append(channel_listings.c.location == location)
        where_stock.append(channel_stock.c.location == location)
    conn.execute(delete(channel_stock).where(*where_stock))
    return int(conn.execute(delete(channel_listings).where(*where_listing)).rowcount or 0)


def listed(conn: Connection, account_id: int) -> list[dict[str, Any]]:
    """Each listing of the account with what orderhub sends it: the value wanted, the value the channel
    took, whether the latest is still to send, and the channel's last refusal."""
    pending = and_(channel_stock.c.version.is_not(None),
                   or_(channel_stock.c.sent_version.is_(None), channel_stock.c.sent_version != channel_stock.c.version))
    rows = conn.execute(
        select(channel_listings.c.sku, channel_listings.c.location, channel_listings.c.channel_ref,
               channel_listings.c.listed_at, channel_stock.c.wanted, channel_stock.c.sent, channel_stock.c.changed_at,
               channel_stock.c.sent_at, channel_stock.c.attempts, channel_stock.c.last_error, pending.label("pending"))
        .outerjoin(channel_stock, and_(channel_stock.c.account_id == channel_listings.c.account_id,
                                       channel_stock.c.sku == channel_listings.c.sku,
                                       channel_stock.c.location == channel_listings.c.location))
        .where(channel_listings.c.account_id == account_id)
        .order_by(channel_listings.c.sku, channel_listings.c.location)).all()
    return [dict(r._mapping, pending=bool(r.pending), attempts=r.attempts or 0) for r in rows]


@dataclass(frozen=True)
class Sent:
    """A listing as orderhub last sent it, for the drift check."""

    sku: str
    location: str
    channel_ref: str | None
    wanted: int
    version: int
    sent: int | None
    sent_version: int | None

    @property
    def in_step(self) -> bool:
        """The channel took the latest value: it should show ``sent``."""
        return self.sent is not None and self.sent_version == self.version


def sent_values(conn: Connection, account_id: int) -> list[Sent]:
    """Every listing of the account that has a value, with what the channel last took."""
    return [Sent(r.sku, r.location, r.channel_ref, r.wanted, r.version, r.sent, r.sent_version)
            for r in conn.execute(
                select(channel_stock.c.sku, channel_stock.c.location, channel_listings.c.channel_ref,
                       channel_stock.c.wanted, channel_stock.c.version, channel_stock.c.sent,
                       channel_stock.c.sent_version)
                .join(channel_listings, and_(channel_listings.c.account_id == channel_stock.c.account_id,
                                             channel_listings.c.sku == channel_stock.c.sku,
                                             channel_listings.c.location == channel_stock.c.location))
                .where(channel_stock.c.account_id == account_id)
                .order_by(channel_stock.c.sku, channel_stock.c.location))]


def drifted(conn: Connection, account_id: int, item: Sent, note: str) -> bool:
    """The channel shows something other than the value it took: that value is due again at once (the
    pusher sends it), with ``note`` as the listing's last error until it is taken. False (nothing changes)
    when the listing moved on since ``item`` was read (a new value, or one sent meanwhile)."""
    done = conn.execute(update(channel_stock).where(
        channel_stock.c.account_id == account_id, channel_stock.c.sku == item.sku,
        channel_stock.c.location == item.location, channel_stock.c.version == item.version,
        channel_stock.c.sent_version == item.version).values(sent_version=None, available_at=utcnow(), attempts=0,
                                                              last_error=note[:2000]))
    return bool(done.rowcount)
