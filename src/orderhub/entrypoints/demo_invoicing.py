"""The demo's invoicing step: the shipped order goes to a simulated Retail Pro through a real SFTP
server on loopback (feed, transform, Order to Invoice), then each store's stock is compared."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import select

from orderhub.adapters.store import facilities as facility_store
from orderhub.adapters.store import pos_stock
from orderhub.adapters.store.schema import orders
from orderhub.bootstrap import Hub, build
from orderhub.domain import money
from orderhub.services.jobs.runner import run_job
from orderhub.simulators.retailpro.server import start_in_thread
from orderhub.testing.sftp_server import SftpTestServer

USER, PASSWORD, WORKSTATION = "orderhub", "demo-pässword", "OMS01"
UPC = "barcode-or-sku"  # the simulated store's variants have no barcodes: their SKUs are the UPCs


def _total(hub: Hub, invoice: dict[str, Any]) -> str:
    """The invoice's total as its order's currency shows it (Retail Pro holds four decimals, no currency)."""
    with hub.db.read() as conn:
        currency = conn.execute(select(orders.c.currency).where(orders.c.name == f"#{invoice['OrderNo']}")
                                ).scalar_one_or_none()
    return money.with_currency(Decimal(str(invoice["TotalAmt"])), currency)


def _seed(hub: Hub, sim: Any, skus: list[str]) -> None:
    """Retail Pro's stock before invoicing: orderhub's on hand plus what shipped and is not invoiced yet."""
    with hub.db.read() as conn:
        for f in facility_store.all_facilities(conn):
            store = f.pos_store_code or f.code
            have = pos_stock.on_hand(conn, f.id)
            shipped = pos_stock.not_yet_invoiced(conn, f.id, ("pos",))
            sim.store.seed([store], skus, [(store, sku, have.get(sku, 0) + shipped.get(sku, 0))
                                           for sku in set(have) | set(shipped)])


def invoice_shipped(hub: Hub, console: Console, workdir: Path, skus: list[str]) -> bool:
    """Run the invoicing jobs and the stock check; True when nothing drifts."""
    sim, url, stop = start_in_thread({USER: PASSWORD}, (WORKSTATION,), port=0)
    try:
        (workdir / "sftp").mkdir(parents=True, exist_ok=True)
        with SftpTestServer(workdir / "sftp") as sftp:
            invoicing = build(replace(
                hub.settings, sftp_host=sftp.host, sftp_port=sftp.port, sftp_user=sftp.username,
                sftp_key_file=str(sftp.client_key_path), sftp_host_key_sha256=sftp.host_key_sha256,
                retailpro_url=url, retailpro_user=USER, retailpro_password=PASSWORD,
                retailpro_workstation=WORKSTATION))
            try:
                _seed(invoicing, sim, skus)
                console.print(f"    Retail Pro simulator: {url}    SFTP: {sftp.host}:{sftp.port} "
                              f"(files in {workdir / 'sftp'})")
                _, fed = run_job(invoicing, "feed-completed-orders", None, {})
                console.print(f"    feed-completed-orders: {fed['orders']} completed order(s) → {fed['path']}")
                if not fed["orders"]:
                    return True
                _, out = run_job(invoicing, "transform-invoices", None, {"upc": UPC})
                console.print(f"    transform-invoices: → {', '.join(out['written'])}")
                _, sent = run_job(invoicing, "send-invoices", None, {})
                console.print(f"    send-invoices: {sent['invoiced']} invoiced, {sent['rejected']} refused "
                              f"(in the error log), responses in {', '.join(sent['responses'])}")
                for invoice in sim.store.invoices():
                    console.print(f"    Retail Pro invoice {invoice['sid']}: order {invoice['OrderNo']} at store "
                                  f"{invoice['InvoicingStore']}, {len(invoice['Items'])} item line(s), total "
                                  f"{_total(invoicing, invoice)}")
                with invoicing.db.read() as conn:
                    every = ",".join(f.code for f in facility_store.all_facilities(conn))
                _, checked = run_job(invoicing, "check-pos-inventory", None, {"upc": UPC, "locations": every})
                console.print(f"    check-pos-inventory: {checked['stores']} facilities, {checked['compared']} "
                              f"UPCs compared, {checked['drifting']} drifting")
                return bool(checked["drifting"] == 0)
            finally:
                invoicing.close()
    finally:
        stop()
