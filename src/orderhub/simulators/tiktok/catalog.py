"""Each shop's starting catalogue: a few products with one to three SKUs, stocked in the main warehouse."""

from __future__ import annotations

from decimal import Decimal

from orderhub.simulators.tiktok.model import Product, Sku
from orderhub.simulators.tiktok.store import ShopData, Store

STARTING_PRODUCTS = (
    ("Café au lait mug ☕", [("MUG-CAFE-WHT", "White", "14.00"), ("MUG-CAFE-BLK", "Black", "14.00")]),
    ("Glow serum ✨ 30 ml", [("SERUM-30", "30 ml", "29.90")]),
    ("Tote bag — Ñandú print", [("TOTE-NANDU-S", "Small", "19.50"), ("TOTE-NANDU-L", "Large", "24.50"),
                               ("TOTE-NANDU-XL", "XL", "27.00")]),
    ("Phone grip 🐼", [("GRIP-PANDA", "Panda", "8.99")]),
    ("Scented candle 'Forêt'", [("CANDLE-FORET", "200 g", "22.00")]),
)
MAIN_STOCK = 100
OVERFLOW_STOCK = 20


def add_product(store: Store, shop: ShopData, title: str, skus: list[tuple[str, str, str]], now: int,
                stock: dict[str, int] | None = None) -> Product:
    main, overflow = shop.warehouses[0].id, shop.warehouses[1].id
    levels = stock or {main: MAIN_STOCK, overflow: OVERFLOW_STOCK}
    product = Product(id=store.next_id("1729"), shop_id=shop.shop_id, title=title, create_time=now, update_time=now,
                      skus=[Sku(id=store.next_id("1730"), seller_sku=seller_sku, name=name, price=Decimal(price),
                                inventory=dict(levels)) for seller_sku, name, price in skus])
    shop.products[product.id] = product
    return product


def seed_catalogue(store: Store, shop: ShopData, now: int) -> None:
    for title, skus in STARTING_PRODUCTS:
        add_product(store, shop, title, skus, now)
