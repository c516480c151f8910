"""Stock out to a TikTok shop: the quantity each SKU shows, per TikTok warehouse.

TikTok sets stock with ``POST /product/202309/products/{product_id}/inventory/update``, which takes the
SKUs of one product with a quantity per warehouse. A listing therefore needs TikTok's product and SKU id:
its ``channel_ref`` is ``"<product id>:<sku id>"`` (given when the SKU is listed:
``channel_stock.list_skus(conn, account, skus, refs={sku: "1729...:1730..."})``). Its ``location`` is the
TikTok warehouse id; '' is the shop's default warehouse (from ``GET /logistics/202309/warehouses``).

A few changed listings go one SKU a call, so one refusal costs nothing else; from :data:`BULK_THRESHOLD`
on, one call per product carries all its SKUs (TikTok has no cross-product feed for stock), and a product
whose call is refused is tried SKU by SKU so only the bad SKU waits.

Read back (the listings sync and the drift check): ``searchProducts`` lists the shop's live products with
their SKUs (each SKU's ``channel_ref`` is ``"<product id>:<sku id>"``), and ``inventorySearch`` says what
each SKU shows per warehouse (its ``available_quantity``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

from orderhub.adapters.tiktok import api
from orderhub.adapters.tiktok.client import (
    THROTTLED_PAUSE_SECONDS,
    TikTokClient,
    TikTokError,
    TikTokRefused,
    TikTokUnavailable,
)
from orderhub.domain.channels import ChannelListing, ChannelUnavailable, ListingKey, StockUpdate

BULK_THRESHOLD = 10  # this many listings or more in one push: one call per product
MAX_QUANTITY = 99999  # the most TikTok takes for one SKU and warehouse

Key = tuple[str, str]


def parse_ref(ref: str | None) -> tuple[str, str] | None:
    """(product id, sku id) from a listing's ``channel_ref``, or None when it is not one."""
    product, _, sku = (ref or "").partition(":")
    return (product, sku) if product.isdigit() and sku.isdigit() else None


# A shop's default warehouse, read once an hour, not on every push ((account id, endpoint, shop cipher) ->
# (warehouse id, when read)).
WAREHOUSE_TTL_SECONDS = 3600.0
_WAREHOUSES: dict[tuple[int, str, str], tuple[str, float]] = {}


def forget_warehouses() -> None:
    """Read every shop's warehouses again at its next push."""
    _WAREHOUSES.clear()


class TikTokStock:
    def __init__(self, client: TikTokClient) -> None:
        self.client = client
        self._default_warehouse: str | None = None
        self.calls = 0  # inventory updates sent by the last push
        self._done: set[Key] = set()  # listings the last push had taken

    def default_warehouse(self) -> str:
        if self._default_warehouse is None:
            settings = self.client.account.settings
            account = (self.client.account.id, str(settings.get("endpoint")), str(settings.get("shop_cipher")))
            known = _WAREHOUSES.get(account)
            if known is not None and time.monotonic() - known[1] < WAREHOUSE_TTL_SECONDS:
                self._default_warehouse = known[0]
                return known[0]
            found = api.warehouses(self.client)
            chosen = next((w for w in found if w.get("is_default")), found[0] if found else None)
            if chosen is None:
                raise TikTokRefused(f"TikTok account {self.client.account.name}: getWarehouseList lists no "
                                    "warehouse; add one in TikTok Seller Center")
            self._default_warehouse = str(chosen["id"])
            _WAREHOUSES[account] = (self._default_warehouse, time.monotonic())
        return self._default_warehouse

    def read_listings(self) -> Iterator[list[ChannelListing]]:
        """Every SKU of the shop's live products, a page of products at a time."""
        pages = api.search_products(self.client)
        while True:
            try:
                products = next(pages)
            except StopIteration:
                return
            except TikTokError as exc:
                raise _unavailable(exc) from None
            yield [ChannelListing(str(sku["seller_sku"]), f"{product['id']}:{sku['id']}")
                   for product in products for sku in product.get("skus") or []
                   if sku.get("seller_sku") and sku.get("id")]

    def read_stock(self, listings: Sequence[ListingKey]) -> dict[Key, int]:
        """The available quantity each listing shows at its warehouse ('' : the shop's default one). A listing
        without a TikTok product and SKU id, or one TikTok does not have, is left out."""
        refs = {(sku, location): parse_ref(ref) for sku, location, ref in listings}
        try:
            found = api.inventory(self.client, [ref[1] for ref in refs.values() if ref is not None])
            default = self.default_warehouse() if any(not loc for _, loc in refs) else ""
        except TikTokError as exc:
            raise _unavailable(exc) from None
        levels = {(str(p.get("product_id")), str(s.get("id"))): {str(w.get("warehouse_id")): w.get("available_quantity")
                                                                 for w in s.get("warehouse_inventory") or []}
                  for p in found for s in p.get("skus") or []}
        shown: dict[Key, int] = {}
        for (sku, location), ref in refs.items():
            by_warehouse = levels.get(ref) if ref is not None else None
            if by_warehouse is None:
                continue
            quantity = by_warehouse.get(location or default)
            shown[(sku, location)] = quantity if isinstance(quantity, int) and not isinstance(quantity, bool) else 0
        return shown

    def push_stock(self, updates: Sequence[StockUpdate]) -> dict[Key, str]:
        refused: dict[Key, str] = {}
        taken = 0
        self.calls = 0
        self._done = set()
        groups: dict[str, list[tuple[StockUpdate, str, str]]] = {}
        try:
            for u in updates:
                ref = parse_ref(u.channel_ref)
                if ref is None:
                    refused[(u.sku, u.location)] = (
                        f"SKU {u.sku} has no TikTok product and SKU id (channel_ref {u.channel_ref!r}); list it "
                        "with refs {sku: 'PRODUCT_ID:SKU_ID'}")
                    continue
                warehouse = u.location or self.default_warehouse()
                groups.setdefault(ref[0], []).append((u, ref[1], warehouse))
            bulk = len(updates) >= BULK_THRESHOLD
            for product, entries in groups.items():
                batches = [entries] if bulk else [[e] for e in entries]
                for batch in batches:
                    taken += self._send(product, batch, refused)
        except TikTokUnavailable as exc:
            if not taken:
                wait = exc.retry_after if exc.retry_after is not None else (
                    THROTTLED_PAUSE_SECONDS if exc.status == 429 else None)
                raise ChannelUnavailable(str(exc), retry_after=wait) from None
            # Some were taken: the rest wait and go again, like refused ones.
            for u in updates:
                if (u.sku, u.location) not in self._done:
                    refused.setdefault((u.sku, u.location), f"not sent: {exc}")
        except TikTokError as exc:  # credentials refused: nothing can be taken
            raise ChannelUnavailable(str(exc)) from None
        return refused

    def _send(self, product: str, batch: list[tuple[StockUpdate, str, str]], refused: dict[Key, str]) -> int:
        try:
            self.calls += 1
            api.update_inventory(self.client, product, [(sku, wh, max(0, min(MAX_QUANTITY, u.quantity)))
                                                        for u, sku, wh in batch])
        except TikTokRefused as exc:
            if len(batch) > 1:  # find the SKU TikTok objects to; the others go through
                return sum(self._send(product, [entry], refused) for entry in batch)
            u = batch[0][0]
            refused[(u.sku, u.location)] = str(exc)
            return 0
        self._done.update((u.sku, u.location) for u, _, _ in batch)
        return len(batch)


def _unavailable(exc: TikTokError) -> ChannelUnavailable:
    """A read that failed: TikTok down or throttled (with its wait), or the credentials refused."""
    wait = None
    if isinstance(exc, TikTokUnavailable):
        wait = exc.retry_after if exc.retry_after is not None else (
            THROTTLED_PAUSE_SECONDS if exc.status == 429 else None)
    return ChannelUnavailable(str(exc), retry_after=wait)
