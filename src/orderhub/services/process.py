"""The inbox processor: read inbound records with their channel's translator and apply them, at the
store's intake rate.

One transaction per batch takes the records, applies each (in its own savepoint),
writes outbound deliveries for HTTP destinations and marks the records done, so a
record is applied exactly once however many workers run and whenever one dies.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
import structlog
from sqlalchemy import Connection
from sqlalchemy.exc import DataError

from orderhub.adapters.store import destinations as dest_store
from orderhub.adapters.store import error_log, inbox, new_orders, traffic
from orderhub.adapters.store import order_store as store
from orderhub.adapters.store import shops as shop_store
from orderhub.adapters.store.db import Database, upsert
from orderhub.adapters.store.ratelimit import SharedRateLimiter
from orderhub.adapters.store.schema import deliveries
from orderhub.clock import utcnow
from orderhub.domain.channels import Inbound, Translator, UnknownTopic
from orderhub.domain.errors import InvalidRecord
from orderhub.domain.events import check_destination_event
from orderhub.domain.model import Order, OrderEdit, OrderStatus, Refund
from orderhub.metrics import ERRORS_LOGGED, INBOX_PROCESSED, INBOX_RETRIED
from orderhub.services import identify, inbound, order_sync, source_channels
from orderhub.services.inbound import Result

log = structlog.get_logger(__name__)


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


def read(row: Any, translator: Translator) -> Inbound:
    """The canonical record an inbox record stands for. Raises InvalidRecord when it cannot be read."""
    payload = identify.parsed_payload(row)
    if payload is identify.UNREAD:
        try:
            payload = orjson.loads(row.payload)
        except orjson.JSONDecodeError as exc:
            raise InvalidRecord(None, f"payload is not valid JSON: {exc}") from None
    try:
        return translator.translate(row.topic, payload, sent_at(row))
    except UnknownTopic as exc:
        raise InvalidRecord(None, str(exc)) from None


def handle(conn: Connection, row: Any, translator: Translator) -> Result:
    """Apply one inbox record. Raises InvalidRecord for records that can never apply as they are."""
    return inbound.apply(conn, inbound.Source(row.shop_id, row.id, sent_at(row)), read(row, translator))


def describe(row: Any, translator: Translator) -> str:
    """Names the record for a person: ``orders/create order #1001 (Shopify id 123)`` when it can."""
    try:
        payload = orjson.loads(row.payload)
    except orjson.JSONDecodeError:
        payload = None
    return translator.describe(row.topic, payload) or f"{row.topic} record {row.identity}"


def backoff(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff with full jitter."""
    return random.uniform(0, min(cap, base * (2 ** max(0, attempt - 1))))


def _read_for_batch(row: Any, translator: Translator) -> tuple[new_orders.Key | None, new_orders.NewOrder | None]:
    """Read a record once for the batch path: the order it is about (orders, edits and refunds), and the
    record as a new order if it can be one (None when the per-record path must judge it: not an order,
    invalid - that path reports the error -, or cancelled already)."""
    try:
        record = read(row, translator)
    except Exception:
        return None, None
    if isinstance(record, OrderEdit | Refund):
        return (row.shop_id, record.order_id), None
    if not isinstance(record, Order):
        return None, None
    key = (row.shop_id, record.shopify_id)
    if record.refunds:  # its refunds are applied one by one, with their returns
        return key, None
    try:
        inbound.validate(record)
    except Exception:
        return key, None
    if record.status is OrderStatus.CANCELLED:
        return key, None
    return key, new_orders.NewOrder(row.shop_id, record, row.id)


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
        self._translators: dict[int, Translator] = {}

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
            claimed = inbox.claim(conn, limit=limit)
            if not claimed:
                return 0
            rows = identify.identify(conn, claimed)  # the webhooks' content identity; repeats leave the batch
            self._translators.clear()  # read again per batch: a shop's new source-name mapping applies at once
            http = dest_store.http_destinations(conn)
            rest = self._store_new_orders(conn, rows, http) if self.bulk_new_orders else rows
            for row in rest:
                self._process_one(conn, row, http)
            topics: dict[str, int] = {}
            for row in claimed:  # repeats too: the dashboard's received and processed rates balance
                topics[row.topic] = topics.get(row.topic, 0) + 1
            traffic.add(conn, traffic.PROCESSED, topics, utcnow())  # the dashboard's processing rate
        return len(claimed)

    def process_records(self, conn: Connection, rows: list[Any]) -> None:
        """Apply records taken in the caller's write transaction (inbox.claim_ids), each in its own savepoint,
        outside the intake rate: a door that stores records and applies them at once (the POS sync API)."""
        http = dest_store.http_destinations(conn)
        for row in rows:
            self._process_one(conn, row, http)
        topics: dict[str, int] = {}
        for row in rows:
            topics[row.topic] = topics.get(row.topic, 0) + 1
        if topics:
            traffic.add(conn, traffic.PROCESSED, topics, utcnow())

    def _store_new_orders(self, conn: Connection, rows: list[Any], http: list[dest_store.Destination]) -> list[Any]:
        """Store the batch's first versions of unknown orders together; returns the records left to
        the per-record path (everything else, and everything if the batch write fails)."""
        candidates: dict[new_orders.Key, tuple[Any, new_orders.NewOrder]] = {}
        mentioned: set[new_orders.Key] = set()  # orders other records of the batch change
        for row in rows:
            key, new = _read_for_batch(row, self._translator(conn, row.shop_id))
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
            result = handle(conn, row, self._translator(conn, row.shop_id))
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
            kind=kind, error=f"{describe(row, self._translator(conn, row.shop_id))}: {message}", field=field,
            payload=row.payload))
        INBOX_PROCESSED.labels(row.topic, "failed").inc()
        ERRORS_LOGGED.labels(kind).inc()
        log.info("inbox_record_to_error_log", inbox_id=row.id, topic=row.topic, kind=kind, field=field)

    def _translator(self, conn: Connection, shop_id: int) -> Translator:
        """The translator of the kind of channel the record's account belongs to, with the account's
        mapping of source names to channels."""
        if shop_id not in self._translators:
            self._translators[shop_id] = source_channels.translator_for(conn, shop_id)
        return self._translators[shop_id]

    def _domain(self, conn: Connection, shop_id: int) -> str:
        if shop_id not in self._shop_domains:
            self._shop_domains[shop_id] = shop_store.name_of(conn, shop_id) or str(shop_id)
        return self._shop_domains[shop_id]

    def announce(self, conn: Connection, applied: Sequence[tuple[Any, tuple[str, Any]]]) -> None:
        """Owe every HTTP destination the events of records applied outside :meth:`process_records`,
        (record, event) each."""
        http = dest_store.http_destinations(conn) if applied else []
        if not http:
            return
        for row, event in applied:
            self._enqueue(conn, row, event, http)

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

