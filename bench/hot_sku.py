"""Reservations on one hot SKU from many processes: orderhub's method against the naive one.

* ``naive``    - per order, one transaction: ``SELECT ... FOR UPDATE`` the inventory row,
  check ATP, ``UPDATE`` reserved, insert the ledger row, commit. Correct, but every
  order holds the hot row's lock for a whole round trip and commit.
* ``orderhub`` - ``inventory_store.reserve``: a worker reserves a batch of orders
  with one conditional ``UPDATE ... WHERE on_hand - reserved - safety_stock >= n``
  (falling back to a locked read only when stock runs out), the per-order ledger rows
  in one executemany, one commit.

Each method runs twice on a fresh database: with ample stock (throughput: every
order gets its unit) and with scarce stock (100 units for all orders: exactly 100
must be reserved). After each run the oversell count is checked from the database:
units reserved beyond on hand, plus ledger rows that do not match the reservations.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text

from orderhub.adapters.store import facilities, inventory_store, migrate
from orderhub.adapters.store.db import Database
from orderhub.adapters.store.inventory_store import Movement
from orderhub.adapters.store.schema import inventory, inventory_ledger
from orderhub.clock import utcnow
from orderhub.domain.inventory import LedgerReason

SKU = "HOT-☕-1"


@dataclass
class HotResult:
    method: str
    processes: int
    orders: int
    stock: int
    seconds: float
    reserved: int
    granted: int
    oversold: int

    @property
    def per_second(self) -> float:
        return self.orders / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self), per_second=round(self.per_second, 1))


def prepare(url: str, stock: int) -> int:
    db = Database(url)
    try:
        migrate.upgrade(db)
        with db.write() as conn:
            fid = facilities.add(conn, "HOT-WH", "Hot warehouse", "warehouse")
            inventory_store.set_on_hand(conn, SKU, fid, stock, reason=LedgerReason.RECEIVED, actor="bench")
        return fid
    finally:
        db.dispose()


_NAIVE_SELECT = text("SELECT on_hand, reserved, safety_stock FROM inventory "
                     "WHERE sku = :sku AND facility_id = :f FOR UPDATE")
_NAIVE_UPDATE = text("UPDATE inventory SET reserved = reserved + 1 WHERE sku = :sku AND facility_id = :f")


def _naive(db: Database, fid: int, order_ids: list[int]) -> int:
    granted = 0
    for oid in order_ids:
        with db.write() as conn:
            row = conn.execute(_NAIVE_SELECT, {"sku": SKU, "f": fid}).one()
            if row.on_hand - row.reserved - row.safety_stock < 1:
                continue
            conn.execute(_NAIVE_UPDATE, {"sku": SKU, "f": fid})
            conn.execute(inventory_ledger.insert().values(
                sku=SKU, facility_id=fid, reason="reserved", on_hand_before=row.on_hand, on_hand_after=row.on_hand,
                reserved_before=row.reserved, reserved_after=row.reserved + 1, order_id=oid, actor="naive",
                at=utcnow()))
            granted += 1
    return granted


def _orderhub(db: Database, fid: int, order_ids: list[int], batch: int) -> int:
    granted = 0
    for i in range(0, len(order_ids), batch):
        with db.write() as conn:
            granted += sum(inventory_store.reserve(
                conn, [Movement(SKU, fid, 1, order_id=o) for o in order_ids[i:i + batch]], actor="orderhub"))
    return granted


def _worker(method: str, url: str, fid: int, order_ids: list[int], batch: int, start: Any, out: Any) -> None:
    db = Database(url, pool_size=1)
    try:
        with db.read() as conn:  # connect before the clock starts
            conn.execute(select(1))
        start.wait()
        got = _naive(db, fid, order_ids) if method == "naive" else _orderhub(db, fid, order_ids, batch)
        out.put(got)
    finally:
        db.dispose()


def run(url: str, method: str, *, processes: int, orders: int, stock: int, batch: int) -> HotResult:
    fid = prepare(url, stock)
    ctx = mp.get_context("spawn")
    start = ctx.Barrier(processes + 1)
    out = ctx.Queue()
    ids = list(range(1, orders + 1))
    procs = [ctx.Process(target=_worker, args=(method, url, fid, ids[k::processes], batch, start, out))
             for k in range(processes)]
    for p in procs:
        p.start()
    start.wait()
    t0 = time.perf_counter()
    granted = sum(out.get(timeout=600) for _ in procs)
    seconds = time.perf_counter() - t0
    for p in procs:
        p.join()
    db = Database(url)
    try:
        with db.read() as conn:
            row = conn.execute(select(inventory.c.on_hand, inventory.c.reserved, inventory.c.safety_stock)
                               .where(inventory.c.sku == SKU)).one()
            ledger = conn.execute(select(func.count()).where(inventory_ledger.c.reason == "reserved")).scalar_one()
    finally:
        db.dispose()
    oversold = max(0, row.reserved - (row.on_hand - row.safety_stock)) + abs(ledger - row.reserved) \
        + abs(granted - row.reserved)
    return HotResult(method, processes, orders, stock, seconds, row.reserved, granted, oversold)
