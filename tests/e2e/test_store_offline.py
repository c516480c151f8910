"""Two terminals of one store sell 500 items offline for two hours while online orders reserve the same SKUs
there; then both send their queues three times, concurrently and out of order, through the POS sync API.

Every sale counts once; the store's stock is what physically remains and its ledger replays to it; no online
unit stays promised against stock that is gone (the excess went to the warehouse, or waits with the reason);
and the TikTok shop listing these SKUs shows the corrected offer."""

from __future__ import annotations

import random
import threading
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from orderhub.adapters.store import channel_stock, facilities, inventory_store
from orderhub.adapters.store.accounts import Account
from orderhub.adapters.store.schema import inventory_ledger, order_units, orders, store_sales, store_variances
from orderhub.adapters.tiktok import stock as tiktok_stock
from orderhub.adapters.tiktok.stock import TikTokStock
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.domain.inventory import LedgerReason, channel_atp
from orderhub.services.stock_push import push_once
from orderhub.testing.server import ServerThread
from tests.integration.test_tiktok_support import SHOP_ID, Sim, fast_client
from tests.oms_support import place
from tests.pos_support import enrol, make_store, sale, sync
from tests.support import add_shop, drain, order_payload, put

pytest_plugins = ("tests.integration.test_tiktok_support",)

SKUS = ("TEE-S", "TEE-M", "TEE-L", "CAP", "MUG")
AT_STORE = 110  # of each SKU, before the day
SOLD = 100  # of each SKU, by the two terminals together, offline
ONLINE = 30  # units of each SKU that online orders reserve at the store meanwhile
IN_WAREHOUSE = 10  # of each SKU: room for a third of what the store can no longer cover
MAIN = "728800000000000101"  # the TikTok shop's default warehouse


def _queues() -> list[list[dict[str, Any]]]:
    """The two terminals' queues: 500 units sold over two hours, one to three units a sale."""
    rng = random.Random(17)
    left = dict.fromkeys(SKUS, SOLD)
    queues: list[list[dict[str, Any]]] = [[], []]
    start = utcnow() - timedelta(hours=2)
    n = 0
    while any(left.values()):
        sku = rng.choice([s for s in SKUS if left[s]])
        qty = min(left[sku], rng.randint(1, 3))
        left[sku] -= qty
        till = n % 2
        queue = queues[till]
        queue.append(sale([(sku, qty)], sequence=len(queue) + 1,
                          at=start + timedelta(seconds=7_000 * n / 300)))
        n += 1
    return queues


def _online_orders(hub: Hub) -> None:
    """Online orders of ONLINE units of each SKU, brokered to the store (the only stock at the time)."""
    shop = add_shop(hub)
    n = 0
    for sku in SKUS:
        for _ in range(ONLINE // 3):
            n += 1
            put(hub, "orders/create", order_payload(order_id=9_000_000_000 + n, line_items=[
                {"id": 9_100_000_000 + n, "sku": sku, "title": sku, "quantity": 3, "price": "10.00"}]),
                shop_id=shop.id)
    drain(hub)
    place(hub)


def _resend_concurrently(url: str, tokens: list[str], queues: list[list[dict[str, Any]]]) -> list[str]:
    """Each terminal sends its queue three times, in shuffled batches, both at once; returns every status."""
    statuses: list[str] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def terminal(token: str, queue: list[dict[str, Any]], seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _round in range(3):
                batches = [queue[i:i + 40] for i in range(0, len(queue), 40)]
                rng.shuffle(batches)
                for batch in batches:
                    batch = rng.sample(batch, len(batch))
                    answer = sync(url, token, batch, version="4.2.0", queue_length=len(queue))
                    assert answer.status_code == 200, answer.text
                    with lock:
                        statuses.extend(r["status"] for r in answer.json()["results"])
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=terminal, args=(tokens[i], queues[i], i)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not errors, errors
    return statuses


def test_two_offline_terminals_resending_their_queues_count_every_sale_once(
        hub: Hub, hub_server: ServerThread, tt: Sim, account: Account) -> None:
    store = make_store(hub, "BOS01", dict.fromkeys(SKUS, AT_STORE), ship_from_store=True)
    _online_orders(hub)
    with hub.db.read() as conn:
        reserved = {sku: inventory_store.positions(conn, [sku])[(sku, store.id)].reserved for sku in SKUS}
    assert reserved == dict.fromkeys(SKUS, ONLINE)
    with hub.db.write() as conn:
        wh = facilities.add(conn, "WH-1", "Warehouse", "warehouse")
        for sku in SKUS:
            inventory_store.set_on_hand(conn, sku, wh, IN_WAREHOUSE, reason=LedgerReason.RECEIVED, actor="test")
    tiktok_stock.forget_warehouses()
    made = tt.control("POST", "/products", {"title": "Store basics 🧢", "skus": [{"seller_sku": s} for s in SKUS]})
    with hub.db.write() as conn:
        channel_stock.list_skus(conn, account.id, list(SKUS),
                                refs={s: f"{made['product_id']}:{made['sku_ids'][s]}" for s in SKUS})

    tokens = [enrol(hub, hub_server.url, store, f"till-{i}") for i in (1, 2)]
    queues = _queues()
    sales = [s for q in queues for s in q]
    statuses = _resend_concurrently(hub_server.url, tokens, queues)

    # every sale counted once: recorded exactly once, every other answer a duplicate
    assert statuses.count("recorded") == len(sales) and statuses.count("duplicate") == 2 * len(sales)
    with hub.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(store_sales)).scalar() == len(sales)
        assert conn.execute(select(func.count()).select_from(orders).where(orders.c.channel == "pos")
                            ).scalar() == len(sales)
        positions = inventory_store.positions(conn, list(SKUS))
        for sku in SKUS:
            here = positions[(sku, store.id)]
            # what physically remains, and the ledger replays to it
            assert here.on_hand == AT_STORE - SOLD
            replay = conn.execute(select(func.sum(inventory_ledger.c.on_hand_after - inventory_ledger.c.on_hand_before))
                                  .where(inventory_ledger.c.sku == sku, inventory_ledger.c.facility_id == store.id)
                                  ).scalar()
            assert replay == here.on_hand
            # nothing promised against stock that is gone
            assert here.reserved <= here.on_hand
            promised = conn.execute(select(func.count()).select_from(order_units).where(
                order_units.c.sku == sku, order_units.c.facility_id == store.id,
                order_units.c.status == "brokered")).scalar()
            assert promised == here.reserved
            # the excess went to the warehouse as far as it had stock; the rest waits with the reason
            assert positions[(sku, wh)].reserved == IN_WAREHOUSE
            waiting = conn.execute(select(order_units.c.reason).where(
                order_units.c.sku == sku, order_units.c.facility_id.is_(None),
                order_units.c.status == "approved")).scalars().all()
            assert len(waiting) == ONLINE - here.on_hand - IN_WAREHOUSE
        variances = conn.execute(select(store_variances.c.sku, func.sum(store_variances.c.short))
                                 .group_by(store_variances.c.sku)).all()
    assert {sku: short for sku, short in variances} == dict.fromkeys(SKUS, ONLINE - (AT_STORE - SOLD))

    # every channel's offer corrected: TikTok shows what is left to sell online (nothing: all of it promised)
    push_once(hub.db, lambda acct: TikTokStock(fast_client(acct, hub)))
    shown = {s["seller_sku"]: s["inventory"][MAIN] for s in tt.control("GET", f"/stock?shop_id={SHOP_ID}")["stock"]}
    with hub.db.read() as conn:
        positions = inventory_store.positions(conn, list(SKUS))
    for sku in SKUS:
        expected = channel_atp([(f, p) for (s, f), p in positions.items() if s == sku], threshold=0)
        assert shown[sku] == expected == 0
