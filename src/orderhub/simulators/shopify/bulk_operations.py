"""Bulk query operations of the simulated shops: lifecycle, result files, signed URLs, finish webhook.

As on Shopify: an operation is CREATED, then RUNNING while its JSONL file is
written, then COMPLETED, FAILED (with an ``errorCode``) or, after
``bulkOperationCancel`` made it CANCELING, CANCELED. A shop runs one bulk query
operation at a time. When it finishes, ``bulk_operations/finish`` goes to the
shop's subscribers of that topic. The result is served at a signed URL that
expires (Shopify's stay valid for a week); once it has, the operation reads
EXPIRED. A completed operation that found nothing has no URL.

The file is written by a thread of its own, streaming: root objects are
produced one at a time and written as they come, so memory does not grow
with the number of objects. How fast an operation advances is a setting
(``POST /_sim/config {"bulk": {...}}``, see :class:`BulkSettings`), so tests
can be quick and a demo can watch it run.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
import structlog

from orderhub.simulators.shopify.actions import ActionError, Event
from orderhub.simulators.shopify.bulk_catalogue import Catalogue
from orderhub.simulators.shopify.bulk_jsonl import Flattener
from orderhub.simulators.shopify.bulk_query import BulkPlan, UserError, plan_query, user_error
from orderhub.simulators.shopify.bulk_roots import root_nodes
from orderhub.simulators.shopify.clock import rest_time
from orderhub.simulators.shopify.resolvers import RequestContext
from orderhub.simulators.shopify.schema import build
from orderhub.simulators.shopify.store import Shop, Store, gid

log = structlog.get_logger(__name__)

ACTIVE = ("CREATED", "RUNNING", "CANCELING")
ERROR_CODES = ("ACCESS_DENIED", "INTERNAL_SERVER_ERROR", "TIMEOUT")
OUTPUT_PATH = "/bulk-operation-outputs"  # where result files are served, as on Shopify's storage bucket
ACCESS_ID = "shopify-simulator@orderhub.iam.gserviceaccount.com"
WEEK = 7 * 24 * 3600.0
FINISH_TOPIC = "bulk_operations/finish"

Emit = Callable[[Shop, list[Event]], None]


@dataclass
class BulkSettings:
    """How bulk operations advance: changed with ``POST /_sim/config {"bulk": {...}}``."""

    start_delay: float = 1.0  # seconds an operation stays CREATED before it runs
    objects_per_second: float | None = 10_000.0  # how fast the file is written; None: as fast as possible
    url_ttl: float = WEEK  # how long result URLs work after the operation finished
    fail_next: dict[str, Any] | None = None  # {"error_code": ..., "after_objects": n}: the next operation fails

    def update(self, changes: dict[str, Any]) -> None:
        """Apply every change, or none when one of them is invalid."""
        start_delay = max(0.0, float(changes.get("start_delay", self.start_delay)))
        rate = changes.get("objects_per_second", self.objects_per_second)
        rate = None if rate is None else float(rate)
        if rate is not None and rate <= 0:
            raise ValueError("objects_per_second must be above 0, or null for as fast as possible")
        url_ttl = float(changes.get("url_ttl", self.url_ttl))
        fail_next = _failure(changes["fail_next"]) if "fail_next" in changes else self.fail_next
        self.start_delay, self.objects_per_second, self.url_ttl, self.fail_next = start_delay, rate, url_ttl, fail_next

    def describe(self) -> dict[str, Any]:
        return {"start_delay": self.start_delay, "objects_per_second": self.objects_per_second,
                "url_ttl": self.url_ttl, "fail_next": self.fail_next}


def _failure(spec: Any) -> dict[str, Any] | None:
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise TypeError('fail_next must be an object: {"error_code": "TIMEOUT", "after_objects": 10}')
    code = str(spec.get("error_code", "INTERNAL_SERVER_ERROR")).upper()
    if code not in ERROR_CODES:
        raise ValueError(f"unknown bulk error code {code!r}; expected one of {', '.join(ERROR_CODES)}")
    after = int(spec.get("after_objects", 0))
    if after < 0:
        raise ValueError("after_objects must not be negative")
    return {"error_code": code, "after_objects": after}


@dataclass
class Operation:
    id: int
    shop: str
    plan: BulkPlan
    api_version: str
    base_url: str
    created_at: str  # REST time in the shop's zone
    key: str  # names the result files; unguessable, like Shopify's
    fail: dict[str, Any] | None
    catalogue: Catalogue | None
    status: str = "CREATED"
    error_code: str | None = None
    completed_at: str | None = None
    object_count: int = 0
    root_object_count: int = 0
    file_size: int | None = None
    result: str | None = None  # "final" or "partial": the file the operation left
    expires: int | None = None  # Unix time after which its URL stops working
    purged: bool = False  # its file was deleted after the URL expired
    cancel: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    @property
    def gid(self) -> str:
        return gid("BulkOperation", self.id)


class Refused(Exception):
    """A request for a result file that storage refuses: (HTTP status, error code, message)."""

    def __init__(self, status: int, code: str, message: str, details: str = "") -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


class BulkOperations:
    """Every shop's bulk operations, their worker threads and their files."""

    def __init__(self, store: Store, emit: Emit) -> None:
        self.store = store
        self.emit = emit
        self.settings = BulkSettings()
        self._catalogues: dict[str, Catalogue] = {}
        self._ops: dict[int, Operation] = {}
        self._by_key: dict[str, Operation] = {}
        self._lock = threading.Lock()
        self._secret = secrets.token_bytes(32)
        self._dir: Path | None = None
        self._stopping = False

    # -- GraphQL ------------------------------------------------------------------------------------

    def run_query(self, shop: Shop, query: str, *, api_version: str, base_url: str
                  ) -> tuple[dict[str, Any] | None, list[UserError]]:
        """bulkOperationRunQuery: the new operation (as CREATED), or the userErrors refusing it."""
        plan, errors = plan_query(build(api_version), query)
        if plan is None:
            return None, errors
        self._purge_expired()
        with self._lock:
            running = next((op for op in self._ops.values() if op.shop == shop.domain and op.status in ACTIVE), None)
            if running is not None:
                return None, [user_error(f"A bulk query operation for this app and shop is already in progress: "
                                         f"{running.gid}.", None, "OPERATION_IN_PROGRESS")]
            op = Operation(id=self.store.next_id("bulk_operation"), shop=shop.domain, plan=plan,
                           api_version=api_version, base_url=base_url.rstrip("/"),
                           created_at=rest_time(self.store.clock.now(), shop.tz), key=secrets.token_hex(16),
                           fail=self.settings.fail_next, catalogue=self._catalogues.get(shop.domain))
            self.settings.fail_next = None
            self._ops[op.id], self._by_key[op.key] = op, op
            created = self._node(op)
            op.thread = threading.Thread(target=self._run, args=(op, shop), name=f"shopify-sim-bulk-{op.id}",
                                         daemon=True)
            op.thread.start()
        return created, []

    def cancel(self, shop: Shop, operation_id: int) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """bulkOperationCancel: CANCELING (CANCELED once the worker stops), or why it cannot be canceled."""
        with self._lock:
            op = self._ops.get(operation_id)
            if op is None or op.shop != shop.domain:
                return None, [{"field": ["id"], "message": "Bulk operation does not exist"}]
            if op.status not in ACTIVE:
                node = self._node(op)
                return node, [{"field": None,
                               "message": f"A bulk operation cannot be canceled when it is {node['status'].lower()}"}]
            op.status = "CANCELING"
            op.cancel.set()
            return self._node(op), []

    def get(self, shop: Shop, operation_id: int) -> dict[str, Any] | None:
        with self._lock:
            op = self._ops.get(operation_id)
            return None if op is None or op.shop != shop.domain else self._node(op)

    def current(self, shop: Shop, operation_type: str = "QUERY") -> dict[str, Any] | None:
        """The shop's most recent bulk operation of that type (the simulator runs queries only)."""
        if operation_type != "QUERY":
            return None
        with self._lock:
            mine = [op for op in self._ops.values() if op.shop == shop.domain]
            return self._node(max(mine, key=lambda op: op.id)) if mine else None

    def _node(self, op: Operation) -> dict[str, Any]:
        """The BulkOperation object; caller holds ``_lock``."""
        status = op.status
        if status == "COMPLETED" and op.expires is not None and time.time() >= op.expires:
            status = "EXPIRED"
        return {"__typename": "BulkOperation", "id": op.gid, "status": status, "errorCode": op.error_code,
                "type": "QUERY", "createdAt": op.created_at, "completedAt": op.completed_at,
                "objectCount": op.object_count, "rootObjectCount": op.root_object_count,
                "fileSize": op.file_size if op.result == "final" else None,
                "url": self._url(op, "final") if op.result == "final" else None,
                "partialDataUrl": self._url(op, "partial") if op.result == "partial" else None,
                "query": op.plan.query}

    # -- result files -------------------------------------------------------------------------------

    def _sign(self, name: str, expires: int) -> str:
        digest = hmac.new(self._secret, f"GET\n{name}\n{expires}".encode(), hashlib.sha256).digest()
        return base64.b64encode(digest).decode()

    def _url(self, op: Operation, part: str) -> str:
        assert op.expires is not None
        name = f"{op.key}-{part}"
        query = urlencode({"GoogleAccessId": ACCESS_ID, "Expires": op.expires,
                           "Signature": self._sign(name, op.expires),
                           "response-content-disposition": f'attachment; filename="bulk-{op.id}.jsonl"',
                           "response-content-type": "application/jsonl"})
        return f"{op.base_url}{OUTPUT_PATH}/{name}?{query}"

    def result_file(self, name: str, expires: str | None, signature: str | None) -> Path:
        """The file a signed URL names; raises :class:`Refused` as the storage bucket would."""
        if not expires or not signature or not expires.isdigit():
            raise Refused(400, "MissingSecurityHeader", "Your request was missing a required header.",
                          "Expires and Signature are required.")
        if not hmac.compare_digest(self._sign(name, int(expires)), signature):
            raise Refused(403, "SignatureDoesNotMatch",
                          "The request signature we calculated does not match the signature you provided.")
        if time.time() >= int(expires):
            stamp = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(int(expires)))
            raise Refused(400, "ExpiredToken", "The provided token has expired.",
                          f"Request signature expired at: {stamp}")
        key, _, part = name.rpartition("-")
        with self._lock:
            op = self._by_key.get(key)
            present = op is not None and op.result == part and self._dir is not None
        path = (self._dir or Path("/nonexistent")) / name
        if not present or not path.exists():
            raise Refused(404, "NoSuchKey", "The specified key does not exist.")
        return path

    def _directory(self) -> Path:
        with self._lock:
            if self._dir is None:
                self._dir = Path(tempfile.mkdtemp(prefix="shopify-sim-bulk-"))
            return self._dir

    def _purge_expired(self) -> None:
        """Delete files whose URLs have expired, so a long-running simulator does not fill the disk."""
        with self._lock:
            for op in self._ops.values():
                if op.result and not op.purged and op.expires is not None and time.time() >= op.expires:
                    if self._dir is not None:
                        (self._dir / f"{op.key}-{op.result}").unlink(missing_ok=True)
                    op.purged = True

    # -- the worker ---------------------------------------------------------------------------------

    def _run(self, op: Operation, shop: Shop) -> None:
        try:
            if op.cancel.wait(self.settings.start_delay) or self._stopping:
                self._finish(op, shop, "CANCELED")
                return
            with self._lock:
                if op.status == "CANCELING":
                    canceled = True
                else:
                    op.status, canceled = "RUNNING", False
            if canceled:
                self._finish(op, shop, "CANCELED")
                return
            status, code = self._write(op, shop)
        except Exception:  # a simulator bug must still end the operation, as Shopify's failures do
            log.exception("bulk operation failed", operation=op.gid)
            status, code = "FAILED", "INTERNAL_SERVER_ERROR"
        self._finish(op, shop, status, code)

    def _write(self, op: Operation, shop: Shop) -> tuple[str, str | None]:
        """Write the JSONL file, one root object at a time: (final status, error code)."""
        directory = self._directory()
        writing = directory / f"{op.key}.writing"
        context = RequestContext(self.store, shop, op.api_version, bulk=self)
        flattener = Flattener(build(op.api_version), op.plan, context)
        fail_after = None if op.fail is None else op.fail["after_objects"]
        started = time.monotonic()
        outcome: tuple[str, str | None] = ("COMPLETED", None)
        with open(writing, "wb", buffering=1 << 20) as out:
            for node in root_nodes(self.store, shop, op.plan.root_field, op.plan.root_args, op.catalogue):
                if op.cancel.is_set() or self._stopping:
                    outcome = ("CANCELED", None)
                    break
                if fail_after is not None and op.object_count >= fail_after:
                    break
                for line in flattener.lines(node):
                    out.write(orjson.dumps(line))
                    out.write(b"\n")
                    op.object_count += 1
                op.root_object_count += 1
                rate = self.settings.objects_per_second
                if rate:
                    ahead = op.object_count / rate - (time.monotonic() - started)
                    if ahead > 0 and op.cancel.wait(ahead):
                        outcome = ("CANCELED", None)
                        break
        if outcome[0] == "COMPLETED" and op.fail is not None:
            outcome = ("FAILED", op.fail["error_code"])
        part = {"COMPLETED": "final", "FAILED": "partial"}.get(outcome[0]) if op.object_count else None
        if part is None:
            writing.unlink(missing_ok=True)
        else:
            size = writing.stat().st_size
            writing.rename(directory / f"{op.key}-{part}")
            with self._lock:
                op.result, op.file_size = part, size
        return outcome

    def _finish(self, op: Operation, shop: Shop, status: str, error_code: str | None = None) -> None:
        with self._lock:
            op.status, op.error_code = status, error_code
            op.completed_at = rest_time(self.store.clock.now(), shop.tz)
            op.expires = math.ceil(time.time() + self.settings.url_ttl)
            payload = {"admin_graphql_api_id": op.gid, "completed_at": op.completed_at,
                       "created_at": op.created_at, "error_code": error_code.lower() if error_code else None,
                       "status": status.lower(), "type": "query"}
        if not self._stopping:
            self.emit(shop, [(FINISH_TOPIC, payload)])

    # -- control API --------------------------------------------------------------------------------

    def set_catalogue(self, shop: Shop, orders: int, products: int, seed: int) -> Catalogue:
        """Give the shop synthetic records that its bulk queries cover (0 and 0 removes them)."""
        if orders < 0 or products < 0:
            raise ValueError("synthetic order and product counts must not be negative")
        if orders and not shop.products:
            raise ActionError(f"shop {shop.domain} has no products for synthetic orders to order; "
                              "create one with POST /_sim/products")
        catalogue = Catalogue(orders=orders, products=products, seed=seed, until=self.store.clock.now())
        with self._lock:
            self._catalogues[shop.domain] = catalogue
        return catalogue

    def catalogue(self, shop: Shop) -> Catalogue:
        with self._lock:
            return self._catalogues.get(shop.domain) or Catalogue()

    def list(self, shop: Shop) -> list[dict[str, Any]]:
        with self._lock:
            return [self._node(op) for op in sorted(self._ops.values(), key=lambda o: o.id) if op.shop == shop.domain]

    def stop(self, timeout: float = 5.0) -> None:
        """Cancel running operations without webhooks and delete every result file."""
        self._stopping = True
        with self._lock:
            ops = list(self._ops.values())
        for op in ops:
            op.cancel.set()
        for op in ops:
            if op.thread is not None:
                op.thread.join(timeout)
        with self._lock:
            directory, self._dir = self._dir, None
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)

