"""Stock out to a Shopify shop in real time, against the Shopify simulator, on SQLite and PostgreSQL: a sale on
another channel lowers what Shopify shows at the shop's stock location; per-item refusals, throttling and
reading back; new variants listed as products arrive; the inventory jobs leave the pusher's location alone."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select, update

from orderhub.adapters.shopify import api_versions, graphql, graphql_inventory
from orderhub.adapters.shopify import stock as shopify_stock
from orderhub.adapters.shopify.channel import stock_channel
from orderhub.adapters.shopify.stock import ShopifyStock
from orderhub.adapters.store import accounts, channel_stock, facilities, order_store, shopify_listings
from orderhub.adapters.store.schema import channel_listings, products
from orderhub.adapters.store.schema import channel_stock as channel_stock_table
from orderhub.adapters.store.schema import shops as shops_table
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.domain.channels import ChannelUnavailable, StockUpdate
from orderhub.domain.model import ProductDeletion
from orderhub.entrypoints.cli import main
from orderhub.services import inventory as inventory_service
from orderhub.services.channel_loops import stock_channel_for
from orderhub.services.jobs.runner import run_job
from orderhub.services.jobs.tiktok_jobs import import_orders
from orderhub.services.stock_push import push_once
from tests.integration.test_shopify_sync_jobs import BEFORE_IDEMPOTENT, MUG, SHOP, TEA, Sim, connect, failed, sim
from tests.integration.test_tiktok_support import Sim as TikTokSim
from tests.integration.test_tiktok_support import fast_client
from tests.oms_support import place
from tests.support import drain
from tests.versions import NEWEST

pytest_plugins = ("tests.integration.test_tiktok_support",)  # the TikTok simulator and an account there
__all__ = ["sim"]  # the Shopify simulator fixture

SHOP_LOCATION = "Shop location"


def _shop_with_products(hub: Hub, sim: Sim, api_version: str = NEWEST) -> Any:
    shop = connect(hub, sim, api_version)
    run_job(hub, "sync-products", shop, {"collections": "false"})
    drain(hub)
    with hub.db.write() as conn:
        facilities.add(conn, "WH-1", "Lager 🏭", "warehouse")
        facilities.add(conn, "WH-2", "Zweitlager", "warehouse")
    return shop


def _adjust(hub: Hub, sku: str, delta: int, facility: str = "WH-1") -> None:
    with hub.db.write() as conn:
        inventory_service.adjust(conn, sku, facility, actor="test", reason="received" if delta > 0 else "damaged",
                                 delta=delta)


def _sell_from(hub: Hub, sim: Sim, location: str = SHOP_LOCATION) -> shopify_listings.StockLocation:
    chosen = shopify_listings.StockLocation(str(sim.location(location)), location)
    with hub.db.write() as conn:
        shopify_listings.set_stock_location(conn, sim_shop_id(hub), chosen)
    return chosen


def sim_shop_id(hub: Hub) -> int:
    with hub.db.read() as conn:
        account = accounts.get(conn, SHOP, secrets=False)
    assert account is not None
    return account.id


def _push(hub: Hub) -> Any:
    return push_once(hub.db, stock_channel_for(hub), backoff_base=0.0, backoff_max=0.0)


def _rows(hub: Hub) -> dict[str, dict[str, Any]]:
    with hub.db.read() as conn:
        return {r["sku"]: r for r in channel_stock.shown(conn, sim_shop_id(hub))}


def _due_now(hub: Hub) -> None:
    with hub.db.write() as conn:  # the values' backoff, over for the test
        conn.execute(update(channel_stock_table).values(available_at=utcnow()))


def _catalogue_skus(sim: Sim) -> set[str]:
    return {v["sku"] for p in sim.products()["products"] for v in p["variants"] if v["sku"]}


# -- a sale anywhere changes what Shopify shows --------------------------------------------------------------

def test_an_order_on_tiktok_lowers_the_available_shopify_shows(hub: Hub, sim: Sim, tt: TikTokSim,
                                                               account: accounts.Account) -> None:
    _shop_with_products(hub, sim)
    _adjust(hub, MUG, 10)
    _adjust(hub, MUG, 2, facility="WH-2")
    sim.set_level(TEA, SHOP_LOCATION, 40)
    _sell_from(hub, sim)
    report = _push(hub)
    skus = _catalogue_skus(sim)
    assert (report.sent, report.refused, report.unavailable) == (len(skus), 0, {})
    assert sim.available(MUG, SHOP_LOCATION) == 12  # stock at every facility of the sales channel
    assert sim.available(TEA, SHOP_LOCATION) == 0  # orderhub has none: Shopify shows none
    other = next(name for name in sim.shop.location_names.values() if name != SHOP_LOCATION)
    before_elsewhere = sim.available(MUG, other)

    tt.control("POST", "/products", {"title": "Tasse ☕", "skus": [{"seller_sku": MUG}]})  # TikTok sells it too
    tt.order(lines=[{"seller_sku": MUG, "quantity": 3}])
    assert import_orders(hub, account, {}, client=fast_client(account, hub))["stored"] == 1
    drain(hub)
    place(hub)  # the TikTok order reserves 3 mugs
    report = _push(hub)
    assert report.sent == 1 and sim.available(MUG, SHOP_LOCATION) == 9
    assert sim.available(MUG, other) == before_elsewhere  # only the stock location is orderhub's to set
    with hub.db.read() as conn:
        assert channel_stock.pending_count(conn, sim_shop_id(hub)) == 0


@pytest.mark.parametrize("api_version", [NEWEST, BEFORE_IDEMPOTENT])
def test_a_move_between_facilities_and_a_count_reach_shopify_as_one_latest_value(
        hub: Hub, sim: Sim, api_version: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if api_version != NEWEST:  # a day that version was supported on, for Shopify and orderhub alike
        day = api_versions.released(api_version)
        sim.simulator.store.clock.fixed_day = day
        monkeypatch.setattr(graphql, "utcnow", lambda: datetime.combine(day, time(12), UTC))
    _shop_with_products(hub, sim, api_version)
    _adjust(hub, MUG, 6)
    _sell_from(hub, sim)
    _push(hub)
    assert sim.available(MUG, SHOP_LOCATION) == 6
    groups = len(sim.shop.adjustment_groups)
    _adjust(hub, MUG, -2)
    _adjust(hub, MUG, 5, facility="WH-2")
    _adjust(hub, MUG, -1, facility="WH-2")
    report = _push(hub)
    assert report.sent == 1 and sim.available(MUG, SHOP_LOCATION) == 8
    assert len(sim.shop.adjustment_groups) == groups + 1  # three movements, one request with the latest
    group = sim.shop.adjustment_groups[-1]
    assert group["reason"] == "correction" and group["referenceDocumentUri"] == (
        f"orderhub://channel-stock/{sim_shop_id(hub)}")


def test_the_shop_sales_channel_decides_the_quantity(hub: Hub, sim: Sim) -> None:
    _shop_with_products(hub, sim)
    _adjust(hub, MUG, 7)
    _adjust(hub, MUG, 4, facility="WH-2")
    with hub.db.write() as conn:
        facilities.add_to_group(conn, "second", "WH-2")
        facilities.set_channel(conn, "stores", name="Stores 🏬", threshold=1, groups=("second",))
        conn.execute(update(shops_table).where(shops_table.c.id == sim_shop_id(hub)).values(sales_channel="stores"))
    _sell_from(hub, sim)
    _push(hub)
    assert sim.available(MUG, SHOP_LOCATION) == 3  # WH-2 only, less the channel's threshold of 1


# -- refusals, throttling, reading back ----------------------------------------------------------------------

def test_an_item_not_stocked_at_the_location_is_refused_and_the_others_are_set(
        hub: Hub, sim: Sim, monkeypatch: pytest.MonkeyPatch) -> None:
    _shop_with_products(hub, sim)
    popup = sim.control.post("/_sim/locations", json={"name": "Pop-up 🎪"}).json()["location"]
    sim.set_level(MUG, "Pop-up 🎪", 0)  # only the mug is stocked there
    _adjust(hub, MUG, 5)
    _adjust(hub, TEA, 8)
    _sell_from(hub, sim, "Pop-up 🎪")
    monkeypatch.setattr(graphql_inventory, "MAX_QUANTITIES", 2)  # several requests, to see each one's fate
    channel = stock_channel(_account(hub), hub)
    report = push_once(hub.db, lambda a: channel, backoff_base=0.0, backoff_max=0.0)
    skus = _catalogue_skus(sim)
    assert (report.sent, report.refused) == (1, len(skus) - 1)
    assert sim.available(MUG, "Pop-up 🎪") == 5
    rows = _rows(hub)
    assert rows[MUG]["last_error"] is None and rows[MUG]["sent"] == 5
    error = rows[TEA]["last_error"]
    assert f"Shopify shop {SHOP} refused available 8 for SKU {TEA}" in error
    assert f"location {popup['id']}" in error
    assert "ITEM_NOT_STOCKED_AT_LOCATION: The specified inventory item is not stocked at the location." in error
    assert "stock the item at that location in Shopify" in error

    sim.set_level(TEA, "Pop-up 🎪", 0)  # fixed in Shopify: the next attempt of the same value goes through
    _due_now(hub)
    report = _push(hub)
    assert report.sent == 1 and sim.available(TEA, "Pop-up 🎪") == 8
    assert _rows(hub)[TEA]["last_error"] is None


def _account(hub: Hub) -> accounts.Account:
    with hub.db.read() as conn:
        found = accounts.by_id(conn, sim_shop_id(hub))
    assert found is not None
    return found


def test_a_throttled_shop_keeps_its_values_pending_and_gets_them_later(hub: Hub, sim: Sim) -> None:
    _shop_with_products(hub, sim)
    _adjust(hub, MUG, 4)
    _sell_from(hub, sim)
    before = sim.available(MUG, SHOP_LOCATION)
    sim.control.post("/_sim/config", json={"throttle": {"shop": SHOP, "currently_available": 0,
                                                        "restore_rate": 1}})
    report = _push(hub)
    assert list(report.unavailable) == [SHOP] and report.sent == 0
    assert "THROTTLED" in report.unavailable[SHOP]
    assert sim.available(MUG, SHOP_LOCATION) == before
    rows = _rows(hub)
    assert rows[MUG]["sent"] is None and "unavailable" in rows[MUG]["last_error"]
    with hub.db.read() as conn:
        due = conn.execute(select(channel_stock_table.c.available_at).where(
            channel_stock_table.c.sku == MUG)).scalar_one()
    assert (due - utcnow()).total_seconds() > 5  # when the bucket holds the request's cost again
    assert _push(hub).sent == 0  # not due yet: nothing is sent

    sim.control.post("/_sim/config", json={"throttle": {"shop": SHOP, "currently_available": 1000,
                                                        "restore_rate": 5000}})
    _due_now(hub)
    report = _push(hub)
    assert report.unavailable == {} and report.sent == len(_catalogue_skus(sim))
    assert sim.available(MUG, SHOP_LOCATION) == 4


def test_read_stock_returns_what_shopify_shows_at_each_listing(hub: Hub, sim: Sim) -> None:
    _shop_with_products(hub, sim)
    location = _sell_from(hub, sim)
    sim.set_level(MUG, SHOP_LOCATION, 17)
    sim.set_level(TEA, SHOP_LOCATION, -2)
    with hub.db.read() as conn:
        refs = {r.sku: r.channel_ref for r in conn.execute(select(channel_listings))}
    channel = stock_channel(_account(hub), hub)
    popup = sim.control.post("/_sim/locations", json={"name": "Pop-up 🎪"}).json()["location"]
    shown = channel.read_stock([(MUG, location.id, refs[MUG]), (TEA, "", refs[TEA]),
                                (MUG, str(popup["id"]), refs[MUG]),  # not stocked there: left out
                                ("NO-ITEM", location.id, None)])
    assert shown == {(MUG, location.id): 17, (TEA, ""): -2}
    sim.control.post("/_sim/config", json={"throttle": {"shop": SHOP, "currently_available": 0, "restore_rate": 1}})
    with pytest.raises(ChannelUnavailable, match="THROTTLED") as caught:
        channel.read_stock([(MUG, location.id, refs[MUG])])
    assert caught.value.retry_after is not None and caught.value.retry_after > 1


def test_listings_without_an_inventory_item_or_a_location_are_refused_with_what_to_do(hub: Hub, sim: Sim) -> None:
    shop = _shop_with_products(hub, sim)
    channel = stock_channel(_account(hub), hub)
    refused = channel.push_stock([StockUpdate("LOOSE-1", "", 3, None), StockUpdate(MUG, "", 3, "123")])
    assert "SKU LOOSE-1 has no Shopify inventory item" in refused[("LOOSE-1", "")]
    assert f"shop {shop.domain} has no stock location; name one with `orderhub shop stock-location" in refused[
        (MUG, "")]
    assert channel.requests == 0


# -- what is listed ------------------------------------------------------------------------------------------

def test_new_variants_are_listed_as_products_arrive_and_a_dropped_sku_is_not(hub: Hub, sim: Sim) -> None:
    shop = _shop_with_products(hub, sim)
    location = _sell_from(hub, sim)
    made = sim.control.post("/_sim/products", json={"title": "Teekanne 🫖", "sku": "POT-1", "price": "29.00"})
    product = made.json()["product"]
    _adjust(hub, "POT-1", 3)
    run_job(hub, "sync-products", shop, {"collections": "false"})
    drain(hub)
    with hub.db.read() as conn:
        listed = {r.sku: (r.location, r.channel_ref) for r in conn.execute(select(channel_listings))}
    assert listed["POT-1"] == (location.id, str(product["variants"][0]["inventory_item_id"]))
    _push(hub)
    assert sim.available("POT-1", SHOP_LOCATION) == 3

    sim.control.post("/_sim/products", json={"action": "update", "id": product["id"], "sku": "POT-2"})
    run_job(hub, "sync-products", shop, {"collections": "false"})
    drain(hub)
    with hub.db.read() as conn:
        listed = {r.sku: r.channel_ref for r in conn.execute(select(channel_listings))}
        pending = {r.sku for r in conn.execute(select(channel_stock_table.c.sku))}
    assert "POT-1" not in listed and "POT-1" not in pending  # one listing per inventory item, never two
    assert listed["POT-2"] == str(product["variants"][0]["inventory_item_id"])
    _push(hub)
    assert sim.available("POT-2", SHOP_LOCATION) == 0  # orderhub has no POT-2

    sim.control.post("/_sim/products", json={"action": "delete", "id": product["id"]})
    with hub.db.write() as conn:  # its products/delete webhook, as the processor applies it
        stored = conn.execute(select(products.c.source_updated_at).where(
            products.c.shopify_id == str(product["id"]))).scalar_one()
        assert order_store.delete_product(conn, shop.id, ProductDeletion(
            str(product["id"]), stored + timedelta(seconds=1))) == "applied"
    with hub.db.read() as conn:
        assert "POT-2" not in {r.sku for r in conn.execute(select(channel_listings))}


# -- the inventory jobs leave the pusher's location alone ----------------------------------------------------

def test_the_inventory_jobs_leave_the_stock_location_alone(hub: Hub, sim: Sim) -> None:
    shop = _shop_with_products(hub, sim)
    with hub.db.write() as conn:
        berlin = facilities.add(conn, "WH-BER", "Berlin", "warehouse")
    sim.set_level(MUG, SHOP_LOCATION, 10)
    _sell_from(hub, sim)
    _adjust(hub, MUG, 5, facility="WH-BER")
    params = {"locations": f"{SHOP_LOCATION}=WH-BER"}
    run_id, upload = run_job(hub, "upload-inventory-changes", shop, params)
    assert upload["requests"] == 0 and upload["pushed"] >= 1 and upload["unmapped"] == 0
    assert failed(hub, run_id) == []
    assert sim.available(MUG, SHOP_LOCATION) == 10  # the upload did not set it; the pusher will
    _run, synced = run_job(hub, "sync-inventory-from-shopify", shop, params)
    assert synced["changed"] == 0
    with hub.db.read() as conn:
        from orderhub.adapters.store import inventory_store
        assert inventory_store.positions(conn, [MUG])[(MUG, berlin)].on_hand == 5  # not Shopify's 10
    _push(hub)
    assert sim.available(MUG, SHOP_LOCATION) == 5


def test_an_upload_without_the_stock_location_still_sets_the_other_locations(hub: Hub, sim: Sim) -> None:
    shop = _shop_with_products(hub, sim)
    other = next(name for name in sim.shop.location_names.values() if name != SHOP_LOCATION)
    with hub.db.write() as conn:
        facilities.add(conn, "WH-BER", "Berlin", "warehouse")
        facilities.add(conn, "WH-HAM", "Hamburg", "warehouse")
    sim.set_level(MUG, other, 0)
    _sell_from(hub, sim)
    _adjust(hub, MUG, 5, facility="WH-BER")
    _adjust(hub, MUG, 2, facility="WH-HAM")
    _run, upload = run_job(hub, "upload-inventory-changes", shop, {
        "locations": f"{SHOP_LOCATION}=WH-BER, {other}=WH-HAM", "ignore_compare": "true"})
    assert upload["set"] == 1 and upload["pushed"] == 1
    assert sim.available(MUG, other) == 2


# -- orderhub shop stock-location ----------------------------------------------------------------------------

def _cli(db_url: str, *args: str) -> Result:
    return CliRunner().invoke(main, [*args, "--db", db_url])


def test_the_shop_command_names_the_location_and_lists_the_known_variants(
        hub: Hub, sim: Sim, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _shop_with_products(hub, sim)
    monkeypatch.setattr(shopify_listings, "LIST_CHUNK", 3)  # a big catalogue is listed a part at a time
    skus = _catalogue_skus(sim)
    none = _cli(db_url, "shop", "stock-location", SHOP)
    assert none.exit_code == 0 and f"shop {SHOP} gets no stock in real time" in none.stdout

    unknown = _cli(db_url, "shop", "stock-location", SHOP, "Lager Mond 🌙")
    assert unknown.exit_code == 1
    assert "Shopify has no location named or numbered 'Lager Mond 🌙'; the shop's locations are " in unknown.output
    assert f"{SHOP_LOCATION} ({sim.location(SHOP_LOCATION)})" in unknown.output

    named = _cli(db_url, "shop", "stock-location", SHOP, SHOP_LOCATION.upper())  # a name, ignoring case
    assert named.exit_code == 0, named.output
    assert (f"shop {SHOP}: orderhub sets available at location {SHOP_LOCATION} ({sim.location(SHOP_LOCATION)}) "
            f"in real time, from the ATP of sales channel online; {len(skus)} SKUs listed, {len(skus)} not sent "
            "yet, 0 refused") in named.stdout
    assert "upload-inventory-changes and sync-inventory-from-shopify leave this location alone" in named.stderr
    with hub.db.read() as conn:
        listed = {(r.sku, r.location) for r in conn.execute(select(channel_listings))}
    assert listed == {(sku, str(sim.location(SHOP_LOCATION))) for sku in skus}

    other = next(i for i, name in sim.shop.location_names.items() if name != SHOP_LOCATION)
    moved = _cli(db_url, "shop", "stock-location", SHOP, f"gid://shopify/Location/{other}", "--json")
    assert moved.exit_code == 0, moved.output
    import orjson
    state = orjson.loads(moved.stdout)
    assert (state["location_id"], state["listings"], state["refused"]) == (str(other), len(skus), 0)
    with hub.db.read() as conn:  # the listings moved: none stays at the first location
        assert {r.location for r in conn.execute(select(channel_listings))} == {str(other)}

    off = _cli(db_url, "shop", "stock-location", SHOP, "--off")
    assert off.exit_code == 0 and f"shop {SHOP} gets no stock in real time" in off.stdout
    with hub.db.read() as conn:
        assert conn.execute(select(channel_listings)).first() is None
        assert conn.execute(select(channel_stock_table)).first() is None
    assert _cli(db_url, "shop", "stock-location", "nope.myshopify.com", SHOP_LOCATION).exit_code == 1


def test_a_deactivated_location_is_not_taken(sim: Sim) -> None:
    found = [graphql_inventory.Location("1", "Alt 🏚️", False), graphql_inventory.Location("2", "Neu", True)]
    with pytest.raises(ValueError, match=r"Shopify location Alt 🏚️ \(1\) is deactivated"):
        from orderhub.entrypoints.cli_shop_stock import choose_location
        choose_location(found, "alt 🏚️")


def test_the_factory_says_what_a_shop_without_an_access_token_needs(hub: Hub, sim: Sim) -> None:
    from orderhub.adapters.store import shops
    with hub.db.write() as conn:
        shops.add(conn, "bare.myshopify.com", "secret")
        bare = accounts.get(conn, "bare.myshopify.com")
    assert bare is not None
    with pytest.raises(ValueError, match="shop bare.myshopify.com has no access token"):
        stock_channel(bare, hub)
    assert isinstance(stock_channel(_account_of(hub, sim), hub), ShopifyStock)
    assert shopify_stock.MAX_PAUSE_SECONDS <= 1.0


def _account_of(hub: Hub, sim: Sim) -> accounts.Account:
    connect(hub, sim)
    return _account(hub)


def test_the_drift_check_finds_an_available_changed_in_shopify_and_the_pusher_sets_it_back(
        hub: Hub, sim: Sim) -> None:
    from orderhub.services.stock_drift import check_account

    _shop_with_products(hub, sim)
    _sell_from(hub, sim)
    _adjust(hub, MUG, 6)
    assert _push(hub).unavailable == {}
    sim.set_level(MUG, SHOP_LOCATION, 40)  # someone typed 40 in Shopify's admin
    report = check_account(hub.db, _account(hub), stock_channel(_account(hub), hub))
    assert [(d.sku, d.shown, d.sent) for d in report.found[SHOP]] == [(MUG, 40, 6)]
    assert _push(hub).sent == 1 and sim.available(MUG, SHOP_LOCATION) == 6
    assert check_account(hub.db, _account(hub), stock_channel(_account(hub), hub)).found == {}
