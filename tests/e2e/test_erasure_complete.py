"""The proof of erasure: a person buys through Shopify (a webhook), Amazon (an order of the SP-API simulator's
shape, with the same phone, so it links) and a store's till (a POS sale with their loyalty id and e-mail); their
records make orders, an error-log entry, HTTP deliveries, outbox events, an invoice in Retail Pro (the simulator)
and files on a real SFTP server. An export holds each kind of thing; then they are erased, and every column of
every table (raw payloads and stored files included), every file on the SFTP server and the captured logs are
searched for their name, e-mail, phone (in several writings) and street: nothing is found, and the records the
law keeps are still there, under a pseudonym."""

from __future__ import annotations

import gzip
import io
import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select, update

from orderhub.adapters.amazon.orders import inbox_entry
from orderhub.adapters.store import (
    customer_links,
    destinations,
    facilities,
    inventory_store,
    order_store,
)
from orderhub.adapters.store.inbox import insert_entries
from orderhub.adapters.store.schema import (
    channel_operations,
    customer_profiles,
    invoice_calls,
    metadata,
    order_invoices,
    orders,
)
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.config import Settings
from orderhub.domain.inventory import LedgerReason
from orderhub.domain.model import Product, Variant
from orderhub.services.jobs.runner import run_job
from orderhub.services.privacy import erase_person
from orderhub.services.privacy.export import export_with_manifest
from orderhub.simulators.retailpro.simulator import Simulator
from orderhub.testing.server import ServerThread
from orderhub.testing.sftp_server import SftpServerInfo
from tests.e2e.test_amazon_orders import Sim, add_account, running_simulator
from tests.integration.invoicing import scene as shared
from tests.integration.invoicing.scene import UPC_1, UPC_2, place_and_ship, with_sftp_and_retailpro
from tests.pos_support import enrol, sale, sync
from tests.support import BIG_ID, add_shop, drain, order_payload, post_webhook, put

pytestmark = pytest.mark.timeout(300)

FIRST, LAST = "Zebediah", "Quillfeather"
EMAIL = "Zebediah.Quillfeather@example.org"
PHONE = "+1 415-555-0142"
STREET = "17 Marigold Crescent"
LOYALTY = "LOY-88231"
# Every way the person can be written down: what must be found nowhere after the erasure.
NEEDLES = (FIRST.lower(), LAST.lower(), EMAIL.lower(), "marigold crescent", "4155550142", "415-555-0142",
           "415 555 0142", "(415) 555-0142", "555-0142", "5550142", LOYALTY.lower())
sftp_server = shared.sftp_server  # fixtures, one each per test module
retailpro = shared.retailpro


@pytest.fixture
def settings(settings: Settings, sftp_server: SftpServerInfo, retailpro: tuple[Simulator, str]) -> Settings:
    return with_sftp_and_retailpro(settings, sftp_server, retailpro[1], timeout=5.0)


@pytest.fixture
def amazon() -> Iterator[Sim]:
    with running_simulator() as sim:
        yield sim


def the_order(order_id: int, **changes: Any) -> dict[str, Any]:
    """The person's Shopify order: their name, e-mail, phone and street wherever Shopify puts them."""
    address = {"first_name": FIRST, "last_name": LAST, "name": f"{FIRST} {LAST}", "address1": STREET,
               "address2": "Flat 2", "city": "Springfield", "zip": "62704", "province_code": "IL",
               "country": "United States", "country_code": "US", "phone": PHONE}
    return order_payload(
        order_id, **({"email": EMAIL, "phone": PHONE, "currency": "USD"} | changes),
        note=f"Ring {FIRST} at {STREET}", tags="vip",
        contact_email=EMAIL,
        customer={"id": 6_100_000_001, "email": EMAIL, "first_name": FIRST, "last_name": LAST, "phone": PHONE},
        shipping_address=address, billing_address=address,
        line_items=[{"id": order_id + 1, "sku": "SKU-1", "title": "T-shirt", "quantity": 1, "price": "10.00",
                     "variant_id": BIG_ID + 100, "tax_lines": [{"price": "1.00", "rate": 0.1, "title": "Tax"}]}],
        discount_codes=[], discount_applications=[])


def scene(hub: Hub, retailpro: tuple[Simulator, str]) -> tuple[Any, int]:
    sim = retailpro[0]
    sim.reset()
    sim.store.allow_negative = True
    sim.store.seed(["SVA32"], [UPC_1, UPC_2], [("SVA32", UPC_1, 50), ("SVA32", UPC_2, 50)])
    shop = add_shop(hub)
    with hub.db.write() as conn:
        store = facilities.add(conn, "STORE-1", "Springfield", "store", latitude=39.8, longitude=-89.6,
                               ship_from_store=True, pos_store_code="SVA32")
        for sku in ("SKU-1", "SKU-2"):
            inventory_store.set_on_hand(conn, sku, store, 50, reason=LedgerReason.RECEIVED, actor="test")
        order_store.apply_product(conn, shop.id, Product(
            shopify_id="900", updated_at=datetime(2026, 11, 1, tzinfo=timezone.utc), title="Tee",
            variants=(Variant(shopify_id=str(BIG_ID + 100), sku="SKU-1", barcode=UPC_1),
                      Variant(shopify_id=str(BIG_ID + 101), sku="SKU-2", barcode=UPC_2))))
        destinations.add_http(conn, "crm", "http://127.0.0.1:9/hooks", "whsec_dGVzdA==")
    return shop, store


def amazon_order(hub: Hub, sim: Sim) -> None:
    account = add_account(hub, sim)
    view = sim.post("/_sim/orders", {"orders": [{"lines": [{"sku": "SKU-2", "quantity": 1}]}]})["orders"][0]
    payload = dict(view["order"], OrderItems=view["items"])
    payload["BuyerInfo"] = {"BuyerEmail": "x7kq2ab@marketplace.amazon.com", "BuyerName": f"{FIRST} {LAST}"}
    payload["ShippingAddress"] = {"Name": f"{FIRST} {LAST}", "AddressLine1": STREET.upper(), "City": "SPRINGFIELD",
                                  "StateOrRegion": "IL", "PostalCode": "62704", "CountryCode": "US",
                                  "Phone": "415-555-0142", "AddressType": "Residential"}
    insert_entries(hub.db, [inbox_entry(account.id, payload)])


def ship_and_invoice(hub: Hub) -> tuple[int, int]:
    """Broker and ship the person's Shopify order, then feed, transform and send it to Retail Pro: orderhub's id
    of the order, and how many orders the send invoiced."""
    oid = place_and_ship(hub, BIG_ID, "TRACK-1")
    run_job(hub, "feed-completed-orders", None, {"compress": True})
    run_job(hub, "transform-invoices", None, {})
    return oid, run_job(hub, "send-invoices", None, {})[1]["invoiced"]


def database_hits(hub: Hub) -> list[str]:
    """Every column of every table that holds one of the needles (LargeBinary decoded, gzip inflated)."""
    found = []
    with hub.db.read() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table)):
                for column, value in row._mapping.items():
                    if isinstance(value, bytes):
                        value = gzip.decompress(value) if value[:2] == b"\x1f\x8b" else value
                        value = value.decode("utf-8", "replace")
                    text = str(value).lower() if value is not None else ""
                    hits = [n for n in NEEDLES if n in text]
                    if hits:
                        found.append(f"{table.name}.{column}: {hits}")
    return found


def sftp_hits(info: SftpServerInfo) -> list[str]:
    found = []
    for path in info.root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            text = (gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data).decode("utf-8", "replace").lower()
            hits = [n for n in NEEDLES if n in text]
            if hits:
                found.append(f"{path.relative_to(info.root)}: {hits}")
    return found


def test_an_erased_person_is_found_nowhere(hub: Hub, hub_server: ServerThread, sftp_server: SftpServerInfo,
                                           retailpro: tuple[Simulator, str], amazon: Sim,
                                           capfd: pytest.CaptureFixture[str]) -> None:
    shop, store = scene(hub, retailpro)
    base = hub_server.url
    # Shopify: an order by webhook, and a second one that cannot be stored as it is (the error log keeps it).
    with httpx.Client(timeout=30) as client:
        assert post_webhook(client, base, "orders/create", the_order(BIG_ID)).status_code == 200
        broken = the_order(BIG_ID + 50, currency="ZZZ")
        assert post_webhook(client, base, "orders/create", broken).status_code == 200
    drain(hub)
    # The order is brokered, shipped, fed to Retail Pro and invoiced: files on SFTP, calls logged.
    oid, invoiced = ship_and_invoice(hub)
    assert invoiced == 1
    # Amazon: the same phone, written another way, on an order of the simulator's shape.
    amazon_order(hub, amazon)
    # The store's till: a sale to a loyalty member with the same e-mail.
    token = enrol(hub, base, type("S", (), {"id": store, "code": "STORE-1"})())
    answer = sync(base, token, [sale([("SKU-2", 1)], customer={"loyalty_id": LOYALTY, "email": EMAIL})])
    assert answer.status_code in (200, 202), answer.text
    drain(hub)

    with hub.db.read() as conn:
        [profile] = customer_links.find(conn, email=EMAIL)
        identities = customer_links.identities_of(conn, profile)
    assert sorted(i.account_kind for i in identities) == ["amazon", "pos", "shopify"]
    before = database_hits(hub)
    assert any(h.startswith("error_log.payload") for h in before)
    assert any(h.startswith("deliveries.payload") for h in before)
    assert any(h.startswith("invoice_calls.request") for h in before)
    assert sftp_hits(sftp_server)

    # The export holds each kind of thing.
    archive, manifest = export_with_manifest(hub, profile, actor="test")
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        names = set(z.namelist())
        person = orjson.loads(z.read("person.json"))
        stored = orjson.loads(z.read("manifest.json"))
    assert stored == orjson.loads(orjson.dumps(manifest))
    assert len(person["identities"]) == 3
    for part in ("tables/orders.json", "tables/order_addresses.json", "tables/error_log.json",
                 "tables/deliveries.json", "tables/outbox.json", "tables/invoice_calls.json",
                 "tables/order_invoices.json", "tables/store_sales.json", "tables/order_events.json"):
        assert part in names, part
    assert any(n.startswith("raw/inbox/") for n in names)
    assert any(n.startswith("sftp/retailpro/") for n in names)
    assert stored["searched"]["sftp"]["files_read"] >= 3 and "inbox" in stored["searched"]["tables_by_content"]

    report = erase_person(hub, profile, actor="test", reason="the customer asked")

    assert database_hits(hub) == []
    assert sftp_hits(sftp_server) == []
    logged = capfd.readouterr()
    said = (logged.out + logged.err).lower()
    assert [n for n in NEEDLES if n in said] == []
    # What the law keeps is there, under the pseudonym.
    with hub.db.read() as conn:
        row = conn.execute(select(customer_profiles).where(customer_profiles.c.id == profile)).one()
        invoice = conn.execute(select(order_invoices).where(order_invoices.c.order_id == oid)).one()
        call = conn.execute(select(invoice_calls).where(invoice_calls.c.order_id == oid)).first()
        order = conn.execute(select(orders).where(orders.c.id == oid)).one()
        asked = conn.execute(select(channel_operations).where(channel_operations.c.kind == "erase")).all()
    assert row.erased_at is not None and row.pseudonym == report.pseudonym and row.pseudonym.startswith("P-")
    assert invoice.status == "invoiced" and invoice.sid
    assert report.pseudonym in call.request and orjson.loads(call.request)
    assert order.total_price == Decimal("16.00") and order.personal_data_erased_at is not None
    assert [orjson.loads(a.payload) for a in asked] == [{"customer_ref": "6100000001"}]
    told = {c["kind"]: c for c in report.to_dict()["channels"]}
    assert told["shopify"]["asked"] and not told["amazon"]["asked"] and "Seller Central" in told["amazon"]["how"]
    assert not told["pos"]["asked"] and "POS" in told["pos"]["how"]
    assert report.files and report.rows["inbox"] >= 3


def test_retention_takes_the_person_out_of_an_old_orders_files_and_keeps_its_invoice(
        hub: Hub, sftp_server: SftpServerInfo, retailpro: tuple[Simulator, str]) -> None:
    shop, _ = scene(hub, retailpro)
    put(hub, "orders/create", the_order(BIG_ID), shop_id=shop.id)
    drain(hub)
    oid, _invoiced = ship_and_invoice(hub)
    assert sftp_hits(sftp_server)
    with hub.db.write() as conn:
        conn.execute(update(orders).where(orders.c.id == oid).values(updated_at=utcnow() - timedelta(days=31)))
    _, stats = run_job(hub, "purge-personal-data", None, {"days": 30})
    assert stats["orders"] == 1 and len(stats["files"]) >= 3
    assert sftp_hits(sftp_server) == []
    with hub.db.read() as conn:
        order = conn.execute(select(orders).where(orders.c.id == oid)).one()
        call = conn.execute(select(invoice_calls).where(invoice_calls.c.order_id == oid)).first()
        pseudonym = conn.execute(select(customer_profiles.c.pseudonym)).scalar_one()
        invoice = conn.execute(select(order_invoices).where(order_invoices.c.order_id == oid)).one()
    assert order.email is None and invoice.status == "invoiced"
    assert pseudonym in call.request and EMAIL.lower() not in call.request.lower() and STREET not in call.request
