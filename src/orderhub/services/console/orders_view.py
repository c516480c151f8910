"""Read models for the console's order pages: the search (filters, keyset pages, a bounded count)
and one order with its lines, units, payments, shipments, returns, timeline and the actions its
state allows.

The order itself is read by :func:`order_queries.get_order`, as the API and ``orderhub orders show``
read it; this module only arranges it for a page and decides which actions to offer. The server
still refuses an action the state does not allow: the services check every move.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, literal, select

from orderhub.adapters.store import facilities as facility_store
from orderhub.adapters.store import order_filters, order_queries, order_search, source_channels
from orderhub.adapters.store import units as unit_store
from orderhub.adapters.store.order_store import PAYMENT_STATUSES
from orderhub.adapters.store.schema import customers, order_items, orders, shops, workflows
from orderhub.domain import money as amounts
from orderhub.domain.brokering import ships
from orderhub.domain.lifecycle import HOLDABLE, OrderStatus
from orderhub.domain.sales_channels import BUILT_IN
from orderhub.services.fulfilment import CANCELLABLE
from orderhub.services.placement import KIND as PLACEMENT

STATUSES = tuple(s.value for s in OrderStatus)
PAYMENTS = tuple(sorted(PAYMENT_STATUSES))
PAGE_SIZES = (25, 50, 100, 200)
# The count stops here ("more than 1,000"): an exact one would read every match, and even 10,000 index entries are
# some 40 pages read from disk when the cache is cold (a list's first page reads fewer).
COUNT_CAP = 1_000
FILTERS = ("order", "q", "status", "payment", "channel", "shop", "from", "to")
RETURNABLE = ("shipped", "completed")


def header(conn: Connection, order_id: int) -> Any:
    """An order's name, status and why (cheap: by primary key), or None when there is no such order."""
    return conn.execute(select(orders.c.id, orders.c.name, orders.c.shopify_id, orders.c.status,
                               orders.c.status_reason).where(orders.c.id == order_id)).first()


class SearchProblem(ValueError):
    """A filter that cannot be used as given (the message says which and why)."""


@dataclass(frozen=True)
class Search:
    order: str = ""  # exact: the order name (#1001, or 1001 for #1001) or its Shopify id
    q: str = ""  # any part of the name, channel order id, e-mail, note or buyer's name (order_search)
    status: str = ""
    payment: str = ""
    channel: str = ""
    shop: str = ""
    created_from: date | None = None  # Shopify's created_at, UTC days, both ends included
    created_to: date | None = None

    @classmethod
    def parse(cls, params: dict[str, str]) -> Search:
        """The filters of a query string; a bad one is a SearchProblem naming it. ``customer`` is the search's
        older name (links kept from before it searched more than customers)."""
        text = {k: (params.get(k) or "").strip() for k in FILTERS}
        text["q"] = text["q"] or (params.get("customer") or "").strip()
        if text["status"] and text["status"] not in STATUSES:
            raise SearchProblem(f"unknown status {text['status']!r}; choose one of {', '.join(STATUSES)}")
        if text["payment"] and text["payment"] not in PAYMENTS:
            raise SearchProblem(f"unknown payment status {text['payment']!r}; choose one of {', '.join(PAYMENTS)}")
        days = {k: _day(k, text[k]) for k in ("from", "to")}
        if days["from"] and days["to"] and days["from"] > days["to"]:
            raise SearchProblem(f"the date range ends ({days['to']}) before it starts ({days['from']})")
        return cls(order=text["order"], q=order_search.normalise(text["q"]), status=text["status"],
                   payment=text["payment"], channel=text["channel"], shop=text["shop"].lower(),
                   created_from=days["from"], created_to=days["to"])

    def query(self) -> dict[str, str]:
        """The filters as query-string fields (for the links to other pages)."""
        values = {"order": self.order, "q": self.q, "status": self.status, "payment": self.payment,
                  "channel": self.channel, "shop": self.shop,
                  "from": self.created_from.isoformat() if self.created_from else "",
                  "to": self.created_to.isoformat() if self.created_to else ""}
        return {k: v for k, v in values.items() if v}

    @property
    def active(self) -> bool:
        return bool(self.query())


def _day(name: str, text: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise SearchProblem(f"{'created from' if name == 'from' else 'created to'}: {text!r} is not a date "
                            "(YYYY-MM-DD)") from None


def _conditions(conn: Connection, s: Search) -> tuple[list[Any], list[order_filters.Filter]]:
    """The filters other than the search, over ``orders``: the exact order's few ids, and the others, each
    answered by an index ending in the id (the page order), to be intersected (order_filters.narrow)."""
    where: list[Any] = []
    if s.order:
        # The few orders with that name or Shopify id, found first in the name and id indexes: left to
        # itself, SQLite would walk the newest-first page order through the whole table instead.
        where.append(orders.c.id.in_(order_search.exact_ids(conn, s.order) or [0]))
    filters = []
    if s.shop:
        filters.append(order_filters.equal("shop_id", order_search.shop_id(conn, s.shop), "ix_orders_shop"))
    if s.status:
        filters.append(order_filters.equal("status", s.status, "ix_orders_status"))
    if s.payment:
        filters.append(order_filters.equal("payment_status", s.payment, "ix_orders_payment_status"))
    if s.channel:
        filters.append(order_filters.equal("channel", s.channel, "ix_orders_channel"))
    if s.created_from or s.created_to:
        filters.append(order_filters.created(conn.dialect.name, s.created_from, s.created_to))
    return where, filters


@dataclass(frozen=True)
class Results:
    rows: list[Any]
    newer: int | None  # ``after`` cursor of the page before this one (None: this is the newest)
    older: int | None  # ``before`` cursor of the next page (None: nothing older)
    total: int  # matching orders, at most COUNT_CAP
    capped: bool  # more than COUNT_CAP match


def search(conn: Connection, s: Search, *, before: int | None = None, after: int | None = None,
           per_page: int = 50) -> Results:
    """A page of matching orders, newest first (by orderhub id: its primary key orders the page,
    so a page reads only as far back as it needs). ``before``/``after`` are keyset cursors."""
    found = order_search.source(conn, s.q)
    where, filters = _conditions(conn, s)
    narrowed = order_filters.narrow(conn, filters)
    where += narrowed.where
    days = narrowed.days
    if after is not None:
        ids = order_search.page(conn, found, where, above=after, newest_first=False, limit=per_page + 1, days=days)
        has_newer, ids = len(ids) > per_page, ids[:per_page][::-1]
        has_older = bool(ids) and bool(order_search.page(conn, found, where, below=ids[-1], limit=1, days=days))
    else:
        ids = order_search.page(conn, found, where, below=before, limit=per_page + 1, days=days)
        has_older, ids = len(ids) > per_page, ids[:per_page]
        has_newer = before is not None and bool(ids) and bool(
            order_search.page(conn, found, where, above=ids[0], newest_first=False, limit=1, days=days))
    cap = COUNT_CAP
    if before is None and after is None and not has_older:
        counted = len(ids)  # the first page holds every match: no need to count them again
    elif found.walks:
        # The search is checked order by order as the page is read (a common fragment, or its candidates):
        # counting its matches would read on far beyond the page (a surname held by one order in 27: 27,000
        # orders for 1,000 matches; each candidate a read from disk when the cache is cold). "More than" the
        # page it is.
        counted, cap = len(ids) + 1, len(ids)
    else:
        counted = conn.execute(select(func.count()).select_from(
            select(literal(1)).select_from(found.frm).where(*found.where, *where).limit(cap + 1).subquery())
        ).scalar_one()
    return Results(rows=_rows(conn, ids), newer=ids[0] if has_newer and ids else None,
                   older=ids[-1] if has_older and ids else None,
                   total=min(int(counted), cap), capped=int(counted) > cap)


def _rows(conn: Connection, ids: list[int]) -> list[Any]:
    """The columns a list shows, for one page of orders (by primary key: cheap whatever the filter)."""
    if not ids:
        return []
    found = {r.id: r for r in conn.execute(
        select(orders.c.id, orders.c.name, orders.c.shopify_id, shops.c.domain.label("shop"), orders.c.email,
               orders.c.channel, orders.c.status, orders.c.status_reason, orders.c.payment_status,
               orders.c.fulfillment_status, orders.c.currency, orders.c.total_price,
               orders.c.source_created_at.label("created_at"), customers.c.first_name, customers.c.last_name,
               customers.c.profile_id)
        .join(shops, shops.c.id == orders.c.shop_id)
        .outerjoin(customers, customers.c.id == orders.c.customer_id)
        .where(orders.c.id.in_(ids)))}
    quantities = dict(conn.execute(select(order_items.c.order_id, func.sum(order_items.c.current_quantity))
                                   .where(order_items.c.order_id.in_(ids)).group_by(order_items.c.order_id)).all())
    return [dict(found[i]._mapping) | {"quantity": int(quantities.get(i) or 0),
                                       "customer": _name(found[i].first_name, found[i].last_name)}
            for i in ids if i in found]


def _name(first: str | None, last: str | None) -> str | None:
    return " ".join(p for p in (first, last) if p) or None


@dataclass(frozen=True)
class Choices:
    """What the filters offer."""

    shops: list[str]
    channels: list[str]
    statuses: tuple[str, ...] = STATUSES
    payments: tuple[str, ...] = PAYMENTS


def choices(conn: Connection) -> Choices:
    shop_domains = [r.domain for r in conn.execute(select(shops.c.domain).order_by(shops.c.domain))]
    # The built-in channels, the marketplaces' and the shops' own codes, and those configured for ATP.
    channels = sorted({*BUILT_IN, *source_channels.channels_in_use(conn), *facility_store.channel_codes(conn)})
    return Choices(shop_domains, channels)


# -- one order ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Unit:
    id: int
    seq: int
    sku: str | None
    status: str
    facility: str | None
    queue: str | None
    shipment_id: int | None
    return_id: int | None
    reason: str | None
    ships: bool
    promise_date: Any
    auto_cancel_at: datetime | None


@dataclass(frozen=True)
class Line:
    item: dict[str, Any]
    units: list[Unit]

    @property
    def id(self) -> int:
        return int(self.item["id"])

    @property
    def label(self) -> str:
        title = self.item["title"] + (f" — {self.item['variant_title']}" if self.item.get("variant_title") else "")
        return f"{self.item['sku'] or '(no SKU)'} · {title}"

    @property
    def cancellable(self) -> int:
        return sum(1 for u in self.units if u.status in CANCELLABLE)

    @property
    def returnable(self) -> int:
        return sum(1 for u in self.units if u.status in RETURNABLE and u.ships)


@dataclass(frozen=True)
class Event:
    """A timeline entry as a person reads it."""

    at: datetime | None
    kind: str
    by: str
    summary: list[str]  # short facts: reason, status reached, units, tracking ...
    explanation: list[str]  # a brokering decision's reasoning, line by line
    detail: dict[str, Any]


@dataclass(frozen=True)
class Actions:
    """The actions the order's current state allows (the services decide in the end)."""

    approve: bool
    hold: bool
    release: bool
    cancel: bool
    cancel_lines: list[Line]
    pick: list[Unit]
    pack: list[Unit]
    ship: list[dict[str, Any]]  # packed shipments
    return_lines: list[Line]
    facilities: list[Any]  # where a return may be restocked

    @property
    def any(self) -> bool:
        return any((self.approve, self.hold, self.release, self.cancel, self.cancel_lines, self.pick, self.pack,
                    self.ship, self.return_lines))


@dataclass
class OrderPage:
    order: dict[str, Any]
    lines: list[Line]
    shipments: list[dict[str, Any]]
    returns: list[dict[str, Any]]
    timeline: list[Event]
    actions: Actions
    placement: Any = None  # the placement workflow's row: running (and why it waits), completed, compensated
    facility_names: dict[str, str] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return str(self.order["name"] or f"Shopify order {self.order['shopify_id']}")


_TIMES = ("created_at", "updated_at", "source_created_at", "source_updated_at", "approved_at", "cancelled_at",
          "closed_at", "ship_by", "promise_date", "shipped_at", "redacted_at", "at")


def _dated(record: dict[str, Any]) -> dict[str, Any]:
    """The record with its ISO times (as get_order gives them) read back as datetimes, for the page."""
    out = dict(record)
    for key in _TIMES:
        value = out.get(key)
        if isinstance(value, str) and "T" in value:
            out[key] = datetime.fromisoformat(value)
    return out


def order_page(conn: Connection, order_id: int) -> OrderPage | None:
    order = order_queries.get_order(conn, order_id)
    if order is None:
        return None
    all_facilities = facility_store.all_facilities(conn)
    code_of = {f.id: f.code for f in all_facilities}
    by_item: dict[int, list[Unit]] = defaultdict(list)
    for u in unit_store.of_orders(conn, [order_id])[order_id]:
        by_item[u.item_id].append(Unit(u.id, u.seq, u.sku, u.status, code_of.get(u.facility_id), u.queue,
                                       u.shipment_id, u.return_id, u.reason, ships(u.ship_group), u.promise_date,
                                       u.auto_cancel_at))
    lines = [Line(item, by_item.get(int(item["id"]), [])) for item in order["items"]]
    units = [u for line in lines for u in line.units]
    shipments = [_dated(s) | {"facility": code_of.get(s["facility_id"]),
                              "units": [u.id for u in units if u.shipment_id == s["id"]]}
                 for s in order["shipments"]]
    returns = [_dated(r) | {"facility": code_of.get(r["facility_id"]),
                            "units": [u.id for u in units if u.return_id == r["id"]]} for r in order["returns"]]
    status = order["status"]
    held = status == "held"
    actions = Actions(
        approve=status == "created",
        hold=status in HOLDABLE,
        release=held,
        cancel=any(u.status in CANCELLABLE for u in units),
        cancel_lines=[line for line in lines if line.cancellable],
        pick=[] if held else [u for u in units if u.status == "brokered"],
        pack=[] if held else [u for u in units if u.status == "picked"],
        ship=[] if held else [s for s in shipments if s["status"] == "packed"],
        return_lines=[line for line in lines if line.returnable],
        facilities=[f for f in all_facilities if f.active],
    )
    head = _dated(order)
    head["payments"] = [_dated(p) for p in order["payments"]]
    head["refunds"] = [_dated(r) for r in order["refunds"]]
    placement = conn.execute(select(workflows.c.status, workflows.c.error, workflows.c.attempts,
                                    workflows.c.available_at)
                             .where(workflows.c.kind == PLACEMENT, workflows.c.order_id == order_id)).first()
    return OrderPage(order=head, lines=lines, shipments=shipments, returns=returns,
                     timeline=[_event(t) for t in order["timeline"]], actions=actions, placement=placement,
                     facility_names={f.code: f.name for f in all_facilities})


def _event(entry: dict[str, Any]) -> Event:
    detail = entry["detail"] if isinstance(entry["detail"], dict) else {"value": entry["detail"]}
    by = entry["actor"] or (f"Shopify (inbox {entry['inbox_id']})" if entry["inbox_id"] else "Shopify")
    at = datetime.fromisoformat(entry["at"]) if entry.get("at") else None
    return Event(at, entry["kind"], by, summarise(detail), [str(x) for x in detail.get("explanation") or []],
                 detail)


def summarise(detail: dict[str, Any]) -> list[str]:
    """The facts of a timeline entry a person reads first (the whole of it stays one click away)."""
    facts = []
    if detail.get("reason"):
        facts.append(f"reason: {detail['reason']}")
    for failure in detail.get("failed") or []:
        facts.append(f"failed: {failure}")
    if detail.get("to"):
        facts.append(f"back to {detail['to']}")
    if detail.get("status"):
        facts.append(f"status {detail['status']}")
    if detail.get("routing") or detail.get("rule"):
        facts.append(f"routing {detail.get('routing') or '—'}, rule {detail.get('rule') or '—'}: "
                     f"{detail.get('reserved', 0)} reserved, {len(detail.get('parked') or [])} parked")
    if detail.get("shipment_id"):
        facts.append(f"shipment {detail['shipment_id']}" + "".join(
            f", {k.replace('_', ' ')} {detail[k]}" for k in ("carrier", "tracking_number") if detail.get(k)))
    if detail.get("return_id"):
        facts.append(f"return {detail['return_id']}: {detail.get('disposition', '')}, refund {detail.get('refund')}")
    if detail.get("item_id"):
        facts.append(f"line {detail['item_id']}")
    if detail.get("units"):
        facts.append("units " + ", ".join(str(u) for u in detail["units"]))
    return facts


def units_to_return(conn: Connection, order_id: int, wanted: dict[int, int]) -> list[int]:
    """The units a return of ``wanted[line id]`` units takes: shipped ones of each line that shipped,
    oldest first, as the core takes them for a line and a quantity. Asking for more than a line
    shipped is a ValueError that names the line."""
    by_item: dict[int, list[Any]] = defaultdict(list)
    for u in unit_store.of_orders(conn, [order_id])[order_id]:
        if u.status in RETURNABLE and ships(u.ship_group):
            by_item[u.item_id].append(u)
    chosen: list[int] = []
    for item_id, quantity in sorted(wanted.items()):
        available = by_item.get(item_id, [])
        if quantity > len(available):
            raise ValueError(f"order {order_id} line {item_id}: {quantity} to return, but only {len(available)} "
                             "shipped unit(s) can be returned")
        chosen += [u.id for u in available[:quantity]]
    return chosen


def money(value: Any, currency: str | None, *, code: bool = True) -> str:
    """An amount as :func:`orderhub.domain.money.show` writes it everywhere (the API, the CLI, the
    events), followed by its currency code unless ``code`` is off (a table of one currency)."""
    if value is None or value == "":
        return "—"
    return amounts.with_currency(value, currency) if code else amounts.show(value, currency)
