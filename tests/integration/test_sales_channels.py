"""Each order's channel through the processor: Shopify's own sources, the social apps (named by the Admin
API's channel information or by the shop's mapping of its source names) and the marketplaces' kinds; a
routing rule tells the social orders apart."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from orderhub.adapters.store import routing_store, source_channels
from orderhub.adapters.store.schema import orders
from orderhub.bootstrap import Hub
from orderhub.entrypoints.cli import main
from orderhub.services.console import orders_view
from tests.oms_support import order, place
from tests.support import BIG_ID, SHOP, drain, order_payload, put

META_APP = "2329312"  # the Facebook & Instagram app's id: a key of the shop's, only a mapping names it
# Orders read through the Admin API carry Order.channelInformation (graphql_orders.to_rest puts it here).
INSTAGRAM = {"app_title": "Facebook & Instagram", "handle": "instagram-shopping",
             "channel_name": "Facebook & Instagram", "sub_channel_name": "Instagram Shopping"}
FACEBOOK = dict(INSTAGRAM, handle="facebook-shops", sub_channel_name="Facebook Shops")
TIKTOK_APP = {"app_title": "TikTok", "handle": "tiktok-shop", "channel_name": "TikTok",
              "sub_channel_name": "TikTok Shop"}


def channels(hub: Hub) -> dict[int, str]:
    with hub.db.read() as conn:
        return {int(r.shopify_id): r.channel for r in conn.execute(select(orders.c.shopify_id, orders.c.channel))
                if r.shopify_id.isdigit()}  # the Shopify shop's orders


def test_each_kind_of_source_gives_its_channel(hub: Hub, oms: Any) -> None:
    sources: list[tuple[dict[str, Any], str]] = [
        ({"source_name": "web"}, "online"), ({"source_name": "pos"}, "pos"), ({"source_name": "iphone"}, "online"),
        ({"source_name": "android"}, "online"), ({"source_name": "shopify_draft_order"}, "online"),
        ({"source_name": META_APP}, "online"),  # unknown: online, and the order page shows the key
        ({"source_name": None}, "online"),
        ({"source_name": META_APP, "channel_information": INSTAGRAM}, "instagram"),
        ({"source_name": META_APP, "channel_information": FACEBOOK}, "facebook"),
        ({"source_name": "4383523", "channel_information": TIKTOK_APP}, "tiktok"),
        ({"source_name": "web", "channel_information": {"app_title": "Online Store"}}, "online"),
    ]
    for i, (fields, _) in enumerate(sources):
        put(hub, "orders/create", order_payload(BIG_ID + i * 1000, **fields), shop_id=oms.shop.id)
    drain(hub)
    assert channels(hub) == {BIG_ID + i * 1000: expected for i, (_, expected) in enumerate(sources)}
    unknown = order(hub, BIG_ID + 5000)
    assert (unknown["channel"], unknown["source_name"], unknown["sold_through"]) == ("online", META_APP, None)
    shown = order(hub, BIG_ID + 7000)
    assert shown["sold_through"] == "Facebook & Instagram · Instagram Shopping"


def test_a_shops_mapping_of_its_source_names_applies_from_the_next_order_and_stored_orders_keep_theirs(
        hub: Hub, oms: Any) -> None:
    processor = hub.processor()  # one processor throughout: the mapping is read again for each batch
    put(hub, "orders/create", order_payload(BIG_ID, source_name=META_APP), shop_id=oms.shop.id)
    processor.run_once()
    with hub.db.write() as conn:
        assert source_channels.set_channel(conn, SHOP, META_APP, "instagram") == {META_APP: "instagram"}
        source_channels.set_channel(conn, SHOP, "755357713", "wholesale")
    put(hub, "orders/create", order_payload(BIG_ID + 1000, source_name=META_APP), shop_id=oms.shop.id)
    put(hub, "orders/create", order_payload(BIG_ID + 2000, source_name="755357713"), shop_id=oms.shop.id)
    processor.run_once()
    # A newer version of the first order goes the per-record path and takes the mapping too.
    put(hub, "orders/updated", order_payload(BIG_ID, updated_at="2026-11-23T11:00:00-05:00",
                                             source_name=META_APP), shop_id=oms.shop.id)
    drain(hub)
    assert channels(hub) == {BIG_ID: "instagram", BIG_ID + 1000: "instagram", BIG_ID + 2000: "wholesale"}
    with hub.db.write() as conn:
        source_channels.set_channel(conn, SHOP, META_APP, None)
        # The operator's word wins over what the channel information names.
        source_channels.set_channel(conn, SHOP, "4383523", "tiktok-shop")
        assert "wholesale" in orders_view.choices(conn).channels  # the filters offer the shops' own codes
        assert {"instagram", "facebook", "tiktok", "amazon", "walmart"} <= set(orders_view.choices(conn).channels)
    put(hub, "orders/create", order_payload(BIG_ID + 3000, source_name=META_APP), shop_id=oms.shop.id)
    put(hub, "orders/create", order_payload(BIG_ID + 4000, source_name="4383523", channel_information=TIKTOK_APP),
        shop_id=oms.shop.id)
    drain(hub)
    found = channels(hub)
    assert (found[BIG_ID], found[BIG_ID + 3000], found[BIG_ID + 4000]) == ("instagram", "online", "tiktok-shop")


def test_mappings_are_checked_and_refused_with_what_to_do(hub: Hub, oms: Any) -> None:
    with hub.db.write() as conn:
        with pytest.raises(ValueError, match="is not a channel code"):
            source_channels.set_channel(conn, SHOP, META_APP, "Insta Gram")
        with pytest.raises(ValueError, match="is not a source name"):
            source_channels.set_channel(conn, SHOP, "two words", "instagram")
        with pytest.raises(LookupError, match="no shop nope.myshopify.com"):
            source_channels.set_channel(conn, "nope.myshopify.com", META_APP, "instagram")
        with pytest.raises(LookupError, match="has no channel for the source name"):
            source_channels.set_channel(conn, SHOP, META_APP, None)


def test_the_cli_maps_a_source_name_and_shop_show_lists_the_mapping(hub: Hub, oms: Any) -> None:
    db = ["--db", hub.settings.database_url]
    runner = CliRunner()
    put(hub, "orders/create", order_payload(BIG_ID, source_name=META_APP, channel_information=INSTAGRAM),
        shop_id=oms.shop.id)
    drain(hub)
    shown_order = runner.invoke(main, ["orders", "show", str(BIG_ID), *db])
    assert (f"  channel instagram (source {META_APP}), sold through Facebook & Instagram · Instagram Shopping"
            in shown_order.output), shown_order.output
    done = runner.invoke(main, ["shop", "source-channel", SHOP, META_APP, "Instagram", *db])
    assert done.exit_code == 0, done.output
    assert f"orders with source name {META_APP} are sold through instagram" in done.output
    shown = runner.invoke(main, ["shop", "show", SHOP, "--json", *db])
    assert shown.exit_code == 0, shown.output
    assert '"source_channels"' in shown.output and f'"{META_APP}": "instagram"' in shown.output
    assert "secret" not in shown.output.lower()
    refused = runner.invoke(main, ["shop", "source-channel", SHOP, META_APP, *db])
    assert refused.exit_code != 0 and "either a CHANNEL for SOURCE or --remove" in refused.output
    removed = runner.invoke(main, ["shop", "source-channel", SHOP, META_APP, "--remove", *db])
    assert removed.exit_code == 0 and "no longer mapped" in removed.output
    table = runner.invoke(main, ["shop", "show", SHOP, *db])
    assert "none mapped" in table.output


def test_a_routing_rule_for_instagram_takes_the_instagram_orders(hub: Hub, oms: Any) -> None:
    with hub.db.write() as conn:
        routing_store.save_run(conn, {"name": "social first 📸", "routings": [
            {"name": "Instagram", "filters": {"queues": ["brokering"], "channels": ["instagram"]},
             "rules": [{"name": "social orders"}]},
            {"name": "everything else", "filters": {"queues": ["brokering"]}, "rules": [{"name": "any warehouse"}]}]})
        source_channels.set_channel(conn, SHOP, META_APP, "instagram")
    put(hub, "orders/create", order_payload(BIG_ID, source_name=META_APP), shop_id=oms.shop.id)
    put(hub, "orders/create", order_payload(BIG_ID + 1000, source_name="web"), shop_id=oms.shop.id)
    drain(hub)
    place(hub)

    def routed(shopify_id: int) -> tuple[str, str]:
        found = order(hub, shopify_id)
        brokering = next(t for t in found["timeline"] if t["kind"] == "brokering")
        return found["channel"], brokering["detail"]["routing"]

    assert routed(BIG_ID) == ("instagram", "Instagram")
    assert routed(BIG_ID + 1000) == ("online", "everything else")


def test_a_newer_version_that_knows_less_keeps_the_channel_stored(hub: Hub, oms: Any) -> None:
    # Read through the Admin API first (the reconcile), then Shopify's webhook of a later change: the
    # webhook does not name the sub-channel, and the order stays an Instagram one.
    put(hub, "orders/create", order_payload(BIG_ID, source_name=META_APP, channel_information=INSTAGRAM),
        shop_id=oms.shop.id)
    put(hub, "orders/create", order_payload(BIG_ID + 1000, source_name="pos"), shop_id=oms.shop.id)
    drain(hub)
    put(hub, "orders/updated", order_payload(BIG_ID, updated_at="2026-11-23T11:00:00-05:00", source_name=META_APP),
        shop_id=oms.shop.id)
    # What Shopify's own sources say is known, not guessed: it applies.
    put(hub, "orders/updated", order_payload(BIG_ID + 1000, updated_at="2026-11-23T11:00:00-05:00",
                                             source_name="web"), shop_id=oms.shop.id)
    drain(hub)
    assert channels(hub) == {BIG_ID: "instagram", BIG_ID + 1000: "online"}
    assert order(hub, BIG_ID)["source_name"] == META_APP and order(hub, BIG_ID)["version"] == 2


def test_the_classify_job_works_out_the_channel_of_stored_orders_again(hub: Hub, oms: Any) -> None:
    from orderhub.adapters.store import accounts
    from orderhub.adapters.store.schema import inbox, order_events
    from orderhub.services.jobs.classify_channels import NAME
    from orderhub.services.jobs.runner import JobFailed, run_job
    from tests.integration.test_amazon_translate import payload as amazon_order

    with hub.db.write() as conn:
        seller = accounts.add(conn, "amazon", "de-seller", {"marketplace_id": "A1PA6795UKMFR9"}, {})
    put(hub, "amazon/order", amazon_order(), shop_id=seller.id)
    for i, source in enumerate((META_APP, META_APP, "web", "pos", "755357713")):
        put(hub, "orders/create", order_payload(BIG_ID + i * 1000, source_name=source), shop_id=oms.shop.id)
    drain(hub)
    with hub.db.write() as conn:
        # As orders stored before orderhub told the channels apart: the marketplace's orders were online, and
        # the versions did not record their source (one inbox record is purged already).
        conn.execute(orders.update().values(channel="online").where(orders.c.shop_id == seller.id))
        for r in conn.execute(select(order_events.c.id, order_events.c.detail)).all():
            detail = {k: v for k, v in orjson.loads(r.detail).items() if k not in ("source_name", "channel")}
            conn.execute(order_events.update().where(order_events.c.id == r.id)
                         .values(detail=orjson.dumps(detail).decode()))
        conn.execute(inbox.delete().where(inbox.c.payload.contains(str(BIG_ID + 1000))))
        source_channels.set_channel(conn, SHOP, META_APP, "instagram")
    _run, stats = run_job(hub, NAME, None, {})
    assert (stats["changed"], stats["unknown_source"], stats["now"]) == (2, 1, {"amazon": 1, "instagram": 1})
    found = channels(hub)
    assert [found[BIG_ID + i * 1000] for i in range(5)] == ["instagram", "online", "online", "pos", "online"]
    with hub.db.read() as conn:
        amazon = conn.execute(select(orders.c.channel).where(orders.c.shop_id == seller.id)).scalar_one()
    assert amazon == "amazon"
    moved = [t for t in order(hub, BIG_ID)["timeline"] if t["kind"] == "channel"]
    assert [(t["actor"], t["detail"]) for t in moved] == [
        ("job:classify-order-channels", {"from": "online", "to": "instagram", "source_name": META_APP})]
    # Run again: nothing left to change. One account only; an unknown one is named.
    assert run_job(hub, NAME, None, {"account": SHOP})[1]["changed"] == 0
    with pytest.raises(JobFailed, match="no channel account nope"):
        run_job(hub, NAME, None, {"account": "nope"})
