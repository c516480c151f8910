"""The listings and drift bookkeeping on its own, with channels that answer from memory: which SKUs orderhub
knows, listing by location, unlisting, a drift found while a new value comes (no double send), a kind
that cannot be read back, and error-log entries that cannot be retried by mistake."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, update

from orderhub.adapters.store import accounts as account_store
from orderhub.adapters.store import channel_stock, error_log, facilities, shops
from orderhub.adapters.store.schema import shops as shops_table
from orderhub.adapters.store.schema import variants
from orderhub.bootstrap import Hub
from orderhub.domain.channels import ChannelListing, ListingKey
from orderhub.services import errors
from orderhub.services import inventory as inventory_service
from orderhub.services.channel_listings import sync_account
from orderhub.services.jobs.channel_jobs import CHECK_STOCK, SYNC_LISTINGS
from orderhub.services.jobs.manager import JobManager
from orderhub.services.stock_drift import check_account


def _account(hub: Hub) -> account_store.Account:
    with hub.db.write() as conn:
        added = account_store.add(conn, "walmart", "market-1", {"client_id": "c", "endpoint": "http://127.0.0.1:9"},
                                  {"client_secret": "s"})
        facilities.add(conn, "WH-1", "Lager", "warehouse")
        for sku in ("SKU-A", "SKU-B"):
            inventory_service.adjust(conn, sku, "WH-1", actor="test", reason="received", delta=5)
    return added


class Pages:
    def __init__(self, *pages: list[ChannelListing]) -> None:
        self.pages = pages

    def read_listings(self) -> Iterator[list[ChannelListing]]:
        yield from self.pages


def test_known_skus_are_stock_or_live_products_and_listings_go_by_location(hub: Hub) -> None:
    account = _account(hub)
    with hub.db.write() as conn:
        shop = shops.add(conn, "known.myshopify.com", "secret")
        conn.execute(insert(variants), [
            {"shop_id": shop.id, "product_shopify_id": "1", "shopify_id": "11", "sku": "VAR-LIVE", "deleted_at": None},
            {"shop_id": shop.id, "product_shopify_id": "1", "shopify_id": "12", "sku": "VAR-GONE",
             "deleted_at": datetime(2026, 1, 1, tzinfo=UTC)}])
        assert channel_stock.known_skus(conn, ["SKU-A", "VAR-LIVE", "VAR-GONE", "NEW"]) == {"SKU-A", "VAR-LIVE"}
    report = sync_account(hub.db, account, Pages(
        [ChannelListing("SKU-A", "REF-A"), ChannelListing("SKU-A", "REF-A2", "NODE-2")],
        [ChannelListing("VAR-LIVE", None), ChannelListing("NEW", "REF-N")]))
    assert (report.read, report.listed, report.unknown, report.reported) == (4, 3, 1, 1)
    with hub.db.read() as conn:
        rows = [(r["sku"], r["location"], r["channel_ref"]) for r in channel_stock.listed(conn, account.id)]
    assert rows == [("SKU-A", "", "REF-A"), ("SKU-A", "NODE-2", "REF-A2"), ("VAR-LIVE", "", None)]
    with hub.db.write() as conn:
        assert channel_stock.unlist(conn, account.id, ["SKU-A"], location="NODE-2") == 1
        assert channel_stock.unlist(conn, account.id, ["SKU-A", "VAR-LIVE"]) == 2
        assert channel_stock.listed(conn, account.id) == [] and channel_stock.pending_count(conn, account.id) == 0


class Shows:
    """A channel showing fixed quantities; ``during`` runs while it is read (another process at work)."""

    def __init__(self, shown: dict[tuple[str, str], int], during: object = None) -> None:
        self.shown, self.during, self.asked = shown, during, []

    def read_stock(self, listings: Sequence[ListingKey]) -> dict[tuple[str, str], int]:
        self.asked += list(listings)
        if callable(self.during):
            self.during()
        return dict(self.shown)


def _sent(hub: Hub, account_id: int) -> None:
    with hub.db.write() as conn:
        for item in channel_stock.claim(conn, limit=10)[account_id]:
            channel_stock.sent_many(conn, [item])


def test_a_drift_found_while_a_new_value_comes_is_left_to_the_pusher(hub: Hub) -> None:
    account = _account(hub)
    with hub.db.write() as conn:
        channel_stock.list_skus(conn, account.id, ["SKU-A", "SKU-B"])
    _sent(hub, account.id)

    def sale() -> None:  # SKU-A moves while the channel is read: its new value is pending anyway
        with hub.db.write() as conn:
            inventory_service.adjust(conn, "SKU-A", "WH-1", actor="test", reason="damaged", delta=-1)

    channel = Shows({("SKU-A", ""): 1, ("SKU-B", ""): 9}, during=sale)
    report = check_account(hub.db, account, channel, run_id=41)
    assert sorted(channel.asked) == [("SKU-A", "", None), ("SKU-B", "", None)]
    assert (report.checked, report.drifted, report.pending, report.in_step) == (2, 1, 1, 0)
    assert [(d.sku, d.shown, d.sent) for d in report.found["market-1"]] == [("SKU-B", 9, 5)]
    with hub.db.read() as conn:
        rows = {r["sku"]: r for r in channel_stock.listed(conn, account.id)}
        entry = error_log.get(conn, report.entries[0])
    assert rows["SKU-A"]["wanted"] == 4 and rows["SKU-A"]["last_error"] is None  # a new value, not a drift
    assert rows["SKU-B"]["pending"] and "showing 9, not the 5 it took" in rows["SKU-B"]["last_error"]
    assert entry.job_run_id == 41 and "SKU-B (showed 9, sent 5)" in entry.error
    # Only what was taken is read: pending listings are the pusher's.
    second = Shows({})
    check_account(hub.db, account, second)
    assert second.asked == []

    # Neither kind of entry can be "retried" into some other queue by mistake.
    with pytest.raises(errors.NotRetryable, match="nothing to retry: dismiss"):
        errors.retry(hub.db, report.entries[0])


def test_a_kind_that_cannot_be_read_back_is_skipped_with_a_note(hub: Hub) -> None:
    account = _account(hub)
    with hub.db.write() as conn:
        conn.execute(update(shops_table).where(shops_table.c.id == account.id).values(kind="testmarket"))
    for job in (SYNC_LISTINGS, CHECK_STOCK):
        run = JobManager(hub).run_now(job, None, {"account": "market-1"})
        assert run.status == "succeeded" and run.stats["skipped"] == {
            "market-1": "orderhub cannot read what testmarket accounts show; skipped"}
    assert JobManager(hub).run_now(CHECK_STOCK, None, {"account": "nowhere"}).status == "failed"


def test_an_unknown_sku_entry_says_how_to_fix_it_rather_than_retrying(hub: Hub) -> None:
    account = _account(hub)
    sync_account(hub.db, account, Pages([ChannelListing("NEW", "REF-N")]))
    sync_account(hub.db, account, Pages([ChannelListing("NEW", "REF-N")]))  # reported once, not twice
    with hub.db.read() as conn:
        (entry,) = error_log.list_entries(conn, error_log.ErrorFilter(topic="walmart/listing"))
    with pytest.raises(errors.NotRetryable, match="run sync-channel-listings"):
        errors.retry(hub.db, entry.id)
