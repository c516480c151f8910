"""Shopify bulk query operations: start one, wait for it, stream its JSONL result.

A bulk query has Shopify page through a whole connection (every product, every
order) by itself and leave the result as a JSONL file at a signed URL: one
object a line, the nodes of each nested connection on lines of their own right
after their parent, carrying ``__parentId``. This module starts the operation
(:func:`start`), follows it (:func:`poll`, and :func:`wait`, which returns
early once the ``bulk_operations/finish`` webhook has arrived), reads the file
while it downloads (:func:`download_lines`) and puts children back under their
parent one parent at a time (:func:`grouped`), so memory holds one record and
its children however large the file is. :func:`parse_product` and
:func:`parse_order` read the records of :data:`PRODUCTS_QUERY` and
:func:`orders_query`.

    op = bulk.start(client, bulk.PRODUCTS_QUERY)
    op = bulk.wait(client, op.id, finished=finish_webhook_arrived)
    for product in bulk.products(bulk.grouped(bulk.download_lines(op.url, operation_id=op.id))):
        ...
"""

from __future__ import annotations

import functools
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import orjson

from orderhub.adapters.fields import Fields, numeric_id, parse_time
from orderhub.adapters.shopify.graphql import AdminClient, ShopifyError
from orderhub.adapters.shopify.graphql_orders import (
    _DISCOUNT_APPLICATION_FIELDS,
    _LINE_FIELDS,
    _SHIPPING_LINE_FIELDS,
    order_fields,
    to_rest,
)
from orderhub.domain.errors import InvalidRecord

FINISHED = frozenset({"COMPLETED", "FAILED", "CANCELED", "EXPIRED"})
BACKOFF = 1.5
_TICK = 0.05  # how often wait() looks at a callable ``finished`` while pausing

_FIELDS = "id status errorCode createdAt completedAt objectCount rootObjectCount fileSize url partialDataUrl query"
RUN_QUERY = """
mutation RunBulkQuery($query: String!, $groupObjects: Boolean!) {
  bulkOperationRunQuery(query: $query, groupObjects: $groupObjects) {
    bulkOperation { %s }
    userErrors { field message }
  }
}
""" % _FIELDS
# Before 2025-07 bulkOperationRunQuery has no groupObjects: it always groups.
RUN_QUERY_BEFORE_2025_07 = """
mutation RunBulkQuery($query: String!) {
  bulkOperationRunQuery(query: $query) { bulkOperation { %s } userErrors { field message } }
}
""" % _FIELDS
POLL = "query BulkOperation($id: ID!) { node(id: $id) { ... on BulkOperation { %s } } }" % _FIELDS
# The newest bulk query (newest first is bulkOperations' default order); currentBulkOperation, deprecated
# for it from 2026-01 (https://shopify.dev/changelog/new-queries-for-bulk-operations), before.
CURRENT = ('query NewestBulkQuery { bulkOperations(first: 1, query: "operation_type:query") { nodes { %s } } }'
           % _FIELDS)
CURRENT_BEFORE_2026_01 = "query CurrentBulkOperation { currentBulkOperation(type: QUERY) { %s } }" % _FIELDS
CANCEL = """
mutation CancelBulkOperation($id: ID!) {
  bulkOperationCancel(id: $id) { bulkOperation { %s } userErrors { field message } }
}
""" % _FIELDS

_WHY = {
    "ACCESS_DENIED": "the app lacks an access scope the query needs; run the query as a normal GraphQL request to "
                     "see which field is denied, grant that scope and start again",
    "INTERNAL_SERVER_ERROR": "Shopify had internal errors, which can be intermittent; start the operation again",
    "TIMEOUT": "the query timed out on Shopify; select fewer fields or split the query, and start again",
}


# -- errors -----------------------------------------------------------------------------------------

class BulkError(ShopifyError):
    """A bulk operation went wrong; ``operation_id`` names it (None when no operation was made)."""

    def __init__(self, message: str, operation_id: str | None = None) -> None:
        super().__init__(message)
        self.operation_id = operation_id


class BulkStartRefused(BulkError):
    """Shopify answered ``bulkOperationRunQuery`` with userErrors; ``running_id`` names a running operation."""

    def __init__(self, user_errors: list[dict[str, Any]]) -> None:
        self.user_errors = user_errors
        messages = "; ".join(str(e.get("message")) for e in user_errors) or "no operation and no reason given"
        running = re.search(r"gid://shopify/BulkOperation/\d+", messages)
        self.running_id = running.group(0) if running else None
        hint = (f" Bulk operation {self.running_id} is still running for this shop: wait for it (bulk.wait) or "
                "cancel it (bulk.cancel), then start again." if self.running_id
                else " Fix the query and start again.")
        super().__init__(f"Shopify refused to start the bulk query: {messages}.{hint}", self.running_id)


class BulkOperationFailed(BulkError):
    """The operation ended FAILED, CANCELED or EXPIRED instead of COMPLETED."""

    def __init__(self, operation: BulkOperation) -> None:
        self.operation = operation
        op = operation
        if op.status == "FAILED":
            why = _WHY.get(op.error_code or "", "see Shopify's BulkOperationErrorCode")
            partial = f" Partial data: {op.partial_data_url}" if op.partial_data_url else ""
            message = (f"bulk operation {op.id} FAILED with error code {op.error_code} after {op.object_count} "
                       f"objects: {why}.{partial}")
        elif op.status == "CANCELED":
            message = f"bulk operation {op.id} was CANCELED after {op.object_count} objects; start it again"
        else:
            message = (f"the results of bulk operation {op.id} have EXPIRED (Shopify keeps them for 7 days); "
                       "start the operation again")
        super().__init__(message, op.id)


class BulkTimeout(BulkError):
    def __init__(self, operation: BulkOperation, timeout: float) -> None:
        self.operation = operation
        super().__init__(f"bulk operation {operation.id} did not finish within {timeout:g}s: it is "
                         f"{operation.status} with {operation.object_count} objects so far; wait longer (it keeps "
                         "running on Shopify) or cancel it", operation.id)


class BulkUrlExpired(BulkError):
    """The signed URL of the result file no longer works."""


class BulkDownloadError(BulkError):
    """The result file could not be fetched, or its download broke off."""


class BulkFileError(BulkError):
    """The result file is not what Shopify writes: ``line`` is the 1-based number of the offending line."""

    def __init__(self, message: str, operation_id: str | None, line: int) -> None:
        super().__init__(message, operation_id)
        self.line = line


# -- operations -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BulkOperation:
    id: str  # gid://shopify/BulkOperation/...
    status: str  # CREATED, RUNNING, CANCELING, COMPLETED, FAILED, CANCELED or EXPIRED
    error_code: str | None = None
    created_at: datetime | None = None
    completed_at: datetime | None = None
    object_count: int = 0
    root_object_count: int = 0
    file_size: int | None = None
    url: str | None = None  # None when COMPLETED without results
    partial_data_url: str | None = None
    query: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @classmethod
    def from_graphql(cls, node: dict[str, Any]) -> BulkOperation:
        def count(key: str) -> int | None:
            value = node.get(key)
            return None if value is None else int(value)

        return cls(id=node["id"], status=node["status"], error_code=node.get("errorCode"),
                   created_at=parse_time(node["createdAt"]) if node.get("createdAt") else None,
                   completed_at=parse_time(node["completedAt"]) if node.get("completedAt") else None,
                   object_count=count("objectCount") or 0, root_object_count=count("rootObjectCount") or 0,
                   file_size=count("fileSize"), url=node.get("url"), partial_data_url=node.get("partialDataUrl"),
                   query=node.get("query"))


def start(client: AdminClient, query: str, *, group_objects: bool = True) -> BulkOperation:
    """Start a bulk query; raises :class:`BulkStartRefused` with Shopify's userErrors.

    ``group_objects`` asks Shopify to write children right after their parent,
    which :func:`grouped` needs (API versions from 2026-01 no longer do so by default; those
    before 2025-07 have no such argument and always group).
    """
    if client.has("bulk_group_objects"):
        data = client.execute(RUN_QUERY, {"query": query, "groupObjects": group_objects})["bulkOperationRunQuery"]
    elif group_objects:
        data = client.execute(RUN_QUERY_BEFORE_2025_07, {"query": query})["bulkOperationRunQuery"]
    else:
        raise BulkError(f"Shopify API version {client.version} always groups bulk query results; "
                        "ungrouped output needs 2025-07 or later")
    if data.get("userErrors") or not data.get("bulkOperation"):
        raise BulkStartRefused(list(data.get("userErrors") or []))
    return BulkOperation.from_graphql(data["bulkOperation"])


def poll(client: AdminClient, operation_id: str) -> BulkOperation:
    """The operation as Shopify reports it now."""
    node = client.execute(POLL, {"id": operation_id}).get("node")
    if not node:
        raise BulkError(f"bulk operation {operation_id} does not exist in the shop at {client.endpoint} (or is not "
                        "a bulk operation); check the id", operation_id)
    return BulkOperation.from_graphql(node)


def current(client: AdminClient) -> BulkOperation | None:
    """The shop's most recent bulk query operation, if it has one."""
    if client.has("bulk_operations_query"):
        nodes = client.execute(CURRENT)["bulkOperations"].get("nodes") or []
        node = nodes[0] if nodes else None
    else:
        node = client.execute(CURRENT_BEFORE_2026_01).get("currentBulkOperation")
    return None if node is None else BulkOperation.from_graphql(node)


def cancel(client: AdminClient, operation_id: str) -> BulkOperation:
    """Ask Shopify to cancel the operation (it reads CANCELING until it is CANCELED)."""
    data = client.execute(CANCEL, {"id": operation_id})["bulkOperationCancel"]
    errors = data.get("userErrors") or []
    if errors:
        messages = "; ".join(str(e.get("message")) for e in errors)
        raise BulkError(f"Shopify refused to cancel bulk operation {operation_id}: {messages}", operation_id)
    return BulkOperation.from_graphql(data["bulkOperation"])


Signal = threading.Event | Callable[[], bool]


def _pause(seconds: float, finished: Signal | None, sleep: Callable[[float], None],
           clock: Callable[[], float]) -> bool:
    """Wait ``seconds``, or less when ``finished`` says so; True if it did."""
    if finished is None:
        sleep(seconds)
        return False
    if isinstance(finished, threading.Event):
        return finished.wait(seconds)
    end = clock() + seconds
    while not finished():
        left = end - clock()
        if left <= 0:
            return False
        sleep(min(_TICK, left))
    return True


def wait(client: AdminClient, operation_id: str, *, timeout: float = 3600.0, interval: float = 1.0,
         max_interval: float = 30.0, finished: Signal | None = None, sleep: Callable[[float], None] = time.sleep,
         clock: Callable[[], float] = time.monotonic) -> BulkOperation:
    """Poll until the operation is COMPLETED and return it; raise if it ends otherwise or ``timeout`` passes.

    Pauses between polls grow from ``interval`` by half each time, up to
    ``max_interval``. ``finished`` (an Event, or a callable that returns True)
    tells that the ``bulk_operations/finish`` webhook arrived: the pause ends and
    the next poll comes at once, so a webhook saves the wait without being trusted
    for the outcome.
    """
    deadline = clock() + timeout
    delay, told = interval, False
    while True:
        operation = poll(client, operation_id)
        if operation.status == "COMPLETED":
            return operation
        if operation.finished:
            raise BulkOperationFailed(operation)
        left = deadline - clock()
        if left <= 0:
            raise BulkTimeout(operation, timeout)
        if told:  # the webhook came but the status lags: keep to short pauses
            sleep(min(interval, left))
        elif _pause(min(delay, left), finished, sleep, clock):
            told = True
        delay = min(delay * BACKOFF, max_interval)


# -- the result file --------------------------------------------------------------------------------

def _expired(url: str, status: int, body: bytes) -> bool:
    if status not in (400, 403):
        return False
    if b"ExpiredToken" in body or b"Request has expired" in body:
        return True
    expires = parse_qs(urlsplit(url).query).get("Expires") or parse_qs(urlsplit(url).query).get("X-Goog-Expires")
    return bool(expires and expires[0].isdigit() and int(expires[0]) <= time.time())


def download_lines(url: str, *, operation_id: str | None = None, client: httpx.Client | None = None,
                   timeout: float = 60.0) -> Iterator[bytes]:
    """The lines of a result file, read as it downloads: memory holds one chunk, never the file.

    Raises :class:`BulkUrlExpired` when the signed URL no longer works and
    :class:`BulkDownloadError` for other refusals or a download that breaks off.
    """
    http = client or httpx.Client(timeout=timeout, follow_redirects=True)
    name = f"bulk operation {operation_id}" if operation_id else "the bulk operation"
    count = 0
    try:
        with http.stream("GET", url) as response:
            if response.status_code != 200:
                body = response.read()[:2000]
                if _expired(url, response.status_code, body):
                    raise BulkUrlExpired(f"the result URL of {name} has expired; poll the operation (bulk.poll) for "
                                         "its current URL, and if it reads EXPIRED run the query again",
                                         operation_id)
                raise BulkDownloadError(f"downloading the results of {name} failed: HTTP {response.status_code} "
                                        f"{body[:300].decode('utf-8', 'replace')}", operation_id)
            pending = bytearray()
            for chunk in response.iter_bytes():
                pending += chunk
                end = pending.rfind(b"\n")
                if end < 0:
                    continue
                complete = bytes(pending[:end])
                del pending[:end + 1]
                for line in complete.split(b"\n"):
                    count += 1
                    yield line
            if pending:
                count += 1
                yield bytes(pending)
    except httpx.HTTPError as exc:
        raise BulkDownloadError(f"downloading the results of {name} broke off after {count} lines: "
                                f"{type(exc).__name__}: {exc}; download it again", operation_id) from exc
    finally:
        if client is None:
            http.close()


def records(lines: Iterable[bytes | str], *, operation_id: str | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each line; blank lines are skipped, anything else must be a JSON object."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise BulkFileError(f"line {number} of the results of bulk operation {operation_id} is not valid JSON "
                                f"({exc}): {line[:80]!r}; the file "
                                "may be truncated: download it again", operation_id, number) from None
        if not isinstance(record, dict):
            raise BulkFileError(f"line {number} of the results of bulk operation {operation_id} is a JSON "
                                f"{type(record).__name__}, not an object", operation_id, number)
        yield number, record


def gid_type(value: Any) -> str | None:
    """``gid://shopify/ProductVariant/1`` -> ``ProductVariant``."""
    if isinstance(value, str) and value.startswith("gid://shopify/"):
        return value.split("/")[3]
    return None


@dataclass
class Group:
    """One root object of the file (``record``, from line ``line``) and the objects nested under it."""

    record: dict[str, Any]
    line: int
    children: list[dict[str, Any]] = field(default_factory=list)

    @property
    def id(self) -> str | None:
        return self.record.get("id")

    def of_type(self, type_name: str) -> list[dict[str, Any]]:
        """Children of one type, told by their gid (or ``__typename``): ``of_type("ProductVariant")``."""
        return [c for c in self.children if gid_type(c.get("id")) == type_name or c.get("__typename") == type_name]


def grouped(lines: Iterable[bytes | str], *, operation_id: str | None = None) -> Iterator[Group]:
    """Each root object with its children, yielded as soon as the next root object starts.

    Children keep their ``__parentId``. A child whose parent is not the root
    object being read means the file was not grouped (``groupObjects``), which
    this one-parent-at-a-time reading cannot follow: that raises :class:`BulkFileError`.
    """
    group: Group | None = None
    known: set[str] = set()  # ids in the current group, which children may name as parent
    for number, record in records(lines, operation_id=operation_id):
        parent = record.get("__parentId")
        if parent is None:
            if group is not None:
                yield group
            group = Group(record, number)
            known = {record["id"]} if isinstance(record.get("id"), str) else set()
            continue
        if group is None or parent not in known:
            reading = f"object {group.id} of line {group.line}" if group else "no object yet"
            raise BulkFileError(f"line {number} of the results of bulk operation {operation_id} names parent "
                                f"{parent}, but it follows {reading}; the file is not grouped by parent: run the "
                                "query with groupObjects: true", operation_id, number)
        group.children.append(record)
        if isinstance(record.get("id"), str):
            known.add(record["id"])
    if group is not None:
        yield group


# -- products ---------------------------------------------------------------------------------------

PRODUCTS_QUERY = """
{
  products {
    edges {
      node {
        id title handle vendor productType status tags createdAt updatedAt
        variants {
          edges {
            node {
              id title sku barcode price position inventoryQuantity
              inventoryItem { id sku tracked requiresShipping }
            }
          }
        }
      }
    }
  }
}
"""


@dataclass(frozen=True)
class BulkInventoryItem:
    id: str
    sku: str | None
    tracked: bool
    requires_shipping: bool


@dataclass(frozen=True)
class BulkVariant:
    id: str
    title: str | None
    sku: str | None
    barcode: str | None
    price: Decimal
    position: int | None
    inventory_quantity: int | None
    inventory_item: BulkInventoryItem | None


@dataclass(frozen=True)
class BulkProduct:
    id: str
    title: str
    handle: str | None
    vendor: str | None
    product_type: str | None
    status: str | None
    tags: tuple[str, ...]
    created_at: datetime | None
    updated_at: datetime | None
    variants: tuple[BulkVariant, ...]


def _variant(f: Fields) -> BulkVariant:
    item = f.obj("inventoryItem")
    return BulkVariant(
        id=f.id() or "", title=f.str("title"), sku=f.str("sku"), barcode=f.str("barcode"),
        price=f.money("price", required=True), position=f.int("position"),
        inventory_quantity=f.int("inventoryQuantity"),
        inventory_item=None if item is None else BulkInventoryItem(
            id=item.id() or "", sku=item.str("sku"), tracked=item.bool("tracked", False),
            requires_shipping=item.bool("requiresShipping", True)))


def parse_product(group: Group) -> BulkProduct:
    """A product of :data:`PRODUCTS_QUERY` with its variants; raises InvalidRecord naming the line and field."""
    f = Fields(group.record, f"line {group.line} ({group.id})")
    variants = group.of_type("ProductVariant")
    return BulkProduct(
        id=f.id() or "", title=f.str("title", required=True) or "", handle=f.str("handle"), vendor=f.str("vendor"),
        product_type=f.str("productType"), status=f.str("status"), tags=f.tags(), created_at=f.time("createdAt"),
        updated_at=f.time("updatedAt"),
        variants=tuple(_variant(Fields(v, f"{f.path}.variants[{i}]")) for i, v in enumerate(variants)))


def products(groups: Iterable[Group]) -> Iterator[BulkProduct]:
    """Every product of a :data:`PRODUCTS_QUERY` file (stops at the first invalid one; see parse_product)."""
    return (parse_product(g) for g in groups)


# -- orders -----------------------------------------------------------------------------------------

@functools.cache
def orders_query(version: str) -> str:
    """The fields of :func:`graphql_orders.orders_query` on Admin API ``version``, in the bulk form:
    connections through edges/node, no page sizes."""
    return f"""
{{
  orders {{
    edges {{
      node {{
        {order_fields(version)}
        lineItems {{ edges {{ node {{ {_LINE_FIELDS} }} }} }}
        shippingLines {{ edges {{ node {{ {_SHIPPING_LINE_FIELDS} }} }} }}
        discountApplications {{ edges {{ node {{ {_DISCOUNT_APPLICATION_FIELDS} }} }} }}
      }}
    }}
  }}
}}
"""


@dataclass(frozen=True)
class BulkOrder:
    """An order of :func:`orders_query`: its identity and version, and the order in webhook (REST) shape."""

    id: str
    name: str
    updated_at: datetime
    payload: dict[str, Any]


def parse_order(group: Group) -> BulkOrder:
    """An order with its lines, in the shape the webhook and the batch poll store; raises InvalidRecord."""
    where = f"line {group.line} ({group.id})"
    node = dict(group.record)
    node["lineItems"] = {"nodes": group.of_type("LineItem")}
    node["shippingLines"] = {"nodes": group.of_type("ShippingLine")}
    # Discount applications have no id: their lines are told by __typename (which the query asks for).
    node["discountApplications"] = {"nodes": [c for c in group.children
                                              if str(c.get("__typename", "")).endswith("Application")]}
    try:
        payload = to_rest(node)
    except (KeyError, TypeError, AttributeError) as exc:
        raise InvalidRecord(where, f"not an order of the orders query: {type(exc).__name__}: {exc}") from None
    except InvalidRecord as exc:
        raise InvalidRecord(f"{where}.{exc.field}" if exc.field else where, exc.problem) from None
    if not payload.get("updated_at"):
        raise InvalidRecord(f"{where}.updatedAt", "required field is missing")
    return BulkOrder(id=numeric_id(payload["id"], f"{where}.id"), name=payload.get("name") or "",
                     updated_at=parse_time(payload["updated_at"], f"{where}.updatedAt"), payload=payload)


def orders(groups: Iterable[Group]) -> Iterator[BulkOrder]:
    """Every order of an :func:`orders_query` file (stops at the first invalid one; see parse_order)."""
    return (parse_order(g) for g in groups)
