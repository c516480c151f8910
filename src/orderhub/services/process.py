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
from orderhub.adapters.store import error_log, inbox, order_locks, traffic
from orderhub.adapters.store import order_store as store
from orderhub.adapters.store import shops as shop_store
from orderhub.adapters.store.db import Database, upsert
from orderhub.adapters.store.ratelimit import SharedRateLimiter
from orderhub.adapters.store.schema import deliveries
from orderhub.clock import utcnow
from orderhub.domain.channels import Inbound, Translator, UnknownTopic
from orderhub.domain.errors import InvalidRecord
from orderhub.domain.events import check_destination_event
from orderhub.metrics import ERRORS_LOGGED, INBOX_PROCESSED, INBOX_RETRIED
from orderhub.services import identify, inbound, order_batches, source_channels
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


def handle(conn: Connection, row: Any, translator: Translator, record: Inbound | None = None) -> Result:
    """Apply one inbox record (``record``: what it was read as already, if it was). Raises InvalidRecord for
    records that can never apply as they are."""
    return inbound.apply(conn, inbound.Source(row.shop_id, row.id, sent_at(row)),
                         record if record is not None else read(row, translator))


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


class Processor:
    """``batch_paths=False`` keeps every record on the per-record path (to compare the two)."""

    def __init__(self, db: Database, *, batch_size: int = 100, max_attempts: int = 8,
                 backoff_base: float = 1.0, backoff_max: float = 300.0,
                 limiter: SharedRateLimiter | None = None, batch_paths: bool = True) -> None:
        self.db = db
        self.batch_paths = batch_paths
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.limiter = limiter or SharedRateLimiter(db)
        self._shop_domains: dict[int, str] = {}
        self._translators: dict[int, Translator] = {}
        self._read_as: dict[int, Inbound] = {}  # this batch's records as the batch paths read them
        self._full = False  # whether the last batch took all it could

    def run_once(self) -> tuple[int, float]:
        """Process one batch. Returns (records processed, seconds to wait when nothing could be done)."""
        if not self._full:  # after a full batch there is most likely more: no look first
            with self.db.read() as conn:
                if not inbox.has_due(conn):
                    return 0, 0.5
        if self.db.is_postgres:  # the intake bucket is locked only while tokens are taken, not for the batch
            with self.db.read() as conn:
                store_dest = dest_store.get(conn, dest_store.STORE)
            if store_dest is None:
                with self.db.write() as conn:
                    store_dest = dest_store.ensure_store(conn)
            bucket, rate, burst = store_dest.bucket, store_dest.rate_per_second, store_dest.burst
            granted, wait = self.limiter.take(bucket, self.batch_size, rate=rate, burst=burst)
            if granted == 0:
                self._full = False
                return 0, min(wait, 1.0)
            with self.db.write() as conn:
                done = self._process_batch(conn, granted)
            self.limiter.give_back(bucket, granted - done, burst=burst)
        else:  # one writer at a time: the tokens are taken in the batch's own transaction, one commit for all
            with self.db.write() as conn:
                store_dest = dest_store.get(conn, dest_store.STORE) or dest_store.ensure_store(conn)
                bucket, rate, burst = store_dest.bucket, store_dest.rate_per_second, store_dest.burst
                granted, wait = self.limiter.take_in(conn, bucket, self.batch_size, rate=rate, burst=burst)
                if granted == 0:
                    self._full = False
                    return 0, min(wait, 1.0)
                done = self._process_batch(conn, granted)
                self.limiter.give_back_in(conn, bucket, granted - done, burst=burst)
        self._full = done == self.batch_size
        return done, 0.0 if done else 0.2

    def _process_batch(self, conn: Connection, limit: int) -> int:
        claimed = inbox.claim(conn, limit=limit)
        if not claimed:
            return 0
        rows = identify.identify(conn, claimed)  # the webhooks' content identity; repeats leave the batch
        self._translators.clear()  # read again per batch: a shop's new source-name mapping applies at once
        self._read_as.clear()
        self._read_all(conn, rows)
        rows, waiting = self._ours(conn, rows)
        http = dest_store.http_destinations(conn)
        rest = rows
        if self.batch_paths:
            rest = self._apply_together(conn, rest, http, order_batches.NEW)
            while True:  # round after round: each takes the next record of each order, if a batch path can
                left = self._apply_together(conn, rest, http, order_batches.KNOWN)
                left = self._apply_together(conn, left, http, order_batches.REFUNDS)
                if len(left) == len(rest):
                    break
                rest = left
        for row in rest:
            self._process_one(conn, row, http)
        topics: dict[str, int] = {}
        for row in claimed:  # repeats too: the dashboard's received and processed rates balance
            if row.id not in waiting:
                topics[row.topic] = topics.get(row.topic, 0) + 1
        traffic.add(conn, traffic.PROCESSED, topics, utcnow())  # the dashboard's processing rate
        return len(claimed) - len(waiting)

    def _ours(self, conn: Connection, rows: list[Any]) -> tuple[list[Any], set[int]]:
        """The records this batch applies now, and the ids of those that stay pending: the records of an order
        another worker is applying (``order_locks``) wait for a later batch, so an order's records are applied by
        one worker at a time."""
        about = {row.id: order_batches.order_key(row, self._read_as.get(row.id)) for row in rows}
        held = order_locks.try_lock(conn, {key for key in about.values() if key is not None})
        waiting = {i for i, key in about.items() if key is not None and key not in held}
        return [row for row in rows if row.id not in waiting], waiting

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

    def _read_all(self, conn: Connection, rows: list[Any]) -> None:
        """Read each record once (the batch paths and the per-record path take it from there); a record that
        cannot be read is left to the per-record path, which reports it."""
        for row in rows:
            try:
                self._read_as[row.id] = read(row, self._translator(conn, row.shop_id))
            except Exception:
                continue

    def _apply_together(self, conn: Connection, rows: list[Any], http: list[dest_store.Destination],
                        path: order_batches.Path) -> list[Any]:
        """Apply what the batch ``path`` picks from ``rows`` together, in one savepoint (none when it picks
        nothing); returns the records left (everything, if the batch write fails)."""
        picked = path.pick(rows, self._read_as)
        if not picked:
            return rows
        savepoint = conn.begin_nested()
        try:
            applied = path.take(conn, rows, self._read_as, picked)
            for a in applied:
                if a.event and http:
                    self._enqueue(conn, a.row, a.event, http)
            by_outcome: dict[str, list[int]] = {}
            for a in applied:
                by_outcome.setdefault(a.outcome, []).append(a.row.id)
                if a.row.last_error is not None:
                    error_log.resolve(conn, "inbox", a.row.id)
            for outcome, ids in by_outcome.items():
                inbox.finish_many(conn, ids, status="done", outcome=outcome)
            savepoint.commit()
        except Exception as exc:  # e.g. another process stored one of them meanwhile: go record by record
            savepoint.rollback()
            log.info("order_batch_fell_back", path=path.name, records=len(rows),
                     error=f"{type(exc).__name__}: {exc}")
            return rows
        for a in applied:
            INBOX_PROCESSED.labels(a.row.topic, a.outcome).inc()
        done = {a.row.id for a in applied}
        return [row for row in rows if row.id not in done]

    def _process_one(self, conn: Connection, row: Any, http: list[dest_store.Destination]) -> None:
        savepoint = conn.begin_nested()
        try:
            result = handle(conn, row, self._translator(conn, row.shop_id), self._read_as.pop(row.id, None))
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

