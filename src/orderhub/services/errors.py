"""Error-log use cases: retry (optionally with a corrected payload) and dismiss."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import update

from orderhub.adapters.store import channel_operations, channel_stock, error_log
from orderhub.adapters.store import subscriptions as subscription_store
from orderhub.adapters.store.db import Database
from orderhub.adapters.store.schema import deliveries, inbox
from orderhub.clock import utcnow


class NotRetryable(Exception):
    pass


FILE_ROW = "job_file_row"  # rows of files the file jobs read (see services/jobs/sftp_files.py)
BULK_ORDER = "bulk_order"  # orders a bulk import set aside (see services/jobs/initial_load.py)
INVOICE = "invoice"  # orders invoicing could not pass on (see services/invoicing/rejections.py)
INVOICE_TRANSFER = "invoice_transfer"  # transfer slips Retail Pro refused (see services/invoicing/send.py)
LISTING = "channel_listing"  # SKUs a channel lists and orderhub does not know (services/channel_listings.py)
STOCK_DRIFT = "channel_stock"  # listings whose channel showed another quantity (services/stock_drift.py)
STOCK_REFUSED = "stock_refused"  # listings whose channel refused their stock (services/stock_push.py)
# buyers' cancellation requests TikTok refused an answer to (services/jobs/tiktok_cancellations.py)
TIKTOK_CANCELLATION = "tiktok_cancel"  # (record_type holds 16 characters)
POS_SILENT = "pos_silent"  # store POS devices that have not synced for too long (services/pos_alerts.py)


def retry(db: Database, entry_id: int, payload: str | None = None, *, settings: Any = None) -> None:
    """Put the record back in its queue. ``payload`` replaces the stored one (must be JSON). ``settings``
    reach the services a retry calls at once (Retail Pro, for an order invoiced from an edited payload)."""
    if payload is not None:
        try:
            orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            raise NotRetryable(f"error {entry_id}: the new payload is not valid JSON ({exc})") from None
    with db.read() as conn:
        found = error_log.get(conn, entry_id)
    if found is not None and found.record_type == "reconciliation" and found.status in ("open", "retrying"):
        _retry_finding(db, entry_id, found.record_id, payload)
        return
    if found is not None and found.record_type == INVOICE and payload is not None and found.status == "open":
        _invoice_now(db, settings, entry_id, found.record_id, payload)
        return
    now = utcnow()
    with db.write() as conn:
        entry = error_log.get(conn, entry_id)
        if entry is None:
            raise LookupError(f"no error-log entry {entry_id}")
        if entry.status not in ("open", "retrying"):
            raise NotRetryable(f"error {entry_id} is {entry.status}; only open entries can be retried")
        if entry.record_type == "inbox":
            values = dict(status="pending", available_at=now, attempts=0)
            if payload is not None:
                values["payload"] = payload
            conn.execute(update(inbox).where(inbox.c.id == entry.record_id).values(**values))
        elif entry.record_type == BULK_ORDER:
            raise NotRetryable(f"error {entry_id} is an order a bulk import set aside ({entry.error}); import the "
                               "products it names (import-products-bulk), then run import-orders-bulk again: it "
                               "imports the order and resolves this entry")
        elif entry.record_type == FILE_ROW:
            raise NotRetryable(f"error {entry_id} is a row of a file job {entry.topic} read ({entry.error}); "
                               "correct it in a new file on the SFTP server for the next run, or dismiss this entry")
        elif entry.record_type == INVOICE:
            from orderhub.services.invoicing import retry as invoicing_retry  # it imports this module

            try:
                invoicing_retry.requeue_order(conn, entry.record_id)
            except invoicing_retry.RetryRefused as exc:
                raise NotRetryable(f"error {entry_id}: {exc}") from None
        elif entry.record_type == INVOICE_TRANSFER:
            from orderhub.services.invoicing import retry as invoicing_retry

            try:
                invoicing_retry.requeue_transfer(conn, entry.record_id, payload)
            except invoicing_retry.RetryRefused as exc:
                raise NotRetryable(f"error {entry_id}: {exc}") from None
        elif entry.record_type == LISTING:
            raise NotRetryable(f"error {entry_id} is a SKU a channel lists and orderhub does not know "
                               f"({entry.error}); add the product to orderhub and run sync-channel-listings (it "
                               "lists the SKU and resolves this entry), or dismiss this entry")
        elif entry.record_type == STOCK_DRIFT:
            raise NotRetryable(f"error {entry_id} records listings whose channel showed another quantity; orderhub "
                               "already sent its values again, so there is nothing to retry: dismiss this entry")
        elif entry.record_type == STOCK_REFUSED:
            if payload is not None:
                raise NotRetryable(f"error {entry_id} is a listing's stock; orderhub sends its latest value, "
                                   "which cannot be edited")
            listing = orjson.loads(entry.payload or "{}")
            if not channel_stock.due_now(conn, int(listing.get("account_id", 0)), str(listing.get("sku", "")),
                                         str(listing.get("location", ""))):
                raise NotRetryable(f"error {entry_id}: the listing has nothing left to send (its value was taken "
                                   "or it is no longer listed); dismiss this entry")
        elif entry.record_type == TIKTOK_CANCELLATION:
            if payload is not None:
                raise NotRetryable(f"error {entry_id} is a buyer's cancellation request; TikTok's request cannot "
                                   "be edited (`orderhub channel cancellation` decides it by hand)")
            # nothing to queue: the next decide-tiktok-cancellations run answers the request again
        elif entry.record_type == POS_SILENT:
            raise NotRetryable(f"error {entry_id} is a store's POS device that stopped syncing ({entry.error}); "
                               "nothing orderhub can send again: check-pos-devices resolves the entry when the "
                               "device syncs again, or once it is revoked (`orderhub device revoke`)")
        elif entry.record_type == channel_operations.RECORD_TYPE:
            if payload is not None:
                raise NotRetryable(f"error {entry_id} is an operation on a channel; it is sent as orderhub made it")
            if not channel_operations.requeue(conn, entry.record_id):
                raise NotRetryable(f"error {entry_id}: operation {entry.record_id} is not waiting; nothing to retry")
        elif entry.record_type == subscription_store.RECORD_TYPE:
            if payload is not None:
                raise NotRetryable(f"error {entry_id} is an outbound webhook; its event cannot be edited")
            if not subscription_store.requeue(conn, entry.record_id, error_log_id=entry_id):
                raise NotRetryable(f"error {entry_id}: delivery {entry.record_id} is being sent or was delivered; "
                                   "nothing to retry")
        else:
            if payload is not None:
                raise NotRetryable(f"error {entry_id} is an outbound delivery; its payload cannot be edited")
            conn.execute(update(deliveries).where(deliveries.c.id == entry.record_id).values(
                status="pending", available_at=now, attempts=0, locked_by=None, locked_until=None))
        error_log.mark_retrying(conn, entry_id, payload)


def _invoice_now(db: Database, settings: Any, entry_id: int, order_id: int, payload: str) -> None:
    """An order Retail Pro (or the transform) refused, with a corrected payload: invoice it now."""
    if settings is None:
        raise NotRetryable(f"error {entry_id}: invoicing an edited order needs the Retail Pro settings")
    from orderhub.services.invoicing import retry as invoicing_retry

    try:
        invoicing_retry.invoice_now(db, settings, order_id, payload)
    except invoicing_retry.RetryRefused as exc:
        raise NotRetryable(f"error {entry_id}: {exc}") from None
    with db.write() as conn:
        error_log.mark_retrying(conn, entry_id, payload)
        error_log.resolve(conn, INVOICE, order_id)


def _retry_finding(db: Database, entry_id: int, finding_id: int, payload: str | None) -> None:
    """A reconciliation finding: poll that order from Shopify again (HTTP, outside any transaction)."""
    from orderhub.services.reconcile import RetryRefused, retry_finding

    if payload is not None:
        raise NotRetryable(f"error {entry_id} is a reconciliation finding; Shopify's order is polled again, "
                           "not edited")
    try:
        retry_finding(db, finding_id)
    except RetryRefused as exc:
        raise NotRetryable(f"error {entry_id}: {exc}") from None
    with db.write() as conn:
        error_log.mark_retrying(conn, entry_id, None)


def retry_many(db: Database, flt: error_log.ErrorFilter) -> list[int]:
    with db.read() as conn:
        ids = [r.id for r in error_log.list_entries(conn, flt, limit=100_000)
               if r.status == "open"]
    for entry_id in ids:
        retry(db, entry_id)
    return ids


def dismiss(db: Database, entry_ids: Sequence[int], *, by: str, reason: str) -> int:
    if not reason.strip():
        raise ValueError("a dismissal needs a reason")
    with db.write() as conn:
        n = error_log.dismiss(conn, entry_ids, by=by, reason=reason.strip())
        # A dismissed outbound webhook is never sent; the later events of its key go ahead.
        subscription_store.dismiss_deliveries(conn, [
            e.record_id for e in error_log.list_entries(conn, error_log.ErrorFilter(ids=tuple(entry_ids)),
                                                      limit=len(entry_ids))
            if e.record_type == subscription_store.RECORD_TYPE and e.status == "dismissed"])
        return n
