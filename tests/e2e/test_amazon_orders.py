"""Amazon orders in, end to end against the SP-API simulator: the import job polls and stores each order
version once, the processor applies it through the Amazon translator, and bad orders reach the error log."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select

from orderhub.adapters.amazon.client import forget_tokens
from orderhub.adapters.amazon.orders import inbox_entry
from orderhub.adapters.store import accounts, error_log, job_store
from orderhub.adapters.store.accounts import Account
from orderhub.adapters.store.inbox import InboxEntry, insert_entries
from orderhub.adapters.store.schema import customers, inbox, order_addresses, order_items, orders
from orderhub.bootstrap import Hub
from orderhub.services.jobs.amazon_jobs import IMPORT_JOB, WATERMARK, import_orders
from orderhub.simulators.amazon import defaults
from orderhub.simulators.amazon.server import start_in_thread
from tests.support import drain

pytestmark = pytest.mark.timeout(180)


@dataclass
class Sim:
    url: str
    control: httpx.Client

    def later(self, seconds: float = 200) -> None:
        """Past getOrders' visibility delay (120 s of the simulator's clock)."""
        assert self.control.post("/_sim/clock", json={"advance": seconds}).status_code == 200

    def post(self, path: str, body: dict[str, Any]) -> Any:
        answer = self.control.post(path, json=body)
        assert answer.status_code < 300, answer.text
        return answer.json()

    def get(self, path: str) -> Any:
        return self.control.get(path).json()


@contextmanager
def running_simulator() -> Iterator[Sim]:
    """An SP-API simulator on loopback, and a client of its control API."""
    _simulator, url, stop = start_in_thread(seed=11)
    forget_tokens()  # tokens of an earlier test's simulator mean nothing to this one
    try:
        with httpx.Client(base_url=url, timeout=30) as control:
            yield Sim(url, control)
    finally:
        stop()
        forget_tokens()


@pytest.fixture
def amazon_sim() -> Iterator[Sim]:
    with running_simulator() as sim:
        yield sim


def add_account(hub: Hub, sim: Sim, name: str = "amazon-us", **changes: str) -> Account:
    settings = {"marketplace_id": defaults.DEFAULT_MARKETPLACE_ID, "seller_id": defaults.DEFAULT_SELLER_ID,
                "client_id": defaults.DEFAULT_CLIENT_ID, "endpoint": sim.url,
                "lwa_endpoint": f"{sim.url}/auth/o2/token"}
    secrets = {"client_secret": defaults.DEFAULT_CLIENT_SECRET, "refresh_token": defaults.DEFAULT_REFRESH_TOKEN}
    for key, value in changes.items():
        (secrets if key in secrets else settings)[key] = value
    with hub.db.write() as conn:
        accounts.add(conn, "amazon", name, settings, secrets)
        found = accounts.get(conn, name)
    assert found is not None
    return found


def stored_orders(hub: Hub, account: Account) -> dict[str, Any]:
    with hub.db.read() as conn:
        rows = conn.execute(select(orders).where(orders.c.shop_id == account.id)).all()
    return {r.shopify_id: r for r in rows}


def lines_of(hub: Hub, order_id: int) -> list[Any]:
    with hub.db.read() as conn:
        return conn.execute(select(order_items).where(order_items.c.order_id == order_id)
                            .order_by(order_items.c.shopify_id)).all()


def test_polled_orders_are_stored_with_lines_totals_buyers_and_statuses(hub: Hub, amazon_sim: Sim) -> None:
    account = add_account(hub, amazon_sim)
    made = amazon_sim.post("/_sim/orders", {"count": 10})["orders"]  # one of each kind the generator makes
    amazon_sim.later()
    stats = import_orders(hub, account, {})
    assert (stats["fetched"], stats["stored"], stats["duplicates"]) == (10, 10, 0)
    drain(hub)
    found = stored_orders(hub, account)
    assert sorted(found) == sorted(v["order"]["AmazonOrderId"] for v in made)
    for view in made:
        amazon, row = view["order"], found[view["order"]["AmazonOrderId"]]
        if "OrderTotal" in amazon:
            assert row.total_price == Decimal(amazon["OrderTotal"]["Amount"]), amazon["AmazonOrderId"]
        assert row.currency == "USD" and row.ship_by.isoformat().startswith(amazon["LatestShipDate"][:19])
        assert row.deliver_by.isoformat().startswith(amazon["LatestDeliveryDate"][:19])
        lines = lines_of(hub, row.id)
        assert [(li.shopify_id, li.sku, li.title, li.quantity) for li in lines] == sorted(
            (i["OrderItemId"], i["SellerSKU"], i["Title"], i["QuantityOrdered"]) for i in view["items"])
        for line, item in zip(lines, sorted(view["items"], key=lambda i: i["OrderItemId"]), strict=True):
            assert line.price * line.quantity == Decimal(item["ItemPrice"]["Amount"])
            assert line.tax == Decimal(item["ItemTax"]["Amount"])
        status = amazon["OrderStatus"]
        assert row.source_financial_status == {"Pending": "pending", "Canceled": "voided"}.get(status, "paid")
        assert (row.cancelled_at is not None) == (status == "Canceled")
        assert row.fulfilled_by == ("channel" if amazon["FulfillmentChannel"] == "AFN" else None)
        with hub.db.read() as conn:
            address = conn.execute(select(order_addresses).where(order_addresses.c.order_id == row.id,
                                                                 order_addresses.c.kind == "shipping")).first()
            customer = conn.execute(select(customers).where(customers.c.id == row.customer_id)).first() \
                if row.customer_id else None
        if "BuyerInfo" in amazon:  # names and streets in the buyers' scripts, emoji included, as Amazon sent them
            assert customer is not None and customer.last_name == amazon["BuyerInfo"]["BuyerName"]
            assert row.email == amazon["BuyerInfo"]["BuyerEmail"]
            ship_to = amazon["ShippingAddress"]
            assert (address.name, address.address1, address.city, address.zip, address.country_code) == tuple(
                ship_to[k] for k in ("Name", "AddressLine1", "City", "PostalCode", "CountryCode"))
        else:  # Amazon withheld the buyer: a valid order without customer or address
            assert customer is None and address is None and row.email is None
    by_status = {r.source_status for r in found.values()}
    assert "cancelled" in by_status
    channel_rows = [r for r in found.values() if r.fulfilled_by == "channel"]
    assert [r.status for r in channel_rows] == ["by_channel"]
    gift = next(v for v in made if any(i.get("IsGift") == "true" for i in v["items"]))
    assert found[gift["order"]["AmazonOrderId"]].total_additional_fees == Decimal("3.99")

    amazon_sim.later(60)  # the next run re-reads its overlap: the same versions, stored once
    again = import_orders(hub, account, {})
    assert again["stored"] == 0 and again["duplicates"] == again["fetched"] >= 1
    with hub.db.read() as conn:
        assert len(conn.execute(select(inbox.c.id).where(inbox.c.shop_id == account.id)).all()) == 10
        watermark = job_store.time_watermark(conn, IMPORT_JOB, account.id, WATERMARK)
    assert watermark is not None and watermark.tzinfo is not None


def test_a_changed_order_is_updated_and_an_older_version_never_wins(hub: Hub, amazon_sim: Sim) -> None:
    account = add_account(hub, amazon_sim)
    spec = {"status": "Pending", "lines": [{"sku": "MUG-CAFE", "quantity": 2}, {"sku": "TSH-ORG-M", "quantity": 1}]}
    order_id = amazon_sim.post("/_sim/orders", {"orders": [spec]})["order_ids"][0]
    amazon_sim.later()
    import_orders(hub, account, {})
    drain(hub)
    assert stored_orders(hub, account)[order_id].source_financial_status == "pending"  # reserved, not released
    with hub.db.read() as conn:
        first = conn.execute(select(inbox.c.payload).where(inbox.c.shop_id == account.id)).scalar_one()

    amazon_sim.post(f"/_sim/orders/{order_id}/events", {"event": "authorize"})
    amazon_sim.later()
    assert import_orders(hub, account, {})["stored"] == 1
    drain(hub)
    row = stored_orders(hub, account)[order_id]
    assert (row.source_financial_status, row.payment_status) == ("paid", "paid")

    # The first version arrives again, late, under another identity: the newer version stays.
    insert_entries(hub.db, [InboxEntry(shop_id=account.id, source="poll", topic="amazon/order",
                                       identity="late-copy", payload=first)])
    drain(hub)
    assert stored_orders(hub, account)[order_id].source_financial_status == "paid"


def test_bad_orders_reach_the_error_log_with_the_field_named(hub: Hub, amazon_sim: Sim) -> None:
    account = add_account(hub, amazon_sim)
    view = amazon_sim.post("/_sim/orders", {"orders": [{"lines": [{"sku": "MUG-MSK", "quantity": 1}]}]})["orders"][0]
    good = dict(view["order"], OrderItems=view["items"])
    no_quantity = orjson.loads(orjson.dumps(good))
    del no_quantity["OrderItems"][0]["QuantityOrdered"]
    no_quantity["AmazonOrderId"] = "111-0000000-0000001"
    odd_status = dict(good, AmazonOrderId="111-0000000-0000002", OrderStatus="Lost")
    bad_money = orjson.loads(orjson.dumps(good))
    bad_money["AmazonOrderId"] = "111-0000000-0000003"
    bad_money["OrderItems"][0]["ItemPrice"]["Amount"] = "twelve"
    wrong_total = dict(good, AmazonOrderId="111-0000000-0000004",
                       OrderTotal={"CurrencyCode": "USD", "Amount": "0.01"})
    insert_entries(hub.db, [inbox_entry(account.id, p) for p in (no_quantity, odd_status, bad_money, wrong_total)])
    drain(hub)
    with hub.db.read() as conn:
        entries = error_log.list_entries(conn, error_log.ErrorFilter(status="open"))
    fields = {e.field: e.error for e in entries}
    assert set(fields) == {"OrderItems[0].QuantityOrdered", "OrderStatus", "OrderItems[0].ItemPrice.Amount",
                           "total_price"}
    assert all(error.startswith("Amazon order 111-0000000-000000") for error in fields.values())
    assert stored_orders(hub, account) == {}
