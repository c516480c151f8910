"""Applying one canonical inbound record to the store, by what it is, whichever channel sent it.

The processor (services/process.py) reads a record with its channel's translator and hands the result
here; each kind of record has one applier, and none of them asks where the record came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
import pycountry
from sqlalchemy import Connection

from orderhub.adapters.store import job_store, privacy_store
from orderhub.adapters.store import order_store as store
from orderhub.adapters.store.db import upsert
from orderhub.adapters.store.schema import job_state
from orderhub.clock import utcnow
from orderhub.domain import money
from orderhub.domain.channels import Inbound
from orderhub.domain.customers import CustomerUpdate
from orderhub.domain.model import (
    AppUninstalled,
    CustomerDataRequest,
    CustomerRedaction,
    Freshness,
    InventoryLevel,
    JobSignal,
    Order,
    OrderEdit,
    Product,
    ProductDeletion,
    Refund,
    ShopRedaction,
    Transaction,
)
from orderhub.domain.store_sales import StoreSale
from orderhub.domain.validation import validate_order
from orderhub.services import order_sync

SIGNAL_GATHER = timedelta(seconds=1)
_CURRENCIES = frozenset(c.alpha_3 for c in pycountry.currencies)
_COUNTRIES = frozenset(c.alpha_2 for c in pycountry.countries) | {"XK"}  # Kosovo, as Shopify uses


def known_currency(code: str) -> bool:
    return code in _CURRENCIES


def known_country(code: str) -> bool:
    return code in _COUNTRIES


def validate(order: Order) -> None:
    """Raises InvalidRecord naming the field when the order cannot be stored as it is."""
    validate_order(order, known_currency=known_currency, known_country=known_country)


@dataclass
class Result:
    outcome: str
    event: tuple[str, Any] | None = None  # (event type, canonical data) for HTTP destinations


@dataclass(frozen=True)
class Source:
    """The inbox record a canonical record came from: its account, its id and when it was sent."""

    account_id: int
    inbox_id: int
    notified_at: datetime


def apply(conn: Connection, source: Source, record: Inbound) -> Result:
    """Apply ``record``; raises InvalidRecord for records that can never apply as they are."""
    account = source.account_id
    match record:
        case Order():
            return _order(conn, source, record)
        case OrderEdit():
            outcome = store.apply_order_edit(conn, account, record, source.inbox_id)
            if outcome == "applied":
                order_sync.after_edit(conn, account, record.order_id)
            return Result(outcome, ("order.edited", record) if outcome == "applied" else None)
        case Refund():
            outcome = apply_refund(conn, source, record)
            return Result(outcome, ("refund.created", record) if outcome == "applied" else None)
        case Transaction():
            # Payment status itself comes with the order's own versions; the transaction is kept on the
            # order's timeline, for the audit of who paid what when.
            currency = record.currency or store.order_currency(conn, account, record.order_id)
            store.add_order_event(conn, account, record.order_id, source.inbox_id, "transaction", {
                "transaction_id": record.shopify_id, "kind": record.kind, "status": record.status,
                "amount": money.show(record.amount, currency), "currency": record.currency,
                "gateway": record.gateway, "at": record.created_at.isoformat()})
            return Result("applied", ("order.transaction", record))
        case Product():
            fresh = store.apply_product(conn, account, record)
            applied = fresh in (Freshness.NEW, Freshness.NEWER)
            return Result("applied" if applied else fresh.value, ("product.updated", record) if applied else None)
        case ProductDeletion():
            outcome = store.delete_product(conn, account, record)
            return Result(outcome, ("product.deleted", record) if outcome == "applied" else None)
        case InventoryLevel():
            fresh = store.apply_inventory_level(conn, account, record)
            applied = fresh in (Freshness.NEW, Freshness.NEWER)
            return Result("applied" if applied else fresh.value,
                          ("inventory_level.updated", record) if applied else None)
        case CustomerRedaction():
            from orderhub.services.privacy import channel_requests  # it reaches the whole store: loaded when asked

            channel_requests.redact_customer(conn, account, record, source.inbox_id)
            return Result("applied")
        case CustomerDataRequest():
            from orderhub.services.privacy import channel_requests

            channel_requests.customer_data(conn, account, record, source.inbox_id)
            return Result("applied")
        case ShopRedaction():
            from orderhub.services.privacy import channel_requests

            channel_requests.redact_shop(conn, account, source.inbox_id)
            return Result("applied")
        case AppUninstalled():
            return Result(privacy_store.mark_uninstalled(conn, account, source.notified_at))
        case JobSignal():
            upsert(conn, job_state, dict(job=record.job, shop_id=account, key=record.key,
                                         value=orjson.dumps(record.value).decode()),
                   keys=("job", "shop_id", "key"), update=("value",))
            if record.run and job_store.waiting_run(conn, record.run, 0) is None:
                # the channel said something changed: read it now, not at the next scheduled run (a second on,
                # so the notifications of a burst are read together)
                job_store.queue(conn, job=record.run, shop_id=None, params="{}", trigger="signal",
                                available_at=utcnow() + SIGNAL_GATHER)
            return Result("recorded")
        case CustomerUpdate():
            from orderhub.services import customer_updates

            return customer_updates.apply(conn, source, record)
        case StoreSale():
            # Imported here: recording a store sale uses this module's Result and Source.
            from orderhub.services import store_sales

            return store_sales.apply(conn, source, record)
    raise TypeError(f"no applier for {type(record).__name__}")


def _order(conn: Connection, source: Source, order: Order) -> Result:
    validate(order)
    fresh = store.apply_order(conn, source.account_id, order, source.inbox_id)
    if fresh in (Freshness.NEW, Freshness.NEWER):
        order_sync.after_ingest(conn, source.account_id, order.shopify_id, fresh)
    # Refunds the body carries count once by id, whether or not this version of the order is news (an
    # older version can report a refund no other record did); they travel in the order's event.
    refunded = [r for r in order.refunds if apply_refund(conn, source, r) == "applied"]
    if fresh in (Freshness.NEW, Freshness.NEWER):
        return Result("applied", ("order.created" if fresh is Freshness.NEW else "order.updated", order))
    return Result("applied" if refunded else fresh.value)


def apply_refund(conn: Connection, source: Source, refund: Refund) -> str:
    outcome = store.apply_refund(conn, source.account_id, refund, source.inbox_id)
    if outcome == "applied":
        order_sync.after_refund(conn, source.account_id, refund)
    return outcome
