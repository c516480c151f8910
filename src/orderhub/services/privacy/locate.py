"""Locating everything orderhub holds on a person: the rows about them, by the links the store keeps (their
profile, its identities, their orders and every row an order's id reaches, the inbox records those were made
from, what was sent and owed about them, the error-log entries of all these), and the rows that mention them,
found by content (an inbox record, an error, a log line, a file a job kept that holds their e-mail address,
phone number, loyalty id, street or full name).

Which columns are read, cleared or searched is the data of :mod:`orderhub.services.privacy.columns`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, or_, select, tuple_

from orderhub.adapters.store import privacy_rows as rows
from orderhub.adapters.store.customer_links import live
from orderhub.adapters.store.schema import (
    customer_profiles,
    customers,
    metadata,
    order_addresses,
    orders,
    shops,
)
from orderhub.services.privacy import content
from orderhub.services.privacy.scrub import REDACTED, Person

# Tables whose rows hang off an order by its id (orderhub's), found from the schema itself.
ORDER_TABLES = tuple(sorted(str(t.name) for t in metadata.tables.values() if "order_id" in t.c and t.name != "orders"))
# Tables that name an order by its account and the channel's id of it.
ORDER_REF_TABLES = ("order_events", "refunds", "order_edits")
# Error-log entries by the record they are about: record_type -> the table of that record (by its key).
ERROR_RECORDS = {"inbox": "inbox", "delivery": "deliveries", "channel_op": "channel_operations",
                 "pickup_mail": "pickup_mails", "subscription": "subscription_deliveries", "invoice": "orders",
                 "invoice_transfer": "invoice_transfers", "reconciliation": "reconciliation_findings"}


@dataclass(frozen=True)
class Scope:
    """What a request is about: a person (``profile_id``: every identity of them, every order of those), or
    some identities and orders (a channel's request); ``account_id`` keeps the content search to one account's
    records; ``search`` off: only what the links reach (the retention purge)."""

    profile_id: int | None = None
    identity_ids: tuple[int, ...] = ()
    order_ids: tuple[int, ...] = ()
    account_id: int | None = None
    search: bool = True
    extra: Person | None = None  # values given with the request (a channel's redaction by e-mail)
    inbox_ids: tuple[int, ...] = ()  # records about the person the links do not reach (the request itself)
    values: bool = True  # False: scrub by field names only (a whole account's records: shop/redact)


@dataclass
class Located:
    profile_id: int | None
    profiles: list[int]
    identities: list[Any]  # customers rows, with their account's name and kind
    orders: list[Any]  # (id, shop_id, shopify_id, customer_id, name)
    linked: dict[str, set[Any]]  # table -> keys of rows about the person
    found: dict[str, set[Any]] = field(default_factory=dict)  # table -> keys of rows that mention them
    searched: dict[str, int] = field(default_factory=dict)  # table -> rows the content search read
    person: Person = field(default_factory=Person)

    def keys(self, table: str) -> set[Any]:
        return self.linked.get(table, set()) | self.found.get(table, set())

    def counts(self) -> dict[str, int]:
        return {t: len(self.keys(t)) for t in sorted(set(self.linked) | set(self.found)) if self.keys(t)}


def profiles_of(conn: Connection, profile_id: int) -> list[int]:
    """The live profile ``profile_id`` stands for, and every profile merged into it (followed down)."""
    start = live(conn, profile_id)
    if start is None:
        return []
    out, todo = [start], [start]
    while todo:
        merged = list(conn.execute(select(customer_profiles.c.id).where(
            customer_profiles.c.merged_into.in_(todo))).scalars())
        todo = [p for p in merged if p not in out]
        out += todo
    return out


def locate(conn: Connection, scope: Scope, *, name_replacement: str = REDACTED) -> Located:
    profiles = profiles_of(conn, scope.profile_id) if scope.profile_id is not None else []
    identity_ids = set(scope.identity_ids)
    if profiles:
        identity_ids |= rows.keys_in(conn, customers, "profile_id", profiles)
    idents = _identities(conn, identity_ids)
    order_ids = set(scope.order_ids) | rows.keys_in(conn, orders, "customer_id", identity_ids)
    order_rows = rows.read(conn, orders, order_ids, ["shop_id", "shopify_id", "customer_id", "name"])
    located = Located(profiles[0] if profiles else None, profiles, idents, order_rows, {})
    linked = located.linked
    linked["customer_profiles"] = set(profiles)
    linked["customers"] = identity_ids
    linked["orders"] = order_ids
    _by_order(conn, located)
    _by_person(conn, located)
    _add(located, "inbox", scope.inbox_ids)
    _records(conn, located)
    located.person = (person_of(conn, located, name_replacement, scope.extra) if scope.values
                      else Person(name_replacement=name_replacement))
    if scope.search and not located.person.empty:
        content.search(conn, located, account_id=scope.account_id)
        _records(conn, located)  # the errors and deliveries of records found by content
    return located


def _identities(conn: Connection, ids: Iterable[int]) -> list[Any]:
    out: list[Any] = []
    for part in rows.chunks(set(ids)):
        out += conn.execute(select(customers, shops.c.domain.label("account"), shops.c.kind.label("account_kind"))
                            .join(shops, shops.c.id == customers.c.shop_id)
                            .where(customers.c.id.in_(part)).order_by(customers.c.id)).all()
    return out


def _add(located: Located, table: str, keys: Iterable[Any]) -> None:
    located.linked.setdefault(table, set()).update(keys)


def _by_order(conn: Connection, located: Located) -> None:
    ids = located.linked["orders"]
    if not ids:
        return
    for name in ORDER_TABLES:
        _add(located, name, rows.keys_in(conn, rows.table(name), "order_id", ids))
    refs = [(o.shop_id, o.shopify_id) for o in located.orders]
    for name in ORDER_REF_TABLES:
        t = rows.table(name)
        for part in rows.chunks(refs):
            _add(located, name, rows.keys_where(conn, t, tuple_(t.c.shop_id, t.c.order_shopify_id).in_(part)))
    findings, runs = rows.table("reconciliation_findings"), rows.table("reconciliations")
    for part in rows.chunks(refs):
        _add(located, "reconciliation_findings", set(conn.execute(
            select(findings.c.id).join(runs, runs.c.id == findings.c.reconciliation_id)
            .where(tuple_(runs.c.shop_id, findings.c.order_shopify_id).in_(part))).scalars()))
    _add(located, "workflow_steps", rows.keys_in(conn, rows.table("workflow_steps"), "workflow_id",
                                                 located.linked.get("workflows", set())))
    _add(located, "subscription_deliveries", rows.keys_in(conn, rows.table("subscription_deliveries"),
                                                          "outbox_id", located.linked.get("outbox", set())))
    # The inbox records the orders were made from: every version applied, every refund, every store sale.
    inbox_ids: set[int] = set()
    for name in ("order_events", "store_sales"):
        t = rows.table(name)
        for r in rows.read(conn, t, located.linked.get(name, set()), ["inbox_id"]):
            if r.inbox_id is not None:
                inbox_ids.add(r.inbox_id)
    _add(located, "inbox", inbox_ids)


def _by_person(conn: Connection, located: Located) -> None:
    profiles, identity_ids = located.profiles, located.linked["customers"]
    for name in ("customer_consents", "customer_access_log"):
        _add(located, name, rows.keys_in(conn, rows.table(name), "profile_id", profiles))
    merges = rows.table("customer_merges")
    for part in rows.chunks(profiles):
        _add(located, "customer_merges", rows.keys_where(conn, merges, or_(merges.c.kept_id.in_(part),
                                                                           merges.c.merged_id.in_(part))))
    ops = rows.table("channel_operations")
    _add(located, "channel_operations", rows.keys_in(conn, ops, "customer_id", identity_ids))
    requests = rows.table("privacy_requests")
    _add(located, "privacy_requests", rows.keys_in(conn, requests, "profile_id", profiles))
    refs = [(i.shop_id, i.shopify_id) for i in located.identities]
    for part in rows.chunks(refs):
        _add(located, "privacy_requests", rows.keys_where(conn, requests, tuple_(
            requests.c.shop_id, requests.c.customer_shopify_id).in_(part)))
    # The inbox records of their consent changes and of the privacy requests channels sent about them.
    inbox_ids = set()
    for name in ("customer_consents", "privacy_requests"):
        for r in rows.read(conn, rows.table(name), located.linked.get(name, set()), ["inbox_id"]):
            if r.inbox_id is not None:
                inbox_ids.add(r.inbox_id)
    _add(located, "inbox", inbox_ids)


def _records(conn: Connection, located: Located) -> None:
    """HTTP deliveries made from their inbox records, and the error-log entries of every record about them."""
    inbox_keys = located.keys("inbox")
    _add(located, "deliveries", rows.keys_in(conn, rows.table("deliveries"), "inbox_id", inbox_keys))
    errors = rows.table("error_log")
    for record_type, name in ERROR_RECORDS.items():
        keys = located.keys(name)
        for part in rows.chunks(keys):
            _add(located, "error_log", rows.keys_where(conn, errors, and_(
                errors.c.record_type == record_type, errors.c.record_id.in_(part))))


def person_of(conn: Connection, located: Located, name_replacement: str, extra: Person | None = None) -> Person:
    """The person's values, from their identities, their orders' e-mail and addresses."""
    emails: list[str | None] = []
    phones: list[str | None] = []
    names: list[str | None] = []
    streets: list[str | None] = []
    loyalty: list[str | None] = []
    for i in located.identities:
        emails += [i.email, i.email_key]
        phones += [i.phone, i.phone_key]
        names += [i.first_name, i.last_name, _full(i.first_name, i.last_name)]
        loyalty.append(i.loyalty_key)
    for r in rows.read(conn, orders, located.linked["orders"], ["email"]):
        emails.append(r.email)
    for a in rows.read(conn, order_addresses, located.linked.get("order_addresses", set()),
                       ["name", "first_name", "last_name", "address1", "address2", "phone"]):
        names += [a.name, a.first_name, a.last_name, _full(a.first_name, a.last_name)]
        streets += [a.address1, a.address2]
        phones.append(a.phone)
    mails = rows.table("pickup_mails")
    for m in rows.read(conn, mails, located.linked.get("pickup_mails", set()), ["recipient"]):
        emails.append(m.recipient)
    if extra is not None:
        emails += extra.emails
        names += extra.names
    return Person.of(emails=emails, phones=phones, names=names, streets=streets, loyalty=loyalty,
                     name_replacement=name_replacement)


def _full(first: str | None, last: str | None) -> str | None:
    return " ".join(p for p in (first, last) if p) or None

