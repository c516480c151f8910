"""Properties of syncing store sales (services/pos_sync.py), on both databases: whatever batches the
terminals send - the same sales again, duplicated within a batch, in any order, split any way - every sale
counts once and the store ends with the same stock as if each sale had arrived once, in order."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from orderhub.adapters.store import inventory_store, pos_devices
from orderhub.adapters.store.schema import store_sales
from orderhub.bootstrap import Hub
from orderhub.services.pos_sync import PosSync
from tests.pos_support import make_store, sale
from tests.stores_support import enrol

_stores = itertools.count(1)
SKUS = ("A", "B", "C")

lines = st.lists(st.tuples(st.sampled_from(SKUS), st.integers(-2, 4).filter(bool)), min_size=1, max_size=3)
deliveries = st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 6), st.booleans()), min_size=1, max_size=6)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sold=st.lists(lines, min_size=1, max_size=12), plan=deliveries, seed=st.randoms(use_true_random=False))
def test_any_deliveries_of_the_sales_count_each_once(hub: Hub, sold: list[list[tuple[str, int]]],
                                                     plan: list[tuple[int, int, bool]], seed: Any) -> None:
    code = f"S{next(_stores)}"
    skus = {sku: f"{code}-{sku}" for sku in SKUS}  # each example its own store and SKUs
    store = make_store(hub, code, {s: 100 for s in skus.values()})
    device = enrol(hub, store.id, "till")
    sales = [sale([(skus[sku], q) for sku, q in ls], sequence=i + 1, sale_id=str(uuid.uuid4()), tenders=[])
             for i, ls in enumerate(sold)]
    sync = PosSync(hub.db)
    # a first delivery of some of them, then any number of resends: shuffled, split, duplicated
    for start, size, duplicate in plan:
        chosen = seed.sample(sales, k=min(len(sales), 1 + start % len(sales)))
        batch = chosen + (chosen[:1] if duplicate else [])
        for i in range(0, len(batch), size):
            results = sync.take(device, batch[i:i + size], pos_devices.Report())
            assert {r.status for r in results} <= {"recorded", "duplicate"}
    results = sync.take(device, seed.sample(sales, k=len(sales)), pos_devices.Report())  # the whole queue, last
    assert {r.status for r in results} <= {"recorded", "duplicate"}

    expected = {s: 100 for s in skus.values()}
    for ls in sold:
        for sku, q in ls:
            expected[skus[sku]] -= q
    with hub.db.read() as conn:
        positions = inventory_store.positions(conn, list(skus.values()))
        counted = conn.execute(select(func.count()).select_from(store_sales)
                               .where(store_sales.c.facility_id == store.id)).scalar()
    assert counted == len(sales)
    assert {s: positions[(s, store.id)].on_hand for s in skus.values()} == expected
