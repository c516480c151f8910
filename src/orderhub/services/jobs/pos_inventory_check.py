"""Job ``check-pos-inventory``: compare each store's stock in the POS/ERP (Retail Pro) with orderhub's.

The two agree by design: orderhub takes units off a store's stock when they ship, and the POS
when they are invoiced (and moved by slips, for orders several stores fulfilled). So for every
UPC at a store the POS should have

    orderhub's on-hand + units shipped from there not invoiced yet ± slips not posted yet

and anything else is drift: a count done on one side only, a return the POS never saw, stock
received without orderhub knowing. Each drifting UPC is a failed record of the run (store,
UPC, SKU, both quantities, what is still in flight, the difference); nothing is changed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from orderhub.adapters.retailpro import RetailProClient, RetailProConfig, RetailProError
from orderhub.adapters.store import facilities as facility_store
from orderhub.adapters.store import pos_stock
from orderhub.domain.invoicing import UPC_SOURCES
from orderhub.domain.jobs import Definition, Param
from orderhub.services.jobs.context import JobContext
from orderhub.services.jobs.registry import register

NAME = "check-pos-inventory"
LOGGED = 50  # drift lines written to the run's log; all are in its failed-records file


@dataclass(frozen=True)
class Drift:
    store: str
    facility: str
    upc: str
    sku: str | None
    pos: int
    orderhub: int
    in_flight: int  # units the POS still has to take off (+) or put back (-)
    expected: int
    difference: int  # pos - expected


def compare(store: str, facility: str, pos: dict[str, int], on_hand: dict[str, int], pending: dict[str, int],
            slips: dict[str, int], upc_of: dict[str, str]) -> tuple[int, list[Drift]]:
    """(UPCs compared, those that drift). SKUs without a UPC cannot be compared and are left out."""
    ours: dict[str, tuple[str, int, int]] = {}
    for sku in set(on_hand) | set(pending):
        upc = upc_of.get(sku)
        if upc:
            _, have, flying = ours.get(upc, (sku, 0, 0))
            ours[upc] = (sku, have + on_hand.get(sku, 0), flying + pending.get(sku, 0))
    drifts = []
    every = set(pos) | set(ours) | set(slips)
    for upc in sorted(every):
        sku, have, flying = ours.get(upc, (None, 0, 0))
        flying += slips.get(upc, 0)
        expected = have + flying
        actual = pos.get(upc, 0)
        if actual != expected:
            drifts.append(Drift(store, facility, upc, sku, actual, have, flying, expected, actual - expected))
    return len(every), drifts


def run(ctx: JobContext) -> dict[str, Any]:
    source = ctx.params["upc"] or "barcode"
    if source not in UPC_SOURCES:
        raise ValueError(f"upc must be one of {', '.join(UPC_SOURCES)}, not {source!r}")
    channels = tuple(c.strip() for c in (ctx.params["pos_channels"] or "").split(",") if c.strip())
    with ctx.hub.db.read() as conn:
        stores = facility_store.chosen_stores(conn, ctx.params["locations"])
    stats: dict[str, Any] = {"stores": 0, "compared": 0, "drifting": 0, "unreachable": []}
    logged = 0
    with RetailProClient(RetailProConfig.from_settings(ctx.hub.settings)) as client:
        for facility in stores:
            ctx.check()
            store = facility.pos_store_code or facility.code
            try:
                pos = client.inventory(store)
            except RetailProError as exc:
                stats["unreachable"].append(store)
                ctx.failed_record({"store": store, "facility": facility.code}, str(exc))
                ctx.log(f"store {store} ({facility.code}): {exc}", "warning")
                continue
            with ctx.hub.db.read() as conn:
                on_hand = pos_stock.on_hand(conn, facility.id)
                pending = pos_stock.not_yet_invoiced(conn, facility.id, channels)
                slips = pos_stock.slips_not_posted(conn, store)
                upc_of = pos_stock.upcs(conn, sorted(set(on_hand) | set(pending)), source)
            compared, drifts = compare(store, facility.code, pos, on_hand, pending, slips, upc_of)
            stats["stores"] += 1
            stats["compared"] += compared
            stats["drifting"] += len(drifts)
            ctx.count(read=compared, processed=compared - len(drifts))
            for d in drifts:
                message = (f"store {d.store} ({d.facility}) UPC {d.upc}" + (f" (SKU {d.sku})" if d.sku else "")
                           + f": Retail Pro has {d.pos}, orderhub expects {d.expected} (on hand {d.orderhub}"
                           + (f", {d.in_flight:+d} not yet invoiced or moved" if d.in_flight else "") + ")"
                           + f": {d.difference:+d}")
                ctx.failed_record(asdict(d), message)
                if logged < LOGGED:
                    ctx.log(message, "warning")
                    logged += 1
            ctx.log(f"store {store} ({facility.code}): {compared} UPC(s) compared, {len(drifts)} drifting")
    if stats["unreachable"] and not stats["stores"]:
        raise RuntimeError(f"no store's stock could be read from Retail Pro ({', '.join(stats['unreachable'])})")
    return stats


register(Definition(
    NAME, "inventory", "POS stock check: compare each store's stock in Retail Pro with orderhub's (on hand, plus "
    "what shipped and is not invoiced yet) and report every UPC that drifts",
    params=(Param("locations", help="facility codes to check (comma-separated); default every store"),
            Param("upc", help=f"how SKUs map to UPCs, as the transform does: {', '.join(UPC_SOURCES)} "
                  "(default barcode)", default="barcode"),
            Param("pos_channels", help="channels of orders sold at the POS (default pos)", default="pos")),
    default_schedule="daily", min_interval_seconds=3600, per_shop=False),
    run)
