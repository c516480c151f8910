"""The inbox processor: translate inbound records and apply them, at the store's intake rate.

One transaction per batch takes the records, applies each (in its own savepoint),
writes outbound deliveries for HTTP destinations and marks the records done, so a
record is applied exactly once however many workers run and whenever one dies.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import pycountry
import structlog
from sqlalchemy import Connection
from sqlalchemy.exc import DataError

from orderhub.adapters.shopify import translate
from orderhub.adapters.shopify.webhooks import ORDER_TOPICS
from orderhub.adapters.store import destinations as dest_store
from orderhub.adapters.store import error_log, inbox, new_orders, privacy_store, traffic
from orderhub.adapters.store import order_store as store
from orderhub.adapters.store.db import Database, upsert
from orderhub.adapters.store.ratelimit import SharedRateLimiter
from orderhub.adapters.store.schema import deliveries, job_state
from orderhub.adapters.store.shops import by_id
from orderhub.clock import utcnow
from orderhub.domain import money
from orderhub.domain.errors import InvalidRecord
from orderhub.domain.events import check_destination_event
from orderhub.domain.model import Freshness, OrderStatus, Refund
from orderhub.domain.validation import validate_order
from orderhub.metrics import ERRORS_LOGGED, INBOX_PROCESSED, INBOX_RETRIED
from orderhub.services import order_sync

log = structlog.get_logger(__name__)

_CURRENCIES = frozenset(c.alpha_3 for c in pycountry.currencies)
_COUNTRIES = frozenset(c.alpha_2 for c in pycountry.countries) | {"XK"}  # Kosovo, as Shopify uses


def known_currency(code: str) -> bool:
    return code in _CURRENCIES


def known_country(code: str) -> bool:
    return code in _COUNTRIES


@dataclass
class Result:
    outcome: str
    event: tuple[str, Any] | None = None  # (event type, canonical data) for HTTP destinations


def event_id(identity: str, shop_id: int) -> str:
    """Deterministic: the same inbox record always yields the same outbound event id."""
    return hashlib.sha256(f"{shop_id}:{identity}".encode()).hexdigest()[:32]


def envelope(ev_id: str, kind: str, shop: str, source_topic: str, occurred_at: datetime, data: Any,
             currency: str | None = None) -> str:
    """The body an HTTP destination receives: the canonical record (``data``) and where it came from.
    Its amounts are in the currency beside them, else in ``currency`` (the order's)."""
    check_destination_event(kind)
    return store.to_json({"id": ev_id, "type": kind, "shop": shop, "source_topic": source_topic,
                          "occurred_at": occurred_at.isoformat(), "data": data}, currency)


def sent_at(row: Any) -> Any:
    """When the record's source sent it (Shopify's X-Shopify-Triggered-At), else when orderhub received it."""
    return row.triggered_at or row.received_at


def handle(conn: Connection, row: Any) -> Result:
    """Apply one inbox record. Raises InvalidRecord for records that can never apply as they are."""
    try:
        payload = orjson.loads(row.payload)
    except orjson.JSONDecodeError as exc:
        raise InvalidRecord(None, f"payload is not valid JSON: {exc}") from None
    topic = row.topic
    notified_at = sent_at(row)
    if topic in ORDER_TOPICS:
        order = translate.order(payload, notified_at)
        validate_order(order, known_currency=known_currency, known_country=known_country)
        fresh = store.apply_order(conn, row.shop_id, order, row.id)
        if fresh in (Freshness.NEW, Freshness.NEWER):
            order_sync.after_ingest(conn, row.shop_id, order.shopify_id, fresh)
        # Refunds the body carries count once by id, whether or not this version of the order is
        # news (an older version can report a refund no other record did); they travel in the order's event.
        refunded = [r for r in order.refunds if _apply_refund(conn, row, r) == "applied"]
        if fresh in (Freshness.NEW, Freshness.NEWER):
            kind = "order.created" if fresh is Freshness.NEW else "order.updated"
            return Result("applied", (kind, order))
        return Result("applied" if refunded else fresh.value)
    if topic == "orders/edited":
        edit = translate.order_edit(payload)
        outcome = store.apply_order_edit(conn, row.shop_id, edit, row.id)
        if outcome == "applied":
            order_sync.after_edit(conn, row.shop_id, edit.order_id)
        return Result(outcome, (("order.edited", edit) if outcome == "applied" else None))
    if topic == "refunds/create":
        refund = translate.refund(payload, notified_at)
        outcome = _apply_refund(conn, row, refund)
        return Result(outcome, (("refund.created", refund) if outcome == "applied" else None))
    if topic == "order_transactions/create":
        # Payment status itself comes with the order's own versions (orders/paid, orders/updated);
        # the transaction is kept on the order's timeline, for the audit of who paid what when.
        txn = translate.transaction(payload)
        currency = txn.currency or store.order_currency(conn, row.shop_id, txn.order_id)
        store.add_order_event(conn, row.shop_id, txn.order_id, row.id, "transaction", {
            "transaction_id": txn.shopify_id, "kind": txn.kind, "status": txn.status,
            "amount": money.show(txn.amount, currency), "currency": txn.currency, "gateway": txn.gateway,
            "at": txn.created_at.isoformat()})
        return Result("applied", ("order.transaction", txn))
    if topic in ("products/create", "products/update"):
        product = translate.product(payload)
        fresh = store.apply_product(conn, row.shop_id, product)
        applied = fresh in (Freshness.NEW, Freshness.NEWER)
        return Result("applied" if applied else fresh.value, (("product.updated", product) if applied else None))
    if topic == "products/delete":
        deletion = translate.product_deletion(payload, notified_at)
        outcome = store.delete_product(conn, row.shop_id, deletion)
        return Result(outcome, (("product.deleted", deletion) if outcome == "applied" else None))
    if topic == "inventory_levels/update":
        level = translate.inventory_level(payload)
        fresh = store.apply_inventory_level(conn, row.shop_id, level)
        applied = fresh in (Freshness.NEW, Freshness.NEWER)
        return Result("applied" if applied else fresh.value, (("inventory_level.updated", level) if applied else None))
    if topic == "customers/redact":
        privacy_store.redact_customer(conn, row.shop_id, translate.customer_redaction(payload), row.id)
        return Result("applied")
    if topic == "customers/data_request":
        privacy_store.customer_data(conn, row.shop_id, translate.customer_data_request(payload), row.id)
        return Result("applied")
    if topic == "shop/redact":
        translate.shop_redaction(payload)
        privacy_store.redact_shop(conn, row.shop_id, row.id)
        return Result("applied")
    if topic == "app/uninstalled":
        translate.app_uninstalled(payload)
        return Result(privacy_store.mark_uninstalled(conn, row.shop_id, notified_at))
    if topic == "bulk_operations/finish":
        # Recorded where the bulk import jobs (services/jobs/initial_load.py) look while they wait:
        # job_state, namespace the topic, key the operation's gid. Polling still decides the outcome.
        operation = payload.get("admin_graphql_api_id") if isinstance(payload, dict) else None
        if not isinstance(operation, str) or not operation.startswith("gid://shopify/BulkOperation/"):
            raise InvalidRecord("admin_graphql_api_id", "expected the id of a bulk operation "
                                "(gid://shopify/BulkOperation/...)")
        finish = {k: payload.get(k) for k in ("status", "error_code", "completed_at")}
        upsert(conn, job_state, dict(job=topic, shop_id=row.shop_id, key=operation[:100],
                                     value=orjson.dumps(finish).decode()),
               keys=("job", "shop_id", "key"), update=("value",))
        return Result("recorded")
    raise AssertionError(f"unsupported topic {topic!r} reached the processor")  # receivers mark these


def _apply_refund(conn: Connection, row: Any, refund: Refund) -> str:
    outcome = store.apply_refund(conn, row.shop_id, refund, row.id)
    if outcome == "applied":
        order_sync.after_refund(conn, row.shop_id, refund)
    return outcome


def describe(row: Any) -> str:
    """Names the record for a person: ``orders/create order #1001 (Shopify id 123)`` when it can."""
    try:
        payload = orjson.loads(row.payload)
    except orjson.JSONDecodeError:
        payload = None
    if isinstance(payload, dict) and row.topic in ORDER_TOPICS:
        name = payload.get("name")
        return f"{row.topic} order {name + ' ' if isinstance(name, str) else ''}(Shopify id {payload.get('id')})"
    return f"{row.topic} record {row.identity}"


def backoff(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff with full jitter."""
    return random.uniform(0, min(cap, base * (2 ** max(0, attempt - 1))))


def _read_for_batch(row: Any) -> tuple[new_orders.Key | None, new_orders.NewOrder | None]:
    """Parse a record once for the batch path: the order it is about (order records, edits and refunds),
    and the record as a new order if it can be one (None when the per-record path must judge it: not an
    order, invalid - that path reports the error -, or cancelled already)."""
    try:
        payload = orjson.loads(row.payload)
        if row.topic == "orders/edited":
            return (row.shop_id, translate.order_edit(payload).order_id), None
        if row.topic == "refunds/create":
            return (row.shop_id, translate.refund(payload, sent_at(row)).order_id), None
        if row.topic not in ORDER_TOPICS:
            return None, None
        order = translate.order(payload, sent_at(row))
    except Exception:
        return None, None
    key = (row.shop_id, order.shopify_id)
    if order.refunds:  # its refunds are applied one by one, with their returns
        return key, None
    try:
        validate_order(order, known_currency=known_currency, known_country=known_country)
    except Exception:
        return key, None
    if order.status is OrderStatus.CANCELLED:
        return key, None
    return key, new_orders.NewOrder(row.shop_id, order, row.id)


class Processor:
    """``bulk_new_orders=False`` keeps every record on the per-record path (to compare the two)."""

    def __init__(self, db: Database, *, batch_size: int = 100, max_attempts: int = 8,
                 backoff_base: float = 1.0, backoff_max: float = 300.0,
                 limiter: SharedRateLimiter | None = None, bulk_new_orders: bool = True) -> None:
        self.db = db
        self.bulk_new_orders = bulk_new_orders
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.limiter = limiter or SharedRateLimiter(db)
        self._shop_domains: dict[int, str] = {}

    def run_once(self) -> tuple[int, float]:
        """Process one batch. Returns (records processed, seconds to wait when nothing could be done)."""
        with self.db.read() as conn:
            if not inbox.has_due(conn):
                return 0, 0.5
            store_dest = dest_store.get(conn, dest_store.STORE)
        if store_dest is None:
            with self.db.write() as conn:
                store_dest = dest_store.ensure_store(conn)
        granted, wait = self.limiter.take(store_dest.bucket, self.batch_size,
                                          rate=store_dest.rate_per_second, burst=store_dest.burst)
        if granted == 0:
            return 0, min(wait, 1.0)
        done = self._process_batch(granted)
        self.limiter.give_back(store_dest.bucket, granted - done, burst=store_dest.burst)
        return done, 0.0 if done else 0.2

    def _process_batch(self, limit: int) -> int:
        with self.db.write() as conn:
            rows = inbox.claim(conn, limit=limit)
            if not rows:
                return 0
            http = dest_store.http_destinations(conn)
            rest = self._store_new_orders(conn, rows, http) if self.bulk_new_orders else rows
            for row in rest:
                self._process_one(conn, row, http)
            topics: dict[str, int] = {}
            for row in rows:
                topics[row.topic] = topics.get(row.topic, 0) + 1
            traffic.add(conn, traffic.PROCESSED, topics, utcnow())  # the dashboard's processing rate
        return len(rows)

    def _store_new_orders(self, conn: Connection, rows: list[Any], http: list[dest_store.Destination]) -> list[Any]:
        """Store the batch's first versions of unknown orders together; returns the records left to
        the per-record path (everything else, and everything if the batch write fails)."""
        candidates: dict[new_orders.Key, tuple[Any, new_orders.NewOrder]] = {}
        mentioned: set[new_orders.Key] = set()  # orders other records of the batch change
        for row in rows:
            key, new = _read_for_batch(row)
            if new is not None and new.key not in candidates:  # a second version of it goes per record
                candidates[new.key] = (row, new)
            elif key is not None:
                mentioned.add(key)
        # An edit or refund of a new order in the same batch keeps that order on the per-record path,
        # so the records of one order apply in the order they arrived.
        keys = [k for k in candidates if k not in mentioned]
        unknown = new_orders.unknown(conn, keys) if keys else set()
        chosen = [candidates[k] for k in keys if k in unknown]
        if not chosen:
            return rows
        savepoint = conn.begin_nested()
        try:
            pks = new_orders.insert_all(conn, [new for _, new in chosen])
            order_sync.after_ingest_new(conn, list(pks.values()))
            for row, new in chosen:
                if http:
                    self._enqueue(conn, row, ("order.created", new.order), http)
            inbox.finish_many(conn, [row.id for row, _ in chosen], status="done", outcome="applied")
            for row, _ in chosen:
                if row.last_error is not None:
                    error_log.resolve(conn, "inbox", row.id)
            savepoint.commit()
        except Exception as exc:  # e.g. another process stored one of them meanwhile: go record by record
            savepoint.rollback()
            log.info("new_orders_batch_fell_back", records=len(chosen), error=f"{type(exc).__name__}: {exc}")
            return rows
        for row, _ in chosen:
            INBOX_PROCESSED.labels(row.topic, "applied").inc()
        done = {row.id for row, _ in chosen}
        return [row for row in rows if row.id not in done]

    def _process_one(self, conn: Connection, row: Any, http: list[dest_store.Destination]) -> None:
        savepoint = conn.begin_nested()
        try:
            result = handle(conn, row)
            if result.event and http:
                self._enqueue(conn, row, result.event, http)
            inbox.finish(conn, row.id, status="done", outcome=result.outcome)
            if row.last_error is not None:
                error_log.resolve(conn, "inbox", row.id)
            savepoint.commit()
            INBOX_PROCESSED.labels(row.topic, result.outcome).inc()
        except InvalidRecord as exc:
            savepoint.rollback()
            self._fail(conn, row, "validation", str(exc), exc.field)
        except (DataError, OverflowError) as exc:  # a value the database cannot hold: no retry will help
            savepoint.rollback()
            self._fail(conn, row, "invalid_data", f"the database refused a value: {type(exc).__name__}: "
                                                  f"{str(exc).splitlines()[0][:300]}", None)
        except Exception as exc:  # a bug or a passing database problem: retry, then park
            savepoint.rollback()
            message = f"{type(exc).__name__}: {exc}"
            log.warning("inbox_record_failed", inbox_id=row.id, topic=row.topic, error=message)
            if row.attempts + 1 >= self.max_attempts:
                self._fail(conn, row, "retries_exhausted", message, None)
            else:
                inbox.retry_later(conn, row.id, error=message,
                                  delay_seconds=backoff(row.attempts + 1, self.backoff_base, self.backoff_max))
                INBOX_RETRIED.inc()

    def _fail(self, conn: Connection, row: Any, kind: str, message: str, field: str | None) -> None:
        inbox.finish(conn, row.id, status="failed", outcome=kind, error=message)
        error_log.record(conn, error_log.Failure(
            record_type="inbox", record_id=row.id, shop_id=row.shop_id, topic=row.topic, source=row.source,
            kind=kind, error=f"{describe(row)}: {message}", field=field, payload=row.payload))
        INBOX_PROCESSED.labels(row.topic, "failed").inc()
        ERRORS_LOGGED.labels(kind).inc()
        log.info("inbox_record_to_error_log", inbox_id=row.id, topic=row.topic, kind=kind, field=field)

    def _domain(self, conn: Connection, shop_id: int) -> str:
        if shop_id not in self._shop_domains:
            shop = by_id(conn, shop_id)
            self._shop_domains[shop_id] = shop.domain if shop else str(shop_id)
        return self._shop_domains[shop_id]

    def _enqueue(self, conn: Connection, row: Any, event: tuple[str, Any],
                 http: list[dest_store.Destination]) -> None:
        now = utcnow()
        ev_id = event_id(row.identity, row.shop_id)
        kind, data = event
        # Amounts of a record that does not carry its currency (a refund, a transaction) are the order's.
        currency = getattr(data, "currency", None) or store.order_currency(conn, row.shop_id,
                                                                           getattr(data, "order_id", None))
        body = envelope(ev_id, kind, self._domain(conn, row.shop_id), row.topic, sent_at(row), data, currency)
        for dest in http:  # unique per (destination, inbox record): a reprocessed record is not sent twice
            upsert(conn, deliveries, dict(
                destination_id=dest.id, inbox_id=row.id, event_id=ev_id, topic=kind, payload=body,
                status="pending", attempts=0, available_at=now, created_at=now),
                keys=("destination_id", "inbox_id"))

