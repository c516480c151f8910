"""The demo's omnichannel act: stock sold on one channel disappears from every other.

Simulated Amazon, Walmart and TikTok Shop start beside the Shopify store; orderhub gets an account of each
kind, the seller puts a few of the demo's SKUs on sale on every account that takes stock from orderhub,
and the stock pusher sends each its ATP. A buyer then orders on TikTok: TikTok's signed webhooks reach
orderhub's door, the fetch job reads the order, orderhub places it (reserving its units) and the pusher
sends the lower quantities to every channel. Shipping the order at the facility confirms the shipment
on TikTok through the channel-operations sender.

What each channel shows is read from its simulator (what a buyer there sees), not from orderhub's tables;
the act is good when every channel shows what orderhub wants it to, before the sale and after it.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from orderhub.adapters import channels
from orderhub.adapters.store import accounts, channel_stock
from orderhub.adapters.store import inbox as inbox_store
from orderhub.adapters.store.schema import job_runs, orders, outbox, shipments
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.entrypoints import demo_marketplaces as marketplaces
from orderhub.entrypoints.demo_fulfilment import brokered_whole, walk
from orderhub.services import inventory as inventory_service
from orderhub.services.channel_loops import stock_channel_for
from orderhub.services.channel_ops import send_once
from orderhub.services.jobs.manager import JobManager
from orderhub.services.stock_push import PushReport, push_once
from orderhub.simulators.shopify.generator import CATALOGUE

LISTED = ("MUG-CAFE", "SCF-HANBOK", "TSH-ORG-M", "SNK-NDU-38")  # a short one among them: 0 everywhere
BOUGHT = (("MUG-CAFE", 2), ("SCF-HANBOK", 1))  # what the TikTok buyer orders
CARRIER = "USPS"  # one of TikTok's shipping providers in the US
SETTLE_SECONDS = 30.0


@dataclass
class ChannelsOutcome:
    """What the act showed, for the summary and the exit status."""

    columns: list[str] = field(default_factory=list)  # the accounts whose stock is shown, by title
    listings: int = 0  # SKUs listed, over every account shown
    agreeing: list[int] = field(default_factory=list)  # per table: listings showing what orderhub wants
    tiktok_order: str | None = None
    placed: bool = False  # the TikTok order is in orderhub and its units are reserved
    confirmed: bool = False  # TikTok shows it shipped with orderhub's tracking number

    @property
    def ok(self) -> bool:
        return (bool(self.agreeing) and all(n == self.listings for n in self.agreeing) and self.placed
                and self.confirmed)


def items() -> list[marketplaces.Item]:
    """The listed SKUs as the demo's store sells them: product, option and price."""
    found = {sku: marketplaces.Item(sku, c.title, option, price)
             for c in CATALOGUE for option, sku, price, _grams in c.variants if sku}
    return [found[sku] for sku in LISTED]


def run_channels(hub: Hub, console: Console, market: marketplaces.Marketplaces, *, hub_url: str) -> ChannelsOutcome:
    """The act, numbered step 9, on the channels ``market`` runs (marketplaces.start)."""
    console.print("[bold]9.[/bold] Adding Amazon, Walmart and TikTok Shop accounts (simulated; as `orderhub channel "
                  f"add` does) and putting {len(LISTED)} SKUs on sale on every channel ...")
    for kind in marketplaces.ACCOUNTS:
        console.print(f"    {channels.TITLES[kind]} simulator: {market.urls[kind]}", highlight=False)
    added = marketplaces.add_accounts(hub, market)
    console.print("    accounts: " + ", ".join(f"{a.name} ({a.kind})" for a in added))
    outcome = ChannelsOutcome()
    shown = stock_accounts(hub)
    outcome.columns = [channels.TITLES[a.kind] for a in shown]
    ids = [a.id for a in shown]
    for account in shown:
        refs = marketplaces.CHANNELS[account.kind].offer(market, account, hub, items())
        if refs is not None:
            with hub.db.write() as conn:
                channel_stock.list_skus(conn, account.id, LISTED, refs=refs)
    shown = stock_accounts(hub)  # as the offers left them (a Shopify shop's stock location)
    outcome.listings = len(LISTED) * len(shown)
    push(hub, console, market, ids)
    outcome.agreeing.append(show(console, hub, market, shown, "What each channel shows"))

    order_ref = _tiktok_sale(hub, console, market, f"{hub_url}/webhooks/tiktok/{marketplaces.ACCOUNTS['tiktok']}")
    outcome.tiktok_order = order_ref
    order = _order(hub, order_ref)
    if order is None:
        console.print(f"    TikTok order {order_ref} did not reach orderhub; `orderhub errors list` says why")
        return outcome
    order_id, status, outcome.placed = order
    console.print(f"    orderhub {'placed' if outcome.placed else 'has not placed'} it as order {order_id} "
                  f"({status}); its units are reserved, so every channel must now show fewer")
    push(hub, console, market, ids)
    outcome.agreeing.append(show(console, hub, market, shown, f"After TikTok order {order_ref}"))
    outcome.confirmed = _ship(hub, console, market, order_id, order_ref)
    return outcome


def stock_accounts(hub: Hub) -> list[accounts.Account]:
    """Every active account whose kind takes stock from orderhub and whose channel the demo can read."""
    with hub.db.read() as conn:
        listed = [a for a in accounts.all_accounts(conn) if a.status == "active" and a.kind in marketplaces.CHANNELS
                  and channels.stock_channel(a.kind) is not None]
        found = [accounts.by_id(conn, a.id) for a in listed]  # with its secrets, to call the channel
    return [a for a in found if a is not None]


def push(hub: Hub, console: Console, market: marketplaces.Marketplaces, account_ids: Collection[int]) -> PushReport:
    """One round of the stock pusher over the accounts, as the worker's loop runs it; returns its report."""
    report = push_once(hub.db, stock_channel_for(hub), account_ids=account_ids)
    _quiet(hub, market)  # a channel may answer a stock change with a webhook of its own (Shopify does)
    line = f"    stock pusher: {report.sent} listing value(s) sent, {report.refused} refused"
    if report.unavailable:
        line += "; unavailable: " + "; ".join(f"{name}: {why}" for name, why in sorted(report.unavailable.items()))
    console.print(line, highlight=False)
    return report


def show(console: Console, hub: Hub, market: marketplaces.Marketplaces, shown: list[accounts.Account],
         title: str) -> int:
    """The table of what each channel shows; returns how many listings show what orderhub wants."""
    table = Table(title=f"{title} (units)")
    table.add_column("SKU")
    table.add_column("orderhub ATP", justify="right")
    wanted: dict[int, dict[str, int]] = {}
    with hub.db.read() as conn:
        atp = {sku: inventory_service.view(conn, sku)["atp"] for sku in LISTED}
        for a in shown:
            wanted[a.id] = {r["sku"]: r["wanted"] for r in channel_stock.shown(conn, a.id)}  # one location each
    columns = []
    for a in shown:
        table.add_column(channels.TITLES[a.kind], justify="right")
        columns.append((a, marketplaces.CHANNELS[a.kind].shown(market, a)))
    agreeing = 0
    for sku in LISTED:
        cells = []
        for a, seen in columns:
            value = seen.get(sku)
            agreeing += value is not None and value == wanted[a.id].get(sku)
            cells.append("–" if value is None else str(value))
        table.add_row(sku, str(atp[sku]), *cells)
    console.print(table)
    return agreeing


def _tiktok_sale(hub: Hub, console: Console, market: marketplaces.Marketplaces, address: str) -> str:
    """A buyer orders on TikTok; its webhooks reach orderhub's door (``address``), the fetch job reads the
    order, and orderhub processes and places it. Returns TikTok's order id."""
    for event in ("ORDER_STATUS_CHANGE", "CANCELLATION_STATUS_CHANGE"):
        market.send("tiktok", "PUT", "/_sim/webhooks", {"shop_id": marketplaces.TIKTOK_SHOP["id"],
                                                        "event_type": event, "address": address})
    bought = " and ".join(f"{n} × {sku}" for sku, n in BOUGHT)
    made = market.send("tiktok", "POST", "/_sim/orders", {
        "shop_id": marketplaces.TIKTOK_SHOP["id"], "status": "AWAITING_SHIPMENT",
        "lines": [{"seller_sku": sku, "quantity": n} for sku, n in BOUGHT]})["data"]
    order_ref = str(made["order_ids"][0])
    console.print(f"    A buyer orders {bought} on TikTok Shop (order {order_ref}); TikTok sends its signed "
                  f"webhooks to {address} ...", highlight=False)
    _quiet(hub, market)
    deliveries = market.get("tiktok", "/_sim/webhooks/deliveries")["data"]["deliveries"]
    delivered = sum(1 for d in deliveries if d.get("status") == 200)
    fetched = _signalled(hub, "fetch-tiktok-orders")
    _settle(hub)
    console.print(f"    {delivered} webhook(s) answered 200 and stored; fetch-tiktok-orders read "
                  f"{fetched['fetched']} order(s) from TikTok: {fetched['stored']} new version(s) stored")
    return order_ref


def _signalled(hub: Hub, job: str) -> dict[str, Any]:
    """Run what the channel's notifications started (a run with trigger ``signal``, due a second after them),
    as a worker's job loop would; returns that run's statistics."""
    JobManager(hub).work_once(utcnow() + timedelta(seconds=5))
    with hub.db.read() as conn:
        row = conn.execute(select(job_runs.c.stats).where(job_runs.c.job == job, job_runs.c.trigger == "signal")
                           .order_by(job_runs.c.id.desc()).limit(1)).first()
    stats = orjson.loads(row.stats) if row is not None else {}
    return {"fetched": 0, "stored": 0} | (stats if isinstance(stats, dict) else {})


def _quiet(hub: Hub, market: marketplaces.Marketplaces) -> None:
    """Wait until the channels have sent their webhooks, then process what arrived: what comes back from a
    push or a shipment is in orderhub before the next step, whichever thread was quicker."""
    market.wait_idle(SETTLE_SECONDS)
    _settle(hub)


def _ship(hub: Hub, console: Console, market: marketplaces.Marketplaces, order_id: int, order_ref: str) -> bool:
    """Pick, pack and ship the TikTok order, then the channel-operations sender confirms it on TikTok; True
    when TikTok shows it shipped with orderhub's tracking number."""
    whole = brokered_whole(hub, order_id)
    if whole is None:
        console.print(f"    Order {order_id} is not brokered whole (every unit reserved at a facility), so it "
                      "cannot ship; `orderhub orders show` says why")
        return False
    console.print(f"    Shipping it from {whole[2]} and confirming the shipment on TikTok "
                  "(the channel-operations sender) ...")
    walk(hub, console, order_id, CARRIER)
    report = send_once(hub)
    for refused in report.refused:
        console.print(f"    refused: {refused}", highlight=False)
    _quiet(hub, market)  # TikTok's status change comes back: the order as TikTok now has it
    _signalled(hub, "fetch-tiktok-orders")
    _settle(hub)
    detail = market.get("tiktok", f"/_sim/orders/{order_ref}")["data"]
    # Every unit names its package's tracking number: all of them must be orderhub's.
    tracking = {str(i.get("tracking_number")) for i in detail["line_items"] if i.get("display_status") != "CANCELLED"}
    console.print(f"    channel-operations: {report.done} operation(s) done; TikTok shows order {order_ref} "
                  f"{detail['status']}, tracking {', '.join(sorted(tracking)) or 'none'} "
                  f"({detail.get('shipping_provider') or 'no carrier'})",
                  highlight=False)
    with hub.db.read() as conn:
        ours = set(conn.execute(select(shipments.c.tracking_number).where(shipments.c.order_id == order_id))
                   .scalars())
    return detail["status"] != "AWAITING_SHIPMENT" and bool(tracking) and tracking <= ours


def _order(hub: Hub, order_ref: str) -> tuple[int, str, bool] | None:
    """The TikTok order in orderhub: its id, status and whether it was placed (announced order.placed)."""
    with hub.db.read() as conn:
        row = conn.execute(select(orders.c.id, orders.c.status).where(orders.c.shopify_id == order_ref)).first()
        placed = row is not None and conn.execute(select(outbox.c.id).where(
            outbox.c.order_id == row.id, outbox.c.event_type == "order.placed")).first() is not None
    return None if row is None else (int(row.id), str(row.status), placed)


def _settle(hub: Hub) -> None:
    """Process what the inbox holds and place what can be placed, one after the other (deterministic)."""
    processor, placing = hub.processor(), hub.placement()
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        if processor.run_once()[0] or placing.run_once()[0]:
            continue
        with hub.db.read() as conn:
            if not inbox_store.has_due(conn):
                return
        time.sleep(0.1)  # a record held back by the processor's intake limit, or a retry's delay
