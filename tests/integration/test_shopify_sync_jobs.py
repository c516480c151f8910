"""The Shopify sync jobs against the simulator on loopback, on SQLite and PostgreSQL.

Products and collections into orderhub; Shopify's quantities into orderhub; orderhub's inventory
changes up to Shopify, coalesced, each applied once even when a run stops between sending and
moving its watermark, with compare-quantity conflicts reported; refunds into returns once, with
webhooks delivering too; orders orderhub cancelled cancelled in Shopify once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select, update

from orderhub.adapters.shopify import api_versions, subscriptions
from orderhub.adapters.store import facilities, inventory_store, order_queries, shops
from orderhub.adapters.store.schema import (
    inventory_ledger,
    inventory_levels,
    job_run_files,
    job_runs,
    order_units,
    orders,
    outbox,
    products,
    variants,
)
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.domain.inventory import LedgerReason, Position
from orderhub.services import fulfilment
from orderhub.services import inventory as inventory_service
from orderhub.services.jobs import inventory_sync, returns_import
from orderhub.services.jobs.import_orders import admin_client
from orderhub.services.jobs.product_sync import stored_collections
from orderhub.services.jobs.runner import JobFailed, run_job
from orderhub.simulators.shopify.server import start_in_thread
from orderhub.testing.server import ServerThread
from tests.oms_support import place
from tests.support import drain, put
from tests.versions import NEWEST, SUPPORTED, TEST_DAY

# The newest version before @idempotent existed, and a day it was supported on: the upload's
# fallback (find a repeated request already applied) runs there.
BEFORE_IDEMPOTENT = api_versions.supported(api_versions.released(api_versions.FEATURES["idempotent_directive"].since)
                                           - timedelta(days=1))[-1]

SHOP = "sync-jobs.myshopify.com"
SECRET = "sync-secret-🔑"
TOKEN = "shpat_sync"
MUG, TEA = "MUG-CAFE", "TEA-MATCHA-50"
BOOT = "BOOT-🥾-42"


@dataclass
class Sim:
    simulator: Any
    url: str
    control: httpx.Client

    @property
    def shop(self) -> Any:
        return self.simulator.store.shop(SHOP)

    def products(self) -> dict[str, Any]:
        return self.control.get("/_sim/products").json()

    def item_of(self, sku: str) -> int:
        return next(v["inventory_item_id"] for p in self.products()["products"] for v in p["variants"]
                    if v["sku"] == sku)

    def location(self, name: str) -> int:
        return next(i for i, n in self.shop.location_names.items() if n == name)

    def set_level(self, sku: str, location: str, available: int) -> None:
        r = self.control.post("/_sim/inventory_levels", json={"inventory_item_id": self.item_of(sku),
                                                             "location_id": self.location(location),
                                                             "available": available})
        assert r.status_code == 200, r.text

    def available(self, sku: str, location: str) -> int | None:
        level = self.shop.inventory_levels.get((self.item_of(sku), self.location(location)))
        return None if level is None else level["available"]

    def change(self, order_id: int, action: str, **params: Any) -> None:
        r = self.control.post(f"/_sim/orders/{order_id}/{action}", json=params)
        assert r.status_code == 200, r.text


@pytest.fixture
def sim() -> Iterator[Sim]:
    simulator, url, stop = start_in_thread([{"domain": SHOP, "api_secret": SECRET, "access_token": TOKEN}],
                                           seed=21, restore_rate=5000, retry_schedule=[0.1, 0.2, 0.4])
    simulator.store.clock.fixed_day = TEST_DAY
    with httpx.Client(base_url=url, timeout=30) as control:
        yield Sim(simulator, url, control)
    stop()


def connect(hub: Hub, sim: Sim, api_version: str = NEWEST) -> shops.Shop:
    with hub.db.write() as conn:
        return shops.add(conn, SHOP, SECRET, admin_url=f"{sim.url}/shops/{SHOP}", access_token=TOKEN,
                         api_version=api_version)


def failed(hub: Hub, run_id: int) -> list[dict[str, Any]]:
    """The records a run could not process, from its downloadable file."""
    with hub.db.read() as conn:
        content = conn.execute(select(job_run_files.c.content).where(
            job_run_files.c.run_id == run_id, job_run_files.c.kind == "failed")).scalar()
    return [orjson.loads(line) for line in (content or b"").splitlines()]


def run_counts(hub: Hub, run_id: int) -> tuple[int, int, int, int]:
    with hub.db.read() as conn:
        r = conn.execute(select(job_runs).where(job_runs.c.id == run_id)).one()
    return r.read_count, r.processed_count, r.skipped_count, r.failed_count


def position(hub: Hub, sku: str, facility: int) -> Position:
    with hub.db.read() as conn:
        return inventory_store.positions(conn, [sku]).get((sku, facility), Position(0, 0))


def add_facility(hub: Hub, code: str) -> int:
    with hub.db.write() as conn:
        return facilities.add(conn, code, f"Lager {code} 🏭", "warehouse")


def adjust(hub: Hub, sku: str, code: str, **change: Any) -> None:
    with hub.db.write() as conn:
        inventory_service.adjust(conn, sku, code, actor="test", reason="received", **change)


# -- products -------------------------------------------------------------------------------------------

def test_products_and_collections_are_synced_and_each_version_stored_once(hub: Hub, sim: Sim) -> None:
    shop = connect(hub, sim)
    catalogue = sim.products()["products"]
    _run, stats = run_job(hub, "sync-products", shop, {})
    assert stats["fetched"] == stats["stored"] == len(catalogue) and stats["pages"] >= 2  # one product, then many
    assert stats["collections"] == len({p["product_type"] for p in catalogue})
    drain(hub)
    with hub.db.read() as conn:
        stored = {r.shopify_id: r for r in conn.execute(select(products))}
        skus = {r.sku: r.inventory_item_id for r in conn.execute(select(variants)) if r.sku}
        collections = stored_collections(conn, shop.id)
    assert set(stored) == {str(p["id"]) for p in catalogue}
    assert skus[MUG] == str(sim.item_of(MUG))
    by_type: dict[str, set[str]] = {}
    for p in catalogue:
        by_type.setdefault(p["product_type"], set()).add(str(p["id"]))
    assert {c["title"]: set(c["product_ids"]) for c in collections} == by_type
    kitchen = next(c for c in collections if c["title"] == "Kitchen")
    assert kitchen["rules"] == [{"column": "TYPE", "relation": "EQUALS", "condition": "Kitchen"}]

    _run, again = run_job(hub, "sync-products", shop, {})  # the overlap reads the same versions again
    assert again["stored"] == 0 and again["duplicates"] == again["fetched"] > 0

    changed = catalogue[0]["id"]
    r = sim.control.post("/_sim/products", json={"action": "update", "id": changed, "title": "Tasse ☕ neu",
                                                 "product_type": "Küche"})
    assert r.status_code == 200, r.text
    webhook = next(p for p in sim.products()["products"] if p["id"] == changed)
    assert put(hub, "products/update", webhook, shop_id=shop.id)  # the webhook of that version came first
    run_id, third = run_job(hub, "sync-products", shop, {})
    assert third["stored"] == 0 and third["duplicates"] >= 1
    drain(hub)
    with hub.db.read() as conn:
        row = conn.execute(select(products).where(products.c.shopify_id == str(changed))).one()
        collections = stored_collections(conn, shop.id)
    assert (row.title, row.product_type) == ("Tasse ☕ neu", "Küche")
    assert str(changed) in next(c for c in collections if c["title"] == "Küche")["product_ids"]


# -- inventory from Shopify -----------------------------------------------------------------------------

def test_sync_from_shopify_aligns_on_hand_where_it_differs(hub: Hub, sim: Sim) -> None:
    shop = connect(hub, sim)
    run_job(hub, "sync-products", shop, {"collections": "false"})  # SKUs and inventory items, for the upload
    drain(hub)
    berlin, spare = add_facility(hub, "WH-BER"), add_facility(hub, "WAREHOUSE")  # "Warehouse" maps by name
    sim.set_level(MUG, "Shop location", 12)
    sim.set_level(MUG, "Warehouse", 3)
    tea = sim.available(TEA, "Shop location")
    assert tea is not None
    adjust(hub, MUG, "WH-BER", on_hand=5, safety_stock=1)
    with hub.db.write() as conn:
        assert inventory_store.reserve(conn, [inventory_store.Movement(MUG, berlin, 2)], actor="test") == [2]
    adjust(hub, TEA, "WH-BER", on_hand=tea)
    params = {"locations": "Shop location=WH-BER"}
    run_id, stats = run_job(hub, "sync-inventory-from-shopify", shop, params)
    # ATP at WH-BER becomes Shopify's available: on hand = 12 available + 2 reserved + 1 safety stock.
    assert position(hub, MUG, berlin) == Position(15, 2, 1)
    assert position(hub, MUG, spare) == Position(3, 0, 0)
    assert position(hub, TEA, berlin) == Position(tea, 0, 0)
    catalogue = sim.products()
    sku_of = {v["inventory_item_id"]: v["sku"] for p in catalogue["products"] for v in p["variants"]}
    differing = [lv for lv in catalogue["inventory_levels"] if sku_of[lv["inventory_item_id"]]
                 and lv["location_id"] == sim.location("Shop location") and sku_of[lv["inventory_item_id"]] != TEA
                 and (lv["available"] or 0) > 0]
    assert stats["changed"] == len(differing) + 1 and stats["equal"] >= 1  # + MUG at the warehouse
    with hub.db.read() as conn:
        reasons = [r.reason for r in conn.execute(select(inventory_ledger).where(
            inventory_ledger.c.sku == MUG, inventory_ledger.c.actor == "job:sync-inventory-from-shopify"))]
        changed = [orjson.loads(r.payload) for r in conn.execute(select(outbox).where(
            outbox.c.event_type == "inventory.changed").order_by(outbox.c.id))]
        known = conn.execute(select(inventory_levels.c.available).where(
            inventory_levels.c.inventory_item_id == str(sim.item_of(MUG)),
            inventory_levels.c.location_id == str(sim.location("Shop location")))).scalar()
    assert reasons == ["shopify_sync", "shopify_sync"]
    assert [(e["facility"], e["atp"]) for e in changed if e["reason"] == "shopify_sync" and e["sku"] == MUG] == [
        ("WH-BER", 12), ("WAREHOUSE", 3)]
    assert known == 12
    _run, again = run_job(hub, "sync-inventory-from-shopify", shop, params)
    assert again["changed"] == 0
    # What the sync set is what Shopify has: uploading its events afterwards sends nothing.
    _run, upload = run_job(hub, "upload-inventory-changes", shop, params)
    assert upload["requests"] == 0 and upload["unchanged"] >= 2 and upload["watermark"] > 0
    _run, on_hand = run_job(hub, "sync-inventory-from-shopify", shop, params | {"quantity": "on_hand"})
    assert position(hub, MUG, berlin) == Position(12, 2, 1) and on_hand["changed"] == 1


# -- inventory up to Shopify ----------------------------------------------------------------------------

def _prepare_upload(hub: Hub, sim: Sim, api_version: str = NEWEST) -> tuple[shops.Shop, int]:
    shop = connect(hub, sim, api_version)
    run_job(hub, "sync-products", shop, {"collections": "false"})
    drain(hub)
    berlin = add_facility(hub, "WH-BER")
    sim.set_level(MUG, "Shop location", 10)
    sim.set_level(TEA, "Shop location", 10)
    return shop, berlin


class Crash(RuntimeError):
    pass


def _crash(*_args: Any, **_kwargs: Any) -> None:
    raise Crash("the node stopped after Shopify answered")


@pytest.mark.parametrize("api_version", [*SUPPORTED, BEFORE_IDEMPOTENT])
def test_changes_are_coalesced_and_uploaded_once_even_after_a_crash_between_send_and_watermark(
        hub: Hub, sim: Sim, api_version: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if api_version not in SUPPORTED:  # a day the version was supported on
        sim.simulator.store.clock.fixed_day = api_versions.released(api_version)
    shop, _berlin = _prepare_upload(hub, sim, api_version)
    adjust(hub, MUG, "WH-BER", delta=5)
    adjust(hub, MUG, "WH-BER", delta=3)  # supersedes the first: only ATP 8 goes up
    adjust(hub, TEA, "WH-BER", delta=4)
    params = {"locations": "Shop location=WH-BER", "batch_size": "1"}  # one request per quantity
    groups_before = len(sim.shop.adjustment_groups)
    with monkeypatch.context() as patch:
        patch.setattr(inventory_sync, "_applied", _crash)  # after the first answer, before anything is recorded
        with pytest.raises(JobFailed, match="stopped after Shopify answered") as crashed:
            run_job(hub, "upload-inventory-changes", shop, params)
    assert run_counts(hub, crashed.value.run_id)[:3] == (3, 0, 1)  # 3 events read, 1 superseded
    assert sim.available(MUG, "Shop location") == 8  # Shopify has it; orderhub did not record it
    assert len(sim.shop.adjustment_groups) == groups_before + 1
    run_id, stats = run_job(hub, "upload-inventory-changes", shop, params)
    assert stats["resumed"] == 1
    assert (sim.available(MUG, "Shop location"), sim.available(TEA, "Shop location")) == (8, 4)
    assert len(sim.shop.adjustment_groups) == groups_before + 2  # the retried request was not applied again
    assert stats["api_version"] == api_version  # what served the upload
    if api_versions.has("idempotent_directive", api_version):
        assert stats["set"] == 2 and stats["already"] == 0  # replayed under its idempotency key
    else:
        assert stats["set"] == 1 and stats["already"] == 1  # no @idempotent: found already set, not a conflict
    assert failed(hub, run_id) == [] and stats["events"] == 0  # the plan covered them all
    with hub.db.read() as conn:
        last = conn.execute(select(outbox.c.id).where(outbox.c.event_type == "inventory.changed")
                            .order_by(outbox.c.id.desc()).limit(1)).scalar()
    assert stats["watermark"] == last
    _run, nothing = run_job(hub, "upload-inventory-changes", shop, params)
    assert nothing["events"] == 0 and nothing["requests"] == 0
    assert len(sim.shop.adjustment_groups) == groups_before + 2


def test_a_crash_after_the_last_answer_resends_nothing(hub: Hub, sim: Sim, monkeypatch: pytest.MonkeyPatch) -> None:
    shop, _berlin = _prepare_upload(hub, sim)
    adjust(hub, MUG, "WH-BER", delta=6)
    params = {"locations": "Shop location=WH-BER"}
    with monkeypatch.context() as patch:
        patch.setattr(inventory_sync, "finish_plan", _crash)
        with pytest.raises(JobFailed):
            run_job(hub, "upload-inventory-changes", shop, params)
    groups = len(sim.shop.adjustment_groups)
    _run, stats = run_job(hub, "upload-inventory-changes", shop, params)
    assert stats["resumed"] == 1 and stats["requests"] == 0 and stats["events"] == 0
    assert len(sim.shop.adjustment_groups) == groups and sim.available(MUG, "Shop location") == 6


def test_conflicts_and_what_cannot_be_mapped_are_reported_not_overwritten(hub: Hub, sim: Sim) -> None:
    shop, berlin = _prepare_upload(hub, sim)
    add_facility(hub, "WH-HAM")  # no Shopify location
    sim.control.post("/_sim/locations", json={"name": "wh-köln"})
    add_facility(hub, "WH-KÖLN")  # the location, by name ignoring case, where nothing is stocked
    params = {"locations": "Shop location=WH-BER"}
    adjust(hub, MUG, "WH-BER", delta=7)
    adjust(hub, TEA, "WH-BER", delta=2)
    run_job(hub, "upload-inventory-changes", shop, params)
    assert sim.available(MUG, "Shop location") == 7
    sim.set_level(MUG, "Shop location", 20)  # a person changes it in Shopify; no webhook reaches orderhub
    adjust(hub, MUG, "WH-BER", delta=1)  # ATP 8
    adjust(hub, TEA, "WH-BER", delta=1)  # ATP 3
    adjust(hub, MUG, "WH-HAM", delta=4)
    adjust(hub, "SKU-NOT-IN-SHOPIFY", "WH-BER", delta=1)
    adjust(hub, MUG, "WH-KÖLN", delta=2)
    run_id, stats = run_job(hub, "upload-inventory-changes", shop, params)
    assert sim.available(MUG, "Shop location") == 20  # not overwritten
    assert sim.available(TEA, "Shop location") == 3  # the rest of the batch went through
    assert stats["conflicts"] == 1 and stats["set"] == 1
    errors = {(f["record"]["sku"], f["record"]["facility"]): f["error"] for f in failed(hub, run_id)}
    assert "changed in Shopify since orderhub last saw it (orderhub expected 7, Shopify has 20)" in errors[
        (MUG, "WH-BER")]
    assert "facility WH-HAM is no Shopify location" in errors[(MUG, "WH-HAM")]
    assert "no product variant" in errors[("SKU-NOT-IN-SHOPIFY", "WH-BER")]
    assert "not stocked at this location" in errors[(MUG, "WH-KÖLN")]
    assert run_counts(hub, run_id)[3] == 4
    adjust(hub, MUG, "WH-BER", delta=1)  # ATP 9: overwritten when asked to
    _run, forced = run_job(hub, "upload-inventory-changes", shop, params | {"ignore_compare": "true"})
    assert sim.available(MUG, "Shop location") == 9 and forced["set"] == 1
    assert position(hub, MUG, berlin).atp == 9


# -- returns and cancellations ----------------------------------------------------------------------------

def _one_product_shop(hub: Hub, sim: Sim, *, stock: int, api_version: str = NEWEST) -> tuple[shops.Shop, int]:
    """The simulated shop sells one product (BOOT); orderhub knows it and has ``stock`` at WH-BER."""
    for p in sim.products()["products"]:
        sim.control.post("/_sim/products", json={"action": "delete", "id": p["id"]})
    r = sim.control.post("/_sim/products", json={"title": "Wanderstiefel 🥾", "sku": BOOT, "price": "120.00"})
    assert r.status_code == 200, r.text
    shop = connect(hub, sim, api_version)
    run_job(hub, "sync-products", shop, {"collections": "false"})
    drain(hub)
    berlin = add_facility(hub, "WH-BER")
    with hub.db.write() as conn:
        inventory_store.set_on_hand(conn, BOOT, berlin, stock, reason=LedgerReason.RECEIVED, actor="test")
    return shop, berlin


def _orders(hub: Hub, sim: Sim, shop: shops.Shop, count: int) -> list[int]:
    """Paid orders placed in Shopify (a first line of at least 2 units), imported and placed in orderhub;
    their Shopify ids."""
    ids = sim.control.post("/_sim/orders", json={"count": count, "seed": 4}).json()["order_ids"]
    for order_id in ids:
        if sim.shop.orders[order_id]["financial_status"] != "paid":
            sim.change(order_id, "pay")
        line = sim.shop.orders[order_id]["line_items"][0]
        if line["current_quantity"] < 2:
            sim.change(order_id, "edit", line_item_id=line["id"], quantity=2)
    run_job(hub, "import-new-orders", shop, {})
    drain(hub)
    place(hub)
    return [int(i) for i in ids]


def _order(hub: Hub, shopify_id: int) -> dict[str, Any]:
    with hub.db.read() as conn:
        oid = order_queries.find_order_id(conn, str(shopify_id))
        assert oid is not None
        found = order_queries.get_order(conn, oid)
    assert found is not None
    return found


def test_refunds_become_returns_once_with_webhooks_delivering_too(hub: Hub, hub_server: ServerThread,
                                                                   sim: Sim) -> None:
    shop, berlin = _one_product_shop(hub, sim, stock=20)
    [order_id] = _orders(hub, sim, shop, 1)
    oid = int(_order(hub, order_id)["id"])
    ctx = fulfilment.Ctx("packer", "test")
    with hub.db.write() as conn:
        fulfilment.pick(conn, oid, ctx)
        fulfilment.pack(conn, oid, ctx)
        fulfilment.ship(conn, oid, ctx, tracking_number="00340434161234567890", carrier="DHL")
    sim.change(order_id, "fulfill")
    shipped = position(hub, BOOT, berlin)
    subscriptions.subscribe(admin_client(shop), "refunds/create", f"{hub_server.url}/webhooks/shopify")
    line = sim.shop.orders[order_id]["line_items"][0]
    sim.change(order_id, "refund", line_item_id=line["id"], quantity=1, restock=True)
    assert sim.control.post("/_sim/wait_idle", json={"timeout": 20}).json()["idle"]
    _run, stats = run_job(hub, "import-returns", shop, {})
    assert stats["refunds"] == 1 and stats["stored"] == 0 and stats["duplicates"] == 1  # the webhook came first
    drain(hub)
    [restocked] = _order(hub, order_id)["returns"]
    assert restocked["disposition"] == "restock" and restocked["facility_id"] == berlin
    assert position(hub, BOOT, berlin) == Position(shipped.on_hand + 1, shipped.reserved, 0)

    with sim.simulator.store.lock:  # webhooks off: the poll alone
        sim.shop.subscriptions.clear()
    line = sim.shop.orders[order_id]["line_items"][0]
    sim.change(order_id, "refund", line_item_id=line["id"], quantity=1, restock=False)
    _run, second = run_job(hub, "import-returns", shop, {})
    assert second["stored"] == 1
    _run, third = run_job(hub, "import-returns", shop, {})
    assert third["stored"] == 0
    drain(hub)
    returns = _order(hub, order_id)["returns"]
    assert [r["disposition"] for r in returns] == ["restock", "damaged"]
    assert position(hub, BOOT, berlin).on_hand == shipped.on_hand + 1  # a damaged unit is not restocked


@pytest.mark.parametrize("api_version", SUPPORTED)
def test_cancellations_are_uploaded_once_when_enabled(hub: Hub, sim: Sim, monkeypatch: pytest.MonkeyPatch,
                                                      api_version: str) -> None:
    shop, _berlin = _one_product_shop(hub, sim, stock=0, api_version=api_version)  # nothing to broker: orders wait
    by_person, by_date, kept = _orders(hub, sim, shop, 3)
    with hub.db.write() as conn:
        fulfilment.cancel(conn, int(_order(hub, by_person)["id"]), fulfilment.Ctx("cli:anna", "customer called 📞"))
        late = int(_order(hub, by_date)["id"])
        conn.execute(update(order_units).where(order_units.c.order_id == late).values(
            auto_cancel_at=utcnow() - timedelta(hours=1)))
    run_job(hub, "auto-cancel", None, {})
    with hub.db.read() as conn:
        statuses = dict(conn.execute(select(orders.c.shopify_id, orders.c.status)).all())
    assert (statuses[str(by_person)], statuses[str(by_date)]) == ("cancelled", "cancelled")
    assert statuses[str(kept)] != "cancelled"

    _run, off = run_job(hub, "upload-cancellations", shop, {})
    assert off == {"enabled": False, "uploaded": 0} and not sim.shop.orders[by_person]["cancelled_at"]

    with monkeypatch.context() as patch:  # the node stops after Shopify cancelled the first order
        patch.setattr(returns_import, "_record", _crash)
        with pytest.raises(JobFailed):
            run_job(hub, "upload-cancellations", shop, {"enabled": "true"})
    [first] = [i for i in (by_person, by_date) if sim.shop.orders[i]["cancelled_at"]]
    cancelled_at = sim.shop.orders[first]["cancelled_at"]
    run_id, stats = run_job(hub, "upload-cancellations", shop, {"enabled": "true"})
    assert (stats["uploaded"], stats["already_cancelled"]) == (1, 1) and failed(hub, run_id) == []
    assert sim.shop.orders[first]["cancelled_at"] == cancelled_at  # not cancelled twice
    assert [sim.shop.orders[i]["cancel_reason"] for i in (by_person, by_date)] == ["inventory", "inventory"]
    assert not sim.shop.orders[kept]["cancelled_at"]
    _run, again = run_job(hub, "upload-cancellations", shop, {"enabled": "true"})
    assert again["candidates"] == 0
    second = by_date if first == by_person else by_person
    sent = [e["detail"] for e in _order(hub, second)["timeline"] if e["kind"] == returns_import.UPLOADED]
    found = [e["detail"] for e in _order(hub, first)["timeline"] if e["kind"] == returns_import.UPLOADED]
    assert [(d["sent"], d["cancelled_by"]) for d in sent] == [
        (True, "job:auto-cancel" if second == by_date else "cli:anna")]
    assert [(d["sent"], d["cancelled_in_shopify_at"] is not None) for d in found] == [(False, True)]
