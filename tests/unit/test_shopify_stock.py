"""The Shopify stock channel's answers to HTTP throttling and failures (429 with Retry-After, 5xx), and its
idempotency keys, without a network: Shopify's side is an httpx mock transport."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import orjson
import pytest

from orderhub.adapters.shopify import graphql_inventory
from orderhub.adapters.shopify.graphql import AdminClient
from orderhub.adapters.shopify.stock import ShopifyStock, Waits, idempotency_key
from orderhub.adapters.store.shopify_listings import StockLocation
from orderhub.adapters.store.shops import Shop
from orderhub.domain.channels import ChannelUnavailable, StockUpdate
from tests.versions import NEWEST, TEST_DAY

SHOP = Shop(id=7, domain="mock.myshopify.com", webhook_secret="s", admin_url=None, access_token="shpat_x",
            api_version=NEWEST, status="active")
# inventorySetQuantities' payload as the Admin GraphQL reference shows it (a group, no user errors).
TAKEN = {"data": {"inventorySetQuantities": {"inventoryAdjustmentGroup": {
    "createdAt": "2026-12-07T10:00:00Z", "changes": []}, "userErrors": []}}}

Handler = Callable[[httpx.Request], httpx.Response]


def _stock(handler: Handler, slept: list[float]) -> ShopifyStock:
    waits = Waits(sleep=slept.append)
    http = httpx.Client(transport=httpx.MockTransport(handler), event_hooks={"response": [waits.saw]})
    client = AdminClient(f"https://{SHOP.domain}/admin/api/{NEWEST}/graphql.json", "shpat_x", client=http,
                         sleep=waits, max_attempts=3, today=lambda: TEST_DAY)
    return ShopifyStock(client, SHOP, StockLocation("55", "Lager"), waits)


def _updates(n: int = 1) -> list[StockUpdate]:
    return [StockUpdate(f"SKU-{i}", "", 3 + i, str(1000 + i), version=1) for i in range(n)]


def test_a_429_asking_for_a_long_wait_ends_the_call_with_its_retry_after() -> None:
    slept: list[float] = []
    stock = _stock(lambda request: httpx.Response(429, headers={"Retry-After": "7"}), slept)
    with pytest.raises(ChannelUnavailable, match="answered 429 Too Many Requests; try again in 7.0 s") as caught:
        stock.push_stock(_updates())
    assert caught.value.retry_after == 7.0 and slept == []


def test_a_short_retry_after_is_waited_for_and_the_request_goes_again_with_the_same_key() -> None:
    seen: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(orjson.loads(request.content))
        if len(seen) == 1:
            return httpx.Response(429, headers={"Retry-After": "0.5"})
        return httpx.Response(200, json=TAKEN)

    slept: list[float] = []
    assert _stock(handler, slept).push_stock(_updates(2)) == {}
    assert slept == [0.5] and len(seen) == 2
    assert seen[0]["variables"] == seen[1]["variables"]  # the same input under the same idempotency key
    variables = seen[1]["variables"]
    assert isinstance(variables, dict)
    assert [q["changeFromQuantity"] for q in variables["input"]["quantities"]] == [None, None]  # no compare
    assert variables["input"]["quantities"][0]["locationId"] == "gid://shopify/Location/55"  # the stock location


def test_shopify_down_after_the_attempts_is_unavailable_and_a_later_batch_waits_like_a_refused_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    down = _stock(lambda request: httpx.Response(503), slept)
    with pytest.raises(ChannelUnavailable, match="Shopify answered 503 3 times") as caught:
        down.push_stock(_updates())
    assert caught.value.retry_after is None and len(slept) == 2  # short backoffs between the attempts

    calls: list[int] = []

    def first_only(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(200, json=TAKEN) if len(calls) == 1 else httpx.Response(
            429, headers={"Retry-After": "30"})

    monkeypatch.setattr(graphql_inventory, "MAX_QUANTITIES", 1)
    refused = _stock(first_only, []).push_stock(_updates(2))
    assert list(refused) == [("SKU-1", "")]  # the first was taken; the second goes next round
    assert refused[("SKU-1", "")].startswith(f"not sent: Shopify shop {SHOP.domain} answered 429")


def test_the_idempotency_key_follows_the_listings_values_and_attempts() -> None:
    def key(*updates: StockUpdate) -> str:
        return idempotency_key(SHOP.id, [(u, u.channel_ref or "", "55") for u in updates])

    a, b = StockUpdate("A", "", 3, "1", version=4), StockUpdate("B", "", 0, "2", version=1)
    assert key(a, b) == key(b, a) and key(a, b).startswith("orderhub-stock-")
    assert key(a, b) != key(StockUpdate("A", "", 3, "1", version=5), b)  # a new value of a listing
    assert key(a, b) != key(StockUpdate("A", "", 3, "1", version=4, attempts=1), b)  # tried again after a refusal
    assert key(a, b) != key(a)
    assert idempotency_key(SHOP.id + 1, [(a, "1", "55")]) != key(a)
