"""Inventory on the real databases: conditional reservations, the ledger, and no oversell under races."""

from __future__ import annotations

import multiprocessing as mp
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from orderhub.adapters.store import facilities, inventory_store
from orderhub.adapters.store.db import Database
from orderhub.adapters.store.inventory_store import Movement
from orderhub.adapters.store.schema import inventory, inventory_ledger
from orderhub.bootstrap import Hub
from orderhub.domain.inventory import LedgerReason, grant_in_order

SKU = "TEE-👕-RED"


def _facility(hub: Hub, code: str = "WH-1") -> int:
    with hub.db.write() as conn:
        return facilities.add(conn, code, f"Warehouse {code}", "warehouse", latitude=52.5, longitude=13.4)


def _receive(hub: Hub, facility_id: int, qty: int, sku: str = SKU, safety_stock: int | None = None) -> None:
    with hub.db.write() as conn:
        inventory_store.set_on_hand(conn, sku, facility_id, qty, reason=LedgerReason.RECEIVED, actor="test",
                                    safety_stock=safety_stock)


def _position(hub: Hub, facility_id: int, sku: str = SKU) -> inventory_store.Position:
    with hub.db.read() as conn:
        return inventory_store.positions(conn, [sku])[(sku, facility_id)]


def _ledger_replays(hub: Hub) -> None:
    """Each ledger row starts where the previous one for its (SKU, facility) ended, and ends at the row."""
    with hub.db.read() as conn:
        rows = conn.execute(select(inventory_ledger).order_by(inventory_ledger.c.id)).all()
        current = {(r.sku, r.facility_id): (r.on_hand, r.reserved) for r in conn.execute(select(inventory))}
    last: dict[tuple[str, int], tuple[int, int]] = {}
    for r in rows:
        key = (r.sku, r.facility_id)
        if key in last:
            assert (r.on_hand_before, r.reserved_before) == last[key], f"ledger row {r.id} does not follow on"
        last[key] = (r.on_hand_after, r.reserved_after)
    assert last == current


def test_reservations_are_whole_in_order_and_never_below_safety_stock(hub: Hub) -> None:
    wh = _facility(hub)
    _receive(hub, wh, 10, safety_stock=2)
    requests = [Movement(SKU, wh, q, order_id=i) for i, q in enumerate([3, 4, 2, 1], start=1)]
    with hub.db.write() as conn:
        granted = inventory_store.reserve(conn, requests, actor="test")
    assert granted == [3, 4, 0, 1]
    assert _position(hub, wh) == inventory_store.Position(10, 8, 2)
    assert _position(hub, wh).atp == 0
    _ledger_replays(hub)


def test_release_ship_and_restock_keep_the_ledger_whole(hub: Hub) -> None:
    wh = _facility(hub)
    _receive(hub, wh, 5)
    with hub.db.write() as conn:
        assert inventory_store.reserve(conn, [Movement(SKU, wh, 3, order_id=1)], actor="broker") == [3]
        inventory_store.move(conn, [Movement(SKU, wh, 1, order_id=1)], reason=LedgerReason.RELEASED,
                             actor="operator", reserved_sign=-1)
        inventory_store.move(conn, [Movement(SKU, wh, 2, order_id=1)], reason=LedgerReason.SHIPPED,
                             actor="operator", on_hand_sign=-1, reserved_sign=-1)
        inventory_store.move(conn, [Movement(SKU, wh, 1, order_id=1)], reason=LedgerReason.RETURNED,
                             actor="operator", on_hand_sign=+1)
    assert _position(hub, wh) == inventory_store.Position(4, 0, 0)
    with hub.db.read() as conn:
        reasons = [r.reason for r in conn.execute(select(inventory_ledger.c.reason).order_by(inventory_ledger.c.id))]
    assert reasons == ["received", "reserved", "released", "shipped", "returned"]
    _ledger_replays(hub)


def test_releasing_more_than_is_reserved_is_refused_and_names_the_sku(hub: Hub) -> None:
    wh = _facility(hub)
    _receive(hub, wh, 5)
    with pytest.raises(ValueError, match=f"{SKU} at facility {wh}: cannot release 1"):
        with hub.db.write() as conn:
            inventory_store.move(conn, [Movement(SKU, wh, 1)], reason=LedgerReason.RELEASED, actor="t",
                                 reserved_sign=-1)
    assert _position(hub, wh) == inventory_store.Position(5, 0, 0)


def test_a_sku_nobody_stocks_is_never_reserved(hub: Hub) -> None:
    wh = _facility(hub)
    with hub.db.write() as conn:
        assert inventory_store.reserve(conn, [Movement("NOPE", wh, 1)], actor="t") == [0]


_ops = st.lists(st.one_of(
    st.tuples(st.just("reserve"), st.lists(st.tuples(st.integers(0, 1), st.integers(1, 4)), min_size=1,
                                            max_size=6)),
    st.tuples(st.just("release"), st.integers(0, 1), st.integers(1, 3)),
    st.tuples(st.just("receive"), st.integers(0, 1), st.integers(0, 8)),
), max_size=12)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=_ops, start=st.tuples(st.integers(0, 6), st.integers(0, 6)), safety=st.integers(0, 2))
def test_property_no_sequence_of_operations_oversells(hub: Hub, ops: list, start: tuple[int, int],
                                                      safety: int) -> None:
    with hub.db.write() as conn:
        conn.execute(delete(inventory_ledger))
        conn.execute(delete(inventory))
        ids = [r.id for r in facilities.all_facilities(conn)]
        while len(ids) < 2:
            ids.append(facilities.add(conn, f"F{len(ids)}", "facility", "warehouse"))
        for fid, qty in zip(ids, start, strict=True):
            inventory_store.set_on_hand(conn, SKU, fid, qty, reason=LedgerReason.RECEIVED, actor="t",
                                        safety_stock=safety)
    model = {fid: [qty, 0] for fid, qty in zip(ids, start, strict=True)}
    for op in ops:
        with hub.db.write() as conn:
            if op[0] == "reserve":
                requests = [Movement(SKU, ids[f], q) for f, q in op[1]]
                granted = inventory_store.reserve(conn, requests, actor="t")
                for fid in ids:
                    mine = [i for i, r in enumerate(requests) if r.facility_id == fid]
                    on_hand, reserved = model[fid]
                    expect = grant_in_order(on_hand - reserved - safety, [requests[i].quantity for i in mine])
                    assert [granted[i] for i in mine] == expect
                    model[fid][1] += sum(expect)
            elif op[0] == "release":
                fid = ids[op[1]]
                qty = min(op[2], model[fid][1])
                if qty:
                    inventory_store.move(conn, [Movement(SKU, fid, qty)], reason=LedgerReason.RELEASED,
                                         actor="t", reserved_sign=-1)
                    model[fid][1] -= qty
            else:
                fid = ids[op[1]]
                inventory_store.move(conn, [Movement(SKU, fid, op[2])] if op[2] else [],
                                     reason=LedgerReason.RECEIVED, actor="t", on_hand_sign=+1)
                model[fid][0] += op[2]
        with hub.db.read() as conn:
            for (_, fid), p in inventory_store.positions(conn, [SKU]).items():
                # Safety stock may exceed on hand, but nothing is ever reserved out of it.
                assert p.reserved == 0 or p.on_hand - p.reserved - p.safety_stock >= 0, "oversold"
                assert [p.on_hand, p.reserved] == model[fid]
    _ledger_replays(hub)


def _race(url: str, facility_id: int, orders: list[int], seed: int) -> int:
    """One process: reserve one unit for each of its orders, in batches of random size."""
    db = Database(url)
    rng = random.Random(seed)
    got = 0
    try:
        i = 0
        while i < len(orders):
            batch = orders[i:i + rng.randint(1, 12)]
            i += len(batch)
            with db.write() as conn:
                got += sum(inventory_store.reserve(conn, [Movement(SKU, facility_id, 1, order_id=o) for o in batch],
                                                   actor=f"racer-{seed}"))
    finally:
        db.dispose()
    return got


@pytest.mark.slow
def test_eight_processes_racing_2000_orders_for_100_units_reserve_exactly_100(hub: Hub) -> None:
    wh = _facility(hub)
    _receive(hub, wh, 100)
    order_ids = list(range(1, 2001))
    random.Random(7).shuffle(order_ids)
    shares = [order_ids[k::8] for k in range(8)]
    with mp.get_context("spawn").Pool(8) as pool:
        won = pool.starmap(_race, [(hub.settings.database_url, wh, share, k) for k, share in enumerate(shares)])
    assert sum(won) == 100
    assert _position(hub, wh) == inventory_store.Position(100, 100, 0)
    with hub.db.read() as conn:
        reserved_rows = conn.execute(select(func.count(), func.count(inventory_ledger.c.order_id.distinct()))
                                     .where(inventory_ledger.c.reason == "reserved")).one()
    assert tuple(reserved_rows) == (100, 100)  # one ledger row per winning order, no order twice
    _ledger_replays(hub)
