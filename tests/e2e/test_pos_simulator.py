"""``orderhub simulate pos`` against a real orderhub over loopback: a till that starts offline, sells, comes
back, syncs through injected network failures, then sends its whole history twice more with duplicates and
shuffled batches. Every sale counts once, the store's stock is what was sold and brought back, and the
till's queue is empty at the end."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import orjson
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from orderhub.adapters.store import accounts, channel_stock, inventory_store, pos_devices, tokens
from orderhub.adapters.store.schema import inbox, store_sales
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.entrypoints.cli import main
from orderhub.simulators.pos import catalogue
from orderhub.simulators.pos.local_queue import LocalState
from orderhub.testing.server import ServerThread
from tests.pos_support import make_store

STOCK = {"MUG-CAFE": 200, "TSH-ORG-M": 200, "茶-MATCHA": 200}


def _on_hand(hub: Hub, facility_id: int) -> dict[str, int]:
    with hub.db.read() as conn:
        return {sku: p.on_hand for (sku, fid), p in inventory_store.positions(conn, list(STOCK)).items()
                if fid == facility_id}


def _apply_waiting(hub: Hub) -> None:
    """Returns that reached orderhub before the sale they return wait to be tried again: try them now."""
    with hub.db.write() as conn:
        conn.execute(update(inbox).where(inbox.c.status == "pending").values(available_at=utcnow() - timedelta(1)))
    processor = hub.processor()
    while processor.run_once()[0]:
        pass


def test_an_offline_till_resending_its_history_counts_each_sale_once(hub: Hub, hub_server: ServerThread,
                                                                     tmp_path: Path) -> None:
    store = make_store(hub, stock=STOCK)
    with hub.db.write() as conn:
        code, _ = pos_devices.new_code(conn, store.id, actor="test")
    state = tmp_path / "till.db"
    args = ["simulate", "pos", "--url", hub_server.url, "--store", store.code, "--device", "till-1", "--code", code,
            "--state", str(state), "--skus", "MUG-CAFE:14.00,TSH-ORG-M:25.00,茶-MATCHA:9.90", "--rate", "40/s",
            "--sales", "30", "--offline-for", "0.4", "--batch", "6", "--fail-rate", "0.15", "--resend", "2",
            "--duplicate", "0.3", "--shuffle", "--returns", "0.2", "--seed", "4", "--json"]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = orjson.loads(result.stdout.strip().splitlines()[-1])
    assert report["sold"] == 30 and report["returns"] >= 1 and report["queue_left"] == 0
    assert report["resent"] >= 60 and report["duplicates_answered"] >= 60
    assert report["network_failures"] >= 1 and report["errors"] == 0

    _apply_waiting(hub)
    with hub.db.read() as conn:
        counted = conn.execute(select(func.count(), func.sum(store_sales.c.units_sold),
                                      func.sum(store_sales.c.units_returned))).one()
        device = pos_devices.find(conn, store.id, "till-1")
    assert counted[0] == 30 and counted[1] == report["units_sold"] and counted[2] == report["units_returned"]
    assert device.sales == 30 and device.last_sequence == 30
    on_hand = _on_hand(hub, store.id)
    till = LocalState(state)
    try:
        assert till.length() == 0
        moved = dict.fromkeys(STOCK, 0)
        for sale in till.history():
            for line in sale.body["lines"]:
                moved[line["sku"]] += line["quantity"]
    finally:
        till.close()
    assert on_hand == {sku: STOCK[sku] - moved[sku] for sku in STOCK}
    assert sum(moved.values()) == report["units_sold"] - report["units_returned"]

    # A restart with the same state needs no code: the credential and the sequence were kept.
    again = CliRunner().invoke(main, [*args[:8], "--state", str(state), "--skus", "MUG-CAFE:14.00", "--sales", "2",
                                      "--rate", "40/s", "--json"], catch_exceptions=False)
    assert again.exit_code == 0, again.output
    with hub.db.read() as conn:
        assert pos_devices.find(conn, store.id, "till-1").last_sequence == 32


def test_the_catalogue_read_from_orderhub_is_what_the_channels_list_and_the_store_holds(
        hub: Hub, hub_server: ServerThread) -> None:
    store = make_store(hub, stock={"MUG-CAFE": 5, "TSH-ORG-M": 0, "茶-MATCHA": 3})
    with hub.db.write() as conn:
        account = accounts.add(conn, "walmart", "market-us", {}, {})
        channel_stock.list_skus(conn, account.id, ["MUG-CAFE", "TSH-ORG-M", "NOT-AT-STORE"])
        token = tokens.create(conn, "till-catalogue")
    with httpx.Client(base_url=hub_server.url, timeout=30) as client:
        items = catalogue.from_orderhub(client, store.code, token, Decimal("12.50"))
        assert [(i.sku, str(i.price)) for i in items] == [("MUG-CAFE", "12.50")]  # listed and on hand there
        with pytest.raises(catalogue.CatalogueError, match="admin token"):
            catalogue.from_orderhub(client, store.code, "wrong", Decimal("1"))
