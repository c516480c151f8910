"""searchProducts and inventorySearch: the tiktok-shop-api client (generated from TikTok's OpenAPI description)
drives them, and every answer matches the client's published response models field by field."""

from __future__ import annotations

import pytest
from tiktok_shop_api import TikTokShop
from tiktok_shop_api.generated import models

from tests.simulators.test_tiktok_client import conforms
from tests.simulators.test_tiktok_support import APP_KEY, APP_SECRET, CIPHER, TOKEN, Tiktok

pytest_plugins = ("tests.simulators.test_tiktok_support",)


@pytest.fixture
def client(tt: Tiktok) -> TikTokShop:
    return TikTokShop(APP_KEY, APP_SECRET, access_token=TOKEN, shop_cipher=CIPHER, base_url=tt.url, timeout=10)


def test_the_client_pages_through_the_shop_s_products(tt: Tiktok, client: TikTokShop) -> None:
    stock = tt.control("GET", "/stock")["stock"]
    products, token = [], None
    while True:
        page = client.products.search_products(page_size=2, page_token=token, body=models.SearchProductsRequest(
            status=models.SearchProductsRequestStatus.ACTIVATE))
        assert page.code == 0
        products += page.data.products
        token = page.data.next_page_token or None
        if not token:
            break
    assert page.data.total_count == len(products) == len({s["product_id"] for s in stock})
    skus = {(p.id, s.id, s.seller_sku) for p in products for s in p.skus}
    assert skus == {(s["product_id"], s["sku_id"], s["seller_sku"]) for s in stock}
    first = products[0].skus[0]
    assert {i.warehouse_id: i.quantity for i in first.inventory} == next(
        s["inventory"] for s in stock if s["sku_id"] == first.id)


def test_answers_match_the_published_models_and_filters_narrow_them(tt: Tiktok) -> None:
    row = next(s for s in tt.control("GET", "/stock")["stock"] if s["seller_sku"] == "SERUM-30")
    search = tt.call("POST", "/product/202502/products/search", {"seller_skus": ["SERUM-30"]},
                     query={"page_size": "100"})
    inventory = tt.call("POST", "/product/202309/inventory/search", {"sku_ids": [row["sku_id"]],
                                                                      "product_ids": ["1"]})
    for model, response in ((models.SearchProductsResponse, search), (models.InventorySearchResponse, inventory)):
        assert conforms(model, response.json(), model.__name__) == [], response.text
    assert [p["id"] for p in search.json()["data"]["products"]] == [row["product_id"]]
    (found,) = inventory.json()["data"]["inventory"]  # sku_ids take precedence over product_ids
    (sku,) = found["skus"]
    assert (found["product_id"], sku["id"], sku["total_available_quantity"]) == (
        row["product_id"], row["sku_id"], row["total"])
    assert {w["warehouse_id"]: w["available_quantity"] for w in sku["warehouse_inventory"]} == row["inventory"]
    by_product = tt.ok("POST", "/product/202309/inventory/search", {"product_ids": [row["product_id"]]})
    assert [s["id"] for s in by_product["inventory"][0]["skus"]] == [row["sku_id"]]


@pytest.mark.parametrize(("path", "body", "query"), [
    ("/product/202502/products/search", {"status": "SOLD"}, {"page_size": "10"}),
    ("/product/202502/products/search", {}, {"page_size": "101"}),
    ("/product/202502/products/search", {"seller_skus": "SERUM-30"}, {"page_size": "10"}),
    ("/product/202309/inventory/search", {}, {}),
    ("/product/202309/inventory/search", {"sku_ids": [str(n) for n in range(101)]}, {}),
])
def test_mistakes_are_refused_with_tiktok_s_error(tt: Tiktok, path: str, body: dict[str, object],
                                                  query: dict[str, str]) -> None:
    answer = tt.call("POST", path, body, query=query).json()
    assert answer["code"] != 0 and "invalid param error" in answer["message"]
