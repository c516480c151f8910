"""Invoicing completed orders in Retail Pro end to end: feed, transform and send on a real SFTP server,
the Retail Pro simulator over loopback HTTP, and the report on a real SMTP server."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from orderhub.adapters.store import inventory_store
from orderhub.adapters.store.schema import invoice_calls, invoice_transfers, order_invoices
from orderhub.bootstrap import Hub
from orderhub.domain.inventory import LedgerReason
from orderhub.entrypoints.cli import main
from orderhub.services.jobs.runner import run_job
from tests.integration.invoicing.scene import UPC_1, UPC_2, Scene, complete, files_in, lines_of

pytestmark = pytest.mark.timeout(120)


def invoice_row(hub: Hub, order_id: int) -> Any:
    with hub.db.read() as conn:
        return conn.execute(select(order_invoices).where(order_invoices.c.order_id == order_id)).first()


def test_a_completed_order_is_fed_transformed_and_invoiced_once(hub: Hub, scene: Scene) -> None:
    oid = complete(hub, scene)
    run_id, stats = run_job(hub, "feed-completed-orders", None, {})
    assert stats["orders"] == 1 and stats["fed"] == 1
    feed = files_in(scene.sftp, "/retailpro/feed")
    assert len(feed) == 1 and feed[0].endswith(".jsonl.gz")
    [record] = lines_of(scene.sftp.root / "retailpro/feed" / feed[0])
    assert record["order_id"] == oid and {i["store"] for i in record["items"]} == {"SVA32"}

    run_job(hub, "transform-invoices", None, {})
    assert files_in(scene.sftp, "/retailpro/feed") == ["archive"]
    [out] = [n for n in files_in(scene.sftp, "/retailpro/invoices") if n.startswith("invoices-")]
    [line] = lines_of(scene.sftp.root / "retailpro/invoices" / out)
    invoice = line["invoice"]
    assert invoice["InvoicingStore"] == "SVA32" and invoice["OrderNo"] == str(record["number"])
    assert [(i["UPC"], i["Qty"]) for i in invoice["Items"]] == [(UPC_1, 2), (UPC_2, 1)]
    assert line["transfers"] == []

    run_id, stats = run_job(hub, "send-invoices", None, {})
    assert stats["invoiced"] == 1
    row = invoice_row(hub, oid)
    assert row.status == "invoiced" and row.sid
    [sim_invoice] = scene.sim.store.invoices()
    assert sim_invoice["sid"] == row.sid
    assert scene.sim.store.inventory()["SVA32"] == {UPC_1: 48, UPC_2: 49}
    responses = [n for n in files_in(scene.sftp, "/retailpro/invoices") if n.startswith("responses-")]
    [answer] = lines_of(scene.sftp.root / "retailpro/invoices" / responses[0])
    assert answer["result"] == "invoiced" and answer["status"] == 201 and answer["sid"] == row.sid

    shown = CliRunner().invoke(main, ["invoicing", "show", str(oid), "--db", hub.settings.database_url])
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.startswith(f"order id {oid}: invoiced, invoice {row.sid} at store SVA32 as order 1993")
    assert "invoice" in shown.stdout and "created" in shown.stdout and "201" in shown.stdout
    as_json = CliRunner().invoke(main, ["invoicing", "show", str(oid), "--json", "--db", hub.settings.database_url])
    assert orjson.loads(as_json.stdout)["sid"] == row.sid

    # Nothing is fed, transformed or sent again.
    _, stats = run_job(hub, "feed-completed-orders", None, {})
    assert stats["orders"] == 0
    assert len(scene.sim.store.invoices()) == 1


def test_an_order_fulfilled_by_two_stores_is_invoiced_at_the_last_with_a_slip(hub: Hub, scene: Scene) -> None:
    # STORE-2 has no SKU-1: the order splits, SKU-1 from STORE-1 and SKU-2 from STORE-2 (nearest to Santa Ana).
    with hub.db.write() as conn:
        inventory_store.set_on_hand(conn, "SKU-2", scene.s1, 0, reason=LedgerReason.CYCLE_COUNT, actor="test")
    oid = complete(hub, scene)
    run_job(hub, "feed-completed-orders", None, {})
    run_job(hub, "transform-invoices", None, {"invoicing": "most-units"})
    _, stats = run_job(hub, "send-invoices", None, {})
    assert stats["invoiced"] == 1
    [inv] = scene.sim.store.invoices()
    assert inv["InvoicingStore"] == "SVA32"
    [slip] = scene.sim.store.slips()
    assert (slip["FromStore"], slip["ToStore"], slip["SlipNo"]) == ("SVA26", "SVA32", inv["OrderNo"])
    # Each store's stock is what left it: SVA32 lost 2 x UPC_1, SVA26 1 x UPC_2.
    assert scene.sim.store.inventory() == {"SVA26": {UPC_2: 4}, "SVA32": {UPC_1: 48, UPC_2: 50}}
    with hub.db.read() as conn:
        [t] = conn.execute(select(invoice_transfers).where(invoice_transfers.c.order_id == oid)).all()
        calls = conn.execute(select(invoice_calls.c.document, invoice_calls.c.outcome)
                             .order_by(invoice_calls.c.id)).all()
    assert t.status == "done" and t.sid == slip["sid"]
    assert [tuple(c) for c in calls] == [("invoice", "created"), ("transfer", "created")]
