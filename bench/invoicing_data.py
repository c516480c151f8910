"""The database bench/invoicing.py reads: N completed orders, made once per (N, seed) and cached.

A migrated SQLite file (orderhub's schema at head, WAL) with one shop, 20 stores (``STORE-01`` ...,
POS store codes ``S0001`` ...), 500 variants with EAN-13 barcodes, customers, and N orders that
are completed (``shipped`` 30%, ``completed`` 70%, channel ``online``): 1-4 lines of quantity
1-3 each, one ``order_units`` row per unit (``shipped``, at a store, in a shipment), one
shipment per order and store, billing and shipping addresses (names in many scripts, some with
emoji), a shipping line. About 10% of the orders are split across two stores, shipped at
different times. Every value fits Retail Pro's field table, so every order is invoiceable.

Rows are written with the DBAPI cursor's ``executemany`` in large transactions (money as decimal
text, times as ``SQLITE_TIME_FORMAT`` text, as orderhub's column types store them on SQLite).
Generation is deterministic (``random.Random(seed)``); a sidecar JSON keeps the row counts.
"""

from __future__ import annotations

import random
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from orderhub.adapters.store import facilities, migrate, shops
from orderhub.bootstrap import build
from orderhub.config import Settings

SHOP = "bench-invoicing.myshopify.com"
STORES = 20
SKUS = 500
SPLIT_SHARE = 0.10
BATCH = 20_000  # orders per transaction while generating
_BASE = datetime(2026, 9, 1, 8, 0, 0)  # naive UTC: formatted straight as SQLITE_TIME_FORMAT text

FIRST = ["Zoë", "José", "Łukasz", "Søren", "Anaïs", "Jürgen", "Maëlle", "François", "Αλέξανδρος", "Мария",
         "Иван", "محمد", "فاطمة", "יעל", "דוד", "さくら", "太郎", "李娜", "Ana 🌸", "Noël 🎄", "Kai 🚀", "Emma",
         "Liam", "Olivia", "Noah", "Mia", "Lukas", "Sofía", "Mateo", "Léa", "Élodie", "Çağrı", "Þórunn", "Nguyễn"]
LAST = ["Müller", "García", "Kowalski", "Østergaard", "Dubois", "Nakamura", "Иванова", "الفارسي", "כהן", "山田",
        "Rossi", "Schmidt", "Fernández", "Lindqvist", "Nowak", "Smith", "O'Brien", "van der Berg", "Żółkiewski",
        "Ştefănescu", "Brontë 📚", "Fuchs 🦊", "Papadopoulos", "Ødegård", "Nuñez", "Da Silva", "Kuznetsov"]
STREETS = ["Hauptstraße", "Rue de la Paix", "Calle Mayor", "Via Roma", "Kärntner Straße", "ul. Marszałkowska",
           "Drottninggatan", "Keizersgracht", "Rua Augusta", "Øvre Slottsgate", "Váci utca", "Ermou"]
PLACES = [("Berlin", "Berlin", "BE", "DE", "Germany", 52.52, 13.40),
          ("Wien", "Wien", "9", "AT", "Austria", 48.21, 16.37),
          ("Paris", "Île-de-France", "IDF", "FR", "France", 48.86, 2.35),
          ("Madrid", "Madrid", "M", "ES", "Spain", 40.42, -3.70), ("Roma", "Lazio", "RM", "IT", "Italy", 41.90, 12.50),
          ("Kraków", "Małopolskie", "MA", "PL", "Poland", 50.06, 19.94),
          ("Göteborg", "Västra Götaland", "O", "SE", "Sweden", 57.71, 11.97),
          ("Amsterdam", "Noord-Holland", "NH", "NL", "Netherlands", 52.37, 4.90),
          ("San Salvador", "San Salvador", "SS", "SV", "El Salvador", 13.69, -89.19)]
PRODUCTS = ["Organic Tee 👕", "Linen Shirt", "Merino Jumper", "Rain Jacket ☔", "Chino Trousers", "Wool Socks 🧦",
            "Canvas Sneaker 👟", "Leather Belt", "Beanie Hat", "Silk Scarf"]
SIZES = ["XS", "S", "M", "L", "XL"]
COLOURS = ["Black", "Navy", "Sand", "Forest", "Bordeaux", "Grau", "Crème", "Azul", "Rosso", "Blå"]
SHIPPING = [("Standard", "STD", 490), ("Express 🚚", "EXP", 990), ("Store pickup", "PICKUP", 0),
            ("DHL Paket 📦", "DHL", 590)]


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _t(moment: datetime) -> str:
    return moment.isoformat(sep=" ", timespec="microseconds")


def _ean13(n: int) -> str:
    digits = f"400{n:09d}"
    check = (10 - sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10) % 10
    return digits + str(check)


def cached_path(directory: Path, orders: int, seed: int) -> Path:
    return directory / f"orders-{orders}-seed-{seed}.db"


def prepare(directory: Path, orders: int, seed: int, log: Any = print) -> tuple[Path, dict[str, Any]]:
    """The cached database for (orders, seed), made if missing; returns (path, facts about it).

    ``facts`` holds the row counts, the seconds it took to make and whether it was reused.
    """
    path = cached_path(directory, orders, seed)
    facts_path = path.with_suffix(".json")
    if path.exists() and facts_path.exists():
        facts = orjson.loads(facts_path.read_bytes())
        _upgrade(path, log)
        return path, facts | {"reused": True}
    directory.mkdir(parents=True, exist_ok=True)
    part = path.with_suffix(".part")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{part}{suffix}").unlink(missing_ok=True)
    log(f"making the database: {orders:,} completed orders, seed {seed} (once; kept in {directory}) ...")
    began = time.perf_counter()
    counts = _make(part, orders, seed, log)
    facts = {"rows": counts, "made_seconds": round(time.perf_counter() - began, 1), "bytes": part.stat().st_size}
    part.rename(path)
    keys = Path(f"{part}.keys")  # the shop's secrets are encrypted with the key file beside the database
    if keys.exists():
        keys.rename(f"{path}.keys")
    facts_path.write_bytes(orjson.dumps(facts))
    log(f"  made in {facts['made_seconds']:,.0f}s, {facts['bytes'] / 2**20:,.0f} MB: "
        + ", ".join(f"{n:,} {table}" for table, n in counts.items()))
    return path, facts | {"reused": False}


def _upgrade(path: Path, log: Any) -> None:
    """A database made by an older orderhub is brought up to date, as a deployment's would be."""
    hub = build(Settings(database_url=f"sqlite:///{path}"))
    try:
        if not migrate.is_current(hub.db):
            log(f"  upgrading the cached database from revision {migrate.current_revision(hub.db)}")
            migrate.upgrade(hub.db)
    finally:
        hub.close()


def _make(path: Path, n: int, seed: int, log: Any) -> dict[str, int]:
    hub = build(Settings(database_url=f"sqlite:///{path}"))
    try:
        migrate.upgrade(hub.db)
        with hub.db.write() as conn:
            shop_id = shops.add(conn, SHOP, "bench").id
            store_ids = [facilities.add(conn, f"STORE-{s:02d}", f"Tienda {s:02d} 🏬", "store",
                                        latitude=13.5 + s / 50, longitude=-89.5 + s / 50, ship_from_store=True,
                                        pos_store_code=f"S{s:04d}") for s in range(1, STORES + 1)]
    finally:
        hub.close()
    rng = random.Random(seed)
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA synchronous=OFF")
        db.execute("PRAGMA cache_size=-262144")
        counts = _fill(db, rng, n, shop_id, store_ids, log)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
    return counts


def _fill(db: sqlite3.Connection, rng: random.Random, n: int, shop_id: int, store_ids: list[int],
          log: Any) -> dict[str, int]:
    now = _t(datetime.now(UTC).replace(tzinfo=None, microsecond=0))
    # -- variants: 100 products x 5 sizes, each with an EAN-13 barcode
    variants = []
    for j in range(SKUS):
        product, size = divmod(j, len(SIZES))
        colour = COLOURS[product % len(COLOURS)]
        price = 490 + (product * 137) % 19500 // 10 * 10
        variants.append((j + 1, shop_id, str(8_000_000_000_000 + product), str(4_400_000_000_000 + j),
                         f"SKU-{product:03d}-{SIZES[size]}", f"{SIZES[size]} / {colour}", _money(price), _ean13(j),
                         str(4_500_000_000_000 + j), price, f"{PRODUCTS[product % len(PRODUCTS)]} {colour}"))
    db.execute("BEGIN")
    db.executemany("INSERT INTO variants (id, shop_id, product_shopify_id, shopify_id, sku, title, price, barcode,"
                   " inventory_item_id) VALUES (?,?,?,?,?,?,?,?,?)", [v[:9] for v in variants])
    # -- customers: about 0.6 per order, so some order more than once
    n_customers = max(1, n * 6 // 10)
    people = []
    for c in range(1, n_customers + 1):
        people.append((c, shop_id, str(9_000_000_000_000 + c), f"kunde{c}@example.com", rng.choice(FIRST),
                       rng.choice(LAST), f"+49 30 {rng.randrange(10**6, 10**7)}", now))
        if len(people) == 100_000:
            db.executemany("INSERT INTO customers (id, shop_id, shopify_id, email, first_name, last_name, phone,"
                           " source_updated_at) VALUES (?,?,?,?,?,?,?,?)", people)
            people = []
    db.executemany("INSERT INTO customers (id, shop_id, shopify_id, email, first_name, last_name, phone,"
                   " source_updated_at) VALUES (?,?,?,?,?,?,?,?)", people)
    db.execute("COMMIT")
    counts = {"orders": 0, "order_items": 0, "order_units": 0, "shipments": 0, "order_addresses": 0,
              "order_shipping_lines": 0, "customers": n_customers, "variants": SKUS, "split_orders": 0}
    ids = {"item": 0, "unit": 0, "shipment": 0, "address": 0, "shipping": 0}
    began = time.perf_counter()
    for first in range(0, n, BATCH):
        rows: dict[str, list[tuple[Any, ...]]] = {t: [] for t in ("orders", "order_items", "order_units", "shipments",
                                                                   "order_addresses", "order_shipping_lines")}
        for k in range(first, min(n, first + BATCH)):
            _order(rng, k, shop_id, store_ids, n_customers, variants, ids, rows, counts)
        db.execute("BEGIN")
        for table, batch in rows.items():
            db.executemany(_INSERTS[table], batch)
            counts[table] += len(batch)
        db.execute("COMMIT")
        done = min(n, first + BATCH)
        if done % 200_000 == 0 and done < n:
            log(f"  {done:,} orders written ({done / (time.perf_counter() - began):,.0f}/s)")
    return counts


_INSERTS = {
    "orders": "INSERT INTO orders (id, shop_id, shopify_id, name, number, email, customer_id, source_status,"
              " source_financial_status, source_fulfillment_status, status, payment_status, fulfillment_status,"
              " channel, shipping_method, currency, subtotal_price, total_discounts, total_tax, total_shipping,"
              " total_price, tags, source_created_at, source_updated_at, version, created_at, updated_at,"
              " approved_at, lifecycle_version) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    "order_items": "INSERT INTO order_items (id, order_id, shopify_id, sku, title, variant_title, product_shopify_id,"
                   " variant_shopify_id, quantity, current_quantity, fulfillable_quantity, source_fulfillment_status,"
                   " price, total_discount, tax, requires_shipping) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    "order_units": "INSERT INTO order_units (id, order_id, item_id, seq, sku, status, facility_id, price, shipment_id,"
                   " updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
    "shipments": "INSERT INTO shipments (id, order_id, facility_id, status, carrier, tracking_number, created_at,"
                 " shipped_at) VALUES (?,?,?,?,?,?,?,?)",
    "order_addresses": "INSERT INTO order_addresses (id, order_id, kind, name, first_name, last_name, company,"
                       " address1, address2, city, province, province_code, zip, country, country_code, phone,"
                       " latitude, longitude) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    "order_shipping_lines": "INSERT INTO order_shipping_lines (id, order_id, shopify_id, title, code, price,"
                            " discounted_price) VALUES (?,?,?,?,?,?,?)",
}


def _address(rng: random.Random, ids: dict[str, int], oid: int, kind: str, first: str, last: str,
             phone: str) -> tuple[Any, ...]:
    city, province, pcode, ccode, country, lat, lon = rng.choice(PLACES)
    ids["address"] += 1
    company = rng.choice(("Müller & Söhne GmbH", "Café Olé S.L.", "株式会社サンプル")) if rng.random() < 0.05 else None
    address2 = f"Piso {rng.randrange(1, 9)}º" if rng.random() < 0.2 else None
    return (ids["address"], oid, kind, f"{first} {last}", first, last, company,
            f"{rng.choice(STREETS)} {rng.randrange(1, 250)}", address2, city, province, pcode,
            f"{rng.randrange(10000, 99999)}", country, ccode, phone, lat + rng.random() / 10, lon + rng.random() / 10)


def _order(rng: random.Random, k: int, shop_id: int, store_ids: list[int], n_customers: int, variants: list[Any],
           ids: dict[str, int], rows: dict[str, list[tuple[Any, ...]]], counts: dict[str, int]) -> None:
    oid = k + 1
    created = _BASE + timedelta(seconds=k * 2 + rng.randrange(2))
    customer = rng.randrange(1, n_customers + 1)
    first, last = rng.choice(FIRST), rng.choice(LAST)
    phone = f"+34 6{rng.randrange(10**7, 10**8)}"
    # -- lines: 1-4 of quantity 1-3
    picks = rng.sample(variants, rng.randrange(1, 5))
    quantities = [rng.randrange(1, 4) for _ in picks]
    split = rng.random() < SPLIT_SHARE
    if split and sum(quantities) < 2:
        quantities[0] = 2
    # -- where each unit was fulfilled: one store, or two for a split order (the first unit at A, the last at B)
    store_a = rng.choice(store_ids)
    store_b = rng.choice([s for s in store_ids if s != store_a]) if split else store_a
    total_units = sum(quantities)
    shipped: dict[int, tuple[int, str]] = {}
    for store in ((store_a, store_b) if split else (store_a,)):
        ids["shipment"] += 1
        at = created + timedelta(hours=rng.randrange(2, 96), seconds=rng.randrange(3600))
        shipped[store] = (ids["shipment"], _t(at))
        rows["shipments"].append((ids["shipment"], oid, store, "shipped", rng.choice(("DHL", "UPS", "Correos")),
                                  f"TRK{ids['shipment']:012d}", _t(at - timedelta(hours=1)), _t(at)))
    subtotal = discounts = tax_total = 0
    unit_no = 0
    for variant, qty in zip(picks, quantities, strict=True):
        ids["item"] += 1
        price = variant[9]
        discount = price * qty // 10 if rng.random() < 0.3 else 0
        gross = price * qty - discount
        tax = round(gross * 19 / 119)
        subtotal += gross
        discounts += discount
        tax_total += tax
        rows["order_items"].append((ids["item"], oid, str(5_000_000_000_000 + ids["item"]), variant[4], variant[10],
                                    variant[5], variant[2], variant[3], qty, qty, 0, "fulfilled", _money(price),
                                    _money(discount), _money(tax), 1))
        for seq in range(1, qty + 1):
            unit_no += 1
            ids["unit"] += 1
            if not split or unit_no == 1:
                store = store_a
            elif unit_no == total_units:
                store = store_b
            else:
                store = store_a if rng.random() < 0.5 else store_b
            shipment, at = shipped[store]
            rows["order_units"].append((ids["unit"], oid, ids["item"], seq, variant[4], "shipped", store,
                                        _money(price), shipment, at))
    title, code, ship_cents = rng.choice(SHIPPING)
    ids["shipping"] += 1
    rows["order_shipping_lines"].append((ids["shipping"], oid, str(6_100_000_000_000 + oid), title, code,
                                         _money(ship_cents), _money(ship_cents)))
    rows["order_addresses"].append(_address(rng, ids, oid, "shipping", first, last, phone))
    if rng.random() < 0.1:
        first, last = rng.choice(FIRST), rng.choice(LAST)
    rows["order_addresses"].append(_address(rng, ids, oid, "billing", first, last, phone))
    status = "completed" if rng.random() < 0.7 else "shipped"
    stamp = _t(created)
    rows["orders"].append((
        oid, shop_id, str(6_000_000_000_000 + oid), f"#{1000 + oid}", str(1000 + oid), f"kunde{customer}@example.com",
        customer, "closed" if status == "completed" else "open", "paid", "fulfilled", status, "paid", "fulfilled",
        "online", title if rng.random() < 0.5 else None, "EUR", _money(subtotal), _money(discounts),
        _money(tax_total), _money(ship_cents), _money(subtotal + ship_cents), "", stamp, stamp, 1, stamp, stamp,
        stamp, 3))
    counts["split_orders"] += split
