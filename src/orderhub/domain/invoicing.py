"""A completed order as the POS/ERP (Retail Pro) must receive it: one invoice at one store, and
transfer slips that move what other stores fulfilled to that store.

Retail Pro invoices an order at one store and deducts every invoiced item there. When several
stores fulfilled the order, the invoice goes to one of them (the last to fulfil, by default) and
each other store sends its quantities to it on a slip (``SlipNo`` is the order number; Retail Pro
refuses a second slip of that number from the same store), so every store's stock ends right.

Pure: a feed record (the JSON the feed job writes, one order per line) in, documents out. A
value that does not fit the document's field table is never cut: the order is refused with
every problem, each naming its field (``CustomerBilling.FirstName``, ``Items[1].UPC``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from orderhub.domain.retailpro_documents import (
    CUSTOMER_FIELDS,
    INVOICE_FIELDS,
    INVOICE_ITEM_FIELDS,
    MAX_ITEMS,
    TRANSFER_FIELDS,
    TRANSFER_ITEM_FIELDS,
    Field,
    check_block,
    quick_check,
)

FEED_VERSION = 1
# What the feed says of an address (the columns of ``order_addresses`` it carries, in its order).
FEED_ADDRESS_FIELDS = ("first_name", "last_name", "company", "address1", "address2", "city", "province", "zip",
                       "country", "country_code", "phone")
# The statuses of an order unit that has left its facility: what an invoice is made of.
FULFILLED_UNITS = ("shipped", "completed")
INVOICING_RULES = ("last-to-fulfil", "most-units")  # or a store code: always that store
UPC_SOURCES = ("barcode", "sku", "barcode-or-sku")
_PLACES = Decimal("0.0001")  # amounts are Float(10,4)
_ZERO = Decimal(0)


@dataclass(frozen=True)
class Options:
    """How orders become documents (the transform job's parameters)."""

    invoicing: str = "last-to-fulfil"
    upc_source: str = "barcode"
    delivery_types: Mapping[str, int] = field(default_factory=dict)  # shipping method (lower case) -> DeliveryType
    default_delivery_type: int = 1
    payment_type: int = 1
    document_number: str = "CF"  # NoDocument when the order carries none ("consumidor final")
    document_type: str | None = None
    timezone: str = "UTC"  # CreatedDate is the store's local time, without an offset

    def __post_init__(self) -> None:
        if self.upc_source not in UPC_SOURCES:
            raise ValueError(f"upc_source must be one of {', '.join(UPC_SOURCES)}, not {self.upc_source!r}")
        if not self.invoicing.strip():
            raise ValueError(f"invoicing must be {' or '.join(INVOICING_RULES)}, or a store code")
        ZoneInfo(self.timezone)  # raises for an unknown zone


class FeedError(ValueError):
    """The feed record cannot be read (not an order as the feed writes it); ``path`` names the key."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


@dataclass(frozen=True)
class Problem:
    field: str  # the document field at fault: ``Items[0].UPC``, ``Transfers[SVA26].FromStore``
    code: str  # FIELD_REQUIRED | FIELD_TOO_LONG | FIELD_INVALID
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class NotInvoiceable(ValueError):
    """The order's documents break the service's field table; nothing was cut to make them fit."""

    def __init__(self, order: str, problems: list[Problem]) -> None:
        self.order = order
        self.problems = problems
        super().__init__(f"order {order} cannot be invoiced as it is: " + "; ".join(map(str, problems)))

    @property
    def field(self) -> str:
        return self.problems[0].field


@dataclass(frozen=True)
class Documents:
    """What Retail Pro gets for one order."""

    order_id: int
    order: str  # its name, for people (#1001)
    store: str  # the invoicing store
    order_no: str
    invoice: dict[str, Any]
    transfers: list[dict[str, Any]]
    # What left each facility, per SKU: [facility id, SKU, quantity] (for orderhub's ledger).
    stock: list[tuple[int | None, str | None, int]]

    def line(self) -> dict[str, Any]:
        """The record the transform writes (one JSON line) and the invoice job reads."""
        return {"v": FEED_VERSION, "order_id": self.order_id, "order": self.order, "store": self.store,
                "order_no": self.order_no, "invoice": self.invoice, "transfers": self.transfers,
                "stock": self.stock}


# -- reading a feed record ------------------------------------------------------------------------------------

class _Reader:
    """Typed access to one JSON object of the feed, with errors that name the key."""

    def __init__(self, data: Any, path: str) -> None:
        if not isinstance(data, dict):
            raise FeedError(path or "record", "must be a JSON object")
        self.data, self.path = data, path

    def _where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def text(self, key: str, *, required: bool = False) -> str | None:
        value = self.data.get(key)
        if value is None or value == "":
            if required:
                raise FeedError(self._where(key), "is missing")
            return None
        if not isinstance(value, str):
            raise FeedError(self._where(key), f"must be a string, not {type(value).__name__}")
        return value

    def integer(self, key: str) -> int:
        value = self.data.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise FeedError(self._where(key), "must be a whole number")
        return value

    def money(self, key: str) -> Decimal:
        value = self.data.get(key, "0")
        try:
            number = Decimal(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else None
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            raise FeedError(self._where(key), f"must be an amount such as \"12.50\", not {value!r}")
        return number

    def moment(self, key: str) -> datetime:
        value = self.text(key, required=True)
        try:
            moment = datetime.fromisoformat(value or "")
        except ValueError:
            raise FeedError(self._where(key), f"must be an ISO 8601 time, not {value!r}") from None
        if moment.tzinfo is None:
            raise FeedError(self._where(key), "must carry its UTC offset")
        return moment

    def obj(self, key: str) -> _Reader | None:
        value = self.data.get(key)
        return None if value is None else _Reader(value, self._where(key))

    def objs(self, key: str) -> list[_Reader]:
        value = self.data.get(key)
        if not isinstance(value, list):
            raise FeedError(self._where(key), "must be a list")
        return [_Reader(v, f"{self._where(key)}[{i}]") for i, v in enumerate(value)]


class _Item(NamedTuple):
    upc: str | None
    sku: str | None
    facility_id: int | None
    store: str
    quantity: int
    fulfilled_at: datetime
    orig_price: Decimal
    orig_tax: Decimal
    price: Decimal
    tax: Decimal


def _item(r: _Reader, upc_source: str, taxes_included: bool) -> _Item:
    ordered = r.integer("ordered")
    quantity = r.integer("quantity")
    if ordered < 1 or not 1 <= quantity <= ordered:
        raise FeedError(r.path, f"quantity {quantity} of a line of {ordered} is not possible")
    orig_price, orig_tax, price, tax = _line_amounts(r.money("price"), r.money("discount"), r.money("tax"),
                                                     ordered, taxes_included)
    sku, barcode = r.text("sku"), r.text("barcode")
    upc = {"barcode": barcode, "sku": sku, "barcode-or-sku": barcode or sku}[upc_source]
    facility = r.data.get("facility_id")
    return _Item(upc=upc, sku=sku, facility_id=facility if isinstance(facility, int) else None,
                 store=r.text("store", required=True) or "", quantity=quantity,
                 fulfilled_at=r.moment("fulfilled_at"), orig_price=orig_price, orig_tax=orig_tax, price=price,
                 tax=tax)


def _line_amounts(price: Decimal, discount: Decimal, tax: Decimal, ordered: int,
                  taxes_included: bool) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """(orig_price, orig_tax, price, tax) of one unit, tax apart: Retail Pro adds an item's tax to its price.

    Shopify gives a line's discount and tax in total (the discount is the sum of its allocations); the
    invoice wants them per unit. Where the shop's prices include tax, the tax is taken out of them, so
    price plus tax is still what the customer paid."""
    unit_discount, unit_tax = discount / ordered, tax / ordered
    net = price - unit_discount
    orig_tax = unit_tax * price / net if net > _ZERO else unit_tax  # the tax of the undiscounted price
    if taxes_included:
        price, net = price - orig_tax, net - unit_tax
    return price.quantize(_PLACES), orig_tax.quantize(_PLACES), net.quantize(_PLACES), unit_tax.quantize(_PLACES)


def _q(amount: Decimal) -> Decimal:
    return amount.quantize(_PLACES)


# -- building the documents ----------------------------------------------------------------------------------

def invoicing_store(items: list[_Item], rule: str) -> str:
    """The store that invoices the order: the last to fulfil (ties: the one with more units, then by code),
    the one that fulfilled most units, or the store ``rule`` names."""
    latest: dict[str, datetime] = {}
    units: dict[str, int] = {}
    for item in items:
        latest[item.store] = max(latest.get(item.store, item.fulfilled_at), item.fulfilled_at)
        units[item.store] = units.get(item.store, 0) + item.quantity
    if rule == "last-to-fulfil":
        return max(latest, key=lambda s: (latest[s], units[s], s))
    if rule == "most-units":
        return max(units, key=lambda s: (units[s], latest[s], s))
    return rule


def transform(record: Any, options: Options) -> Documents:
    """The documents for one feed record; raises :class:`FeedError` (unreadable record) or
    :class:`NotInvoiceable` (every field the documents break).

    Records as the feed writes them take a fast path; anything it does not expect (a missing
    or odd value, a field the documents refuse) is done again by the checked path, which names
    every problem. Both build the same documents."""
    try:
        parts = _transform_fast(record, options)
    except Exception:  # noqa: BLE001 - anything unusual is the checked path's to report
        parts = None
    return Documents(*parts) if parts is not None else _transform_checked(record, options)


def transform_line(record: Any, options: Options) -> dict[str, Any]:
    """``transform(record, options).line()``, without making the :class:`Documents` (the transform
    job writes lines only)."""
    try:
        parts = _transform_fast(record, options)
    except Exception:  # noqa: BLE001 - as in transform
        parts = None
    if parts is None:
        return _transform_checked(record, options).line()
    order_id, name, store, order_no, invoice, transfers, stock = parts
    return {"v": FEED_VERSION, "order_id": order_id, "order": name, "store": store, "order_no": order_no,
            "invoice": invoice, "transfers": transfers, "stock": stock}


def _transform_checked(record: Any, options: Options) -> Documents:
    """:func:`transform`, reading every value through :class:`_Reader` and checking every block."""
    r = _Reader(record, "")
    if r.data.get("v") != FEED_VERSION:
        raise FeedError("v", f"is {r.data.get('v')!r}; this transform reads feed version {FEED_VERSION}")
    order_id = r.integer("order_id")
    name = r.text("name") or f"id {order_id}"
    included = r.data.get("taxes_included") is True
    items = [_item(i, options.upc_source, included) for i in r.objs("items")]
    if not items:
        raise FeedError("items", "is empty: a completed order has fulfilled items")
    store = invoicing_store(items, options.invoicing)
    zone = ZoneInfo(options.timezone)
    local = r.moment("created_at").astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S")
    order_no = r.text("number") or name.lstrip("#")
    shipping = _q(r.money("total_shipping"))
    method = (r.text("shipping_method") or "").strip().lower()

    invoice: dict[str, Any] = {
        "InvoicingStore": store, "OrderNo": order_no, "CreatedDate": local,
        "DeliveryType": options.delivery_types.get(method, options.default_delivery_type),
        "PaymentType": options.payment_type,
        "TotalAmt": shipping + sum(((i.price + i.tax) * i.quantity for i in items), _ZERO),
        "TotalDiscAmt": sum(((i.orig_price - i.price) * i.quantity for i in items), _ZERO),
        "ShippingAmt": shipping,
    }
    problems = _check(invoice, INVOICE_FIELDS, "", {})
    customer = r.obj("customer")
    billing, delivery = r.obj("billing"), r.obj("shipping")
    email = r.text("email") or (customer.text("email") if customer else None)
    for block, address in (("CustomerBilling", billing or delivery), ("CustomerShipping", delivery or billing)):
        invoice[block] = _customer(address, customer, email, options)
        problems += _check(invoice[block], CUSTOMER_FIELDS, block, _CUSTOMER_HINTS)
    invoice["Items"] = [_invoice_item(i, store) for i in items]
    if len(items) > MAX_ITEMS:
        problems.append(Problem("Items", "FIELD_INVALID", f"has {len(items)} entries; at most {MAX_ITEMS} allowed."))
    for n, (item, body) in enumerate(zip(items, invoice["Items"], strict=True)):
        hints = {"UPC": _upc_hint(item, options.upc_source)}
        problems += _check(body, INVOICE_ITEM_FIELDS, f"Items[{n}]", hints)

    transfers = _transfers(items, store, order_no, local)
    for slip in transfers:
        where = f"Transfers[{slip['FromStore']}]"
        problems += _check(slip, TRANSFER_FIELDS, where, {})
        for n, line in enumerate(slip["Items"]):
            problems += _check(line, TRANSFER_ITEM_FIELDS, f"{where}.Items[{n}]", {})
    if problems:
        raise NotInvoiceable(name, problems)
    moved: dict[tuple[int | None, str | None], int] = {}
    for item in items:
        moved[(item.facility_id, item.sku)] = moved.get((item.facility_id, item.sku), 0) + item.quantity
    stock = [(facility, sku, qty) for (facility, sku), qty in moved.items()]
    return Documents(order_id, name, store, order_no, invoice, transfers, stock)


_CUSTOMER_HINTS = {
    "Email": "the order and its customer have no e-mail address",
    "Address1": "the order has no billing or shipping address",
    "FirstName": "the order's address and customer have no first name",
    "LastName": "the order's address and customer have no last name",
}


def _customer(address: _Reader | None, customer: _Reader | None, email: str | None, options: Options
              ) -> dict[str, Any]:
    def pick(key: str) -> str | None:
        return (address.text(key) if address else None) or (customer.text(key) if customer else None)

    block = {"FirstName": pick("first_name"), "LastName": pick("last_name"), "Email": email,
             "Address1": address.text("address1") if address else None,
             "Address2": address.text("address2") if address else None,
             "City": address.text("city") if address else None,
             "Country": (address.text("country_code") or address.text("country")) if address else None,
             "NoDocument": options.document_number, "TypeDocument": options.document_type,
             "Phone": pick("phone")}
    return {k: v for k, v in block.items() if v is not None}


def _invoice_item(item: _Item, store: str) -> dict[str, Any]:
    body: dict[str, Any] = {"UPC": item.upc, "OrigPrice": item.orig_price, "OrigTax": item.orig_tax,
                            "Price": item.price, "Tax": item.tax, "Qty": item.quantity,
                            "StoreOrig": item.store, "StoreDest": store}
    return {k: v for k, v in body.items() if v is not None}


def _upc_hint(item: _Item, source: str) -> str:
    what = f"SKU {item.sku}" if item.sku else "the line (it has no SKU)"
    return {"barcode": f"{what} has no barcode in the catalogue",
            "sku": "the line has no SKU",
            "barcode-or-sku": f"{what} has no barcode and no SKU"}[source]


def _transfers(items: list[_Item], store: str, slip_no: str, when: str) -> list[dict[str, Any]]:
    """One slip per other fulfilling store: its quantities, per UPC, to the invoicing store."""
    moved: dict[str, dict[str, int]] = {}
    for item in items:
        if item.store != store:
            lines = moved.setdefault(item.store, {})
            lines[item.upc or ""] = lines.get(item.upc or "", 0) + item.quantity
    return [{"SlipNo": slip_no, "FromStore": source, "ToStore": store, "CreatedDate": when,
             "TotalQty": sum(lines.values()),
             "Items": [{"UPC": upc, "Qty": qty} for upc, qty in lines.items() if upc]}
            for source, lines in sorted(moved.items())]


def _check(block: dict[str, Any], fields: tuple[Field, ...], prefix: str, hints: Mapping[str, str]
           ) -> list[Problem]:
    _, found = check_block(block, fields, prefix)
    problems = []
    for code, path, message in found:
        hint = hints.get(path.rsplit(".", 1)[-1]) if code == "FIELD_REQUIRED" else None
        problems.append(Problem(path, code, f"{message[:-1]}; {hint}." if hint else message))
    return problems


# -- the fast path ---------------------------------------------------------------------------------------------
# The same steps as _transform_checked, on the record's dicts directly. It gives up (returns None,
# or raises) at the first thing that is not as the feed writes it; _transform_checked then says what.

_INVOICE_FITS = quick_check(INVOICE_FIELDS, ("InvoicingStore", "OrderNo", "CreatedDate", "DeliveryType",
                                              "PaymentType", "TotalAmt", "TotalDiscAmt", "ShippingAmt"))
_CUSTOMER_FITS = quick_check(CUSTOMER_FIELDS, ("FirstName", "LastName", "Email", "Address1", "Address2", "City",
                                                "Country", "NoDocument", "TypeDocument", "Phone"))
_ITEM_FITS = quick_check(INVOICE_ITEM_FIELDS, ("UPC", "OrigPrice", "OrigTax", "Price", "Tax", "Qty", "StoreOrig",
                                                "StoreDest"))
_TRANSFER_FITS = quick_check(TRANSFER_FIELDS)
_TRANSFER_ITEM_FITS = quick_check(TRANSFER_ITEM_FIELDS)


class _Unusual(Exception):
    """The record needs the checked path."""


def _text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if value.__class__ is not str:
        raise _Unusual(key)
    return value


def _amount(value: Any) -> Decimal:
    if value.__class__ is not str and value.__class__ is not int:
        raise _Unusual(value)
    number = Decimal(value)
    if not number.is_finite():
        raise _Unusual(value)
    return number


def _moment(value: Any) -> datetime:
    if value.__class__ is not str or not value:
        raise _Unusual(value)
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise _Unusual(value)
    return moment


def _object(data: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = data.get(key)
    if value is not None and value.__class__ is not dict:
        raise _Unusual(key)
    return value


_new_item = tuple.__new__  # _Item(...) without the keyword handling of its __new__


def _fast_item(data: Any, upc_source: str, moments: dict[str, datetime], included: bool) -> _Item:
    if data.__class__ is not dict:
        raise _Unusual("items")
    get = data.get
    ordered, quantity = get("ordered"), get("quantity")
    if ordered.__class__ is not int or quantity.__class__ is not int or ordered < 1 or not 1 <= quantity <= ordered:
        raise _Unusual("quantity")
    key = (get("price", "0"), get("discount", "0"), get("tax", "0"), ordered, included)
    if key[0].__class__ is str and key[1].__class__ is str and key[2].__class__ is str:  # not 1 == True == 1.0
        amounts = _AMOUNTS.get(key) or _item_amounts(key)
    else:
        amounts = _item_amounts(key, keep=False)
    sku, barcode, store = get("sku"), get("barcode"), get("store")
    if (sku.__class__ is not str and sku is not None) or (barcode.__class__ is not str and barcode is not None) or (
            store.__class__ is not str or not store):
        raise _Unusual("text")
    sku, barcode = sku or None, barcode or None
    upc = barcode if upc_source == "barcode" else sku if upc_source == "sku" else barcode or sku
    facility = get("facility_id")
    at = get("fulfilled_at")
    fulfilled_at = moments.get(at) if at.__class__ is str else None
    if fulfilled_at is None:
        fulfilled_at = moments[at] = _moment(at)
    return _new_item(_Item, (upc, sku, facility if isinstance(facility, int) else None, store, quantity,
                             fulfilled_at, *amounts))


# A line's amounts depend only on its price, discount, tax and quantity ordered, and orders repeat
# them (a catalogue's prices, the same quantities): each is worked out once (the cache is bounded).
_AMOUNTS: dict[tuple[Any, Any, Any, int, bool], tuple[Decimal, Decimal, Decimal, Decimal]] = {}
_AMOUNTS_KEPT = 20_000


def _item_amounts(key: tuple[Any, Any, Any, int, bool], keep: bool = True
                  ) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """(orig_price, orig_tax, price, tax) of a line, as _item works them out."""
    amounts = _line_amounts(_amount(key[0]), _amount(key[1]), _amount(key[2]), key[3], key[4])
    if keep:
        if len(_AMOUNTS) >= _AMOUNTS_KEPT:
            _AMOUNTS.clear()
        _AMOUNTS[key] = amounts
    return amounts


def _local_time(value: Any, timezone: str) -> str:
    """CreatedDate: ``created_at`` in the stores' zone, as strftime("%Y-%m-%dT%H:%M:%S") writes it."""
    moment = _moment(value)
    if (timezone == "UTC" and value.endswith("+00:00") and value[4] == value[7] == "-" and value[10] == "T"
            and value[13] == value[16] == ":" and value[19] in ".+" and value[0] != "0"):
        return value[:19]  # in UTC already, as YYYY-MM-DDTHH:MM:SS: what strftime would write
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%dT%H:%M:%S")


_PERSON = ("first_name", "last_name", "email", "phone")
_PLACE = ("first_name", "last_name", "address1", "address2", "city", "country_code", "country", "phone")


def _texts(data: dict[str, Any] | None, keys: tuple[str, ...]) -> list[str | None] | None:
    """The values of ``keys`` in ``data``, each a non-empty str or None; any other value is unusual."""
    if data is None:
        return None
    values: list[str | None] = []
    for key in keys:
        value = data.get(key)
        if value.__class__ is str:
            values.append(value or None)
        elif value is None:
            values.append(None)
        else:
            raise _Unusual(key)
    return values


def _fast_customer(place: list[str | None] | None, person: list[str | None] | None, email: str | None,
                   options: Options) -> dict[str, Any] | None:
    """_customer, from the address's _PLACE values and the customer's _PERSON values; None when the
    block does not fit the field table."""
    first = (place[0] if place else None) or (person[0] if person else None)
    last = (place[1] if place else None) or (person[1] if person else None)
    phone = (place[7] if place else None) or (person[3] if person else None)
    if place:
        address1, address2, city, country = place[2], place[3], place[4], place[5] or place[6]
    else:
        address1 = address2 = city = country = None
    number, kind = options.document_number, options.document_type
    if not _CUSTOMER_FITS(first, last, email, address1, address2, city, country, number, kind, phone):
        return None
    block = {"FirstName": first, "LastName": last, "Email": email, "Address1": address1, "Address2": address2,
             "City": city, "Country": country, "NoDocument": number, "TypeDocument": kind, "Phone": phone}
    return {k: v for k, v in block.items() if v is not None}


_Parts = tuple[int, str, str, str, dict[str, Any], list[dict[str, Any]], list[tuple[int | None, str | None, int]]]


def _transform_fast(record: Any, options: Options) -> _Parts | None:
    """The fields of the Documents for ``record``, or None when the checked path must make them."""
    if record.__class__ is not dict or record.get("v") != FEED_VERSION:
        return None
    get = record.get
    order_id = get("order_id")
    if order_id.__class__ is not int:
        return None
    name = _text(record, "name") or f"id {order_id}"
    lines = get("items")
    if lines.__class__ is not list or not lines or len(lines) > MAX_ITEMS:
        return None
    upc_source, moments = options.upc_source, {}
    included = get("taxes_included") is True
    items = [_fast_item(line, upc_source, moments, included) for line in lines]
    first = items[0].store
    one_store = options.invoicing in INVOICING_RULES and all(i.store == first for i in items)
    store = first if one_store else invoicing_store(items, options.invoicing)
    local = _local_time(get("created_at"), options.timezone)
    order_no = _text(record, "number") or name.lstrip("#")
    shipping = _amount(get("total_shipping", "0")).quantize(_PLACES)
    method = (_text(record, "shipping_method") or "").strip().lower()
    total = discounts = _ZERO
    bodies = []
    for i in items:  # the sums in the order (so with the rounding) of the checked path's
        total += (i.price + i.tax) * i.quantity
        discounts += (i.orig_price - i.price) * i.quantity
        if not _ITEM_FITS(i.upc, i.orig_price, i.orig_tax, i.price, i.tax, i.quantity, i.store, store):
            return None
        body = {"UPC": i.upc, "OrigPrice": i.orig_price, "OrigTax": i.orig_tax, "Price": i.price, "Tax": i.tax,
                "Qty": i.quantity, "StoreOrig": i.store, "StoreDest": store}
        if i.upc is None:
            del body["UPC"]
        bodies.append(body)

    delivery_type = options.delivery_types.get(method, options.default_delivery_type)
    total += shipping
    if not _INVOICE_FITS(store, order_no, local, delivery_type, options.payment_type, total, discounts, shipping):
        return None
    invoice: dict[str, Any] = {
        "InvoicingStore": store, "OrderNo": order_no, "CreatedDate": local, "DeliveryType": delivery_type,
        "PaymentType": options.payment_type, "TotalAmt": total, "TotalDiscAmt": discounts, "ShippingAmt": shipping,
    }
    person = _texts(_object(record, "customer"), _PERSON)  # every value checked (the checked path may not look
    billing = _texts(_object(record, "billing"), _PLACE)  # at all of them: then it is the one to say what is wrong)
    delivery = _texts(_object(record, "shipping"), _PLACE)
    email = _text(record, "email") or (person[2] if person else None)
    body = _fast_customer(billing if billing is not None else delivery, person, email, options)
    if body is None:
        return None
    invoice["CustomerBilling"] = body
    body = _fast_customer(delivery if delivery is not None else billing, person, email, options)
    if body is None:
        return None
    invoice["CustomerShipping"] = body
    invoice["Items"] = bodies
    transfers = [] if one_store else _transfers(items, store, order_no, local)
    for slip in transfers:
        if not _TRANSFER_FITS(slip) or not all(_TRANSFER_ITEM_FITS(line) for line in slip["Items"]):
            return None
    if len(items) == 1:
        i = items[0]
        stock = [(i.facility_id, i.sku, i.quantity)]
    else:
        moved: dict[tuple[int | None, str | None], int] = {}
        for i in items:
            key = (i.facility_id, i.sku)
            moved[key] = moved.get(key, 0) + i.quantity
        stock = [(facility, sku, qty) for (facility, sku), qty in moved.items()]
    return order_id, name, store, order_no, invoice, transfers, stock
