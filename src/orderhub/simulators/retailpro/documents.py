"""``GET /v1/rest/document``: Prism's sales documents (register receipts and invoices), read the way Prism's REST
clients read them.

Where each shape comes from (public Prism clients, no official reference was found in the corpus):

- the query: ``filter=(field,op,value)AND((field,nn)OR(field,nn))``, ``cols=a,b,item.x,tender.y``,
  ``sort=field,asc|desc``, ``page_no`` (from 1) and ``page_size``, as Prism customisations and integrations send
  them (e.g. ``/v1/rest/document?filter=(created_datetime,ge,DATE)AND((document_number,nn)OR(...))&sort=
  created_datetime,desc&cols=created_datetime,items,document_number,store_number&page_no=1&page_size=100``,
  and ``(modified_datetime,ge,...)`` for reading what changed since a time);
- the answer: a v1 REST read answers a bare JSON array of records (clients read ``response.length`` and
  ``response[0]``), unlike the v2 ``/api/backoffice`` envelope; errors keep the ``{"data", "errors"}`` shape
  with ``errormsg`` that clients read from ``errors[0]``;
- the fields: a document's ``sid``, ``created_datetime``, ``modified_datetime``, ``post_date``,
  ``origin_application`` (``RProPrismWeb`` for a sale rung at a register), ``store_code``, ``store_number``,
  ``workstation_name``, ``document_number``, ``receipt_type`` (0 sale, 1 return), ``ref_sale_sid``,
  ``bt_cuid``, ``bt_email``, ``transaction_total_amt``, ``transaction_total_tax_amt``, its ``items``
  (``item_pos``, ``scan_upc``, ``alu``, ``item_description1``, ``quantity``, ``original_price``, ``price``,
  ``tax_amount``, ``item_type`` 1 sold / 2 returned) and ``tenders`` (``tender_type``, ``tender_name``,
  ``amount``, ``taken``, ``given``, ``currency_name``, ``alphabetic_code``), as a Prism document and its item
  appear in integrations' models and recorded samples (prices as numbers, times with milliseconds and offset).

The simulator's own choices (not documented): without ``cols`` a record is its ``sid`` and ``link``; ``*`` gives
every document field with ``items`` and ``tenders`` as links, ``item.*``/``tender.*`` expand them; the default
``page_size`` is 10 and at most 1000; a filter or column the simulator does not know is a 400 naming it; the
filter's AND binds tighter than OR; a time without an offset is UTC. An invoice made through the Order to
Invoice API is a document too, with ``origin_application`` ``OrderToInvoice``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from orderhub.simulators.retailpro.errors import fail

PATH = "/v1/rest/document"
ORDER_TO_INVOICE_ORIGIN = "OrderToInvoice"
REGISTER_ORIGIN = "RProPrismWeb"
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 1000
MAX_FILTER_LENGTH = 2000

DOCUMENT_FIELDS = ("sid", "link", "created_datetime", "modified_datetime", "post_date", "origin_application",
                   "store_code", "store_number", "workstation_name", "document_number", "receipt_type",
                   "ref_sale_sid", "bt_cuid", "bt_email", "transaction_total_amt", "transaction_total_tax_amt",
                   "has_sale", "has_return")
ITEM_FIELDS = ("link", "item_pos", "scan_upc", "alu", "item_description1", "quantity", "original_price", "price",
               "tax_amount", "item_type")
TENDER_FIELDS = ("link", "tender_type", "tender_name", "amount", "taken", "given", "currency_name",
                 "alphabetic_code")
TIME_FIELDS = frozenset({"created_datetime", "modified_datetime", "post_date"})
NUMBER_FIELDS = frozenset({"store_number", "document_number", "receipt_type"})
BOOL_FIELDS = frozenset({"has_sale", "has_return"})
FILTERABLE = frozenset(DOCUMENT_FIELDS) - {"link"}
OPERATORS = ("eq", "ne", "nq", "gt", "ge", "lt", "le", "nn", "nl")


def stamp(at: datetime) -> str:
    """A time as Prism writes it: milliseconds and the offset."""
    return at.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def parse_time(text: str, what: str) -> datetime:
    try:
        at = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise fail(400, "FILTER_INVALID", f"{what}: {text[:40]!r} is not a date and time such as "
                                          "2026-12-07T10:15:00.000+00:00.", "filter") from None
    return at if at.tzinfo is not None else at.replace(tzinfo=timezone.utc)


# -- filter ---------------------------------------------------------------------------------------------

Predicate = Callable[[dict[str, Any]], bool]
_TOKEN = re.compile(r"\(|\)|AND|OR|[^()]+", re.IGNORECASE)


def _condition(text: str) -> Predicate:
    parts = [p.strip() for p in text.split(",", 2)]
    if len(parts) < 2:
        raise fail(400, "FILTER_INVALID", f"({text[:60]}) is not (field,operator,value).", "filter")
    name, op = parts[0].lower(), parts[1].lower()
    if name not in FILTERABLE:
        raise fail(400, "FILTER_INVALID", f"The document has no field {parts[0][:60]!r} to filter on.", "filter")
    if op not in OPERATORS:
        raise fail(400, "FILTER_INVALID", f"{parts[1][:20]!r} is not an operator; use one of "
                                          f"{', '.join(OPERATORS)}.", "filter")
    if op in ("nn", "nl"):
        return lambda doc: (doc.get(name) is not None) == (op == "nn")
    if len(parts) < 3:
        raise fail(400, "FILTER_INVALID", f"({text[:60]}) needs a value after {op}.", "filter")
    value: Any = parts[2]
    if name in TIME_FIELDS:
        value = parse_time(value, name)
    elif name in NUMBER_FIELDS:
        try:
            value = int(value)
        except ValueError:
            raise fail(400, "FILTER_INVALID", f"{name} is a number, not {value[:40]!r}.", "filter") from None
    elif name in BOOL_FIELDS:
        value = value.lower() == "true"

    def test(doc: dict[str, Any]) -> bool:
        have = doc.get(name)
        if have is None:
            return op in ("ne", "nq")
        if name in TIME_FIELDS:
            have = parse_time(have, name)
        if op == "eq":
            return bool(have == value)
        if op in ("ne", "nq"):
            return bool(have != value)
        try:
            return {"gt": have > value, "ge": have >= value, "lt": have < value, "le": have <= value}[op]
        except TypeError:
            return False

    return test


def parse_filter(text: str) -> Predicate:
    """The documents ``text`` selects; raises a 400 naming what it cannot read."""
    if len(text) > MAX_FILTER_LENGTH:
        raise fail(400, "FILTER_INVALID", f"The filter is longer than {MAX_FILTER_LENGTH} characters.", "filter")
    tokens = [t for t in (m.group(0) for m in _TOKEN.finditer(text)) if t.strip()]
    position = 0

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> str:
        nonlocal position
        token = peek()
        if token is None:
            raise fail(400, "FILTER_INVALID", "The filter ends too early; check its parentheses.", "filter")
        position += 1
        return token

    def term() -> Predicate:
        if take() != "(":
            raise fail(400, "FILTER_INVALID", "Each condition is written in parentheses: (field,eq,value).",
                       "filter")
        if peek() == "(":
            inner = either()
        else:
            inner = _condition(take())
        if take() != ")":
            raise fail(400, "FILTER_INVALID", "A closing parenthesis is missing.", "filter")
        return inner

    def both() -> Predicate:
        parts = [term()]
        while (peek() or "").upper() == "AND":
            take()
            parts.append(term())
        return lambda doc: all(p(doc) for p in parts)

    def either() -> Predicate:
        parts = [both()]
        while (peek() or "").upper() == "OR":
            take()
            parts.append(both())
        return lambda doc: any(p(doc) for p in parts)

    predicate = either()
    if peek() is not None:
        raise fail(400, "FILTER_INVALID", f"Unexpected {peek()!r} in the filter; join conditions with AND or OR.",
                   "filter")
    return predicate


# -- columns, sort, paging -------------------------------------------------------------------------------

def _columns(text: str | None) -> tuple[list[str], list[str] | None, list[str] | None]:
    """(document fields, item fields or None, tender fields or None) that ``cols`` asks for."""
    if text is None or not text.strip():
        return ["sid", "link"], None, None
    top: list[str] = []
    items: list[str] | None = None
    tenders: list[str] | None = None
    for raw in text.split(","):
        name = raw.strip().lower()
        if not name:
            continue
        if name == "*":
            top += [f for f in DOCUMENT_FIELDS if f not in top] + ["items", "tenders"]
        elif name in ("items", "tenders"):
            top.append(name)
        elif name.startswith(("item.", "items.")):
            items = (items or []) + _nested(name.split(".", 1)[1], ITEM_FIELDS, "item")
        elif name.startswith(("tender.", "tenders.")):
            tenders = (tenders or []) + _nested(name.split(".", 1)[1], TENDER_FIELDS, "tender")
        elif name in DOCUMENT_FIELDS:
            top.append(name)
        else:
            raise fail(400, "COLUMN_UNKNOWN", f"The document has no column {raw.strip()[:60]!r}.", "cols")
    return top, items, tenders


def _nested(name: str, known: tuple[str, ...], kind: str) -> list[str]:
    if name == "*":
        return list(known)
    if name not in known:
        raise fail(400, "COLUMN_UNKNOWN", f"A document {kind} has no column {name[:60]!r}.", "cols")
    return [name]


def _whole(text: str | None, name: str, default: int, low: int, high: int) -> int:
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise fail(400, "FIELD_INVALID", f"{name} must be a whole number, not {text[:20]!r}.", name) from None
    if not low <= value <= high:
        raise fail(400, "FIELD_INVALID", f"{name} must be from {low} to {high}, not {value}.", name)
    return value


def _sort_key(text: str | None) -> tuple[str, bool]:
    if not text:
        return "created_datetime", False
    field, _, direction = (p.strip().lower() for p in text.partition(","))
    if field not in FILTERABLE:
        raise fail(400, "FIELD_INVALID", f"The document has no field {field[:60]!r} to sort on.", "sort")
    if direction not in ("", "asc", "desc"):
        raise fail(400, "FIELD_INVALID", f"Sort {direction[:10]!r}: use asc or desc.", "sort")
    return field, direction == "desc"


def _project(doc: dict[str, Any], top: list[str], items: list[str] | None,
             tenders: list[str] | None) -> dict[str, Any]:
    out = {name: doc.get(name) for name in top if name not in ("items", "tenders")}
    for key, wanted in (("items", items), ("tenders", tenders)):
        if wanted is not None:
            out[key] = [{name: entry.get(name) for name in wanted} for entry in doc[key]]
        elif key in top:
            out[key] = [{"link": entry["link"]} for entry in doc[key]]
    return out


def query(documents: list[dict[str, Any]], params: Any) -> list[dict[str, Any]]:
    """The page of ``documents`` that the query parameters ask for, projected to their columns."""
    top, items, tenders = _columns(params.get("cols"))
    predicate = parse_filter(params["filter"]) if params.get("filter") else None
    field, descending = _sort_key(params.get("sort"))
    page_no = _whole(params.get("page_no"), "page_no", 1, 1, 1_000_000)
    page_size = _whole(params.get("page_size"), "page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    chosen = [d for d in documents if predicate is None or predicate(d)]

    def key(doc: dict[str, Any]) -> tuple[int, Any, str]:
        value = doc.get(field)
        if field in TIME_FIELDS and value is not None:
            value = parse_time(value, field)
        return (value is None, value if value is not None else 0, doc["sid"])

    chosen.sort(key=key, reverse=descending)
    start = (page_no - 1) * page_size
    return [_project(d, top, items, tenders) for d in chosen[start:start + page_size]]
