"""``orderhub demo``: a simulated Shopify store feeding a real orderhub, on embedded SQLite.

Starts the simulator and the hub (HTTP server and worker) on loopback,
subscribes the webhooks, places orders (some broken on purpose), changes some,
runs the batch backup over the same orders, and shows that every order landed
once, at its latest version, with the broken ones waiting in the error log.
"""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.live import Live
from rich.table import Table
from sqlalchemy import func, select

from orderhub import logs
from orderhub.adapters.shopify import subscriptions
from orderhub.adapters.store import error_log, migrate, shops, tokens
from orderhub.adapters.store.schema import inbox, orders
from orderhub.bootstrap import Hub, build
from orderhub.config import Settings
from orderhub.services.jobs.import_orders import admin_client
from orderhub.services.jobs.runner import run_job

SHOP = "demo-store.myshopify.com"
SECRET = "demo-api-secret"
ACCESS_TOKEN = "shpat_demo_token"
BAD_ORDERS = {"no_line_items": 1, "negative_quantity": 1, "unknown_currency": 1, "malformed_address": 1}
TOPICS = ["orders/create", "orders/updated", "orders/cancelled", "orders/paid", "orders/fulfilled",
          "orders/partially_fulfilled", "orders/edited", "refunds/create", "inventory_levels/update",
          "products/create", "products/update", "products/delete", "app/uninstalled"]


def _counts(hub: Hub) -> dict[str, int]:
    with hub.db.read() as conn:
        by_status = dict(conn.execute(select(inbox.c.status, func.count()).group_by(inbox.c.status)).all())
        n_orders = conn.execute(select(func.count()).select_from(orders)).scalar_one()
        open_errors = error_log.count(conn, error_log.ErrorFilter(status="open"))
    return {"stored": sum(by_status.values()), "pending": by_status.get("pending", 0),
            "processed": by_status.get("done", 0), "failed": by_status.get("failed", 0),
            "orders": n_orders, "errors": open_errors}


def _progress(c: dict[str, int], sim: dict[str, int], phase: str) -> Table:
    table = Table(title=f"orderhub demo — {phase}", min_width=60)
    table.add_column("pipeline")
    table.add_column("count", justify="right")
    table.add_row("webhooks sent by Shopify (incl. retries/duplicates)", str(sim.get("sent", 0)))
    table.add_row("records stored in the inbox", str(c["stored"]))
    table.add_row("  deduplicated (same delivery or same order version)", str(sim.get("dedup", 0)))
    table.add_row("records processed", str(c["processed"]))
    table.add_row("waiting", str(c["pending"]))
    table.add_row("orders in the store", str(c["orders"]))
    table.add_row("in the error log", str(c["errors"]))
    return table


def run_demo(*, n_orders: int = 60, keep_running: bool = False, db_url: str | None = None,
             console: Console | None = None) -> int:
    from orderhub.entrypoints.http.app import create_app
    from orderhub.entrypoints.worker import Worker
    from orderhub.simulators.shopify.server import start_in_thread
    from orderhub.testing.server import ServerThread

    console = console or Console()
    logs.configure("WARNING", json=False)  # the demo narrates; only problems are logged
    started = time.monotonic()
    workdir = Path("orderhub-demo")
    if db_url is None:
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir()
        db_url = f"sqlite:///{workdir / 'orderhub.db'}"
    settings = Settings.from_env().with_database(db_url)
    hub = build(settings)
    migrate.upgrade(hub.db)

    console.print("[bold]1.[/bold] Starting a simulated Shopify store and orderhub on loopback ...")
    # A Shopify Plus store: its GraphQL bucket refills at 500 points/s (standard stores: 50-100).
    sim, sim_url, stop_sim = start_in_thread(
        shops=[{"domain": SHOP, "api_secret": SECRET, "access_token": ACCESS_TOKEN}],
        retry_schedule=[0.2, 0.5, 1.0], duplicate_rate=0.05, seed=7, restore_rate=500)
    with hub.db.write() as conn:
        shops.add(conn, SHOP, SECRET, admin_url=f"{sim_url}/shops/{SHOP}", access_token=ACCESS_TOKEN)
        api_token = tokens.create(conn, "demo")
    server = ServerThread(create_app(hub)).start()
    worker = Worker(hub, processors=1).start()
    control = httpx.Client(base_url=sim_url, timeout=60)
    try:
        console.print(f"    Shopify simulator: {sim_url}    orderhub: {server.url}")
        console.print("[bold]2.[/bold] Subscribing orderhub to the shop's webhooks (Admin GraphQL API) ...")
        client = admin_client(_shop(hub))
        for topic in TOPICS:
            subscriptions.subscribe(client, topic, f"{server.url}/webhooks/shopify")
        console.print(f"    {len(TOPICS)} topics subscribed")

        console.print(f"[bold]3.[/bold] Placing {n_orders} orders (names and addresses in many scripts, emoji, "
                      f"ids above 2^53) and {sum(BAD_ORDERS.values())} broken ones; paying, cancelling, "
                      "refunding and editing some ...")
        created = control.post("/_sim/orders", json={"shop": SHOP, "count": n_orders, "seed": 11,
                                                     "bad": BAD_ORDERS}).json()
        ids = [str(i) for i in created["order_ids"]]
        actions = ["pay"] * 10 + ["cancel"] * 3 + ["fulfill"] * 5 + ["refund"] * 3 + ["edit"] * 3
        for order_id, action in zip(ids, actions):
            control.post(f"/_sim/orders/{order_id}/{action}", json={"shop": SHOP})
        _watch(console, hub, control, "receiving webhooks", lambda: _idle(control))

        console.print("[bold]4.[/bold] Running the batch backup (import-new-orders) over the same orders ...")
        _run_id, stats = run_job(hub, "import-new-orders", _shop(hub), {})
        console.print(f"    polled {stats['fetched']} orders in {stats['pages']} pages: {stats['stored']} new, "
                      f"{stats['duplicates']} already in the inbox (deduplicated)")
        _watch(console, hub, control, "processing", lambda: _counts(hub)["pending"] == 0)

        c = _counts(hub)
        _summary(console, hub, c, n_orders, time.monotonic() - started)
        console.print("\n[bold]Look further[/bold]")
        console.print(f"  orderhub orders list --db {db_url}")
        console.print(f"  orderhub errors list --db {db_url}")
        console.print(f"  orderhub errors show ID --db {db_url}")
        if keep_running:
            console.print(f"  curl -H 'Authorization: Bearer {api_token}' {server.url}/api/orders")
            console.print(f"  curl {server.url}/metrics")
            console.print(f"  Shopify simulator control: {sim_url}/_sim/deliveries")
            console.print("\nRunning until Ctrl-C ...")
            try:
                threading.Event().wait()
            except KeyboardInterrupt:
                pass
        expected_good = n_orders
        return 0 if c["orders"] == expected_good and c["errors"] == sum(BAD_ORDERS.values()) else 1
    finally:
        control.close()
        worker.stop()
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


def _summary(console: Console, hub: Hub, c: dict[str, int], n_orders: int, seconds: float) -> None:
    with hub.db.read() as conn:
        entries = error_log.list_entries(conn, error_log.ErrorFilter(status="open"))
    table = Table(title=f"Summary ({seconds:.0f} s)")
    table.add_column("what")
    table.add_column("result", justify="right")
    table.add_row("orders placed (valid)", str(n_orders))
    table.add_row("orders in orderhub, each once, at its latest version", str(c["orders"]))
    table.add_row("inbox records (webhooks + polls, deduplicated)", str(c["stored"]))
    table.add_row("error-log entries waiting for a person", str(len(entries)))
    console.print(table)
    errors = Table(title="Error log")
    for col in ("id", "field", "error"):
        errors.add_column(col, overflow="fold")
    for e in entries:
        errors.add_row(str(e.id), e.field or "", e.error)
    console.print(errors)
