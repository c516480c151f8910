"""One person across channels: identities from Shopify shops (customers and guests), a marketplace and a store's POS
are linked to one profile by the keys each kind's rules allow, through the processor as orders arrive; merges
and unmerges keep every identity, order and consent record (Hypothesis), and profiles kept apart stay apart."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from orderhub.adapters.store import accounts, customer_links, inbox
from orderhub.adapters.store.schema import customer_consents, customer_profiles, customers, orders
from orderhub.bootstrap import Hub
from orderhub.domain.customers import ConsentChange
from orderhub.services import consent
from tests.support import add_shop, drain, order_payload, put

T0 = datetime(2026, 12, 1, tzinfo=UTC)
ANA = {"email": "Ana.Lima@Example.com", "phone": "+34 612 345 678"}


def _amazon(hub: Hub, account_id: int, order_id: str, *, phone: str, relay: str) -> None:
    payload = {"AmazonOrderId": order_id, "PurchaseDate": "2026-12-07T09:00:00Z",
               "LastUpdateDate": "2026-12-07T09:05:00Z", "OrderStatus": "Unshipped", "FulfillmentChannel": "MFN",
               "OrderTotal": {"CurrencyCode": "EUR", "Amount": "10.00"},
               "BuyerInfo": {"BuyerEmail": relay, "BuyerName": "Ana Lima"},
               "ShippingAddress": {"Name": "Ana Lima", "AddressLine1": "Calle Mayor 1", "City": "Madrid",
                                   "PostalCode": "28013", "CountryCode": "ES", "Phone": phone},
               "OrderItems": [{"OrderItemId": f"{order_id}-1", "SellerSKU": "SKU-1", "Title": "Mug",
                               "QuantityOrdered": 1, "QuantityShipped": 0,
                               "ItemPrice": {"CurrencyCode": "EUR", "Amount": "10.00"}}]}
    inbox.insert_entries(hub.db, [inbox.InboxEntry(shop_id=account_id, source="poll", topic="amazon/order",
                                                   identity=f"order:{order_id}", payload=orjson.dumps(payload).decode())])


def _profile_of(hub: Hub, account_id: int, ref: str) -> int:
    with hub.db.read() as conn:
        return conn.execute(select(customers.c.profile_id).where(
            customers.c.shop_id == account_id, customers.c.shopify_id == ref)).scalar_one()


def _order_profile(hub: Hub, account_id: int, order_ref: str) -> int | None:
    with hub.db.read() as conn:
        return conn.execute(select(customers.c.profile_id).join(orders, orders.c.customer_id == customers.c.id)
                            .where(orders.c.shop_id == account_id, orders.c.shopify_id == order_ref)).scalar_one()


def test_a_person_buying_through_shopify_a_guest_checkout_and_amazon_is_one_profile(hub: Hub) -> None:
    shop_a = add_shop(hub, "shop-a.myshopify.com").id
    shop_b = add_shop(hub, "shop-b.myshopify.com").id
    with hub.db.write() as conn:
        amazon = accounts.add(conn, "amazon", "amazon-es", {"marketplace_id": "A1RKKUPIHCS9HS"}, {}).id
    put(hub, "orders/create", order_payload(1001, customer={"id": 77, **ANA, "first_name": "Ana"}), shop_id=shop_a)
    guest = order_payload(2002, email="  ana.lima@example.COM ", customer=None)
    put(hub, "orders/create", guest, shop_id=shop_b)
    # Amazon's relay address is not Ana's; her shipping phone is, written the Spanish way
    _amazon(hub, amazon, "302-0000001-0000001", phone="612 34 56 78", relay="x1@marketplace.amazon.es")
    # another Amazon buyer who shares nothing with her
    _amazon(hub, amazon, "302-0000002-0000002", phone="+34 699 000 111", relay="x2@marketplace.amazon.es")
    drain(hub)
    ana = _profile_of(hub, shop_a, "77")
    assert _order_profile(hub, shop_b, "2002") == ana
    assert _order_profile(hub, amazon, "302-0000001-0000001") == ana
    assert _order_profile(hub, amazon, "302-0000002-0000002") != ana
    with hub.db.read() as conn:
        found = customer_links.identities_of(conn, ana)
        assert sorted(r.account for r in found) == ["amazon-es", "shop-a.myshopify.com", "shop-b.myshopify.com"]
        assert {r.linked_by for r in found} >= {"email", "phone"}
        assert customer_links.find(conn, email="ANA.LIMA@example.com") == [ana]
        assert customer_links.find(conn, phone="+34612345678") == [ana]
        assert customer_links.find(conn, email="x1@marketplace.amazon.es") == []  # relay addresses are no key


def test_an_update_that_changes_an_email_links_the_identity_again_and_merges_by_rule(hub: Hub) -> None:
    shop = add_shop(hub).id
    put(hub, "orders/create", order_payload(1, customer={"id": 10, "email": "one@example.com"}), shop_id=shop)
    put(hub, "orders/create", order_payload(2, customer={"id": 20, "email": "two@example.com"}), shop_id=shop)
    drain(hub)
    first, second = _profile_of(hub, shop, "10"), _profile_of(hub, shop, "20")
    assert first != second
    put(hub, "orders/updated", order_payload(2, updated_at="2026-11-24T10:00:00-05:00",
                                             customer={"id": 20, "email": "ONE@example.com"}), shop_id=shop)
    drain(hub)
    assert _profile_of(hub, shop, "20") == _profile_of(hub, shop, "10") == first
    with hub.db.read() as conn:
        [merge] = customer_links.merges_of(conn, second)
    assert (merge.kept_id, merge.merged_id, merge.rule, merge.actor) == (first, second, "email", "rules")


def test_an_unmerge_keeps_the_two_apart_when_their_keys_meet_again(hub: Hub) -> None:
    shop = add_shop(hub).id
    put(hub, "orders/create", order_payload(1, customer={"id": 10, "email": "shared@example.com"}), shop_id=shop)
    put(hub, "orders/create", order_payload(2, customer={"id": 20, "email": "shared@example.com"}), shop_id=shop)
    drain(hub)
    profile = _profile_of(hub, shop, "10")
    assert _profile_of(hub, shop, "20") == profile  # the same e-mail: one profile by the rules
    with hub.db.write() as conn:
        apart = customer_links.split(conn, _identity(conn, shop, "20"), actor="dpo@shop.example")
    put(hub, "orders/create", order_payload(3, customer={"id": 20, "email": "shared@example.com"}), shop_id=shop)
    put(hub, "orders/create", order_payload(4, customer={"id": 30, "email": "shared@example.com"}), shop_id=shop)
    drain(hub)
    assert _profile_of(hub, shop, "20") == apart != profile
    assert _profile_of(hub, shop, "30") in (profile, apart)  # a newcomer joins one of them, merging nothing
    with hub.db.read() as conn:
        live = conn.execute(select(func.count()).select_from(customer_profiles)
                            .where(customer_profiles.c.merged_into.is_(None))).scalar_one()
    assert live == 2


def _identity(conn: Any, shop: int, ref: str) -> int:
    return conn.execute(select(customers.c.id).where(customers.c.shop_id == shop,
                                                     customers.c.shopify_id == ref)).scalar_one()


def test_identities_stored_before_profiles_existed_are_linked_in_batches(hub: Hub) -> None:
    shop = add_shop(hub).id
    put(hub, "orders/create", order_payload(1, customer={"id": 10, "email": "old@example.com"}), shop_id=shop)
    drain(hub)
    with hub.db.write() as conn:
        conn.execute(customers.update().values(profile_id=None, email_key=None))
        customer_links.set_rule(conn, "shopify", "email", True, "admin")
        assert customer_links.link_unlinked(conn).linked == 1
        last, report = customer_links.rekey(conn, 0, 100)
        assert last > 0 and conn.execute(select(customers.c.email_key)).scalar_one() == "old@example.com"


# -- merge and unmerge lose nothing ------------------------------------------------------------------------------

@st.composite
def merge_plans(draw: st.DrawFn) -> tuple[int, list[tuple[int, int]], list[int]]:
    people = draw(st.integers(2, 5))
    merges = draw(st.lists(st.tuples(st.integers(0, people - 1), st.integers(0, people - 1)), max_size=6))
    undo = draw(st.lists(st.integers(0, 5), max_size=4))
    return people, merges, undo


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=merge_plans())
def test_merges_and_unmerges_lose_no_identity_order_or_consent_and_an_unmerge_restores(
        hub: Hub, plan: tuple[int, list[tuple[int, int]], list[int]]) -> None:
    people, merge_pairs, undo = plan
    run = uuid.uuid4().hex[:8]
    shop = add_shop(hub, f"{run}.myshopify.com").id
    for p in range(people):  # each person: two orders under one identity, a guest order, one consent change
        put(hub, "orders/create", order_payload(p * 10 + 1, customer={"id": p + 1, "email": f"p{p}-{run}@x.io"}),
            shop_id=shop)
        put(hub, "orders/create", order_payload(p * 10 + 2, customer={"id": p + 1, "email": f"p{p}-{run}@x.io"}),
            shop_id=shop)
        put(hub, "orders/create", order_payload(p * 10 + 3, customer=None, email=f"guest{p}-{run}@x.io",
                                                billing_address=None), shop_id=shop)
    drain(hub)
    with hub.db.write() as conn:
        ids = conn.execute(select(customers.c.id, customers.c.profile_id).where(customers.c.shop_id == shop)).all()
        profiles = sorted({r.profile_id for r in ids})
        for i, pid in enumerate(profiles):
            consent.record(conn, pid, ConsentChange("email_marketing", "granted", T0 + timedelta(minutes=i), "api"))
        start = _snapshot(conn, shop)
    done: list[int] = []
    for a, b in merge_pairs:
        with hub.db.write() as conn:
            kept, merged = (customer_links.live(conn, profiles[a % len(profiles)]),
                            customer_links.live(conn, profiles[b % len(profiles)]))
            if kept == merged:
                continue
            done.append(customer_links.merge(conn, kept, merged, actor="test"))
            _check_nothing_lost(conn, shop, start)
    for n in undo:
        if not done:
            break
        merge_id = done[n % len(done)]
        with hub.db.write() as conn:
            try:
                customer_links.unmerge(conn, merge_id, actor="test")
            except customer_links.LinkError:
                continue  # merged again since: that merge must be undone first
            done.remove(merge_id)
            _check_nothing_lost(conn, shop, start)
    while done:  # undo the rest, newest first: everything is back where it started
        with hub.db.write() as conn:
            customer_links.unmerge(conn, done.pop(), actor="test")
    with hub.db.read() as conn:
        assert _snapshot(conn, shop) == start


def _snapshot(conn: Any, shop: int) -> dict[str, Any]:
    """Which identities, orders and consent records each live profile has."""
    idents = conn.execute(select(customers.c.id, customers.c.profile_id).where(customers.c.shop_id == shop)).all()
    order_rows = conn.execute(select(orders.c.id, customers.c.profile_id).join(
        customers, customers.c.id == orders.c.customer_id).where(orders.c.shop_id == shop)).all()
    profile_ids = sorted({r.profile_id for r in idents})
    consent_rows = conn.execute(select(customer_consents.c.id, customer_consents.c.profile_id).where(
        customer_consents.c.profile_id.in_(profile_ids))).all()
    group: dict[int, list[str]] = {}
    for kind, rows in (("i", idents), ("o", order_rows), ("c", consent_rows)):
        for r in rows:
            group.setdefault(r.profile_id, []).append(f"{kind}{r.id}")
    return {"groups": sorted(sorted(v) for v in group.values()), "identities": len(idents),
            "orders": len(order_rows), "consents": len(consent_rows)}


def _check_nothing_lost(conn: Any, shop: int, start: dict[str, Any]) -> None:
    now = _snapshot(conn, shop)
    assert (now["identities"], now["orders"], now["consents"]) == (
        start["identities"], start["orders"], start["consents"])
    live = set(conn.execute(select(customer_profiles.c.id).where(customer_profiles.c.merged_into.is_(None))).scalars())
    owners = conn.execute(select(customers.c.profile_id).where(customers.c.shop_id == shop)).scalars().all()
    assert set(owners) <= live  # every identity is on a live profile


# -- what a customer says at the counter -------------------------------------------------------------------------

def test_a_loyalty_member_at_the_till_joins_their_profile_and_their_answer_reaches_shopify_only(hub: Hub) -> None:
    from orderhub.adapters.store.schema import channel_operations
    from orderhub.services.pos_sync import PosSync
    from tests.pos_support import make_store, sale
    from tests.stores_support import enrol

    shop = add_shop(hub, "shop-a.myshopify.com").id
    with hub.db.write() as conn:
        amazon = accounts.add(conn, "amazon", "amazon-es", {"marketplace_id": "A1RKKUPIHCS9HS"}, {}).id
    put(hub, "orders/create", order_payload(1001, customer={"id": 77, **ANA}), shop_id=shop)
    _amazon(hub, amazon, "302-0000001-0000001", phone="612 34 56 78", relay="x1@marketplace.amazon.es")
    drain(hub)
    ana = _profile_of(hub, shop, "77")
    store = make_store(hub, "MAD01", {"SKU-1": 5})
    device = enrol(hub, store.id)
    first = sale(customer={"loyalty_id": "L-0042", "email": "ana.lima@example.com", "first_name": "Ana 🌸",
                           "marketing": {"email_marketing": False, "sms_marketing": "granted"}})
    again = sale(sequence=2, customer={"loyalty_id": "L-0042"})  # the card alone: the loyalty id links it
    statuses = [r.status for r in PosSync(hub.db).take(device, [first, again], __import__(
        "orderhub.adapters.store.pos_devices", fromlist=["Report"]).Report())]
    assert statuses == ["recorded", "recorded"]
    with hub.db.read() as conn:
        pos_account = conn.execute(select(customers.c.shop_id).where(
            customers.c.loyalty_key == "L-0042")).scalars().first()
        history = conn.execute(select(customer_consents).where(customer_consents.c.profile_id == ana)
                               .order_by(customer_consents.c.purpose)).all()
        owed = conn.execute(select(channel_operations).where(channel_operations.c.kind == "consent")).all()
    assert _profile_of(hub, pos_account, "loyalty:L-0042") == ana
    assert [(h.purpose, h.state, h.source, h.actor) for h in history] == [
        ("email_marketing", "withdrawn", "pos", "MAD01/till-1"), ("sms_marketing", "granted", "pos", "MAD01/till-1")]
    # Shopify keeps both preferences and Ana is its customer: both are owed to it; Amazon keeps none
    assert sorted((o.account_id, orjson.loads(o.payload)["purpose"], orjson.loads(o.payload)["state"]) for o in owed
                  ) == [(shop, "email_marketing", "withdrawn"), (shop, "sms_marketing", "granted")]
    assert all(orjson.loads(o.payload)["customer_ref"] == "77" and o.order_id is None for o in owed)


def test_a_consent_answer_the_till_cannot_read_is_refused_with_its_field(hub: Hub) -> None:
    from orderhub.domain.errors import InvalidRecord
    from orderhub.domain.store_sales import read_sale

    raw = {"id": "s-1", "currency": "EUR", "lines": [{"sku": "SKU-1", "quantity": 1, "unit_price": "1.00"}],
           "customer": {"loyalty_id": "L-1", "marketing": {"newsletter": True}}}
    try:
        read_sale(raw, store="MAD01", device_id=1, device_name="till-1", received_at=T0)
    except InvalidRecord as exc:
        assert exc.field == "customer.marketing.newsletter"
    else:
        raise AssertionError("an unknown purpose was taken")


def test_a_consent_webhook_keeps_what_orderhub_knows_of_the_customer(hub: Hub) -> None:
    shop = add_shop(hub).id
    put(hub, "orders/create", order_payload(1, customer={"id": 77, **ANA, "first_name": "Ana", "last_name": "Lima"}),
        shop_id=shop)
    drain(hub)
    put(hub, "customers_email_marketing_consent/update", {
        "customer_id": 77, "email_address": "ana.lima@example.com",
        "email_marketing_consent": {"state": "unsubscribed", "opt_in_level": "single_opt_in",
                                    "consent_updated_at": "2026-12-02T10:00:00Z"}}, shop_id=shop)
    # a customer orderhub has not heard of: stored with what the webhook says, for the customer record to replace
    put(hub, "customers_marketing_consent/update", {
        "id": 88, "phone": "+34 699 111 222",
        "sms_marketing_consent": {"state": "subscribed", "opt_in_level": "single_opt_in",
                                  "consent_updated_at": "2026-12-02T10:00:00Z",
                                  "consent_collected_from": "OTHER"}}, shop_id=shop)
    drain(hub)
    put(hub, "customers/update", {"id": 88, "email": "bea@example.com", "first_name": "Bea", "last_name": "Ruiz",
                                  "phone": "+34 699 111 222", "updated_at": "2026-11-30T10:00:00Z"}, shop_id=shop)
    drain(hub)
    with hub.db.read() as conn:
        ana = conn.execute(select(customers).where(customers.c.shopify_id == "77")).one()
        bea = conn.execute(select(customers).where(customers.c.shopify_id == "88")).one()
        states = conn.execute(select(customer_consents.c.purpose, customer_consents.c.state)
                              .order_by(customer_consents.c.id)).all()
    assert (ana.first_name, ana.last_name, ana.phone_key) == ("Ana", "Lima", "+34612345678")
    assert (bea.first_name, bea.email_key) == ("Bea", "bea@example.com")
    assert [tuple(s) for s in states] == [("email_marketing", "withdrawn"), ("sms_marketing", "granted")]


# -- after an erasure ----------------------------------------------------------------------------------------------

def test_an_erased_person_stays_erased_when_their_orders_change_and_is_someone_new_when_they_buy_again(
        hub: Hub) -> None:
    from orderhub.adapters.store.schema import order_addresses
    from orderhub.services.privacy.erase import erase_person

    shop = add_shop(hub).id
    ana = {"id": 77, **ANA, "first_name": "Ana", "last_name": "Lima"}
    put(hub, "orders/create", order_payload(1, customer=ana), shop_id=shop)
    drain(hub)
    erased = _profile_of(hub, shop, "77")
    erase_person(hub, erased, actor="dpo@shop.example", reason="the customer asked")
    # the channel's later version of the erased order (it shipped) changes its state, and brings no one back
    put(hub, "orders/updated", order_payload(1, updated_at="2026-11-25T10:00:00-05:00", customer=ana,
                                             fulfillment_status="fulfilled"), shop_id=shop)
    put(hub, "orders/create", order_payload(2, updated_at="2026-11-26T10:00:00-05:00", customer=ana), shop_id=shop)
    drain(hub)
    with hub.db.read() as conn:
        first = conn.execute(select(orders).where(orders.c.shopify_id == "1")).one()
        street = conn.execute(select(order_addresses.c.address1, order_addresses.c.country_code)
                              .where(order_addresses.c.order_id == first.id)).all()
        old = conn.execute(select(customers).where(customers.c.id == first.customer_id)).one()
    assert first.source_fulfillment_status == "fulfilled" and first.email is None and first.note is None
    assert all(r.address1 is None for r in street) and {r.country_code for r in street} == {"DE", "IL"}
    assert old.profile_id == erased and old.first_name != "Ana" and old.email is None
    again = _order_profile(hub, shop, "2")
    assert again not in (None, erased)  # a new profile: nothing links it to the erased one
    with hub.db.read() as conn:
        assert customer_links.find(conn, email=ANA["email"]) == [again]
