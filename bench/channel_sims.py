"""The Amazon, Walmart and TikTok Shop simulators for bench/channels.py: started as their own processes on
loopback with their default limits, seeded with the same listings, read back (what each channel shows
per SKU, and every API request it answered).

Each simulator runs as ``orderhub simulate KIND --port N``: the command a person runs, nothing lifted.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from orderhub.simulators.amazon import defaults as amazon_defaults
from orderhub.simulators.tiktok import defaults as tiktok_defaults
from orderhub.simulators.walmart import defaults as walmart_defaults

KINDS = ("amazon", "walmart", "tiktok")
SKUS_PER_TIKTOK_PRODUCT = 10  # TikTok sets the stock of one product's SKUs in one call; a product has variants
_READY = {"amazon": "/_sim/config", "walmart": "/_sim/config", "tiktok": "/_sim/accounts"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Simulators:
    urls: dict[str, str]
    processes: list[subprocess.Popen[bytes]]
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))
    tiktok_shop: dict[str, str] = field(default_factory=dict)  # id, cipher, access_token of the first shop
    tiktok_refs: dict[str, str] = field(default_factory=dict)  # sku -> "product id:sku id"

    def control(self, kind: str, method: str, path: str, body: Any = None, **params: str) -> Any:
        response = self.http.request(method, f"{self.urls[kind]}/_sim/{path}", json=body, params=params or None)
        if response.status_code >= 300:
            raise RuntimeError(f"{kind} simulator: {method} /_sim/{path} answered {response.status_code}: "
                               f"{response.text[:300]}")
        data = response.json()
        return data["data"] if kind == "tiktok" else data

    def stop(self) -> None:
        self.http.close()
        for p in self.processes:
            p.terminate()
        for p in self.processes:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


def start(log_dir: str) -> Simulators:
    """Each simulator in its own process, answering before this returns."""
    urls, processes = {}, []
    env = dict(os.environ)
    for kind in KINDS:
        port = _free_port()
        with open(os.path.join(log_dir, f"sim-{kind}.log"), "wb") as out:
            processes.append(subprocess.Popen(
                [sys.executable, "-c", "from orderhub.entrypoints.cli import main; main()", "simulate", kind,
                 "--port", str(port)], stdout=out, stderr=subprocess.STDOUT, env=env))
        urls[kind] = f"http://127.0.0.1:{port}"
    sims = Simulators(urls, processes)
    deadline = time.monotonic() + 60
    for kind in KINDS:
        while True:
            try:
                if sims.http.get(urls[kind] + _READY[kind]).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                sims.stop()
                raise RuntimeError(f"the {kind} simulator did not start; see {log_dir}/sim-{kind}.log")
            time.sleep(0.2)
    first = sims.control("tiktok", "GET", "accounts")
    seller = first["sellers"][0]
    shop = seller["shops"][0]
    token = next(t["access_token"] for t in first["tokens"] if t["seller"] == seller["name"])
    sims.tiktok_shop = {"id": shop["id"], "cipher": shop["cipher"], "access_token": token}
    return sims


def seed(sims: Simulators, skus: list[str], quantity: int, tiktok_warehouse: str | None = None) -> None:
    """Every SKU listed on every channel, showing ``quantity``."""
    sims.control("amazon", "POST", "listings", {"seller_id": amazon_defaults.DEFAULT_SELLER_ID,
                                                 "listings": [{"sku": s, "quantity": quantity} for s in skus]})
    for sku in skus:
        sims.control("walmart", "POST", "inventory", {"sku": sku, "quantity": quantity})
    refs = {}
    for first in range(0, len(skus), SKUS_PER_TIKTOK_PRODUCT):
        group = skus[first:first + SKUS_PER_TIKTOK_PRODUCT]
        body: dict[str, Any] = {"shop_id": sims.tiktok_shop["id"],
                                "title": f"Bench product {first // SKUS_PER_TIKTOK_PRODUCT}",
                                "skus": [{"seller_sku": s} for s in group]}
        if tiktok_warehouse:
            body["stock"] = {tiktok_warehouse: quantity}
        made = sims.control("tiktok", "POST", "products", body)
        refs.update({s: f"{made['product_id']}:{made['sku_ids'][s]}" for s in group})
    sims.tiktok_refs = refs


def account_settings(sims: Simulators) -> dict[str, tuple[dict[str, str], dict[str, str]]]:
    """(settings, secrets) of one orderhub account per kind, pointing at the simulators."""
    return {
        "amazon": ({"marketplace_id": amazon_defaults.DEFAULT_MARKETPLACE_ID,
                    "seller_id": amazon_defaults.DEFAULT_SELLER_ID, "client_id": amazon_defaults.DEFAULT_CLIENT_ID,
                    "endpoint": sims.urls["amazon"], "lwa_endpoint": sims.urls["amazon"] + "/auth/o2/token"},
                   {"client_secret": amazon_defaults.DEFAULT_CLIENT_SECRET,
                    "refresh_token": amazon_defaults.DEFAULT_REFRESH_TOKEN}),
        "walmart": ({"client_id": walmart_defaults.DEFAULT_CLIENT_ID, "endpoint": sims.urls["walmart"]},
                    {"client_secret": walmart_defaults.DEFAULT_CLIENT_SECRET}),
        "tiktok": ({"app_key": tiktok_defaults.DEFAULT_APP_KEY, "shop_cipher": sims.tiktok_shop["cipher"],
                    "endpoint": sims.urls["tiktok"]},
                   {"app_secret": tiktok_defaults.DEFAULT_APP_SECRET,
                    "access_token": sims.tiktok_shop["access_token"]}),
    }


def shown(sims: Simulators, tiktok_warehouse: str) -> dict[str, dict[str, int]]:
    """What each channel shows now, per SKU (Amazon: merchant-fulfilled quantity; Walmart: the default
    ship node; TikTok: the shop's default warehouse). Reading also lets each simulator settle feeds due."""
    amazon = {r["sku"]: int(r["quantities"].get("DEFAULT", 0)) for r in sims.control(
        "amazon", "GET", "listings", seller_id=amazon_defaults.DEFAULT_SELLER_ID)["listings"]}
    walmart = {r["sku"]: int(r["quantity"]) for r in sims.control("walmart", "GET", "inventory")["inventory"]
               if not r.get("shipNode")}
    tiktok = {r["seller_sku"]: int(r["inventory"].get(tiktok_warehouse, 0)) for r in sims.control(
        "tiktok", "GET", "stock", shop_id=sims.tiktok_shop["id"])["stock"]}
    return {"amazon": amazon, "walmart": walmart, "tiktok": tiktok}


_NOT_CALLS = ("token", "lwa", "auth")  # signing in is not a stock call


def calls(sims: Simulators, kinds: Iterable[str] = KINDS) -> dict[str, dict[str, Any]]:
    """Per channel, the API requests it answered: how many, how many 429, and by operation."""
    out = {}
    for kind in kinds:
        entries = sims.control(kind, "GET", "requests")["requests"]
        by_operation: dict[str, int] = {}
        total = throttled = 0
        for e in entries:
            operation = str(e.get("operation") or e.get("path") or "?")
            if any(word in operation.lower() for word in _NOT_CALLS):
                continue
            total += 1
            throttled += int(e.get("status") == 429)
            by_operation[operation] = by_operation.get(operation, 0) + 1
        out[kind] = {"calls": total, "throttled": throttled, "by_operation": by_operation}
    return out
