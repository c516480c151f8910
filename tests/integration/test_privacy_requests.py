"""Privacy requests on the store: what a channel's request reaches (its own records only), sealed e-mails and
files kept with job runs, and the retention of completed orders' personal data."""

from __future__ import annotations

import gzip
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import select, update

from orderhub.adapters.store import customer_links, facilities, job_store, order_queries, pickup_store
from orderhub.adapters.store import secrets as secret_box
from orderhub.adapters.store.schema import (
    customer_profiles,
    customers,
    inbox,
    job_run_files,
    order_addresses,
    orders,
    pickup_mails,
    privacy_requests,
)
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.services.jobs.runner import run_job
from orderhub.services.privacy import erase_person
from orderhub.services.privacy.export import export_with_manifest
from tests.support import BIG_ID, add_shop, drain, order_payload, put

EMAIL = "wilhelmina.oakenshield@example.com"
PHONE = "+44 20 7946 0958"


def order_of(order_id: int, **changes: Any) -> dict[str, Any]:
    return order_payload(order_id, email=EMAIL, **({"customer": {
        "id": 7_700_000_001, "email": EMAIL, "first_name": "Wilhelmina", "last_name": "Oakenshield",
        "phone": PHONE}, "shipping_address": {
        "name": "Wilhelmina Oakenshield", "address1": "4 Bramble Lane", "city": "London", "zip": "E1 6AN",
        "country_code": "GB", "phone": PHONE}} | changes))


def order_row(hub: Hub, shopify_id: int) -> Any:
    with hub.db.read() as conn:
        return conn.execute(select(orders).where(orders.c.shopify_id == str(shopify_id))).one()


def texts(hub: Hub, account_id: int) -> str:
    with hub.db.read() as conn:
        return " ".join(r.payload for r in conn.execute(select(inbox).where(inbox.c.shop_id == account_id)))


def test_a_shops_redaction_reaches_only_that_shops_records(hub: Hub) -> None:
    shop = add_shop(hub)
    other = add_shop(hub, "other.myshopify.com").id
    put(hub, "orders/create", order_of(BIG_ID), shop_id=shop.id)
    elsewhere = {"id": 8_800_000_001, "email": EMAIL, "first_name": "Wilhelmina", "last_name": "Oakenshield"}
    put(hub, "orders/create", order_of(BIG_ID + 1000, customer=elsewhere), shop_id=other)
    drain(hub)
    put(hub, "customers/redact", {"shop_domain": shop.domain, "customer": {"id": 7_700_000_001, "email": EMAIL,
                                                                          "phone": PHONE},
                                  "orders_to_redact": [BIG_ID]}, shop_id=shop.id)
    drain(hub)
    assert "oakenshield" not in texts(hub, shop.id).lower() and EMAIL not in texts(hub, shop.id)
    assert "Oakenshield" in texts(hub, other) and EMAIL in texts(hub, other)
    assert order_row(hub, BIG_ID).email is None and order_row(hub, BIG_ID + 1000).email == EMAIL
    with hub.db.read() as conn:
        [request] = conn.execute(select(privacy_requests)).all()
        kept = orjson.loads(conn.execute(select(inbox.c.payload).where(inbox.c.topic == "customers/redact"))
                            .scalar_one())
    assert orjson.loads(request.result)["orders_redacted"] == [str(BIG_ID)]
    assert kept["customer"] == {"id": 7_700_000_001, "email": "[redacted]", "phone": "[redacted]"}


def test_a_shop_redaction_blanks_the_personal_fields_of_every_record_of_the_shop(hub: Hub) -> None:
    shop = add_shop(hub)
    put(hub, "orders/create", order_of(BIG_ID), shop_id=shop.id)
    put(hub, "orders/create", order_of(BIG_ID + 1, currency="ZZZ"), shop_id=shop.id)  # fails: the error log
    drain(hub)
    put(hub, "shop/redact", {"shop_id": 1, "shop_domain": shop.domain}, shop_id=shop.id)
    drain(hub)
    said = texts(hub, shop.id)
    for value in (EMAIL, "Oakenshield", "Bramble", "7946"):
        assert value not in said
    assert '"total_price":"38.20"' in said.replace(" ", "")  # what is not personal stays
    with hub.db.read() as conn:
        addresses = conn.execute(select(order_addresses)).all()
        result = orjson.loads(conn.execute(select(privacy_requests.c.result)).scalar_one())
    assert all(a.address1 is None and a.name == "[redacted]" for a in addresses)
    assert result == {"customers_redacted": 1, "orders_redacted": 1}


def test_sealed_mails_and_kept_files_lose_the_person_and_keep_everyone_else(hub: Hub) -> None:
    shop = add_shop(hub)
    put(hub, "orders/create", order_of(BIG_ID), shop_id=shop.id)
    drain(hub)
    other_line = b'{"order": "#77", "email": "someone@else.example", "name": "Ann Other"}\n'
    with hub.db.write() as conn:
        oid = order_queries.find_order_id(conn, str(BIG_ID))
        assert oid is not None
        store = facilities.add(conn, "LDN01", "London", "store")
        pickup = pickup_store.upsert_ready(conn, oid, store, {"status": "ready"})
        pickup_store.add_mail(conn, pickup_id=pickup, order_id=oid, kind="ready", recipient=EMAIL, locale="en",
                              subject="Your order is ready, Wilhelmina Oakenshield",
                              text="Dear Wilhelmina Oakenshield, code 1234", html="<p>Dear Wilhelmina Oakenshield</p>")
        run = job_store.queue(conn, job="import-fulfilment-history", shop_id=None, params="{}", trigger="manual",
                              available_at=utcnow())
        assert run is not None
        mine = f'{{"order": "#1", "email": "{EMAIL}", "note": "4 Bramble Lane"}}\n'.encode()
        job_store.put_file(conn, run, "failed", "failed.jsonl.gz", gzip.compress(other_line + mine))
        job_store.put_file(conn, run, "input", "other.csv", b"sku,email\nSKU-1,someone@else.example\n")
        [profile] = customer_links.find(conn, email=EMAIL)
    _, manifest = export_with_manifest(hub, profile, actor="test")
    assert manifest["found"]["pickup_mails"] == 1 and manifest["found"]["job_run_files"] == 1
    erase_person(hub, profile, actor="test")
    with hub.db.read() as conn:
        mail = conn.execute(select(pickup_mails)).one()
        files = {r.name: r for r in conn.execute(select(job_run_files))}
    assert mail.recipient is None and mail.status == "failed" and "Oakenshield" not in (mail.subject or "")
    assert mail.body_text is None  # an unsent mail to someone erased is never sent
    failed = gzip.decompress(files["failed.jsonl.gz"].content)
    assert failed.startswith(other_line) and EMAIL.encode() not in failed and b"Bramble" not in failed
    assert files["failed.jsonl.gz"].size == len(files["failed.jsonl.gz"].content)
    assert files["other.csv"].content == b"sku,email\nSKU-1,someone@else.example\n"


def test_a_sealed_body_kept_after_sending_is_scrubbed_and_sealed_again(hub: Hub) -> None:
    shop = add_shop(hub)
    put(hub, "orders/create", order_of(BIG_ID), shop_id=shop.id)
    drain(hub)
    with hub.db.write() as conn:
        oid = order_queries.find_order_id(conn, str(BIG_ID))
        assert oid is not None
        store = facilities.add(conn, "LDN01", "London", "store")
        pickup = pickup_store.upsert_ready(conn, oid, store, {"status": "ready"})
        mail = pickup_store.add_mail(conn, pickup_id=pickup, order_id=oid, kind="reminder", recipient=EMAIL,
                                     locale="en", subject="Reminder", text="Dear Wilhelmina Oakenshield, see you",
                                     html="<p>Hi</p>")
        conn.execute(update(pickup_mails).where(pickup_mails.c.id == mail).values(status="sent"))
        [profile] = customer_links.find(conn, email=EMAIL)
    erase_person(hub, profile, actor="test")
    with hub.db.read() as conn:
        row = conn.execute(select(pickup_mails)).one()
        text = secret_box.decrypt(conn, "pickup_mails.body_text", row.body_text, "mail")
    assert secret_box.is_encrypted(row.body_text) and text is not None
    assert "Oakenshield" not in text and "see you" in text


def test_retention_purges_completed_orders_past_the_period_only_and_keeps_them_pseudonymised(hub: Hub) -> None:
    shop = add_shop(hub)
    put(hub, "orders/create", order_of(BIG_ID), shop_id=shop.id)
    put(hub, "orders/create", order_of(BIG_ID + 1), shop_id=shop.id)
    put(hub, "orders/create", order_of(BIG_ID + 2), shop_id=shop.id)
    drain(hub)
    long_ago = utcnow() - timedelta(days=400)
    with hub.db.write() as conn:
        conn.execute(update(orders).where(orders.c.shopify_id == str(BIG_ID)).values(
            status="completed", updated_at=long_ago))
        conn.execute(update(orders).where(orders.c.shopify_id == str(BIG_ID + 1)).values(updated_at=long_ago))
        conn.execute(update(orders).where(orders.c.shopify_id == str(BIG_ID + 2)).values(status="cancelled"))
    assert run_job(hub, "purge-personal-data", None, {})[1]["orders"] == 0  # ORDERHUB_PERSONAL_DATA_DAYS unset
    _, stats = run_job(hub, "purge-personal-data", None, {"days": 365})
    assert stats["orders"] == 1
    old, open_, recent = (order_row(hub, BIG_ID + n) for n in range(3))
    assert old.email is None and old.note is None and old.personal_data_erased_at is not None
    assert old.total_price == open_.total_price  # the record itself stays
    assert open_.email == EMAIL and recent.email == EMAIL  # not completed; completed too recently
    with hub.db.read() as conn:
        address = conn.execute(select(order_addresses).where(order_addresses.c.order_id == old.id,
                                                             order_addresses.c.kind == "shipping")).one()
        pseudonym = conn.execute(select(customer_profiles.c.pseudonym)).scalar_one()
        identity = conn.execute(select(customers)).one()
        first = conn.execute(select(inbox.c.payload).where(inbox.c.identity.startswith(f"order:{BIG_ID}@"))
                             ).scalar_one()
    assert address.name == pseudonym and pseudonym.startswith("P-") and address.address1 is None
    assert address.city == "London" and address.country_code == "GB"  # where it was taxed
    assert identity.email == EMAIL  # the customer may still buy: only the order's data went
    assert EMAIL not in first and orjson.loads(first)["id"] == BIG_ID
    assert run_job(hub, "purge-personal-data", None, {"days": 365})[1]["orders"] == 0  # each order once
