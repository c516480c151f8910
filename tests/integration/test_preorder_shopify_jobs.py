"""The pre-order jobs that write to Shopify, against the simulator on loopback, on SQLite and PostgreSQL.

A console never in stock is sold as a pre-order, boots out of stock as a backorder, and a record the
merchant tagged ``Pre-Order`` as a pre-order too; a mug is in stock. Orders placed in Shopify reach
orderhub through the inbox, wait in the parking queues and are promised dates. The jobs then put the
variants' metafields and the products' tags, the orders' tags and the promise dates in the order notes
into Shopify; they change them when the catalogue or a promise changes, take off what orderhub added
once it no longer applies (never the merchant's own tag or note text), and a rerun sends nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select

from orderhub.adapters.store import facilities as facility_store
from orderhub.adapters.store import inventory_store, order_queries, shops
from orderhub.adapters.store import purchase_orders as po_store
from orderhub.adapters.store.schema import job_state, orders
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.domain.inventory import LedgerReason
from orderhub.services.jobs import admin, preorder_jobs, preorder_shopify, registry
from orderhub.services.jobs.runner import JobFailed, run_job
from orderhub.simulators.shopify.server import start_in_thread
from tests.oms_support import place
from tests.support import drain

pytestmark = pytest.mark.timeout(180)

SHOP = "presell.myshopify.com"
SECRET = "presell-secret-🔑"
TOKEN = "shpat_presell"
CONSOLE, BOOTS, VINYL, MUG = "CON-🎮-1", "BOOT-42", "VINYL-1", "MUG-1"
MERCHANT_NOTE = "Bitte nicht klingeln 🔕 — Hinterhof"
D0 = utcnow().date()


def day(n: int) -> date:
    return D0 + timedelta(days=n)


@dataclass
class World:
    """The simulated shop and orderhub, connected, with pre-sold orders waiting in orderhub."""

    hub: Hub
    sim: Any
    control: httpx.Client
    shop: shops.Shop
    products: dict[str, int]  # SKU -> Shopify product id
    variants: dict[str, int]  # SKU -> Shopify variant id
    console: int  # Shopify order ids: two consoles (merchant's note on it), boots, a mug, boots the merchant
    boots: int  # tagged "Backorder" themselves
    mug: int
    tagged_boots: int
    wh: int
    po: int

    @property
    def sim_shop(self) -> Any:
        return self.sim.store.shop(SHOP)

    def product_tags(self, sku: str) -> list[str]:
        return [t.strip() for t in self.sim_shop.products[self.products[sku]]["tags"].split(",") if t.strip()]

    def order_tags(self, order_id: int) -> list[str]:
        return [t.strip() for t in (self.sim_shop.orders[order_id]["tags"] or "").split(",") if t.strip()]

    def note(self, order_id: int) -> str | None:
        return self.sim_shop.orders[order_id]["note"]

    def metafields(self, sku: str) -> dict[str, tuple[str, str]]:
        owned = self.sim_shop.metafields.get(("ProductVariant", self.variants[sku]), {})
        return {key: (m["type"], m["value"]) for (namespace, key), m in owned.items() if namespace == "orderhub"}

    def change(self, order_id: int, action: str, **params: Any) -> None:
        r = self.control.post(f"/_sim/orders/{order_id}/{action}", json=params)
        assert r.status_code == 200, r.text

    def expect(self, sku: str, quantity: int, when: date) -> None:
        with self.hub.db.write() as conn:
            po_store.save_line(conn, self.po, sku, quantity=quantity, expected_date=when)

    def receive(self, sku: str, quantity: int) -> None:
        with self.hub.db.write() as conn:
            inventory_store.set_on_hand(conn, sku, self.wh, quantity, reason=LedgerReason.RECEIVED, actor="test")

    def run(self, job: str, **params: Any) -> tuple[int, dict[str, Any]]:
        return run_job(self.hub, job, None if job in GLOBAL_JOBS else self.shop, params)


GLOBAL_JOBS = ("refresh-presell-catalogue", "update-promise-dates", "release-preorders")


@pytest.fixture
def sim() -> Iterator[tuple[Any, str]]:
    simulator, url, stop = start_in_thread([{"domain": SHOP, "api_secret": SECRET, "access_token": TOKEN}],
                                           seed=7, restore_rate=5000)
    yield simulator, url
    stop()


def _product(control: httpx.Client, title: str, sku: str) -> dict[str, Any]:
    r = control.post("/_sim/products", json={"title": title, "sku": sku, "price": "50.00"})
    assert r.status_code == 200, r.text
    return dict(r.json()["product"])


def _orders(world_sim: Any, control: httpx.Client, sku: str, count: int) -> list[int]:
    """Paid orders of ``sku`` only, placed in Shopify."""
    r = control.post("/_sim/orders", json={"shop": SHOP, "count": count, "skus": [sku]})
    assert r.status_code == 201, r.text
    ids = [int(i) for i in r.json()["order_ids"]]
    for order_id in ids:
        if world_sim.store.shop(SHOP).orders[order_id]["financial_status"] != "paid":
            assert control.post(f"/_sim/orders/{order_id}/pay", json={}).status_code == 200
    return ids


@pytest.fixture
def world(hub: Hub, sim: tuple[Any, str]) -> Iterator[World]:
    simulator, url = sim
    with httpx.Client(base_url=url, timeout=30) as control:
        for p in control.get("/_sim/products").json()["products"]:
            control.post("/_sim/products", json={"action": "delete", "id": p["id"]})
        made = {sku: _product(control, title, sku) for title, sku in (
            ("Konsole «Neo» 🎮", CONSOLE), ("Wanderstiefel 🥾", BOOTS), ("Schallplatte 💿", VINYL), ("Tasse ☕", MUG))}
        control.post("/_sim/products", json={"action": "update", "id": made[VINYL]["id"], "tags": "Pre-Order"})
        console = _orders(simulator, control, CONSOLE, 1)[0]
        boots, tagged_boots = _orders(simulator, control, BOOTS, 2)
        mug = _orders(simulator, control, MUG, 1)[0]
        assert control.post(f"/_sim/orders/{console}/update", json={"note": MERCHANT_NOTE}).status_code == 200
        assert control.post(f"/_sim/orders/{tagged_boots}/update", json={"tags": ["Backorder", "vip"]}
                            ).status_code == 200
        with hub.db.write() as conn:
            shop = shops.add(conn, SHOP, SECRET, admin_url=f"{url}/shops/{SHOP}", access_token=TOKEN,
                             api_version="2026-01")
            wh = facility_store.add(conn, "WH-BER", "Berlin 🏭", "warehouse")
            for sku in (BOOTS, VINYL):  # in stock once, sold out now
                inventory_store.set_on_hand(conn, sku, wh, 3, reason=LedgerReason.RECEIVED, actor="test")
                inventory_store.set_on_hand(conn, sku, wh, 0, reason=LedgerReason.CYCLE_COUNT, actor="count")
            inventory_store.set_on_hand(conn, MUG, wh, 50, reason=LedgerReason.RECEIVED, actor="test")
            po, _ = po_store.save_order(conn, "PO-77", facility_id=wh, status="open", actor="buyer")
            for sku, when in ((CONSOLE, day(20)), (BOOTS, day(10)), (VINYL, day(15))):
                po_store.save_line(conn, po, sku, quantity=40, expected_date=when)
        run_job(hub, "sync-products", shop, {"collections": "false"})
        run_job(hub, "import-new-orders", shop, {})
        drain(hub)
        place(hub)
        w = World(hub, simulator, control, shop, {sku: int(p["id"]) for sku, p in made.items()},
                  {sku: int(p["variants"][0]["id"]) for sku, p in made.items()}, console, boots, mug, tagged_boots,
                  wh, po)
        _run, refreshed = w.run("refresh-presell-catalogue")
        assert refreshed["added"] == {CONSOLE: "preorder", BOOTS: "backorder", VINYL: "preorder"}
        yield w


def log_lines(hub: Hub, run_id: int) -> list[str]:
    return [line["message"] for line in admin.run_detail(hub, run_id)["log"]]


def state_keys(hub: Hub, job: str) -> set[str]:
    with hub.db.read() as conn:
        return {r.key for r in conn.execute(select(job_state.c.key).where(job_state.c.job == job))}


def test_variant_details_and_product_tags_follow_the_catalogue(world: World) -> None:
    run_id, first = world.run("sync-presell-variants")

    assert (first["variants_changed"], first["variants_failed"], first["products_tagged"]) == (3, 0, 2)
    assert world.metafields(CONSOLE) == {"presell_kind": ("single_line_text_field", "preorder"),
                                         "next_expected": ("date", day(20).isoformat())}
    assert world.metafields(BOOTS) == {"presell_kind": ("single_line_text_field", "backorder"),
                                       "next_expected": ("date", day(10).isoformat())}
    assert world.metafields(VINYL)["presell_kind"][1] == "preorder" and world.metafields(MUG) == {}
    assert (world.product_tags(CONSOLE), world.product_tags(BOOTS)) == (["pre-order"], ["backorder"])
    assert world.product_tags(VINYL) == ["Pre-Order"]  # the merchant's tag, not added twice
    assert f"{CONSOLE} (variant {world.variants[CONSOLE]}): presell_kind preorder, next_expected " \
           f"{day(20).isoformat()}" in log_lines(world.hub, run_id)
    stamps = {sku: world.sim_shop.products[pid]["updated_at"] for sku, pid in world.products.items()}

    _run, again = world.run("sync-presell-variants")
    assert (again["variants_changed"], again["products_tagged"], again["requests"]) == (0, 0, 0)
    assert {sku: world.sim_shop.products[pid]["updated_at"] for sku, pid in world.products.items()} == stamps

    # The boots' delivery is late: only their date is sent. Then the boots and the record are in stock again:
    # both say "none", the boots lose their date and orderhub's tag, the record keeps the merchant's tag.
    world.expect(BOOTS, 40, day(12))
    world.run("refresh-presell-catalogue")
    run_id, late = world.run("sync-presell-variants")
    assert (late["variants_changed"], late["products_tagged"], late["products_untagged"]) == (1, 0, 0)
    assert world.metafields(BOOTS)["next_expected"] == ("date", day(12).isoformat())
    assert world.sim_shop.products[world.products[CONSOLE]]["updated_at"] == stamps[CONSOLE]
    world.receive(BOOTS, 60)
    world.receive(VINYL, 60)
    _run, refreshed = world.run("refresh-presell-catalogue")
    assert refreshed["removed"] == {BOOTS: "backorder", VINYL: "preorder"}
    run_id, left = world.run("sync-presell-variants", batch_size="1")
    assert (left["variants_changed"], left["products_untagged"]) == (2, 1)
    assert left["requests"] == 3  # the two dates deleted, the two kinds set, the boots' tag removed: a request each
    assert world.metafields(BOOTS) == {"presell_kind": ("single_line_text_field", "none")}
    assert world.metafields(VINYL) == {"presell_kind": ("single_line_text_field", "none")}
    assert world.product_tags(BOOTS) == [] and world.product_tags(VINYL) == ["Pre-Order"]
    assert f"product Wanderstiefel 🥾 ({world.products[BOOTS]}): tag backorder removed" in log_lines(world.hub,
                                                                                                     run_id)
    assert state_keys(world.hub, "sync-presell-variants") == {f"variant:{world.variants[CONSOLE]}",
                                                               f"product:{world.products[CONSOLE]}"}

    # Someone took the console's tag off in Shopify: a normal run leaves it (nothing changed), a resend restores it.
    world.control.post("/_sim/products", json={"action": "update", "id": world.products[CONSOLE], "tags": ""})
    _run, normal = world.run("sync-presell-variants")
    assert (normal["requests"], world.product_tags(CONSOLE)) == (0, [])
    _run, resent = world.run("sync-presell-variants", resend="true")
    assert (resent["variants_changed"], resent["products_tagged"]) == (1, 1)
    assert world.product_tags(CONSOLE) == ["pre-order"]


def test_orders_with_waiting_units_are_tagged_once_and_untagged_when_released(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    merchant_tags = world.order_tags(world.console)
    with pytest.raises(JobFailed, match="batch_size must be 1 to 50 mutations per request \\(got 51\\)"):
        world.run("tag-presell-orders", batch_size="51")
    run_id, first = world.run("tag-presell-orders", batch_size="1")

    assert (first["waiting"], first["tagged"], first["untagged"], first["failed"]) == (3, 2, 0, 0)
    assert first["requests"] == 2  # one order a request; the order the merchant tagged needs nothing
    assert world.order_tags(world.console) == [*merchant_tags, "pre-order"]
    assert world.order_tags(world.boots)[-1] == "backorder"
    assert world.order_tags(world.tagged_boots) == ["Backorder", "vip"]  # the merchant's tag, left as it is
    assert "backorder" not in world.order_tags(world.mug) and "pre-order" not in world.order_tags(world.mug)
    name = world.sim_shop.orders[world.console]["name"]
    assert f"order {name}: tagged pre-order" in log_lines(world.hub, run_id)
    stamp = world.sim_shop.orders[world.console]["updated_at"]

    # The tags come back to orderhub with the order's update; nothing else about the order changes.
    run_job(world.hub, "import-order-updates", world.shop, {})
    drain(world.hub)
    with world.hub.db.read() as conn:
        oid = order_queries.find_order_id(conn, str(world.console))
        row = conn.execute(select(orders.c.tags, orders.c.status).where(orders.c.id == oid)).one()
    assert "pre-order" in row.tags and row.status == "approved"
    _run, again = world.run("tag-presell-orders")
    assert (again["tagged"], again["untagged"], again["requests"]) == (0, 0, 0)
    assert world.sim_shop.orders[world.console]["updated_at"] == stamp

    # The boots arrive and their day comes: the boots orders are released into brokering and lose orderhub's
    # tag; the order the merchant tagged keeps its own.
    world.receive(BOOTS, 60)
    monkeypatch.setattr(preorder_jobs, "today", lambda: day(10))
    _run, released = world.run("release-preorders")
    assert released["orders"] == 2
    run_id, untag = world.run("tag-presell-orders")
    assert (untag["waiting"], untag["tagged"], untag["untagged"]) == (1, 0, 1)
    assert "backorder" not in world.order_tags(world.boots)
    assert world.order_tags(world.tagged_boots) == ["Backorder", "vip"]
    assert world.order_tags(world.console)[-1] == "pre-order"
    assert state_keys(world.hub, "tag-presell-orders") == {f"order:{oid}"}


def _block(promise: str, *lines: str) -> str:
    return "\n".join(["[orderhub promise dates]", f"Promise date: {promise}", *lines, "[/orderhub promise dates]"])


def test_promise_dates_go_into_the_note_once_per_change_keeping_the_merchants_text(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    quantity = sum(li["quantity"] for li in world.sim_shop.orders[world.console]["line_items"])
    boots_note = world.note(world.boots)
    run_id, first = world.run("note-promise-dates")

    assert (first["orders"], first["added"], first["updated"], first["failed"]) == (3, 3, 0, 0)
    line = f"{quantity} x Konsole «Neo» 🎮 ({CONSOLE})"
    assert world.note(world.console) == MERCHANT_NOTE + "\n\n" + _block(
        day(20).isoformat(), f"{line}: {day(20).isoformat()}")
    assert world.note(world.boots).endswith(_block(day(10).isoformat(), *[
        f"{li['quantity']} x Wanderstiefel 🥾 ({BOOTS}): {day(10).isoformat()}"
        for li in world.sim_shop.orders[world.boots]["line_items"]]))
    assert world.note(world.boots).startswith(boots_note or "[orderhub")
    assert world.note(world.mug) == world.sim_shop.orders[world.mug]["note"]  # nothing promised: untouched
    name = world.sim_shop.orders[world.console]["name"]
    assert f"order {name}: promise date {day(20).isoformat()} added to the note" in log_lines(world.hub, run_id)
    _run, again = world.run("note-promise-dates")
    assert (again["added"], again["updated"], again["requests"]) == (0, 0, 0)

    # The merchant rewrites their part of the note; then the console's delivery is late.
    edited = "Neue Adresse: Hinterhof links 🏠\n\n" + _block(day(20).isoformat(), f"{line}: {day(20).isoformat()}") \
        + "\nBitte nicht klingeln 🔕"
    world.change(world.console, "update", note=edited)
    world.expect(CONSOLE, 40, day(25))
    world.run("update-promise-dates")
    run_id, moved = world.run("note-promise-dates")
    assert (moved["added"], moved["updated"]) == (0, 1)
    assert world.note(world.console) == "Neue Adresse: Hinterhof links 🏠\n\n" + _block(
        day(25).isoformat(), f"{line}: {day(25).isoformat()} (was {day(20).isoformat()})") + "\nBitte nicht klingeln 🔕"
    assert any(m.startswith(f"order {name}: promise date changed in the note") for m in log_lines(world.hub, run_id))

    # A run that stops after Shopify took the note, before remembering it: the next run sees the note is already
    # written and sends nothing.
    world.expect(CONSOLE, 40, day(27))
    world.run("update-promise-dates")
    real_save = preorder_shopify.save_states

    def crash(conn: Any, job: str, shop_id: int, states: Any) -> None:
        if job == preorder_shopify.NOTES and any(v is not None for v in states.values()):
            raise RuntimeError("node lost")
        real_save(conn, job, shop_id, states)

    with monkeypatch.context() as patch:
        patch.setattr(preorder_shopify, "save_states", crash)
        with pytest.raises(JobFailed, match="node lost"):
            world.run("note-promise-dates")
    written = world.note(world.console)
    assert f"{line}: {day(27).isoformat()} (was {day(25).isoformat()})" in written
    stamp = world.sim_shop.orders[world.console]["updated_at"]
    _run, resumed = world.run("note-promise-dates")
    assert (resumed["already"], resumed["updated"], resumed["requests"]) == (1, 0, 0)
    assert world.note(world.console) == written and world.sim_shop.orders[world.console]["updated_at"] == stamp
    _run, quiet = world.run("note-promise-dates")
    assert (quiet["already"], quiet["updated"]) == (0, 0)


def failed_records(hub: Hub, run_id: int) -> list[dict[str, Any]]:
    _name, content = admin.run_file(hub, run_id, "failed")
    return [orjson.loads(line) for line in content.splitlines()]


def test_a_product_gone_from_shopify_fails_alone_and_is_tried_again(world: World) -> None:
    """metafieldsSet is all or nothing: the variant Shopify refuses is reported, the others sent again without it."""
    world.control.post("/_sim/products", json={"action": "delete", "id": world.products[CONSOLE]})

    run_id, stats = world.run("sync-presell-variants")

    assert (stats["variants_changed"], stats["variants_failed"], stats["products_tagged"]) == (2, 1, 1)
    assert stats["requests"] == 3  # the three variants together (refused), the two others again, the boots' tag
    assert world.metafields(BOOTS)["presell_kind"][1] == "backorder" and world.metafields(VINYL)
    variant, product = sorted(failed_records(world.hub, run_id), key=lambda r: "owner" in r["record"])
    gone = "INVALID metafields.{}.ownerId: Owner does not exist."
    assert variant["error"] == (f"{CONSOLE} (variant {world.variants[CONSOLE]}): presell_kind preorder, next_expected "
                                f"{day(20).isoformat()}: Shopify refused the metafields: {gone.format(0)}; "
                                f"{gone.format(1)}; tried again next run")
    assert product["error"] == (f"product Konsole «Neo» 🎮 ({world.products[CONSOLE]}): not in Shopify any more "
                                f"(gid://shopify/Product/{world.products[CONSOLE]}); forgotten")
    assert admin.run_detail(world.hub, run_id)["counts"]["failed"] == 2

    _run, again = world.run("sync-presell-variants")
    assert (again["variants_changed"], again["variants_failed"], again["requests"]) == (0, 1, 1)


def test_only_orderhubs_block_of_a_note_is_replaced() -> None:
    block = preorder_shopify.render_block([preorder_shopify.PromiseLine(1, "Boots (B-1)", day(3), 2)], None)
    assert block == _block(day(3).isoformat(), f"2 x Boots (B-1): {day(3).isoformat()}")
    assert preorder_shopify.splice(None, block) == preorder_shopify.splice("  \n", block) == block
    assert preorder_shopify.splice("Gift 🎁", block) == f"Gift 🎁\n\n{block}"
    old = _block("2020-01-01")
    assert preorder_shopify.splice(f"A\n{old}\nB", block) == f"A\n{block}\nB"
    # A marker the merchant broke: their text after it is kept, and the complete block after that replaced.
    broken = f"A [orderhub promise dates] B\n\n{old}"
    assert preorder_shopify.splice(broken, block) == f"A [orderhub promise dates] B\n\n{block}"
    orphan = "[/orderhub promise dates] C"
    assert preorder_shopify.splice(orphan, block) == f"{orphan}\n\n{block}"
    moved = preorder_shopify.render_block(
        [preorder_shopify.PromiseLine(1, "Boots (B-1)", day(5), 1), preorder_shopify.PromiseLine(1, "Boots (B-1)",
                                                                                                 None, 1)],
        [[1, day(3).isoformat(), 2]])
    assert moved == _block("no date yet", f"1 x Boots (B-1): {day(5).isoformat()} (was {day(3).isoformat()})",
                           f"1 x Boots (B-1): no date yet (was {day(3).isoformat()})")


@pytest.mark.parametrize(("job", "title"), [("sync-presell-variants", "Sync variant details:"),
                                            ("tag-presell-orders", "Add tags:"),
                                            ("note-promise-dates", "Add promise date:")])
def test_the_jobs_are_in_the_pre_order_category_per_shop(job: str, title: str) -> None:
    definition = registry.get(job).definition
    assert (definition.category, definition.per_shop) == ("pre-order", True)
    assert definition.description.startswith(title)
    assert {p.name for p in definition.params} >= {"batch_size"}
