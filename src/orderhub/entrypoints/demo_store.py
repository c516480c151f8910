"""The demo's store act: a till at the flagship store sells offline, comes back and syncs.

The till is orderhub's POS simulator (``orderhub simulate pos``), run in-process against the demo's
orderhub over loopback: it enrols with a one-time code, loses its network, rings up sales of a SKU the
channels list (kept in its own SQLite file), comes back and syncs them in shuffled batches with some sent
twice. The store's stock goes down once, each channel's quantity follows (the stock pusher, read back from
the channels' simulators), and the till sending its whole queue again changes nothing.
"""

from __future__ import annotations

import random
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from rich.console import Console
from sqlalchemy import select

from orderhub.adapters.store import inventory_store, pos_devices
from orderhub.adapters.store.schema import facilities
from orderhub.bootstrap import Hub
from orderhub.entrypoints import demo_channels
from orderhub.entrypoints import demo_marketplaces as marketplaces
from orderhub.simulators.pos.catalogue import Item
from orderhub.simulators.pos.local_queue import LocalState
from orderhub.simulators.pos.sales import SaleMaker
from orderhub.simulators.pos.terminal import Options, Terminal

SALES = 2  # rung up while the till is offline, one unit each
TILL = "till-1"


@dataclass
class StoreOutcome:
    """What the act showed, for the summary and the exit status."""

    store: str = ""
    sku: str = ""  # the SKU the till sells
    units: int = 0  # sold at the store while offline
    on_hand: tuple[int, int] = (0, 0)  # the store's units of SKU before and after the sync
    recorded: int = 0  # sales orderhub answered recorded
    duplicates: int = 0  # sales of the resend orderhub answered duplicate
    agreeing: int = 0  # listings showing what orderhub wants, after the sync
    listings: int = 0
    resend_changed: bool = True  # the resend moved the store's stock or sent a channel a new value

    @property
    def ok(self) -> bool:
        return (self.recorded == SALES and self.on_hand[1] == self.on_hand[0] - self.units
                and self.agreeing == self.listings > 0 and not self.resend_changed)


def _on_hand(hub: Hub, sku: str, facility_id: int) -> int:
    with hub.db.read() as conn:
        found = inventory_store.positions(conn, [sku]).get((sku, facility_id))
    return 0 if found is None else found.on_hand


def _pick(hub: Hub, facility_id: int) -> str:
    """The listed SKU the store has most of to sell (not reserved for online orders), so that its sales
    lower every channel's quantity unit for unit; the first listed on a tie."""
    with hub.db.read() as conn:
        found = inventory_store.positions(conn, list(demo_channels.LISTED))
    return max(demo_channels.LISTED, key=lambda sku: (found[(sku, facility_id)].atp if (sku, facility_id) in found
                                                      else -1, -demo_channels.LISTED.index(sku)))


def run_store(hub: Hub, console: Console, market: marketplaces.Marketplaces, *, hub_url: str, store: str,
              seed: int) -> StoreOutcome:
    """The act, numbered step 10, at the demo's store ``store`` (a facility of kind store)."""
    outcome = StoreOutcome(store=store)
    console.print(f"[bold]10.[/bold] A store sells offline: till {TILL} at {store} enrols with a one-time code, "
                  "loses its network, sells, comes back and syncs (the POS simulator, "
                  "`orderhub simulate pos`) ...")
    with hub.db.write() as conn:
        facility_id = int(conn.execute(select(facilities.c.id).where(facilities.c.code == store)).scalar_one())
        code, _expires = pos_devices.new_code(conn, facility_id, actor="demo")
    shown = demo_channels.stock_accounts(hub)
    ids = [a.id for a in shown]
    outcome.listings = len(demo_channels.LISTED) * len(shown)
    sku = outcome.sku = _pick(hub, facility_id)
    price = next(i.price for i in demo_channels.items() if i.sku == sku)
    with tempfile.TemporaryDirectory(prefix="orderhub-demo-till-") as folder:
        state = LocalState(Path(folder) / "till.db")
        # Batches of one, shuffled, with every sale sent twice: what a flaky till does at its worst.
        till = Terminal(hub_url, state, name=TILL, rng=random.Random(seed),
                        options=Options(batch=1, duplicate=1.0, shuffle=True))
        try:
            device = till.enrol(code)
            before = _on_hand(hub, sku, facility_id)
            maker = SaleMaker([Item(sku, Decimal(price))], random.Random(seed), lines=(1, 1), most=1)
            for _ in range(SALES):
                kept = state.add(maker.sale(state))
                outcome.units += sum(int(line["quantity"]) for line in kept.body["lines"])
            console.print(f"    device {device['id']} enrolled; offline, it sells {outcome.units} × {sku} in "
                          f"{SALES} sales, kept on the till ({state.length()} queued); {store} still has "
                          f"{before} on hand", highlight=False)
            demo_channels.show(console, hub, market, shown, f"Before the till at {store} syncs")
            till.sync()
            after = _on_hand(hub, sku, facility_id)
            outcome.on_hand = (before, after)
            outcome.recorded = till.stats.answered("recorded")
            console.print(f"    back online: {till.stats.sent} sale(s) sent (each twice), {outcome.recorded} recorded, "
                          f"{till.stats.answered('duplicate')} answered duplicate, {state.length()} left on the till; "
                          f"{store} has {after} on hand", highlight=False)
            demo_channels.push(hub, console, market, ids)
            outcome.agreeing = demo_channels.show(console, hub, market, shown, f"After the sales at {store}")
            duplicates_before = till.stats.answered("duplicate")
            till.resend_history()
            outcome.duplicates = till.stats.answered("duplicate") - duplicates_before
            report = demo_channels.push(hub, console, market, ids)
            again = _on_hand(hub, sku, facility_id)
            outcome.resend_changed = again != after or report.sent != 0 or outcome.duplicates != till.stats.resent
            console.print(f"    the till sends its whole history again: {till.stats.resent} sale(s), "
                          f"{outcome.duplicates} answered duplicate; {store} still has {again} on hand",
                          highlight=False)
        finally:
            till.close()
            state.close()
    return outcome
