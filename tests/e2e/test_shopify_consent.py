"""Marketing consent across shops, end to end over HTTP against the Shopify simulator: a person who is a customer of
two Shopify shops and also bought on Amazon withdraws e-mail consent in one shop; Shopify's webhook reaches orderhub,
the person's history keeps the change with where it came from, and the other shop is told (its customer ends up
unsubscribed) - not the shop it came from, not Amazon, which keeps no consent. The other shop's echo changes nothing
and sends nothing back. An erasure orderhub owes a shop reaches Shopify's customerRequestDataErasure; one owed to a
channel with no customer API waits in the error log, saying so."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from orderhub.adapters.shopify import subscriptions
from orderhub.adapters.store import accounts, channel_operations, consents, customer_links, identities, shops
from orderhub.adapters.store.schema import channel_operations as operations
from orderhub.adapters.store.schema import customers, inbox
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.domain.customers import FALLBACK_RULE
from orderhub.domain.model import Customer
from orderhub.services.channel_ops import send_once
from orderhub.services.jobs.import_orders import admin_client
from orderhub.simulators.shopify.server import start_in_thread
from orderhub.testing.server import ServerThread
from tests.support import drain
from tests.versions import NEWEST, TEST_DAY

pytestmark = pytest.mark.timeout(180)

SHOP_A, SHOP_B = "laden-berlin.myshopify.com", "laden-wien.myshopify.com"
SECRETS = {SHOP_A: "berlin-secret-🔑", SHOP_B: "wien-secret-🗝️"}
TOKENS = {SHOP_A: "shpat_berlin", SHOP_B: "shpat_wien"}
TOPICS = ("customers/create", "customers/update", "customers_email_marketing_consent/update",
          "customers_marketing_consent/update")
AMAZON = {"marketplace_id": "A1PA6795UKMFR9", "seller_id": "A2", "client_id": "c", "endpoint": "http://127.0.0.1:9",
          "lwa_endpoint": "http://127.0.0.1:9/auth/o2/token"}
PHONE = "+4915123456789"
WITHDRAWN_AT = datetime(2026, 12, 1, 8, 15, tzinfo=UTC)


@pytest.fixture
def sim() -> Iterator[tuple[Any, httpx.Client]]:
    simulator, url, stop = start_in_thread(
        [{"domain": d, "api_secret": SECRETS[d], "access_token": TOKENS[d], "utc_offset": offset}
         for d, offset in ((SHOP_A, "+01:00"), (SHOP_B, "+01:00"))],
        seed=5, restore_rate=5000, retry_schedule=[0.1, 0.2, 0.4])
    simulator.store.clock.fixed_day = TEST_DAY
    with httpx.Client(base_url=url, timeout=30) as control:
        yield simulator, control
    stop()


def _settle(hub: Hub, control: httpx.Client) -> None:
    """Shopify's webhooks delivered, and orderhub's inbox worked off."""
    assert control.post("/_sim/wait_idle", json={"timeout": 20}).json()["idle"]
    drain(hub)


def _ops(hub: Hub) -> list[Any]:
    with hub.db.read() as conn:
        return conn.execute(select(operations).order_by(operations.c.id)).all()


def _identity(hub: Hub, account_id: int, ref: str) -> Any:
    with hub.db.read() as conn:
        return conn.execute(select(customers.c.id, customers.c.profile_id).where(
            customers.c.shop_id == account_id, customers.c.shopify_id == ref)).one()


def _anna(control: httpx.Client, shop: str, consent_at: str) -> dict[str, Any]:
    body = {"shop": shop, "email": "anna.schmidt@example.de", "phone": PHONE, "first_name": "Anna",
            "last_name": "Schmidt", "address": {"address1": "Friedrichstraße 43", "city": "Berlin", "zip": "10117",
                                                "country": "Germany", "country_code": "DE"},
            "email_marketing_consent": {"state": "subscribed", "opt_in_level": "single_opt_in",
                                        "consent_updated_at": consent_at}}
    response = control.post("/_sim/customers", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json()["customer"])


def test_consent_withdrawn_in_one_shop_reaches_the_other_and_nothing_else(
        hub: Hub, hub_server: ServerThread, sim: tuple[Any, httpx.Client]) -> None:
    simulator, control = sim
    with hub.db.write() as conn:
        found = {d: shops.add(conn, d, SECRETS[d], admin_url=f"{control.base_url}/shops/{d}",
                              access_token=TOKENS[d], api_version=NEWEST) for d in (SHOP_A, SHOP_B)}
        amazon = accounts.add(conn, "amazon", "amazon-de", AMAZON, {"client_secret": "s", "refresh_token": "r"})
    for shop in found.values():
        client = admin_client(shop)
        for topic in TOPICS:
            subscriptions.subscribe(client, topic, f"{hub_server.url}/webhooks/shopify")

    in_a = _anna(control, SHOP_A, "2026-11-02T10:00:00+01:00")
    in_b = _anna(control, SHOP_B, "2026-11-03T10:00:00+01:00")
    _settle(hub, control)
    send_once(hub)  # whatever linking the two shops owed each other
    _settle(hub, control)
    with hub.db.write() as conn:  # the Amazon buyer, stored as Amazon's orders store their buyers
        rule = customer_links.account_rules(conn, [amazon.id]).get(amazon.id, FALLBACK_RULE)
        key = (amazon.id, "amzn1.account.ANNA")
        identities.store(conn, {key: identities.row(amazon.id, Customer(
            "amzn1.account.ANNA", "x7k2p9@marketplace.amazon.de", "Anna", "Schmidt", PHONE), utcnow(),
            region="DE", rule=rule)})
    a, b = _identity(hub, found[SHOP_A].id, str(in_a["id"])), _identity(hub, found[SHOP_B].id, str(in_b["id"]))
    on_amazon = _identity(hub, amazon.id, "amzn1.account.ANNA")
    assert a.profile_id == b.profile_id == on_amazon.profile_id is not None
    before = {op.id for op in _ops(hub)}
    assert all(op.status == "done" for op in _ops(hub))

    response = control.post(f"/_sim/customers/{in_a['id']}/consent", json={
        "shop": SHOP_A, "channel": "email", "state": "unsubscribed", "consent_updated_at": "2026-12-01T09:15:00+01:00"})
    assert response.status_code == 200, response.text
    _settle(hub, control)

    with hub.db.read() as conn:
        history = consents.history(conn, a.profile_id)
        failed = conn.execute(select(inbox.c.topic, inbox.c.status).where(inbox.c.status != "done")).all()
    assert failed == []
    withdrawn = [r for r in history if r.state == "withdrawn"]
    assert [(r.purpose, r.scope, r.source, r.source_account, r.identity_id, r.occurred_at) for r in withdrawn] == [
        ("email_marketing", "*", "shopify", SHOP_A, a.id, WITHDRAWN_AT)]
    new = [op for op in _ops(hub) if op.id not in before]
    assert [(op.account_id, op.kind, op.customer_id, op.order_id, op.status) for op in new] == [
        (found[SHOP_B].id, "consent", b.id, None, "pending")]  # not shop A again, not Amazon
    assert new[0].reference == f"consent:{b.id}:email_marketing:{withdrawn[0].id}"

    report = send_once(hub)
    assert (report.done, report.refused) == (1, [])
    consent = simulator.store.shop(SHOP_B).customers[in_b["id"]]["email_marketing_consent"]
    assert (consent["state"], consent["consent_updated_at"]) == ("unsubscribed", "2026-12-01T09:15:00+01:00")

    _settle(hub, control)  # shop B's own webhooks about the change orderhub made: an echo
    with hub.db.read() as conn:
        assert len(consents.history(conn, a.profile_id)) == len(history)
    assert [op.id for op in _ops(hub) if op.id not in before] == [new[0].id]
    assert simulator.store.shop(SHOP_A).customers[in_a["id"]]["email_marketing_consent"]["state"] == "unsubscribed"


def test_an_erasure_reaches_shopify_and_one_for_amazon_waits_in_the_error_log(
        hub: Hub, hub_server: ServerThread, sim: tuple[Any, httpx.Client]) -> None:
    simulator, control = sim
    with hub.db.write() as conn:
        shop = shops.add(conn, SHOP_B, SECRETS[SHOP_B], admin_url=f"{control.base_url}/shops/{SHOP_B}",
                         access_token=TOKENS[SHOP_B], api_version=NEWEST)
        amazon = accounts.add(conn, "amazon", "amazon-de", AMAZON, {"client_secret": "s", "refresh_token": "r"})
    for topic in TOPICS:
        subscriptions.subscribe(admin_client(shop), topic, f"{hub_server.url}/webhooks/shopify")
    anna = _anna(control, SHOP_B, "2026-11-03T10:00:00+01:00")
    _settle(hub, control)
    ident = _identity(hub, shop.id, str(anna["id"]))
    with hub.db.write() as conn:
        channel_operations.enqueue(conn, shop.id, None, "erase", f"erase:{ident.id}",
                                   {"customer_ref": str(anna["id"])}, customer_id=ident.id)
        channel_operations.enqueue(conn, amazon.id, None, "erase", "erase:999999", {"customer_ref": "amzn1.account.X"})

    report = send_once(hub)
    assert report.done == 1
    assert simulator.store.shop(SHOP_B).erasure_requests[anna["id"]]
    [refused] = report.refused
    assert refused.startswith("amazon account amazon-de: erasure of customer amzn1.account.X: orderhub tells Amazon "
                              "nothing about its customers")
    assert sorted((op.account_id, op.kind, op.status) for op in _ops(hub)) == sorted(
        [(shop.id, "erase", "done"), (amazon.id, "erase", "failed")])
