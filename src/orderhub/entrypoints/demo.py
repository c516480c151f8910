"""``orderhub demo``: a simulated Shopify store feeding a real orderhub, on embedded SQLite.

Starts the simulator and the hub's HTTP server on loopback, sets up facilities
and stock for the SKUs the simulated store sells (a few short on purpose),
subscribes the webhooks, creates orders in the store (some broken on purpose),
changes some, and runs the batch backup over the same orders. Then it processes
the inbox and places each new order (reserve, approve, broker), runs the
approval and brokering jobs after a delivery of one short SKU, walks one order
through pick, pack and ship, and shows that every order landed once, at its
latest version, was announced once, with the broken ones waiting in the error log.
Then simulated Amazon, Walmart and TikTok Shop join (demo_channels.py): a TikTok
order lowers the stock every channel shows, and its shipment is confirmed on TikTok. Last, a till at the
store sells offline and syncs when it comes back (demo_store.py): the store's stock and every channel follow.

A run is deterministic: the simulator is seeded (``--seed``), sends one webhook
at a time, and the inbox is processed only once everything has arrived, so two
runs with the same seed and order count print the same summary.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.live import Live
from rich.table import Table
from sqlalchemy import Connection, func, or_, select

from orderhub import logs
from orderhub.adapters.store import error_log, migrate, shops, tokens
from orderhub.adapters.store import facilities as facility_store
from orderhub.adapters.store import inbox as inbox_store
from orderhub.adapters.store.schema import inbox, orders, outbox, workflows
from orderhub.bootstrap import Hub, build
from orderhub.clock import utcnow
from orderhub.config import Settings
from orderhub.domain.inventory import LedgerReason
from orderhub.entrypoints import demo_marketplaces as marketplaces
from orderhub.entrypoints.demo_channels import run_channels
from orderhub.entrypoints.demo_customers import run_customer
from orderhub.entrypoints.demo_fulfilment import ACTOR, brokered_whole, walk
from orderhub.entrypoints.demo_invoicing import invoice_shipped
from orderhub.entrypoints.demo_store import run_store
from orderhub.entrypoints.demo_summary import look_further, oms_summary, summary
from orderhub.services import inventory as inventory_service
from orderhub.services import placement, webhook_categories
from orderhub.services.jobs.runner import run_job
from orderhub.simulators.shopify.generator import CATALOGUE

SHOP = "demo-store.myshopify.com"
SECRET = "demo-api-secret"
ACCESS_TOKEN = "shpat_demo_token"
BAD_ORDERS = {"no_line_items": 1, "negative_quantity": 1, "unknown_currency": 1, "malformed_address": 1}
TOPICS = ["orders/create", "orders/updated", "orders/cancelled", "orders/paid", "orders/fulfilled",
          "orders/partially_fulfilled", "orders/edited", "refunds/create", "inventory_levels/update",
          "products/create", "products/update", "products/delete", "app/uninstalled", "customers/update",
          "customers_email_marketing_consent/update"]
DEFAULT_SEED = 7
WORKDIR = Path("orderhub-demo")
MARK = ".orderhub-demo"  # written into the demo's folder: only a folder with it is replaced by a later run


@dataclass(frozen=True)
class DemoFacility:
    code: str
    name: str
    kind: str
    city: str
    country_code: str
    latitude: float
    longitude: float
    units_per_sku: int  # what the first delivery brings of every SKU that is not short
    ship_from_store: bool = False
    pos_store: str | None = None  # its store in Retail Pro (store codes have at most 5 characters)


# Customers are spread over four continents; brokering ships each order from the nearest
# facility that has everything, so all three get work.
FACILITIES = (
    DemoFacility("WH-NJ", "Newark Fulfillment Center", "warehouse", "Newark", "US", 40.7357, -74.1724, 30,
                 pos_store="NJ01"),
    DemoFacility("WH-DE", "Zentrallager Erfurt 🏭", "warehouse", "Erfurt", "DE", 50.9848, 11.0299, 30,
                 pos_store="DE01"),
    DemoFacility("ST-SHIBUYA", "渋谷 Flagship Store 🏬", "store", "渋谷区", "JP", 35.6595, 139.7005, 3,
                 ship_from_store=True, pos_store="SHB01"),
)
FACILITY_GROUP = "ship-online"
# Two popular SKUs are short on purpose (units, all at WH-DE): orders wanting more wait in
# backorder parking. A later delivery of one of them gives the brokering job parked units to
# place; the other stays short.
SHORT_SKUS = {"SNK-NDU-38": 2, "CSH-SILK-R40": 2}
SHORT_AT = "WH-DE"
RESTOCK = ("CSH-SILK-R40", "WH-DE", 6)
CARRIER = "DHL"


def _counts(hub: Hub) -> dict[str, int]:
    with hub.db.read() as conn:
        kept = or_(inbox.c.outcome.is_(None), inbox.c.outcome != "duplicate")  # a repeat the worker found: no record
        by_status: dict[str, int] = {status: n for status, n in conn.execute(
            select(inbox.c.status, func.count()).where(kept).group_by(inbox.c.status))}
        n_orders = conn.execute(select(func.count()).select_from(orders)).scalar_one()
        open_errors = error_log.count(conn, error_log.ErrorFilter(status="open"))
        placing = _placements(conn)
        events, announced = _placed_events(conn)
    return {"stored": sum(by_status.values()), "pending": by_status.get("pending", 0),
            "processed": by_status.get("done", 0), "failed": by_status.get("failed", 0),
            "orders": n_orders, "errors": open_errors, "placed": placing.get("completed", 0),
            "placing": placing.get("due", 0), "waiting": placing.get("waiting", 0),
            "compensated": placing.get("compensated", 0), "placed_events": events, "announced": announced}


def _placements(conn: Connection) -> dict[str, int]:
    """Placement workflows: completed, compensated, due now, and waiting (for a payment, or to retry)."""
    wf = workflows.c
    due = (wf.status.in_(("running", "compensating"))) & (wf.available_at <= utcnow())
    rows = conn.execute(select(wf.status, due.label("due"), func.count()).where(wf.kind == placement.KIND)
                        .group_by(wf.status, due.label("due"))).all()
    out = {"completed": 0, "compensated": 0, "due": 0, "waiting": 0}
    for status, is_due, n in rows:
        if status in ("completed", "compensated"):
            out[status] += n
        elif status in ("running", "compensating"):
            out["due" if is_due else "waiting"] += n
    return out


def _placed_events(conn: Connection) -> tuple[int, int]:
    """``order.placed`` events in the outbox, and the distinct orders they are about."""
    row = conn.execute(select(func.count(), func.count(outbox.c.order_id.distinct()))
                       .where(outbox.c.event_type == "order.placed")).one()
    return int(row[0]), int(row[1])


def _progress(c: dict[str, int], sim: dict[str, int], phase: str) -> Table:
    table = Table(title=f"orderhub demo — {phase}", min_width=60)
    table.add_column("pipeline")
    table.add_column("count", justify="right")
    table.add_row("webhooks sent by Shopify (incl. retries/duplicates)", str(sim.get("sent", 0)))
    table.add_row("records stored in the inbox", str(c["stored"]))
    table.add_row("  deduplicated (same delivery or same order version)", str(sim.get("dedup", 0)))
    table.add_row("records processed", str(c["processed"]))
    table.add_row("waiting", str(c["pending"]))
    table.add_row("orders in orderhub's store", str(c["orders"]))
    table.add_row("orders placed in the OMS (placement workflow done)", str(c["placed"]))
    table.add_row("  waiting (for payment, or to retry a step)", str(c["waiting"]))
    table.add_row("in the error log", str(c["errors"]))
    return table


def prepare_workdir(workdir: Path, console: Console) -> bool:
    """A fresh demo folder: made, or replacing one an earlier run made (it carries the mark). A folder
    the demo did not make is left alone: False, and a line says so."""
    if workdir.exists() or workdir.is_symlink():
        if not (workdir / MARK).is_file():
            console.print(f"{workdir}/ exists and was not made by the demo; nothing was changed. Move it away, "
                          "or run the demo from another folder", highlight=False, soft_wrap=True)
            return False
        console.print(f"Replacing the earlier demo run in {workdir}/ (its database and files) ...", highlight=False)
        shutil.rmtree(workdir)
    workdir.mkdir()
    (workdir / MARK).write_text("Made by `orderhub demo`; the next run replaces this folder.\n", encoding="utf-8")
    return True


def run_demo(*, n_orders: int = 60, keep_running: bool = False, db_url: str | None = None,
             console: Console | None = None, seed: int = DEFAULT_SEED) -> int:
    from orderhub.entrypoints.http.app import create_app
    from orderhub.entrypoints.worker import Worker
    from orderhub.simulators.shopify.server import start_in_thread
    from orderhub.testing.server import ServerThread

    console = console or Console()
    logs.configure("WARNING", json=False)  # the demo narrates; only problems are logged
    started = time.monotonic()
    # The database and the SFTP server's files; with a database of your own, the files go to a temporary folder.
    workdir = WORKDIR if db_url is None else Path(tempfile.mkdtemp(prefix="orderhub-demo-"))
    if db_url is None:
        if not prepare_workdir(workdir, console):
            return 1
        db_url = f"sqlite:///{workdir / 'orderhub.db'}"
    settings = Settings.from_env().with_database(db_url)
    hub = build(settings)
    migrate.upgrade(hub.db)

    console.print(f"[bold]1.[/bold] Starting a simulated Shopify store (seed {seed}) and orderhub on loopback ...")
    # A Shopify Plus store: its GraphQL bucket refills at 500 points/s (standard stores: 50-100). One sender:
    # webhooks arrive in the order Shopify sends them, so every run with this seed stores the same inbox.
    sim, sim_url, stop_sim = start_in_thread(
        shops=[{"domain": SHOP, "api_secret": SECRET, "access_token": ACCESS_TOKEN}],
        retry_schedule=[0.2, 0.5, 1.0], duplicate_rate=0.05, seed=seed, restore_rate=500, workers=1)
    with hub.db.write() as conn:
        shops.add(conn, SHOP, SECRET, admin_url=f"{sim_url}/shops/{SHOP}", access_token=ACCESS_TOKEN)
        api_token = tokens.create(conn, "demo")
    server = ServerThread(create_app(hub)).start()
    worker: Worker | None = None  # started with --keep-running, once the demo's own steps are done
    stack = contextlib.ExitStack()
    control = httpx.Client(base_url=sim_url, timeout=60)
    try:
        console.print(f"    Shopify simulator: {sim_url}    orderhub: {server.url}")
        console.print("[bold]2.[/bold] Setting up the order management system: facilities and stock ...")
        _set_up_oms(hub, console)
        console.print("[bold]3.[/bold] Subscribing orderhub to the shop's webhooks (Admin GraphQL API) ...")
        # Recorded as subscribed, so the console's dashboard lists them and check-webhooks repairs them.
        states = webhook_categories.subscribe_topics(hub, _shop(hub), TOPICS, f"{server.url}/webhooks/shopify")
        _run_id, checked = run_job(hub, "check-webhooks", _shop(hub), {})
        console.print(f"    {sum(1 for s in states if s.state == webhook_categories.SUBSCRIBED)} topics "
                      f"subscribed; check-webhooks found {len(checked['present'])} of them at Shopify")

        console.print(f"[bold]4.[/bold] Creating {n_orders} orders in the Shopify store (names and addresses in "
                      f"many scripts, emoji, ids above 2^53) and {sum(BAD_ORDERS.values())} broken ones; paying, "
                      "cancelling, refunding and editing some ...")
        created = control.post("/_sim/orders", json={"shop": SHOP, "count": n_orders, "seed": seed + 4,
                                                     "bad": BAD_ORDERS}).json()
        ids = [str(i) for i in created["order_ids"]]
        actions = ["pay"] * 10 + ["cancel"] * 3 + ["fulfill"] * 5 + ["refund"] * 3 + ["edit"] * 3
        for order_id, action in zip(ids, actions, strict=False):  # the first orders only
            control.post(f"/_sim/orders/{order_id}/{action}", json={"shop": SHOP})
        _watch(console, hub, control, "receiving webhooks", lambda: _idle(control))

        console.print("[bold]5.[/bold] Running the batch backup (import-new-orders) over the same orders ...")
        _run_id, stats = run_job(hub, "import-new-orders", _shop(hub), {})
        console.print(f"    polled {stats['fetched']} orders in {stats['pages']} pages: {stats['stored']} new, "
                      f"{stats['duplicates']} already in the inbox (deduplicated)")
        # Everything has arrived: the processor takes the inbox in its order, then placement runs (reserve,
        # approve, broker), one after the other, so the outcome does not depend on which thread is quicker.
        _watch(console, hub, control, "processing and placing", _processing(hub))

        console.print(f"[bold]6.[/bold] A delivery of {RESTOCK[2]} × {RESTOCK[0]} arrives at {RESTOCK[1]}; "
                      "running the approval and brokering jobs ...")
        _restock_and_broker(hub, console)

        walked = brokered_whole(hub)
        shipped = False
        if walked is None:
            console.print("[bold]7.[/bold] Skipped: no online order is brokered whole (every unit reserved at a "
                          "facility), so there is none to pick, pack and ship; more orders (--orders) give one")
        else:
            console.print(f"[bold]7.[/bold] Walking order {walked[1]} through fulfilment at {walked[2]}: "
                          "pick, pack, ship ...")
            shipped = walk(hub, console, walked[0], CARRIER) == "shipped"

        c = _counts(hub)  # before invoicing, whose refusals (if any) are error-log entries of their own
        aligned = True
        if shipped:
            console.print("[bold]8.[/bold] Invoicing the shipped order in Retail Pro (simulated) through SFTP: "
                          "feed, transform, Order to Invoice; then comparing each store's stock ...")
            aligned = invoice_shipped(hub, console, workdir, _catalogue_skus())
        else:
            console.print("[bold]8.[/bold] Skipped: invoicing in Retail Pro needs a shipped order, and step 7 "
                          + ("shipped none" if walked is None else "did not ship its order"))
        market = marketplaces.start(sim_url, seed=seed)
        stack.callback(market.close)  # up until the end, for --keep-running
        sold = run_channels(hub, console, market, hub_url=server.url)
        store = next(f.code for f in FACILITIES if f.kind == "store")
        till = run_store(hub, console, market, hub_url=server.url, seed=seed, store=store)
        person = run_customer(hub, console, hub_url=server.url, sim_url=sim_url, shop=SHOP, store=store)
        summary(console, hub, c, n_orders, time.monotonic() - started, sold, till, person)
        oms_summary(console, hub, walked[0] if walked else None)
        look_further(console, db_url, walked[0] if walked else None, RESTOCK[0])
        if keep_running:
            # The hub's loops, as `orderhub serve` runs them: the inbox, placement, the outbox, scheduled jobs.
            worker = Worker(hub, processors=1).start()
            console.print(f"  curl -H 'Authorization: Bearer {api_token}' {server.url}/api/orders")
            console.print(f"  curl {server.url}/metrics")
            console.print(f"  Shopify simulator control: {sim_url}/_sim/deliveries")
            console.print("\nRunning until Ctrl-C ...")
            try:
                threading.Event().wait()
            except KeyboardInterrupt:
                pass
        expected_good = n_orders
        nothing_lost_or_doubled = (c["orders"] == expected_good and c["errors"] == sum(BAD_ORDERS.values())
                                   and c["placed_events"] == c["announced"] == c["placed"])
        acts = sold.ok and till.ok and person.ok
        return 0 if nothing_lost_or_doubled and (walked is None or shipped) and aligned and acts else 1
    finally:
        control.close()
        if worker is not None:
            worker.stop()
        stack.close()  # the channels' simulators
        server.stop()
        stop_sim()
        hub.close()


def _shop(hub: Hub) -> shops.Shop:
    with hub.db.read() as conn:
        found = shops.by_domain(conn, SHOP)
    assert found is not None
    return found


def _idle(control: httpx.Client) -> bool:
    return bool(control.post("/_sim/wait_idle", json={"timeout": 0.5}).json().get("idle"))


def _settled(hub: Hub) -> bool:
    """Every inbox record processed and every order placed that can be (unpaid ones wait)."""
    c = _counts(hub)
    return c["pending"] == 0 and c["placing"] == 0


def _processing(hub: Hub) -> Any:
    """A step for :func:`_watch`: the processor over what is due, then placement; True once settled."""
    processor, placing = hub.processor(), hub.placement()

    def step() -> bool:
        while processor.run_once()[0]:
            pass
        with hub.db.read() as conn:
            due = inbox_store.has_due(conn)
        if due or _counts(hub)["pending"]:
            return False  # the processor's intake limit (or a retry's delay) holds the rest back a moment
        while placing.run_once()[0]:
            pass
        return _settled(hub)

    return step


def _sim_stats(control: httpx.Client, hub: Hub) -> dict[str, int]:
    sent = len([d for d in control.get("/_sim/deliveries").json()["deliveries"] if d.get("status") == 200])
    stored = _counts(hub)["stored"]
    return {"sent": sent, "dedup": max(0, sent - stored)}


def _watch(console: Console, hub: Hub, control: httpx.Client, phase: str, done: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    with Live(_progress(_counts(hub), _sim_stats(control, hub), phase), console=console,
              refresh_per_second=4, transient=False) as live:
        while time.monotonic() < deadline:
            finished = done()
            live.update(_progress(_counts(hub), _sim_stats(control, hub), phase))
            if finished:
                break
            time.sleep(0.25)
    console.print()


# -- the order management system: facilities, stock, brokering, fulfilment ----------------------------

def _catalogue_skus() -> list[str]:
    """Every SKU of goods the Shopify simulator sells that ship (not gift cards or e-books; one soap has none)."""
    return [sku for item in CATALOGUE if item.requires_shipping
            for _option, sku, _price, _grams in item.variants if sku]


def _first_delivery() -> list[tuple[str, str, int]]:
    """(SKU, facility code, units): every SKU at every facility, except the short ones."""
    plan = []
    for sku in _catalogue_skus():
        if sku in SHORT_SKUS:
            plan.append((sku, SHORT_AT, SHORT_SKUS[sku]))
        else:
            plan += [(sku, f.code, f.units_per_sku) for f in FACILITIES]
    return plan


def _set_up_oms(hub: Hub, console: Console) -> None:
    """Facilities in one group, and stock received through the inventory service (ledger and events)."""
    with hub.db.write() as conn:
        if facility_store.all_facilities(conn):
            console.print("    facilities already set up in this database; leaving them and their stock as they are")
            return
        for seq, f in enumerate(FACILITIES, start=1):
            facility_store.add(conn, f.code, f.name, f.kind, city=f.city, country_code=f.country_code,
                               latitude=f.latitude, longitude=f.longitude, ship_from_store=f.ship_from_store,
                               sequence=seq, pos_store_code=f.pos_store)
            facility_store.add_to_group(conn, FACILITY_GROUP, f.code, group_name="Ships online orders")
        delivery = _first_delivery()
        for sku, code, units in delivery:
            inventory_service.adjust(conn, sku, code, actor=ACTOR, reason=LedgerReason.RECEIVED.value, delta=units,
                                     note="demo: first delivery")
    console.print(f"    facilities (group {FACILITY_GROUP}): "
                  + ", ".join(f"{f.code} {f.city}" + (" (ships from store)" if f.ship_from_store else "")
                              for f in FACILITIES))
    console.print(f"    received {sum(u for _, _, u in delivery)} units of {len(_catalogue_skus())} SKUs; "
                  "short on purpose: " + ", ".join(f"{sku} ({n})" for sku, n in SHORT_SKUS.items()))


def _restock_and_broker(hub: Hub, console: Console) -> None:
    """A delivery of a short SKU, then the jobs that approve waiting orders and broker parked units."""
    sku, code, units = RESTOCK
    with hub.db.write() as conn:
        inventory_service.adjust(conn, sku, code, actor=ACTOR, reason=LedgerReason.RECEIVED.value, delta=units,
                                 note="demo: a late delivery")
    _run_id, approved = run_job(hub, "approve-orders", None, {})
    _run_id, brokered = run_job(hub, "broker-orders", None, {})
    console.print(f"    approve-orders: {approved['approved']} of {approved['checked']} waiting orders approved")
    console.print(f"    broker-orders: {brokered['orders']} approved orders with parked units: "
                  f"{brokered['units_brokered']} units brokered, {brokered['units_parked']} still parked")
