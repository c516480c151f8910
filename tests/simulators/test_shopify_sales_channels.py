"""The simulated shops sell through the online store, POS, draft orders and the social apps: each order's
webhook body says its source_name and app_id, and the Admin API names its channel information."""

from __future__ import annotations

import pytest

from orderhub.adapters.shopify import graphql_orders
from orderhub.adapters.shopify.translate import order as translate_order
from orderhub.simulators.shopify import sales_channels
from orderhub.simulators.shopify.generator import OrderGenerator
from orderhub.simulators.shopify.store import Store
from tests.simulators.conftest import SHOP_A, Receiver, SimClient
from tests.versions import NEWEST

CHANNEL_INFORMATION = """
query($id: ID!) { order(id: $id) { sourceName channelInformation {
  id channelId app { id title } channelDefinition { id handle channelName subChannelName isMarketplace } } } }"""

# What each channel's order says: (REST source_name, app title, sub-channel or None, orderhub's channel).
EXPECTED = {
    "web": ("web", "Online Store", None, "online"),
    "pos": ("pos", "Point of Sale", None, "pos"),
    "shopify_draft_order": ("shopify_draft_order", None, None, "online"),
    "instagram": (str(sales_channels.CHANNELS["instagram"]["app_id"]), "Facebook & Instagram", "Instagram Shopping",
                  "instagram"),
    "facebook": (str(sales_channels.CHANNELS["facebook"]["app_id"]), "Facebook & Instagram", "Facebook Shops",
                 "facebook"),
    "tiktok": (str(sales_channels.CHANNELS["tiktok"]["app_id"]), "TikTok", "TikTok Shop", "tiktok"),
}


@pytest.mark.parametrize("channel", sorted(EXPECTED))
def test_an_order_of_each_channel_has_its_source_in_the_webhook_and_its_channel_in_graphql(
        sim_client: SimClient, receiver: Receiver, channel: str) -> None:
    source, app, sub_channel, ours = EXPECTED[channel]
    sim_client.subscribe("ORDERS_CREATE", f"{receiver.url}/hooks")
    [order_id] = sim_client.place(1, sales_channel=channel)
    sim_client.idle()
    [hook] = receiver.on("/hooks", "orders/create")
    body = hook.json()
    assert body["source_name"] == source and body["app_id"] == sales_channels.CHANNELS[channel]["app_id"]
    assert sales_channels.PRIVATE_KEY not in body and "channel_information" not in body  # REST has no such field
    node = sim_client.graphql(CHANNEL_INFORMATION, {"id": f"gid://shopify/Order/{order_id}"})["order"]
    assert node["sourceName"] == source
    info = node["channelInformation"]
    if app is None:
        assert info is None
    else:
        assert info["app"]["title"] == app and info["id"].startswith("gid://shopify/ChannelInformation/")
        definition = info["channelDefinition"]
        assert (definition and definition["subChannelName"]) == (sub_channel or None)
    # The webhook alone tells only Shopify's own sources apart; the Admin API names the social ones.
    assert translate_order(body).channel == ("online" if channel in sales_channels.SOCIAL else ours)


def test_orders_read_through_graphql_carry_their_channel_information_to_the_translator(
        sim_client: SimClient) -> None:
    ids = {channel: sim_client.place(1, sales_channel=channel)[0] for channel in EXPECTED}
    query = "query($id: ID!) { order(id: $id) { %s } }" % graphql_orders.order_selection(NEWEST)  # as reconcile
    read = {order_id: translate_order(graphql_orders.to_rest(
        sim_client.graphql(query, {"id": f"gid://shopify/Order/{order_id}"})["order"])) for order_id in ids.values()}
    assert {channel: read[order_id].channel for channel, order_id in ids.items()} == {
        channel: expected[3] for channel, expected in EXPECTED.items()}
    assert read[ids["instagram"]].channel_information.describe() == "Facebook & Instagram · Instagram Shopping"


def test_an_unknown_sales_channel_is_refused(sim_client: SimClient) -> None:
    answer = sim_client.control("POST", "/orders", {"shop": SHOP_A, "count": 1, "sales_channel": "myspace"},
                                expect=400)
    assert "no sales channel 'myspace'" in answer["error"]


def test_some_web_sales_come_through_the_social_apps_and_the_rest_of_the_order_keeps_its_seed() -> None:
    def orders(seed: int, channel: str | None = None) -> list[dict]:
        store = Store()
        shop = store.add_shop("seed.myshopify.com", "s", "t", api_version=NEWEST)
        generator = OrderGenerator(seed, store.next_id)
        products = generator.catalogue(store.clock.now(), shop.tz)
        return [generator.order(products, number=1001 + i, now=store.clock.now(), tz=shop.tz, currency="EUR",
                                sales_channel=channel) for i in range(200)]

    def without_channel(order: dict) -> tuple:  # what the seed decides (times are the clock's)
        return (order["id"], order["email"], order["total_price"], order["financial_status"], order["tags"],
                [(li["sku"], li["quantity"], li["price"]) for li in order["line_items"]],
                [d["code"] for d in order["discount_codes"]])

    made = orders(7)
    assert {o[sales_channels.PRIVATE_KEY] for o in made} == set(EXPECTED)
    assert [o["source_name"] for o in orders(7)] == [o["source_name"] for o in made]
    # The channel is drawn apart: the same seed makes the same orders whichever channel they are sold through.
    assert [without_channel(o) for o in orders(7, "pos")] == [without_channel(o) for o in made]
