"""A sale made on a store's POS terminal, as orderhub reads what the terminal sent: pure, no I/O.

A sale's lines carry a quantity: above zero the customer took the goods, below zero the customer brought them
back (a return, or the returned half of an exchange, optionally naming what it returns: an earlier store sale
or an online order). Device clocks are not trusted for ordering - the device's sequence numbers are - and a
sale stamped far in the future or the past is kept, at the time orderhub received it, and flagged.

The rules of offline selling (docs/explanation/stores.md):

1. A store sale always stands: the goods left the store. It is never refused for want of stock.
2. A sale is counted once, by its id, however often and in whatever order devices send it.
3. When a sale that synced late takes a store's stock below what online orders reserved there, those online
   units are brokered again elsewhere (or parked with the reason), and the shortfall is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from orderhub.domain.customers import PURPOSES, STATES
from orderhub.domain.errors import InvalidRecord
from orderhub.domain.model import Customer, LineItem, Order

MAX_LINES = 500
MAX_QUANTITY = 10_000  # units of one line: more is a typing error, not a sale
MAX_AMOUNT = Decimal("100000000")
FUTURE_TOLERANCE = timedelta(minutes=10)  # clocks drift; beyond this a sale's time is not believed
PAST_TOLERANCE = timedelta(days=30)  # a terminal offline longer than this has a wrong clock
LATE_AFTER = timedelta(minutes=15)  # a sale recorded this long after it was made synced late
TENDER_KINDS = ("cash", "card", "gift_card", "store_credit", "mobile", "voucher", "other")
CONDITIONS = ("sellable", "damaged")

# Flags a sale can carry (store_sales.flags), for the store's late-sync and clock reports.
CLOCK_FUTURE = "clock_future"
CLOCK_PAST = "clock_past"
NO_CLOCK = "no_clock"
LATE = "late"
TENDER_MISMATCH = "tender_mismatch"


@dataclass(frozen=True)
class SaleLine:
    sku: str
    quantity: int  # > 0 sold, < 0 brought back
    unit_price: Decimal
    discount: Decimal = Decimal("0")  # on the whole line
    tax: Decimal = Decimal("0")  # on the whole line
    title: str | None = None
    returns_sale: str | None = None  # brought back: the store sale (its id) it was bought in
    returns_order: str | None = None  # brought back: the online order (its name or channel id) it was bought in
    condition: str = "sellable"  # brought back: sellable (back on the shelf) or damaged
    reason: str | None = None
    upc: str | None = None  # the item's barcode, when the POS knows it by that alone (sku is "" until resolved)

    @property
    def amount(self) -> Decimal:
        """What the line comes to before tax (negative for goods brought back)."""
        sign = 1 if self.quantity > 0 else -1
        return self.unit_price * self.quantity - sign * self.discount


@dataclass(frozen=True)
class Tender:
    kind: str
    amount: Decimal  # negative: paid out to the customer (a refund at the counter)
    reference: str | None = None


@dataclass(frozen=True)
class StoreSale:
    sale_id: str
    store: str  # the store's facility code
    device_id: int | None  # None: a POS that is not an enrolled device (Retail Pro's registers)
    device_name: str
    sequence: int | None
    device_time: datetime | None
    received_at: datetime
    currency: str
    lines: tuple[SaleLine, ...]
    tenders: tuple[Tender, ...] = ()
    customer_ref: str | None = None
    loyalty_id: str | None = None
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    # What the customer said at the counter about marketing, as (purpose, state): domain/customers.py PURPOSES
    consents: tuple[tuple[str, str], ...] = ()
    receipt: str | None = None
    taxes_included: bool = False
    note: str | None = None

    @property
    def sold(self) -> tuple[SaleLine, ...]:
        return tuple(line for line in self.lines if line.quantity > 0)

    @property
    def brought_back(self) -> tuple[SaleLine, ...]:
        return tuple(line for line in self.lines if line.quantity < 0)

    @property
    def total(self) -> Decimal:
        """What the customer paid (negative: what they got back), tax included."""
        tax = sum((line.tax * (1 if line.quantity > 0 else -1) for line in self.lines), Decimal("0"))
        return sum((line.amount for line in self.lines), Decimal("0")) + (Decimal("0") if self.taxes_included
                                                                           else tax)

    @property
    def counted_at(self) -> datetime:
        """The time the sale counts at: the device's, unless that clock is not believed."""
        return self.device_time if self.device_time is not None and not self.clock_flags() else self.received_at

    def clock_flags(self) -> tuple[str, ...]:
        if self.device_time is None:
            return (NO_CLOCK,)
        if self.device_time > self.received_at + FUTURE_TOLERANCE:
            return (CLOCK_FUTURE,)
        if self.device_time < self.received_at - PAST_TOLERANCE:
            return (CLOCK_PAST,)
        return ()

    def flags(self, recorded_at: datetime) -> tuple[str, ...]:
        found = list(self.clock_flags())
        if not found and self.device_time is not None and recorded_at - self.device_time > LATE_AFTER:
            found.append(LATE)
        if self.tenders and sum((t.amount for t in self.tenders), Decimal("0")) != self.total:
            found.append(TENDER_MISMATCH)
        return tuple(found)

    def label(self) -> str:
        """How a person finds it: store, device, receipt or sequence, and the sale's id."""
        which = self.receipt or (f"#{self.sequence}" if self.sequence is not None else "")
        return f"store sale {which} on {self.store}/{self.device_name} (sale id {self.sale_id})".replace("  ", " ")

    def order(self) -> Order | None:
        """The canonical order of what the customer took (None when the sale only brings goods back)."""
        sold = self.sold
        if not sold:
            return None
        items = tuple(LineItem(shopify_id=f"{self.sale_id}:{i}", title=line.title or line.sku, quantity=line.quantity,
                               price=line.unit_price, sku=line.sku, current_quantity=line.quantity,
                               total_discount=line.discount, tax=line.tax)
                      for i, line in enumerate(self.lines, start=1) if line.quantity > 0)
        subtotal = sum((line.amount for line in sold), Decimal("0"))
        tax = sum((line.tax for line in sold), Decimal("0"))
        at = self.counted_at
        customer = None
        if self.customer_ref or self.loyalty_id:
            customer = Customer(shopify_id=self.customer_ref or f"loyalty:{self.loyalty_id}", email=self.email,
                                first_name=self.first_name, last_name=self.last_name, phone=self.phone,
                                loyalty_id=self.loyalty_id)
        return Order(
            shopify_id=self.sale_id, currency=self.currency, created_at=at, updated_at=at,
            subtotal_price=subtotal, total_discounts=sum((line.discount for line in sold), Decimal("0")),
            total_tax=tax, total_shipping=Decimal("0"),
            total_price=subtotal + (Decimal("0") if self.taxes_included else tax), items=items,
            name=self.receipt or f"{self.store}-{self.device_name}-{self.sequence if self.sequence is not None else ''}"
            .rstrip("-"),
            email=self.email, customer=customer, financial_status="paid", fulfillment_status="fulfilled",
            tags=tuple(t for t in (f"loyalty:{self.loyalty_id}" if self.loyalty_id else "",) if t),
            note=self.note, source_name="pos", taxes_included=self.taxes_included,
            total_line_items_price=sum((line.unit_price * line.quantity for line in sold), Decimal("0")),
            fulfilled_by="store", channel="pos", sold_at_location=self.store)


# -- reading what a terminal sent -------------------------------------------------------------------------------

def _text(value: Any, field: str, *, required: bool = False, limit: int = 255) -> str | None:
    if value is None or value == "":
        if required:
            raise InvalidRecord(field, "is missing")
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise InvalidRecord(field, f"must be text, got {type(value).__name__}")
    text = str(value).strip()
    if required and not text:
        raise InvalidRecord(field, "is empty")
    if len(text) > limit:
        raise InvalidRecord(field, f"is longer than {limit} characters")
    return text or None


def _amount(value: Any, field: str, *, default: Decimal | None = None, signed: bool = False) -> Decimal:
    if value is None and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidRecord(field, "must be an amount such as \"19.99\"")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise InvalidRecord(field, f"{str(value)[:40]!r} is not an amount") from None
    if not amount.is_finite() or abs(amount) >= MAX_AMOUNT:
        raise InvalidRecord(field, f"{str(value)[:40]} is not a possible amount")
    if amount < 0 and not signed:
        raise InvalidRecord(field, f"cannot be negative ({amount})")
    return amount


def _time(value: Any, field: str) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) > 40:
        raise InvalidRecord(field, "must be an ISO 8601 time with its offset, e.g. 2026-12-07T10:15:00+01:00")
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRecord(field, f"{value!r} is not an ISO 8601 time") from None
    if at.tzinfo is None:
        raise InvalidRecord(field, f"{value!r} has no UTC offset; send the device's offset (+01:00) or Z")
    return at


def _line(raw: Any, at: str) -> SaleLine:
    if not isinstance(raw, dict):
        raise InvalidRecord(at, "must be an object")
    quantity = raw.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise InvalidRecord(f"{at}.quantity", "must be a whole number of units (negative for goods brought back)")
    if quantity == 0 or abs(quantity) > MAX_QUANTITY:
        raise InvalidRecord(f"{at}.quantity", f"{quantity} is not a possible quantity (1 to {MAX_QUANTITY} units, "
                                              "negative for goods brought back)")
    back = raw.get("returns") or {}
    if not isinstance(back, dict):
        raise InvalidRecord(f"{at}.returns", "must be an object: {\"sale\": id} or {\"order\": name}")
    if back and quantity > 0:
        raise InvalidRecord(f"{at}.returns", "only a line brought back (negative quantity) returns something")
    condition = _text(raw.get("condition"), f"{at}.condition") or "sellable"
    if condition not in CONDITIONS:
        raise InvalidRecord(f"{at}.condition", f"{condition!r} is not one of {', '.join(CONDITIONS)}")
    sku = _text(raw.get("sku"), f"{at}.sku")
    upc = _text(raw.get("upc"), f"{at}.upc", limit=64)
    if sku is None and upc is None:
        raise InvalidRecord(f"{at}.sku", "is missing (name the item's sku, or its upc)")
    return SaleLine(
        sku=sku or "", upc=upc, quantity=quantity,
        unit_price=_amount(raw.get("unit_price"), f"{at}.unit_price"),
        discount=_amount(raw.get("discount"), f"{at}.discount", default=Decimal("0")),
        tax=_amount(raw.get("tax"), f"{at}.tax", default=Decimal("0")),
        title=_text(raw.get("title"), f"{at}.title", limit=500),
        returns_sale=_text(back.get("sale"), f"{at}.returns.sale", limit=100),
        returns_order=_text(back.get("order"), f"{at}.returns.order", limit=100),
        condition=condition, reason=_text(raw.get("reason"), f"{at}.reason", limit=500))


def _tender(raw: Any, at: str) -> Tender:
    if not isinstance(raw, dict):
        raise InvalidRecord(at, "must be an object")
    kind = _text(raw.get("kind"), f"{at}.kind", required=True) or ""
    if kind not in TENDER_KINDS:
        raise InvalidRecord(f"{at}.kind", f"{kind!r} is not one of {', '.join(TENDER_KINDS)}")
    return Tender(kind, _amount(raw.get("amount"), f"{at}.amount", signed=True),
                  _text(raw.get("reference"), f"{at}.reference", limit=100))


def read_sale(sale: Any, *, store: str, device_id: int | None, device_name: str, received_at: datetime) -> StoreSale:
    """The sale a terminal sent, checked; raises InvalidRecord naming the field. (Whether its currency is an
    ISO 4217 code is the applier's check, as for every channel's orders.)"""
    if not isinstance(sale, dict):
        raise InvalidRecord(None, "a sale must be a JSON object")
    sale_id = _text(sale.get("id"), "id", required=True, limit=100) or ""
    said_store = _text(sale.get("store"), "store", limit=64)
    if said_store is not None and said_store != store:
        raise InvalidRecord("store", f"the sale says store {said_store!r}, but device {device_name!r} is enrolled "
                                     f"in {store!r}; a device syncs only its own store's sales")
    sequence = sale.get("sequence")
    if sequence is not None and (isinstance(sequence, bool) or not isinstance(sequence, int)
                                 or not 0 <= sequence < 2 ** 62):
        raise InvalidRecord("sequence", "must be a whole number from 0, counting up on the device")
    currency = (_text(sale.get("currency"), "currency", required=True, limit=3) or "").upper()
    lines = sale.get("lines")
    if not isinstance(lines, list) or not lines:
        raise InvalidRecord("lines", "a sale needs at least one line")
    if len(lines) > MAX_LINES:
        raise InvalidRecord("lines", f"{len(lines)} lines; a sale holds at most {MAX_LINES}")
    tenders = sale.get("tenders") or []
    if not isinstance(tenders, list) or len(tenders) > 50:
        raise InvalidRecord("tenders", "must be a list of at most 50 payments")
    customer = sale.get("customer") or {}
    if not isinstance(customer, dict):
        raise InvalidRecord("customer", "must be an object: {\"id\": ..., \"loyalty_id\": ..., \"email\": ...}")
    return StoreSale(
        sale_id=sale_id, store=store, device_id=device_id, device_name=device_name, sequence=sequence,
        device_time=_time(sale.get("device_time"), "device_time"), received_at=received_at, currency=currency,
        lines=tuple(_line(raw, f"lines[{i}]") for i, raw in enumerate(lines)),
        tenders=tuple(_tender(raw, f"tenders[{i}]") for i, raw in enumerate(tenders)),
        customer_ref=_text(customer.get("id"), "customer.id", limit=100),
        loyalty_id=_text(customer.get("loyalty_id"), "customer.loyalty_id", limit=100),
        email=_text(customer.get("email"), "customer.email", limit=255),
        phone=_text(customer.get("phone"), "customer.phone", limit=64),
        first_name=_text(customer.get("first_name"), "customer.first_name", limit=255),
        last_name=_text(customer.get("last_name"), "customer.last_name", limit=255),
        consents=_consents(customer.get("marketing")),
        receipt=_text(sale.get("receipt"), "receipt", limit=64),
        taxes_included=sale.get("taxes_included") is True, note=_text(sale.get("note"), "note", limit=2000))


def _consents(raw: Any) -> tuple[tuple[str, str], ...]:
    """``customer.marketing``: {purpose: true | false | state} as the customer answered at the counter."""
    if raw is None:
        return ()
    if not isinstance(raw, dict) or len(raw) > len(PURPOSES):
        raise InvalidRecord("customer.marketing", "must be an object of purpose: true, false or a state "
                                                  f"(purposes: {', '.join(PURPOSES)})")
    out = []
    for purpose, said in raw.items():
        if purpose not in PURPOSES:
            raise InvalidRecord(f"customer.marketing.{str(purpose)[:40]}",
                                f"unknown purpose; one of {', '.join(PURPOSES)}")
        state = {True: "granted", False: "withdrawn"}.get(said) if isinstance(said, bool) else said
        if state not in STATES:
            raise InvalidRecord(f"customer.marketing.{purpose}", f"must be true, false or one of {', '.join(STATES)}")
        out.append((purpose, str(state)))
    return tuple(sorted(out))
