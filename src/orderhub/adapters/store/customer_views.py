"""What orderhub shows of a customer: a profile's identities on every channel, its orders, what the person spent
(lifetime value), their consent in force and its history, and the merges that made the profile; and finding a
profile by an exact e-mail address, phone number or loyalty id.

Lifetime value counts an order's total once per sales channel and currency (never converted: amounts in two
currencies are two lines), less what was refunded on it; a cancelled order counts for nothing (its refunds
neither: they gave back money the value never held) and is counted apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Connection, and_, func, or_, select

from orderhub.adapters.store import consents, customer_links
from orderhub.adapters.store.schema import customer_profiles, customers, orders, refunds, shops
from orderhub.domain import money
from orderhub.domain.customers import PURPOSES, current, effective, phone_key

MAX_ORDERS = 500  # the most orders one read shows, newest first; the count says how many there are
STREAM = 2000  # rows fetched at a time when summing a profile's orders


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _name(first: str | None, last: str | None) -> str:
    return " ".join(p for p in (first, last) if p)


# -- the profile and its identities ------------------------------------------------------------------------------


@dataclass(frozen=True)
class IdentityLine:
    """One channel account's knowledge of the person."""

    id: int
    account: str
    kind: str
    channel_ref: str  # the channel's id of the person (a guest's digest, loyalty:<id>)
    name: str
    email: str | None
    phone: str | None
    loyalty: str | None
    linked_by: str | None  # the key that linked it (email, phone, loyalty), new, merge, unmerge or split
    updated_at: datetime | None  # what the channel last said of the person
    deleted_at: datetime | None
    redacted_at: datetime | None

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "account": self.account, "kind": self.kind, "channel_ref": self.channel_ref,
                "name": self.name, "email": self.email, "phone": self.phone, "loyalty_id": self.loyalty,
                "linked_by": self.linked_by, "updated_at": _iso(self.updated_at),
                "deleted_at": _iso(self.deleted_at), "redacted_at": _iso(self.redacted_at)}


def _identity(r: Any) -> IdentityLine:
    return IdentityLine(r.id, r.account, r.account_kind, r.shopify_id, _name(r.first_name, r.last_name), r.email,
                        r.phone, r.loyalty_key, r.linked_by, r.source_updated_at, r.deleted_at, r.redacted_at)


@dataclass(frozen=True)
class Summary:
    id: int
    name: str  # the newest identity's name; the pseudonym of an erased profile
    created_at: datetime
    updated_at: datetime
    erased_at: datetime | None
    identities: list[IdentityLine]

    @property
    def accounts(self) -> list[str]:
        return sorted({i.account for i in self.identities})

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "created_at": _iso(self.created_at),
                "updated_at": _iso(self.updated_at), "erased_at": _iso(self.erased_at), "accounts": self.accounts,
                "identities": [i.public() for i in self.identities]}


def display_name(identities: Iterable[IdentityLine]) -> str:
    """The name of the identity the channels told of most recently (one without a name does not count)."""
    named = [i for i in identities if i.name]
    if not named:
        return ""
    newest = max(named, key=lambda i: (i.updated_at is not None, i.updated_at or datetime.min, i.id))
    return newest.name


def live(conn: Connection, profile_id: int) -> int | None:
    """The profile ``profile_id`` stands for now (itself, or the one it was merged into); None: no such profile."""
    return customer_links.live(conn, profile_id)


def summaries(conn: Connection, profile_ids: Iterable[int]) -> list[Summary]:
    """These profiles with their identities, in the order of their ids (two statements whatever their number)."""
    ids = sorted(set(profile_ids))
    if not ids:
        return []
    rows = conn.execute(select(customers, shops.c.domain.label("account"), shops.c.kind.label("account_kind"))
                        .join(shops, shops.c.id == customers.c.shop_id)
                        .where(customers.c.profile_id.in_(ids)).order_by(customers.c.id)).all()
    by_profile: dict[int, list[IdentityLine]] = {}
    for r in rows:
        by_profile.setdefault(int(r.profile_id), []).append(_identity(r))
    p = customer_profiles.c
    out = []
    for r in conn.execute(select(customer_profiles).where(p.id.in_(ids)).order_by(p.id)):
        found = by_profile.get(int(r.id), [])
        name = (r.pseudonym or "erased") if r.erased_at is not None else display_name(found)
        out.append(Summary(int(r.id), name, r.created_at, r.updated_at, r.erased_at, found))
    return out


def summary(conn: Connection, profile_id: int) -> Summary | None:
    return next(iter(summaries(conn, [profile_id])), None)


# -- orders and lifetime value -----------------------------------------------------------------------------------


def _cancelled() -> Any:
    return or_(orders.c.status == "cancelled", orders.c.cancelled_at.is_not(None))


def _of_profile(profile_id: int) -> Any:
    return orders.c.customer_id.in_(select(customers.c.id).where(customers.c.profile_id == profile_id))


@dataclass(frozen=True)
class OrderLine:
    id: int
    name: str
    account: str
    kind: str
    channel: str
    created_at: datetime
    status: str
    payment_status: str
    fulfillment_status: str
    currency: str
    total: Decimal
    identity_id: int

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "account": self.account, "kind": self.kind,
                "channel": self.channel, "created_at": _iso(self.created_at), "status": self.status,
                "payment_status": self.payment_status, "fulfillment_status": self.fulfillment_status,
                "currency": self.currency, "total": money.show(self.total, self.currency),
                "identity_id": self.identity_id}


def orders_of(conn: Connection, profile_id: int, limit: int = 100) -> tuple[list[OrderLine], int]:
    """The profile's newest orders from every channel (at most ``limit``), and how many it has."""
    where = _of_profile(profile_id)
    total = conn.execute(select(func.count()).select_from(orders).where(where)).scalar_one()
    o = orders.c
    rows = conn.execute(select(o.id, o.name, o.shopify_id, o.channel, o.source_created_at, o.status,
                               o.payment_status, o.fulfillment_status, o.currency, o.total_price, o.customer_id,
                               shops.c.domain, shops.c.kind)
                        .join(shops, shops.c.id == o.shop_id).where(where)
                        .order_by(o.source_created_at.desc(), o.id.desc()).limit(min(limit, MAX_ORDERS))).all()
    return [OrderLine(r.id, r.name or r.shopify_id, r.domain, r.kind, r.channel, r.source_created_at, r.status,
                      r.payment_status, r.fulfillment_status, r.currency, r.total_price, int(r.customer_id))
            for r in rows], int(total)


@dataclass
class Value:
    """What the person spent on one sales channel in one currency."""

    channel: str
    currency: str
    orders: int = 0  # orders counted (not cancelled)
    cancelled: int = 0  # cancelled orders, not counted
    gross: Decimal = Decimal(0)  # the counted orders' totals
    refunded: Decimal = Decimal(0)  # refunded on the counted orders

    @property
    def net(self) -> Decimal:
        return self.gross - self.refunded

    def public(self) -> dict[str, Any]:
        show = money.show
        return {"channel": self.channel, "currency": self.currency, "orders": self.orders,
                "cancelled_orders": self.cancelled, "gross": show(self.gross, self.currency),
                "refunded": show(self.refunded, self.currency), "net": show(self.net, self.currency)}


def lifetime_value(conn: Connection, profile_id: int) -> list[Value]:
    """Exact sums by sales channel and currency, the rows streamed (a profile of many orders is never held)."""
    values: dict[tuple[str, str], Value] = {}
    o = orders.c
    cancelled = _cancelled().label("cancelled")
    for r in conn.execute(select(o.channel, o.currency, o.total_price, cancelled).where(_of_profile(profile_id))
                          .execution_options(yield_per=STREAM)):
        v = values.setdefault((r.channel, r.currency), Value(r.channel, r.currency))
        if r.cancelled:
            v.cancelled += 1
        else:
            v.orders += 1
            v.gross += r.total_price
    refunded = (select(o.channel, o.currency, refunds.c.amount)
                .join(refunds, and_(refunds.c.shop_id == o.shop_id, refunds.c.order_shopify_id == o.shopify_id))
                .where(_of_profile(profile_id), ~_cancelled()).execution_options(yield_per=STREAM))
    for r in conn.execute(refunded):
        # setdefault: under READ COMMITTED an order stored between the two statements may appear here only
        values.setdefault((r.channel, r.currency), Value(r.channel, r.currency)).refunded += r.amount
    return sorted(values.values(), key=lambda v: (v.channel, v.currency))


# -- consent and merges ------------------------------------------------------------------------------------------


@dataclass
class ConsentView:
    in_force: list[Any] = field(default_factory=list)  # the newest change per (purpose, scope)
    history: list[Any] = field(default_factory=list)  # every change, oldest first
    by_account: dict[str, dict[str, str]] = field(default_factory=dict)  # account -> purpose -> state there

    def public(self) -> dict[str, Any]:
        return {"in_force": [_consent(r) for r in self.in_force], "history": [_consent(r) for r in self.history],
                "by_account": self.by_account}


def _consent(r: Any) -> dict[str, Any]:
    return {"id": r.id, "purpose": r.purpose, "scope": r.scope, "state": r.state, "source": r.source,
            "source_account": r.source_account, "actor": r.actor, "opt_in_level": r.opt_in_level, "note": r.note,
            "occurred_at": _iso(r.occurred_at), "recorded_at": _iso(r.recorded_at), "identity_id": r.identity_id}


def consent_of(conn: Connection, profile_id: int, accounts: Iterable[str] = ()) -> ConsentView:
    rows = consents.history(conn, profile_id)
    records = consents.records(rows)
    newest = {r.id for r in current(records).values()}
    return ConsentView(in_force=sorted((r for r in rows if r.id in newest), key=lambda r: (r.purpose, r.scope)),
                       history=rows,
                       by_account={a: {p: effective(records, p, a) for p in PURPOSES} for a in sorted(set(accounts))})


def merges_of(conn: Connection, profile_id: int) -> list[dict[str, Any]]:
    """The merges that joined this profile with another, either way, oldest first."""
    out = []
    for m in customer_links.merges_of(conn, profile_id):
        moved = orjson.loads(m.moved)
        out.append({"id": m.id, "kept_id": m.kept_id, "merged_id": m.merged_id, "rule": m.rule,
                    "by": f"rule: same {m.rule}" if m.rule else m.actor, "actor": m.actor, "reason": m.reason,
                    "identities_moved": len(moved.get("identities", [])), "created_at": _iso(m.created_at),
                    "undone_at": _iso(m.undone_at), "undone_by": m.undone_by, "undo_reason": m.undo_reason})
    return out


def merged_in(conn: Connection, profile_id: int) -> list[int]:
    """Profiles merged into this one and not taken out again (their access log belongs with it)."""
    return sorted(int(i) for i in conn.execute(select(customer_profiles.c.id).where(
        customer_profiles.c.merged_into == profile_id)).scalars())


# -- finding a profile -------------------------------------------------------------------------------------------


def search(conn: Connection, *, email: str | None = None, phone: str | None = None, loyalty: str | None = None,
           region: str | None = None) -> list[Summary]:
    """Profiles with an identity of exactly this e-mail address (any case), phone number (any way of writing
    it; without a country code it is read in ``region``) or loyalty id: by the keys' indexes."""
    return summaries(conn, customer_links.find(conn, email=email, phone=phone, loyalty=loyalty, region=region))


def check_search(email: str | None, phone: str | None, loyalty: str | None, region: str | None) -> None:
    """Raise ValueError, saying what to give, when nothing to search by is given or the phone is no number."""
    if not any(v and v.strip() for v in (email, phone, loyalty)):
        raise ValueError("give an e-mail address, a phone number or a loyalty id to search by (exactly: names "
                         "are not searched)")
    if phone and phone.strip() and phone_key(phone, region) is None:
        raise ValueError(f"the phone number {phone[:40]!r} is not one orderhub can read: give it with its country code "
                         "(+49 151 ...) or the country it is from (region DE)")


# -- everything at once ------------------------------------------------------------------------------------------


@dataclass
class Profile:
    """A profile as the console, the API and the CLI show it."""

    summary: Summary
    orders: list[OrderLine]
    orders_total: int
    value: list[Value]
    consent: ConsentView
    merges: list[dict[str, Any]]
    merged_in: list[int]

    def public(self) -> dict[str, Any]:
        return {"profile": self.summary.public(), "orders": [o.public() for o in self.orders],
                "orders_total": self.orders_total, "lifetime_value": [v.public() for v in self.value],
                "consent": self.consent.public(), "merges": self.merges, "merged_in": self.merged_in}


def profile(conn: Connection, profile_id: int, *, orders_limit: int = 100) -> Profile | None:
    """Everything shown of one (live) profile; None when there is no such profile."""
    found = summary(conn, profile_id)
    if found is None:
        return None
    shown, total = orders_of(conn, profile_id, orders_limit)
    return Profile(found, shown, total, lifetime_value(conn, profile_id),
                   consent_of(conn, profile_id, found.accounts), merges_of(conn, profile_id),
                   merged_in(conn, profile_id))
