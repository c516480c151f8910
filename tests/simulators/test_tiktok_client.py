"""The tiktok-shop-api client (0.1.0, unofficial, generated from TikTok's OpenAPI description) drives the
simulator, TikTok's published samples are accepted, and answers match the published response models.

The client takes ``base_url`` in its constructor, so it points at the simulator without monkeypatching.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import attrs
import pytest
from tiktok_shop_api import TikTokShop, TikTokShopAuth, TikTokShopError, Webhooks
from tiktok_shop_api.generated import models

from orderhub.simulators.tiktok.signing import sign_request, sign_webhook
from tests.simulators.test_tiktok_support import APP_KEY, APP_SECRET, CIPHER, TOKEN, Tiktok

SAMPLES = resources.files("orderhub.simulators.tiktok") / "samples"

pytest_plugins = ("tests.simulators.test_tiktok_support",)  # the simulator, reset per test, and a hook_receiver


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


def conforms(model: type, data: Any, where: str = "data") -> list[str]:
    """Every key of ``data`` is a field of the published model, with the model's type; nested models too."""
    problems = []
    fields = {(f.name[:-1] if f.name.endswith("_") else f.name): f for f in attrs.fields(model) if f.init}
    for key, value in data.items():
        field = fields.get(key)
        if field is None:
            problems.append(f"{where}.{key} is not in {model.__name__}")
            continue
        kind = field.type.replace(" | Unset", "").strip()
        problems += _check(kind, value, f"{where}.{key}")
    return problems


def _check(kind: str, value: Any, where: str) -> list[str]:
    if value is None:
        return []  # TikTok sends "data": null with an error
    if kind.startswith("list["):
        if not isinstance(value, list):
            return [f"{where} should be a list"]
        return [p for n, v in enumerate(value) for p in _check(kind[5:-1], v, f"{where}[{n}]")]
    simple = {"str": str, "int": int, "bool": bool, "float": (int, float)}
    if kind in simple:
        ok = isinstance(value, simple[kind]) and not (kind == "int" and isinstance(value, bool))
        return [] if ok else [f"{where} should be {kind}, is {type(value).__name__}"]
    model = getattr(models, kind, None)
    if model is None:
        return []  # an enum or literal: values are checked by the API tests
    return conforms(model, value, where) if isinstance(value, dict) else [f"{where} should be an object"]


@pytest.fixture
def client(tt: Tiktok) -> TikTokShop:
    return TikTokShop(APP_KEY, APP_SECRET, access_token=TOKEN, shop_cipher=CIPHER, base_url=tt.url, timeout=10)


def test_the_client_searches_reads_ships_and_updates_stock(tt: Tiktok, client: TikTokShop) -> None:
    placed = tt.order(lines=[{"seller_sku": "SERUM-30", "quantity": 2}])
    found = client.orders.get_order_list(page_size=20, body=models.GetOrderListRequest(
        order_status=models.GetOrderListRequestOrderStatus.AWAITING_SHIPMENT))
    assert found.code == 0 and [o.id for o in found.data.orders] == [placed["id"]]
    detail = client.orders.get_order_detail(ids=placed["id"])
    order = detail.data.orders[0]
    assert order.status == "AWAITING_SHIPMENT" and len(order.line_items) == 2
    shipped = client.fulfillment.ship_package(order.packages[0].id, body=models.ShipPackageRequest(
        self_shipment=models.SelfShipment(tracking_number="9400TT", shipping_provider_id="6617675021119438849")))
    assert shipped.code == 0
    sku = order.line_items[0]
    client.products.update_inventory(sku.product_id, body=models.UpdateInventoryRequest(skus=[
        models.UpdateInventoryRequestSku(id=sku.sku_id, inventory=[models.UpdateInventoryRequestSkuInventory(
            quantity=41)])]))
    product = client.products.get_product(sku.product_id)
    assert product.data.skus[0].inventory[0].quantity == 41
    kinds = [op["kind"] for op in tt.control("GET", "/operations")["operations"]]
    assert kinds == ["shipment", "stock_update"]
    assert tt.control("GET", f"/orders/{placed['id']}")["status"] == "AWAITING_COLLECTION"


def test_the_client_sees_tiktoks_error_codes(tt: Tiktok) -> None:
    wrong = TikTokShop(APP_KEY, "wrong-secret", access_token=TOKEN, shop_cipher=CIPHER, base_url=tt.url)
    with pytest.raises(TikTokShopError) as caught:
        wrong.orders.get_order_list(page_size=5)
    assert (caught.value.code, caught.value.http_status) == (106001, 401)
    tt.control("POST", "/rate_limits", {"operation": "getOrderList", "qps": 1})
    ok = TikTokShop(APP_KEY, APP_SECRET, access_token=TOKEN, shop_cipher=CIPHER, base_url=tt.url)
    ok.orders.get_order_list(page_size=5)
    with pytest.raises(TikTokShopError) as limited:
        ok.orders.get_order_list(page_size=5)
    assert (limited.value.code, limited.value.http_status) == (36009002, 429)


def test_the_clients_oauth_helper_gets_and_refreshes_tokens(tt: Tiktok) -> None:
    auth = TikTokShopAuth(APP_KEY, APP_SECRET, base_url=tt.url)
    tokens = auth.exchange_code(tt.control("POST", "/auth_codes", {"seller": 1})["auth_code"])
    assert tokens.access_token_expire_in > tt.sim.clock.now()
    renewed = auth.refresh(tokens.refresh_token)
    shops = TikTokShop(APP_KEY, APP_SECRET, access_token=renewed.access_token, base_url=tt.url)
    assert [s.name for s in shops.authorization.get_authorized_shops().data.shops] == ["Björk & Co"]
    with pytest.raises(TikTokShopError):
        auth.exchange_code("not-a-code")


def test_answers_match_the_published_models(tt: Tiktok) -> None:
    tt.sim.generate(12)
    order_id = next(iter(tt.sim.store.shops[tt.sim.shop_id(None)].orders))
    cancel = tt.order()
    tt.control("POST", f"/orders/{cancel['id']}/events", {"event": "buyer_cancel"})
    row = tt.control("GET", "/stock")["stock"][0]
    answers = [
        (models.GetOrderListResponse, tt.call("POST", "/order/202309/orders/search", {}, query={"page_size": "50"})),
        (models.GetOrderDetailResponse, tt.call("GET", "/order/202309/orders", query={"ids": order_id})),
        (models.SearchCancellationsResponse, tt.call("POST", "/return_refund/202309/cancellations/search", {},
                                                     query={"page_size": "10"})),
        (models.GetProductResponse, tt.call("GET", f"/product/202309/products/{row['product_id']}")),
        (models.GetWarehouseListResponse, tt.call("GET", "/logistics/202309/warehouses")),
        (models.GetAuthorizedShopsResponse, tt.call("GET", "/authorization/202309/shops", cipher=None)),
        (models.GetOrderListResponse, tt.call("POST", "/order/202309/orders/search", {}, query={"page_size": "0"})),
    ]
    for model, response in answers:
        body = response.json()
        assert conforms(model, body, model.__name__) == [], body
    assert len(answers[0][1].json()["data"]["orders"]) == 13


def test_webhook_bodies_match_the_published_model_and_verify(tt: Tiktok, hook_receiver: Any) -> None:
    tt.control("PUT", "/webhooks", {"event_type": "ORDER_STATUS_CHANGE", "address": hook_receiver.url})
    tt.control("PUT", "/webhooks", {"event_type": "CANCELLATION_STATUS_CHANGE", "address": hook_receiver.url})
    order = tt.order()
    tt.control("POST", f"/orders/{order['id']}/events", {"event": "buyer_cancel"})
    hook_receiver.wait_for(4)
    for headers, body in hook_receiver.received:
        event = Webhooks.verify_and_parse(app_key=APP_KEY, app_secret=APP_SECRET, raw_body=body,
                                          signature=headers["authorization"])
        assert type(event).__name__ in ("OrderStatusChangeWebhook", "CancellationStatusChangeWebhook")
        parsed = json.loads(body)
        model = models.OrderStatusChangeWebhook if parsed["type"] == 1 else models.CancellationStatusChangeWebhook
        assert conforms(model, parsed) == []
    assert [b["type"] for b in hook_receiver.bodies()] == [1, 1, 1, 11]


def test_the_published_webhook_signature_example(tt: Tiktok) -> None:
    vector = sample("webhook_order_status_change.json")
    raw = vector["raw_body"].encode()
    assert sign_webhook(vector["app_key"], vector["app_secret"], raw) == vector["authorization"]
    assert Webhooks.verify(app_key=vector["app_key"], app_secret=vector["app_secret"], raw_body=raw,
                           signature=vector["authorization"])
    assert conforms(models.OrderStatusChangeWebhook, json.loads(raw)) == []


def test_the_published_signed_request_example_is_accepted(tt: Tiktok) -> None:
    example = sample("signed_request_update_webhook.json")
    tt.sim.apps[example["app_key"]] = example["app_secret"]
    tt.sim.accounts.sellers[0].shops[0].cipher = example["shop_cipher"]
    tt.sim.clock.set(example["timestamp"] - 60)
    token = tt.sim.accounts.exchange(example["app_key"], tt.sim.accounts.new_auth_code(0))
    assert token is not None
    tt.sim.clock.set(example["timestamp"] + 10)
    query = {"app_key": example["app_key"], "shop_cipher": example["shop_cipher"],
             "timestamp": str(example["timestamp"])}
    body = example["body"].encode()
    sign = sign_request(example["app_secret"], example["path"], query.items(), body)
    response = tt.http.request(example["method"], example["path"], params=query | {"sign": sign}, content=body,
                               headers={"content-type": "application/json", "x-tts-access-token": token.access_token})
    tt.sim.clock.reset()
    assert response.status_code == 200 and response.json()["code"] == 0, response.text
    assert tt.sim.store.shops[tt.sim.shop_id(None)].webhooks["PACKAGE_UPDATE"]["address"] == \
        "https://partner.tiktokshop.com"


def test_published_error_and_token_samples_match_the_simulator(tt: Tiktok) -> None:
    errors = sample("errors.json")
    bad = tt.call("GET", "/authorization/202309/shops", cipher=None, secret="wrong")
    assert bad.status_code == errors["invalid_sign"]["http_status"]
    assert bad.json()["code"] == errors["invalid_sign"]["body"]["code"]
    assert errors["invalid_sign"]["body"]["message"].startswith(bad.json()["message"])
    assert set(sample("token_response.json")) <= set(tt.http.get(
        f"/api/v2/token/get?app_key={APP_KEY}&app_secret={APP_SECRET}&grant_type=authorized_code&auth_code="
        + tt.control("POST", "/auth_codes", {})["auth_code"]).json()["data"])
