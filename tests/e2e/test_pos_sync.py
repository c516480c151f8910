"""The POS sync API over HTTP: a terminal enrols with a one-time code, syncs its sales, and each sale counts
once however often it is sent; what cannot be recorded goes to the error log, never lost."""

from __future__ import annotations

from sqlalchemy import func, select

from orderhub.adapters.store import inventory_store
from orderhub.adapters.store.schema import error_log, orders, store_sales
from orderhub.bootstrap import Hub
from orderhub.testing.server import ServerThread
from tests.pos_support import enrol, make_store, sale, sync


def _on_hand(hub: Hub, sku: str, facility_id: int) -> int:
    with hub.db.read() as conn:
        return inventory_store.positions(conn, [sku])[(sku, facility_id)].on_hand


def test_a_synced_sale_leaves_the_store_stock_once(hub: Hub, hub_server: ServerThread) -> None:
    store = make_store(hub, stock={"SKU-1": 10, "SKU-2": 5})
    token = enrol(hub, hub_server.url, store)
    sold = [sale([("SKU-1", 2)], sequence=1), sale([("SKU-1", 1), ("SKU-2", 1)], sequence=2)]
    answer = sync(hub_server.url, token, sold, version="1.0", queue_length=2)
    assert answer.status_code == 200, answer.text
    assert [r["status"] for r in answer.json()["results"]] == ["recorded", "recorded"]
    assert _on_hand(hub, "SKU-1", store.id) == 7 and _on_hand(hub, "SKU-2", store.id) == 4

    again = sync(hub_server.url, token, list(reversed(sold)))
    assert [r["status"] for r in again.json()["results"]] == ["duplicate", "duplicate"]
    assert _on_hand(hub, "SKU-1", store.id) == 7
    with hub.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(store_sales)).scalar() == 2
        statuses = conn.execute(select(orders.c.status, orders.c.channel).where(orders.c.fulfilled_by == "store")).all()
    assert sorted(statuses) == [("completed", "pos"), ("completed", "pos")]


def test_a_bad_sale_is_kept_in_the_error_log_and_the_rest_counts(hub: Hub, hub_server: ServerThread) -> None:
    store = make_store(hub, stock={"SKU-1": 10})
    token = enrol(hub, hub_server.url, store)
    answer = sync(hub_server.url, token, [sale([("NO-SUCH", 1)], sequence=1), sale([("SKU-1", 1)], sequence=2),
                                          sale([("SKU-1", 0)], sequence=3)])
    results = answer.json()["results"]
    assert [r["status"] for r in results] == ["error_logged", "recorded", "error_logged"]
    assert "NO-SUCH" in results[0]["detail"] and "quantity" in results[2]["detail"]
    assert _on_hand(hub, "SKU-1", store.id) == 9
    with hub.db.read() as conn:
        logged = conn.execute(select(error_log.c.error)).scalars().all()
    assert len(logged) == 2 and all("till-1" in e and "BOS01" in e for e in logged)


def test_no_credential_no_sale(hub: Hub, hub_server: ServerThread) -> None:
    store = make_store(hub, stock={"SKU-1": 10})
    assert sync(hub_server.url, "ohpos_wrong", [sale()]).status_code == 401
    token = enrol(hub, hub_server.url, store)
    assert sync(hub_server.url, token, [sale()]).status_code == 200
    assert _on_hand(hub, "SKU-1", store.id) == 9
