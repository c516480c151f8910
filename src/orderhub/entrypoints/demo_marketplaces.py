"""The channels of the demo's omnichannel act: simulated Amazon (SP-API), Walmart Marketplace and TikTok Shop
on loopback beside the demo's Shopify store, an orderhub account for each, and per kind of channel the two
things the demo does there as the seller would: put its SKUs on sale (the seller's side, through each
simulator's control API) and read what the channel shows of each SKU to buyers, from the simulator's own
state, never from orderhub's tables.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import httpx

from orderhub.adapters.channels import account_values
from orderhub.adapters.outbound import ENV_ALLOWED
from orderhub.adapters.store import accounts, shopify_listings, shops
from orderhub.adapters.tiktok import api as tiktok_api
from orderhub.adapters.tiktok.channel import client_for as tiktok_client
from orderhub.bootstrap import Hub
from orderhub.services.jobs.runner import run_job
from orderhub.simulators.amazon import defaults as amazon
from orderhub.simulators.tiktok import defaults as tiktok
from orderhub.simulators.tiktok.simulator import DEFAULT_SELLERS as TIKTOK_SELLERS
from orderhub.simulators.walmart import defaults as walmart

ACCOUNTS = {"amazon": "amazon-us", "walmart": "walmart-us", "tiktok": "tiktok-us"}  # kind -> account name
TIKTOK_SHOP = TIKTOK_SELLERS[0]["shops"][0]  # the first seller's US shop


@dataclass(frozen=True)
class Item:
    """One of the demo's SKUs as a seller puts it on sale: its product, option and price."""

    sku: str
    product: str
    option: str
    price: str


@dataclass
class Marketplaces:
    """The running simulators by kind (their base URLs) and a client of their control APIs."""

    urls: dict[str, str]
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))
    stops: list[Callable[[], None]] = field(default_factory=list)
    allowed_before: str | None = None  # the process's ORDERHUB_OUTBOUND_ALLOWED_HOSTS before: back on close()
    stock_locations: dict[str, str] = field(default_factory=dict)  # Shopify shop -> its stock location's id

    def get(self, kind: str, path: str, **params: str) -> Any:
        answer = self.http.get(f"{self.urls[kind]}{path}", params=params or None)
        answer.raise_for_status()
        return answer.json()

    def send(self, kind: str, method: str, path: str, body: dict[str, Any]) -> Any:
        answer = self.http.request(method, f"{self.urls[kind]}{path}", json=body)
        answer.raise_for_status()
        return answer.json()

    def wait_idle(self, timeout: float) -> bool:
        """Until the Shopify store and TikTok have sent every webhook that is due (answered, or given up)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.send("shopify", "POST", "/_sim/wait_idle", {"timeout": 0.5}).get("idle"):
                break
        left = max(0.0, deadline - time.monotonic())
        return bool(self.send("tiktok", "POST", "/_sim/webhooks/wait", {"timeout": left})["data"]["idle"])

    def close(self) -> None:
        self.http.close()
        for stop in reversed(self.stops):
            stop()
        if self.allowed_before is None:
            os.environ.pop(ENV_ALLOWED, None)
        else:
            os.environ[ENV_ALLOWED] = self.allowed_before


def start(shopify_url: str, *, seed: int) -> Marketplaces:
    """The Amazon, Walmart and TikTok Shop simulators on loopback (the Shopify one runs already)."""
    from orderhub.simulators.amazon.server import start_in_thread as start_amazon
    from orderhub.simulators.tiktok.server import start_in_thread as start_tiktok
    from orderhub.simulators.walmart.server import start_in_thread as start_walmart

    market = Marketplaces({"shopify": shopify_url}, allowed_before=os.environ.get(ENV_ALLOWED))
    # orderhub calls only public addresses unless told otherwise; the demo's channels are on loopback, and
    # this process (the demo's own) is told so until they are closed.
    hosts = [h for h in (market.allowed_before or "").split(",") if h.strip()]
    os.environ[ENV_ALLOWED] = ",".join([*hosts, "127.0.0.1"])
    try:
        for kind, starter in (("amazon", start_amazon), ("walmart", start_walmart), ("tiktok", start_tiktok)):
            _sim, url, stop = starter(seed=seed)
            market.stops.append(stop)
            market.urls[kind] = url
    except BaseException:
        market.close()
        raise
    return market


def add_accounts(hub: Hub, market: Marketplaces) -> list[accounts.Account]:
    """An account of each kind, as `orderhub channel add KIND NAME` adds it, pointing at its simulator."""
    given: dict[str, dict[str, str | None]] = {
        "amazon": {"marketplace_id": amazon.DEFAULT_MARKETPLACE_ID, "seller_id": amazon.DEFAULT_SELLER_ID,
                   "client_id": amazon.DEFAULT_CLIENT_ID, "client_secret": amazon.DEFAULT_CLIENT_SECRET,
                   "refresh_token": amazon.DEFAULT_REFRESH_TOKEN, "endpoint": market.urls["amazon"],
                   "lwa_endpoint": f"{market.urls['amazon']}/auth/o2/token"},
        "walmart": {"client_id": walmart.DEFAULT_CLIENT_ID, "client_secret": walmart.DEFAULT_CLIENT_SECRET,
                    "endpoint": market.urls["walmart"]},
        "tiktok": {"app_key": tiktok.DEFAULT_APP_KEY, "app_secret": tiktok.DEFAULT_APP_SECRET,
                   "access_token": TIKTOK_SELLERS[0]["access_token"], "shop_cipher": TIKTOK_SHOP["cipher"],
                   "endpoint": market.urls["tiktok"]},
    }
    added = []
    with hub.db.write() as conn:
        for kind, name in ACCOUNTS.items():
            settings, secrets = account_values(kind, given[kind])
            added.append(accounts.add(conn, kind, name, settings, secrets))
    return added


# -- per kind: the SKUs put on sale, and what the channel shows ---------------------------------------------

Offer = Callable[[Marketplaces, accounts.Account, Hub, Sequence[Item]], dict[str, str] | None]
Shown = Callable[[Marketplaces, accounts.Account], dict[str, int]]


class Channel(NamedTuple):
    # puts the SKUs on sale at 0 units; returns the channel's own id of each listing, if it needs one, or None
    # when its listings are made already (a Shopify shop's, from its stock location)
    offer: Offer
    shown: Shown  # SKU -> the units a buyer can order there


def _amazon_offer(market: Marketplaces, account: accounts.Account, hub: Hub, items: Sequence[Item]) -> dict[str, str]:
    market.send("amazon", "POST", "/_sim/listings", {
        "seller_id": account.settings["seller_id"],
        "listings": [{"sku": i.sku, "quantity": 0, "title": f"{i.product} ({i.option})"} for i in items]})
    return {}


def _amazon_shown(market: Marketplaces, account: accounts.Account) -> dict[str, int]:
    listings = market.get("amazon", "/_sim/listings", seller_id=account.settings["seller_id"])["listings"]
    return {row["sku"]: int(row["quantities"].get("DEFAULT", 0)) for row in listings}


def _walmart_offer(market: Marketplaces, account: accounts.Account, hub: Hub, items: Sequence[Item]
                   ) -> dict[str, str]:
    for i in items:
        market.send("walmart", "POST", "/_sim/inventory",
                    {"seller": account.settings["client_id"], "sku": i.sku, "quantity": 0})
    return {}


def _walmart_shown(market: Marketplaces, account: accounts.Account) -> dict[str, int]:
    shown: dict[str, int] = {}
    for row in market.get("walmart", "/_sim/inventory", seller=account.settings["client_id"])["inventory"]:
        shown[row["sku"]] = shown.get(row["sku"], 0) + int(row["quantity"])  # every ship node
    return shown


def _tiktok_offer(market: Marketplaces, account: accounts.Account, hub: Hub, items: Sequence[Item]
                  ) -> dict[str, str]:
    """One TikTok product per product of the demo's, stocked in the shop's default warehouse only (the one
    orderhub sets); TikTok's stock call needs its product and SKU ids, so they are the listings' refs."""
    found = tiktok_api.warehouses(tiktok_client(account, hub))
    default = next(str(w["id"]) for w in found if w.get("is_default"))
    refs = {}
    for product in dict.fromkeys(i.product for i in items):
        skus = [i for i in items if i.product == product]
        made = market.send("tiktok", "POST", "/_sim/products", {
            "shop_id": TIKTOK_SHOP["id"], "title": product, "stock": {default: 0},
            "skus": [{"seller_sku": i.sku, "name": i.option, "price": i.price} for i in skus]})
        refs |= {i.sku: f"{made['data']['product_id']}:{made['data']['sku_ids'][i.sku]}" for i in skus}
    return refs


def _tiktok_shown(market: Marketplaces, account: accounts.Account) -> dict[str, int]:
    stock = market.get("tiktok", "/_sim/stock", shop_id=TIKTOK_SHOP["id"])["data"]["stock"]
    return {row["seller_sku"]: int(row["total"]) for row in stock}  # every warehouse


def _shopify_offer(market: Marketplaces, account: accounts.Account, hub: Hub, items: Sequence[Item]
                   ) -> dict[str, str] | None:
    """The store sells these SKUs already: its first location becomes the one the stock pusher sets (as
    `orderhub shop stock-location` does), which lists every variant orderhub knows there. None: the listings
    are made."""
    with hub.db.read() as conn:
        shop = shops.by_id(conn, account.id)
    run_job(hub, "sync-products", shop, {"collections": "false"})  # the variants orderhub then knows
    processor = hub.processor()
    while processor.run_once()[0]:
        pass
    first = market.get("shopify", "/_sim/locations", shop=account.name)["locations"][0]
    market.stock_locations[account.name] = str(first["id"])
    with hub.db.write() as conn:
        shopify_listings.set_stock_location(conn, account.id,
                                            shopify_listings.StockLocation(str(first["id"]), first["name"]))
    return None


def _shopify_shown(market: Marketplaces, account: accounts.Account) -> dict[str, int]:
    """``available`` at the shop's stock location."""
    shop = account.name
    body = market.get("shopify", "/_sim/products", shop=shop)
    chosen = market.stock_locations.get(shop)
    skus = {v["inventory_item_id"]: v["sku"] for p in body["products"] for v in p["variants"] if v.get("sku")}
    return {skus[level["inventory_item_id"]]: int(level["available"] or 0) for level in body["inventory_levels"]
            if str(level["location_id"]) == chosen and level["inventory_item_id"] in skus}


CHANNELS: dict[str, Channel] = {
    "amazon": Channel(_amazon_offer, _amazon_shown),
    "walmart": Channel(_walmart_offer, _walmart_shown),
    "tiktok": Channel(_tiktok_offer, _tiktok_shown),
    "shopify": Channel(_shopify_offer, _shopify_shown),
}
