"""Reading customer profiles: lifetime value is exact per sales channel and currency (cancelled orders apart,
refunds taken off), the newest identity names the profile, the access log records each profile read once; and
the link-customers job links, in batches, the identities stored before profiles existed."""

from __future__ import annotations

from decimal import Decimal

import orjson
from click.testing import CliRunner
from sqlalchemy import insert, select, update

from orderhub.adapters.store import customer_access, customer_views
from orderhub.adapters.store.schema import customer_profiles, customers
from orderhub.bootstrap import Hub
from orderhub.entrypoints.cli import main
from orderhub.services import customer_linking
from tests.customers_support import add_account, add_order, profile_of_order, refund, scene


def test_lifetime_value_is_exact_per_channel_and_currency(hub: Hub) -> None:
    shop = add_account(hub, "shopify", "value.myshopify.com")
    first = add_order(hub, shop, 8001, customer=1, email="v@example.com", total="0.10", currency="KWD")
    for n, total in ((8002, "0.20"), (8003, "0.005")):
        add_order(hub, shop, n, customer=1, email="v@example.com", total=total, currency="KWD")
    add_order(hub, shop, 8004, customer=1, email="v@example.com", total="1000", currency="KWD", cancelled=True)
    add_order(hub, shop, 8005, customer=1, email="v@example.com", total="19.99", currency="USD", channel="pos")
    refund(hub, shop, 8002, "0.05", 1)
    refund(hub, shop, 8004, "1000", 2)  # the refund of a cancelled order: no value was counted for it
    profile = profile_of_order(hub, first)
    with hub.db.read() as conn:
        value = [v.public() for v in customer_views.lifetime_value(conn, profile)]
    assert value == [
        {"channel": "online", "currency": "KWD", "orders": 3, "cancelled_orders": 1, "gross": "0.305",
         "refunded": "0.050", "net": "0.255"},  # 0.1 + 0.2 + 0.005 exactly, shown with KWD's three decimals
        {"channel": "pos", "currency": "USD", "orders": 1, "cancelled_orders": 0, "gross": "19.99",
         "refunded": "0.00", "net": "19.99"}]
    with hub.db.read() as conn:
        raw = customer_views.lifetime_value(conn, profile)
    assert raw[0].net == Decimal("0.255")


def test_the_newest_identity_names_the_profile_and_reads_are_recorded_once(hub: Hub) -> None:
    s = scene(hub)
    with hub.db.read() as conn:
        assert customer_views.summary(conn, s["zoe"]).name == "Zoe A."  # Amazon told of her last
        assert customer_views.summary(conn, 999) is None
        assert customer_views.live(conn, 999) is None
    with hub.db.write() as conn:
        assert customer_access.record(conn, [s["zoe"], s["zoe"], None], "api:t", "api", "profile") == 1
        assert customer_access.record(conn, [], "api:t", "api", "profile") == 0
        try:
            customer_access.record(conn, [s["zoe"]], "x", "fax", "profile")
            raise AssertionError("an unknown way in was recorded")
        except ValueError as exc:
            assert "unknown way in 'fax'" in str(exc)
    with hub.db.read() as conn:
        rows = customer_access.of_profiles(conn, [s["zoe"]])
    assert [(r.actor, r.via, r.what) for r in rows] == [("api:t", "api", "profile")]


def test_link_customers_links_identities_stored_before_profiles_in_batches(hub: Hub) -> None:
    shop = add_account(hub, "shopify", "old.myshopify.com")
    orders = [add_order(hub, shop, 9000 + n, customer=100 + n, email=f"p{n % 3}@example.com") for n in range(7)]
    with hub.db.write() as conn:  # as an upgraded database has them: identities without a profile
        conn.execute(update(customers).values(profile_id=None, linked_by=None))
        conn.execute(customer_profiles.delete())
        conn.execute(insert(customers).values(shop_id=shop, shopify_id="nobody"))  # no key to link by
    seen: list[int] = []
    totals = customer_linking.link_unlinked(hub.db, batch=3, check=lambda t: seen.append(t.linked))
    assert totals.linked == 8 and totals.batches == 3 and seen == [3, 6, 8]
    assert totals.new_profiles == 4  # p0, p1, p2 and the identity without keys
    profiles = {profile_of_order(hub, o) for o in orders}
    assert len(profiles) == 3

    with hub.db.write() as conn:
        conn.execute(update(customers).values(profile_id=None))
    ran = orjson.loads(CliRunner().invoke(main, ["jobs", "run", "link-customers", "--json", "--db",
                                                 hub.settings.database_url]).output)
    assert ran["status"] == "succeeded", ran
    with hub.db.read() as conn:
        assert conn.execute(select(customers.c.id).where(customers.c.profile_id.is_(None))).first() is None
    assert len({profile_of_order(hub, o) for o in orders}) == 3
