"""File jobs against a real SFTP server and real databases: fulfilment history, inventory variances,
thresholds in and out, purchase orders."""

from __future__ import annotations

import csv
import io
import shutil
import tracemalloc
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from orderhub.adapters.sftp import SftpClient, SftpConfig
from orderhub.adapters.store import error_log, order_store
from orderhub.adapters.store import facilities as facility_store
from orderhub.adapters.store import purchase_orders as po_store
from orderhub.adapters.store import thresholds as threshold_store
from orderhub.adapters.store.schema import imported_files, inventory_ledger, shipments
from orderhub.bootstrap import Hub
from orderhub.config import Settings
from orderhub.domain.inventory import Position
from orderhub.domain.model import Product, Variant
from orderhub.services import errors as errors_service
from orderhub.services import inventory
from orderhub.services.errors import NotRetryable
from orderhub.services.jobs import admin, inventory_files, registry
from orderhub.services.jobs.runner import run_job
from orderhub.services.jobs.sftp_files import Columns, FileImport, Row, read_rows
from orderhub.testing.sftp_server import SftpServerInfo, SftpTestServer
from tests.oms_support import events, ingest, order, place, position
from tests.support import BIG_ID

pytestmark = pytest.mark.timeout(120)

LINE_1, LINE_2 = BIG_ID + 1, BIG_ID + 2  # the order's lines: 2 x SKU-1, 1 x SKU-2
FULFILMENT_HEADER = "order,line,sku,quantity,facility,tracking_number,carrier,shipped_at\n"


@pytest.fixture(scope="module")
def sftp_server() -> Iterator[SftpServerInfo]:
    with SftpTestServer() as info:
        yield info


@pytest.fixture
def remote(sftp_server: SftpServerInfo) -> Iterator[SftpServerInfo]:
    """The module's server with an empty root for this test."""
    for child in sftp_server.root.iterdir():
        shutil.rmtree(child) if child.is_dir() else child.unlink()
    yield sftp_server


@pytest.fixture
def settings(settings: Settings, remote: SftpServerInfo) -> Settings:
    return replace(settings, sftp_host=remote.host, sftp_port=remote.port, sftp_user=remote.username,
                   sftp_key_file=str(remote.client_key_path), sftp_host_key_sha256=remote.host_key_sha256)


def put(info: SftpServerInfo, path: str, text: str, *, bom: bool = False) -> Path:
    local = info.root / path.lstrip("/")
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    return local


def names(info: SftpServerInfo, folder: str) -> list[str]:
    local = info.root / folder.lstrip("/")
    return sorted(p.name for p in local.iterdir()) if local.exists() else []


def failed_records(hub: Hub, run_id: int) -> list[dict[str, Any]]:
    _name, content = admin.run_file(hub, run_id, "failed")
    return [orjson.loads(line) for line in content.splitlines()]


def error_entries(hub: Hub, run_id: int) -> list[Any]:
    ids = admin.run_detail(hub, run_id)["error_log_entries"]
    with hub.db.read() as conn:
        return [error_log.get(conn, i) for i in ids]


def counts(hub: Hub, run_id: int) -> dict[str, int]:
    return admin.run_detail(hub, run_id)["counts"]


@pytest.fixture
def placed(hub: Hub, oms: Any) -> int:
    """Order #1993 placed and brokered to WH-BER: 2 x SKU-1 (line LINE_1), 1 x SKU-2 (line LINE_2)."""
    ingest(hub, oms)
    place(hub)
    o = order(hub)
    assert {(u["status"], u["facility"]) for u in o["units"]} == {("brokered", "WH-BER")}
    return int(o["id"])


# -- the catalogue --------------------------------------------------------------------------------------------

def test_the_file_jobs_are_in_the_catalogue_for_the_hub_with_their_schedules() -> None:
    expected = {"import-fulfilment-history": ("fulfilment", "History:", "every-15-minutes"),
                "import-inventory-variance": ("inventory", "Inventory variance:", "every-15-minutes"),
                "import-thresholds": ("inventory", "Import thresholds:", "every-15-minutes"),
                "export-thresholds": ("inventory", "Export thresholds:", "daily"),
                "import-purchase-orders": ("pre-order", "Purchase orders:", "every-15-minutes")}
    for name, (category, title, schedule) in expected.items():
        d = registry.get(name).definition
        assert (d.category, d.default_schedule, d.per_shop) == (category, schedule, False), name
        assert d.description.startswith(title + " "), d.description
    params = {p.name: p.default for p in registry.get("import-fulfilment-history").definition.params}
    assert params == {"folder": "/outbound/fulfilment", "file_pattern": "fulfilment-*.csv", "archive": None}


# -- fulfilment history ----------------------------------------------------------------------------------------

def test_history_ships_the_units_through_fulfilment_and_never_twice(hub: Hub, remote: SftpServerInfo,
                                                                     placed: int, oms: Any) -> None:
    row = f"#1993,{LINE_1},,2,WH-BER,00340434161234567890,DHL 📦,2026-11-22T15:00:00+01:00\n"
    put(remote, "/outbound/fulfilment/fulfilment-1.csv", FULFILMENT_HEADER + row, bom=True)
    run_id, stats = run_job(hub, "import-fulfilment-history", None, {})
    assert counts(hub, run_id) == {"read": 1, "processed": 1, "skipped": 0, "failed": 0}
    assert stats["archived"] == ["/outbound/fulfilment/archive/fulfilment-1.csv"]
    assert names(remote, "/outbound/fulfilment") == ["archive"]
    o = order(hub)
    line_1 = [u for u in o["units"] if u["sku"] == "SKU-1"]
    assert {u["status"] for u in line_1} == {"shipped"} and o["fulfillment_status"] == "partially_fulfilled"
    assert position(hub, "SKU-1", oms.wh1) == Position(3, 0, 0)
    with hub.db.read() as conn:
        parcel = conn.execute(select(shipments)).one()
    assert (parcel.tracking_number, parcel.carrier, parcel.shipped_at) == (
        "00340434161234567890", "DHL 📦", datetime(2026, 11, 22, 14, 0, tzinfo=timezone.utc))
    assert [(t["kind"], t["actor"]) for t in o["timeline"][-3:]] == [
        ("picked", "job:import-fulfilment-history"), ("packed", "job:import-fulfilment-history"),
        ("shipped", "job:import-fulfilment-history")]
    assert "order.partially_shipped" in [e for e, _ in events(hub)]

    # The same file again: recognised by name and content, archived, nothing applied.
    put(remote, "/outbound/fulfilment/fulfilment-1.csv", FULFILMENT_HEADER + row, bom=True)
    run_id, stats = run_job(hub, "import-fulfilment-history", None, {})
    assert (stats["already_imported"], counts(hub, run_id)["read"]) == (1, 0)
    assert len(names(remote, "/outbound/fulfilment/archive")) == 2
    # A later file repeating the row (and adding SKU-2 by SKU): the repeated row finds its units shipped.
    put(remote, "/outbound/fulfilment/fulfilment-2.csv",
        FULFILMENT_HEADER + row + "#1993,,SKU-2,1,WH-BER,00340434169999999999,,\n")
    run_id, _stats = run_job(hub, "import-fulfilment-history", None, {})
    assert counts(hub, run_id) == {"read": 2, "processed": 1, "skipped": 1, "failed": 0}
    o = order(hub)
    assert (o["status"], o["fulfillment_status"]) == ("shipped", "fulfilled")
    assert position(hub, "SKU-1", oms.wh1) == Position(3, 0, 0) and position(hub, "SKU-2", oms.wh1).on_hand == 4
    with hub.db.read() as conn:
        assert len(conn.execute(select(shipments.c.id)).all()) == 2


def test_history_corrects_the_carrier_of_a_shipment_it_finds_shipped(hub: Hub, remote: SftpServerInfo,
                                                                      placed: int) -> None:
    put(remote, "/outbound/fulfilment/fulfilment-1.csv",
        FULFILMENT_HEADER + f"{BIG_ID},{LINE_2},SKU-2,1,WH-BER,TRACK-1,DHL,\n")
    run_job(hub, "import-fulfilment-history", None, {})
    put(remote, "/outbound/fulfilment/fulfilment-2.csv",
        FULFILMENT_HEADER + f"{BIG_ID},{LINE_2},SKU-2,1,WH-BER,TRACK-1,UPS,2026-11-20\n")
    run_id, _stats = run_job(hub, "import-fulfilment-history", None, {})
    assert counts(hub, run_id)["processed"] == 1
    with hub.db.read() as conn:
        parcel = conn.execute(select(shipments)).one()
    assert (parcel.carrier, parcel.shipped_at) == ("UPS", datetime(2026, 11, 20, tzinfo=timezone.utc))
    assert order(hub)["timeline"][-1]["kind"] == "shipment_updated"


def test_history_rows_that_cannot_apply_are_kept_with_the_field_at_fault(hub: Hub, remote: SftpServerInfo,
                                                                          placed: int) -> None:
    rows = [
        "#9999,,SKU-1,1,WH-BER,T1,DHL,",  # line 2: no such order
        f"#1993,{LINE_1},,two,WH-BER,T1,DHL,",  # 3: quantity not a number
        f"#1993,{LINE_1},,1,WH-XX,T1,DHL,",  # 4: unknown facility
        f"#1993,{LINE_1},,5,WH-BER,T1,DHL,",  # 5: more units than open
        f"#1993,{LINE_1},,1,WH-BER,,DHL,",  # 6: no tracking number
        "#1993,123,,1,WH-BER,T1,DHL,",  # 7: not a line of the order
        f"#1993,{LINE_2},,1,WH-BER,T1,DHL 🚚,",  # 8: fine
        f"#1993,{LINE_1},SKU-2,1,WH-BER,T1,DHL,",  # 9: the line is another SKU
        f"#1993,{LINE_1},,1,WH-BER,T1,DHL,yesterday",  # 10: not a time
        f"#1993,{LINE_1},,1,WH-BER,T1,DHL,,extra",  # 11: a field too many
    ]
    put(remote, "/outbound/fulfilment/fulfilment-bad.csv", FULFILMENT_HEADER + "\n".join(rows) + "\n")
    run_id, _stats = run_job(hub, "import-fulfilment-history", None, {})
    assert counts(hub, run_id) == {"read": 10, "processed": 1, "skipped": 0, "failed": 9}
    records = failed_records(hub, run_id)
    got = [(r["record"]["line"], r["record"]["column"]) for r in records]
    assert got == [(2, "order"), (3, "quantity"), (4, "facility"), (5, "quantity"), (6, "tracking_number"),
                   (7, "line"), (9, "sku"), (10, "shipped_at"), (11, None)]
    errors = {r["record"]["line"]: r["error"] for r in records}
    assert errors[3] == "fulfilment-bad.csv line 3, column quantity: must be a whole number (got 'two')"
    assert errors[4].startswith("fulfilment-bad.csv line 4, column facility: no facility WH-XX")
    assert "2 brokered at WH-BER" in errors[5] and "5 unit(s) to ship but only 2 open" in errors[5]
    assert errors[11] == "fulfilment-bad.csv line 11: has 9 fields, the header 8"
    assert records[0]["record"]["row"]["order"] == "#9999"
    assert records[-1]["record"]["row"]["column_9"] == "extra"

    entries = error_entries(hub, run_id)
    assert [(e.kind, e.record_type, e.field, e.job_run_id, e.topic) for e in entries][:2] == [
        ("validation", "job_file_row", "order", run_id, "import-fulfilment-history"),
        ("validation", "job_file_row", "quantity", run_id, "import-fulfilment-history")]
    assert len(entries) == 9 and len({e.record_id for e in entries}) == 9
    assert orjson.loads(entries[0].payload) == {"file": "fulfilment-bad.csv", "line": 2, "column": "order",
                                                 "row": dict(zip(FULFILMENT_HEADER.strip().split(","),
                                                                 rows[0].split(","), strict=True))}
    assert names(remote, "/outbound/fulfilment/archive") == ["fulfilment-bad.csv"]
    assert {u["status"] for u in order(hub)["units"] if u["sku"] == "SKU-2"} == {"shipped"}
    # A person works the entry: it cannot be retried in place, and says what to do instead.
    with pytest.raises(NotRetryable, match="correct it in a new file on the SFTP server for the next run"):
        errors_service.retry(hub.db, entries[0].id)


def test_only_whole_files_are_read_and_unreadable_ones_are_reported(hub: Hub, remote: SftpServerInfo,
                                                                     placed: int) -> None:
    partial = put(remote, "/outbound/fulfilment/.fulfilment-3.csv.part-0123456789ab",
                  FULFILMENT_HEADER + f"#1993,{LINE_1},,2,WH-BER,T1,DHL,\n")
    run_id, stats = run_job(hub, "import-fulfilment-history", None, {})
    assert stats["files"] == 0 and partial.exists() and counts(hub, run_id)["read"] == 0
    assert {u["status"] for u in order(hub)["units"]} == {"brokered"}

    # Uploaded the way orderhub uploads (a temporary name, renamed when complete): read.
    cfg = SftpConfig(host=remote.host, port=remote.port, username=remote.username,
                     key_file=str(remote.client_key_path), host_key_sha256=remote.host_key_sha256)
    with SftpClient(cfg) as client:
        client.write_atomic("/outbound/fulfilment/fulfilment-3.csv",
                            (FULFILMENT_HEADER + f"#1993,{LINE_1},,2,WH-BER,T1,DHL,\n").encode())
    put(remote, "/outbound/fulfilment/fulfilment-4.csv", "order,quantity,facility\n#1993,1,WH-BER\n")
    put(remote, "/outbound/fulfilment/fulfilment-5.csv", "")
    (remote.root / "outbound/fulfilment/fulfilment-6.csv").write_bytes(
        (FULFILMENT_HEADER + f"#1993,{LINE_2},,1,WH-BER,T1,Dépôt,\n").encode("latin-1"))
    run_id, stats = run_job(hub, "import-fulfilment-history", None, {})
    assert stats["files"] == 4 and counts(hub, run_id)["processed"] == 1
    errors = [r["error"] for r in failed_records(hub, run_id)]
    assert errors[0].startswith("fulfilment-4.csv line 1, column tracking_number: is missing from the header")
    assert errors[1] == "fulfilment-5.csv line 1: the file is empty; it needs a header line"
    assert errors[2].startswith("fulfilment-6.csv line 2: is not UTF-8 text")
    assert names(remote, "/outbound/fulfilment") == [".fulfilment-3.csv.part-0123456789ab", "archive"]
    assert names(remote, "/outbound/fulfilment/archive") == [f"fulfilment-{n}.csv" for n in (3, 4, 5, 6)]


# -- inventory variances -----------------------------------------------------------------------------------------

VARIANCE_HEADER = "sku,facility,quantity,count,reason,note\n"


def test_variances_adjust_inventory_through_the_ledger_once_per_file(hub: Hub, remote: SftpServerInfo,
                                                                     oms: Any) -> None:
    text = VARIANCE_HEADER + ("SKU-1,WH-BER,-2,,damaged,dropped 📦\n"
                              "SKU-2,WH-BER,,7,cycle_count,\n"
                              "SKU-3,WH-MUC,+4,,received,PO-1 \"first\" delivery\n")
    put(remote, "/outbound/inventory/variance-2026-11-23.csv", text, bom=True)
    run_id, _stats = run_job(hub, "import-inventory-variance", None, {})
    assert counts(hub, run_id) == {"read": 3, "processed": 3, "skipped": 0, "failed": 0}
    assert position(hub, "SKU-1", oms.wh1).on_hand == 3
    assert position(hub, "SKU-2", oms.wh1).on_hand == 7
    assert position(hub, "SKU-3", oms.wh2).on_hand == 4
    with hub.db.read() as conn:
        ledger = conn.execute(select(inventory_ledger).order_by(inventory_ledger.c.id)
                              .where(inventory_ledger.c.actor == "job:import-inventory-variance")).all()
    assert [(r.sku, r.reason, r.on_hand_before, r.on_hand_after, r.note) for r in ledger] == [
        ("SKU-1", "damaged", 5, 3, "variance-2026-11-23.csv line 2: dropped 📦"),
        ("SKU-2", "cycle_count", 5, 7, "variance-2026-11-23.csv line 3"),
        ("SKU-3", "received", 0, 4, 'variance-2026-11-23.csv line 4: PO-1 "first" delivery')]
    changed = [p for e, p in events(hub, "inventory.changed") if p.get("sku") == "SKU-3"]
    assert changed, "inventory.changed was not announced"

    # Uploaded again under the same name with the same content: not applied a second time.
    put(remote, "/outbound/inventory/variance-2026-11-23.csv", text, bom=True)
    run_id, stats = run_job(hub, "import-inventory-variance", None, {})
    assert stats["already_imported"] == 1 and position(hub, "SKU-1", oms.wh1).on_hand == 3
    assert len(names(remote, "/outbound/inventory/archive")) == 2
    # The same name with other content is another file.
    put(remote, "/outbound/inventory/variance-2026-11-23.csv", VARIANCE_HEADER + "SKU-1,WH-BER,-1,,adjusted,\n")
    run_job(hub, "import-inventory-variance", None, {})
    assert position(hub, "SKU-1", oms.wh1).on_hand == 2


def test_variance_rows_that_make_no_sense_fail_with_their_column(hub: Hub, remote: SftpServerInfo, oms: Any) -> None:
    rows = ["SKU-1,WH-BER,-1,,stolen,",  # 2: unknown reason
            "SKU-1,WH-BER,-1,4,adjusted,",  # 3: both a change and a count
            "SKU-1,WH-BER,3,,damaged,",  # 4: damaged raises nothing
            "SKU-1,WH-XX,1,,received,",  # 5: no such facility
            "SKU-1,WH-BER,-100,,adjusted,",  # 6: more than on hand
            "SKU-1,WH-BER,,-1,cycle_count,",  # 7: a negative count
            ",WH-BER,1,,received,",  # 8: no SKU
            "SKU-1,WH-BER,1.5,,received,"]  # 9: not whole
    put(remote, "/outbound/inventory/variance-bad.csv", VARIANCE_HEADER + "\n".join(rows) + "\n")
    run_id, _stats = run_job(hub, "import-inventory-variance", None, {})
    records = failed_records(hub, run_id)
    assert [(r["record"]["line"], r["record"]["column"]) for r in records] == [
        (2, "reason"), (3, "quantity"), (4, "quantity"), (5, "facility"), (6, "quantity"), (7, "count"),
        (8, "sku"), (9, "quantity")]
    assert "on hand is 5; cannot take away 100" in records[4]["error"]
    assert [e.field for e in error_entries(hub, run_id)] == [r["record"]["column"] for r in records]
    assert position(hub, "SKU-1", oms.wh1).on_hand == 5


def test_a_run_that_stops_half_way_resumes_after_the_last_row_it_applied(hub: Hub, remote: SftpServerInfo,
                                                                          oms: Any, monkeypatch: Any) -> None:
    put(remote, "/outbound/inventory/variance-1.csv", VARIANCE_HEADER + "SKU-1,WH-BER,1,,received,\n"
        "SKU-1,WH-BER,1,,received,\nSKU-1,WH-BER,1,,received,\n")
    seen: list[int] = []

    def crash_on_line_3(conn: Any, row: Row) -> str:
        seen.append(row.line)
        if row.line == 3:
            raise RuntimeError("the database went away")
        return inventory_files.apply_variance(conn, row)

    monkeypatch.setattr(inventory_files, "VARIANCE_SPEC", FileImport(
        "import-inventory-variance", inventory_files.VARIANCE_SPEC.columns, crash_on_line_3))
    with pytest.raises(Exception, match="the database went away"):
        run_job(hub, "import-inventory-variance", None, {})
    assert position(hub, "SKU-1", oms.wh1).on_hand == 6
    assert names(remote, "/outbound/inventory") == ["variance-1.csv"]  # not archived
    monkeypatch.undo()
    run_id, _stats = run_job(hub, "import-inventory-variance", None, {})
    assert counts(hub, run_id) == {"read": 3, "processed": 2, "skipped": 1, "failed": 0}
    assert position(hub, "SKU-1", oms.wh1).on_hand == 8
    with hub.db.read() as conn:
        assert [(f.status, f.lines_done) for f in conn.execute(select(imported_files))] == [("done", 4)]


# -- thresholds ------------------------------------------------------------------------------------------------

def catalogue(hub: Hub, oms: Any) -> None:
    now = datetime(2026, 11, 23, tzinfo=timezone.utc)
    with hub.db.write() as conn:
        for pid, kind, tags, skus in (("1", "Shirts", ("Sale", "Summer 🌞"), ("SKU-1",)),
                                      ("2", "Mugs", ("Clearance", "sale"), ("SKU-2", "SKU-2b")),
                                      ("3", None, (), ("SKU-3",))):
            order_store.apply_product(conn, oms.shop.id, Product(
                shopify_id=pid, updated_at=now, title=f"Product {pid}", product_type=kind, tags=tags,
                variants=tuple(Variant(shopify_id=f"{pid}{n}", sku=sku) for n, sku in enumerate(skus))))
        facility_store.set_channel(conn, "online", threshold=1)
        facility_store.set_channel(conn, "stores", threshold=0)


THRESHOLD_HEADER = "selector,value,channel,threshold\n"


def test_thresholds_are_imported_and_the_most_specific_one_applies(hub: Hub, remote: SftpServerInfo,
                                                                   oms: Any) -> None:
    catalogue(hub, oms)
    rows = ["tag,Sale,online,2", "tag,clearance,online,4", "category,SHIRTS,online,3", "sku,SKU-2b,online,0",
            "tag,sale,nowhere,1",  # 6: no such channel
            "colour,red,online,1",  # 7: not a selector
            "tag,summer 🌞,online,-1"]  # 8: negative
    put(remote, "/outbound/thresholds/thresholds-1.csv", THRESHOLD_HEADER + "\n".join(rows) + "\n", bom=True)
    run_id, _stats = run_job(hub, "import-thresholds", None, {})
    assert counts(hub, run_id) == {"read": 7, "processed": 4, "skipped": 0, "failed": 3}
    assert [(r["record"]["line"], r["record"]["column"]) for r in failed_records(hub, run_id)] == [
        (6, "channel"), (7, "selector"), (8, "threshold")]
    with hub.db.read() as conn:
        assert [(r.kind, r.value, r.threshold) for r in threshold_store.rules(conn, "online")] == [
            ("category", "shirts", 3), ("sku", "SKU-2b", 0), ("tag", "clearance", 4), ("tag", "sale", 2)]
        # The channel view sells on hand less the product's threshold: category 3 for SKU-1, tag 4 for SKU-2.
        assert inventory.view(conn, "SKU-1")["channels"] == {"online": 2, "stores": 5}
        assert inventory.view(conn, "SKU-2")["channels"] == {"online": 1, "stores": 5}

    put(remote, "/outbound/thresholds/thresholds-2.csv", THRESHOLD_HEADER + "category,shirts,online,3\n"
        "tag,clearance,online,1\n")
    run_id, _stats = run_job(hub, "import-thresholds", None, {})
    assert counts(hub, run_id) == {"read": 2, "processed": 1, "skipped": 1, "failed": 0}
    with hub.db.read() as conn:
        assert inventory.view(conn, "SKU-2")["channels"]["online"] == 3  # the higher tag now: sale 2


def test_export_writes_each_skus_threshold_per_channel_and_why(hub: Hub, remote: SftpServerInfo, oms: Any) -> None:
    catalogue(hub, oms)
    with hub.db.write() as conn:
        for kind, value, threshold in (("tag", "sale", 2), ("tag", "clearance", 4), ("category", "shirts", 3),
                                       ("sku", "SKU-2b", 0)):
            threshold_store.save(conn, kind, value, "online", threshold, actor="test")
    run_id, stats = run_job(hub, "export-thresholds", None, {"file_name": "thresholds.csv"})
    assert stats["path"] == "/inbound/thresholds/thresholds.csv" and stats["skus"] == 4
    assert names(remote, "/inbound/thresholds") == ["thresholds.csv"]  # no temporary file left behind
    text = (remote.root / "inbound/thresholds/thresholds.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    got = {(r["sku"], r["channel"]): (int(r["threshold"]), r["selector"], r["value"]) for r in rows}
    assert got == {("SKU-1", "online"): (3, "category", "shirts"), ("SKU-1", "stores"): (0, "channel", ""),
                   ("SKU-2", "online"): (4, "tag", "clearance"), ("SKU-2", "stores"): (0, "channel", ""),
                   ("SKU-2b", "online"): (0, "sku", "SKU-2b"), ("SKU-2b", "stores"): (0, "channel", ""),
                   ("SKU-3", "online"): (1, "channel", ""), ("SKU-3", "stores"): (0, "channel", "")}
    assert next(r for r in rows if r["sku"] == "SKU-1")["tags"] == "sale, summer 🌞"
    assert counts(hub, run_id) == {"read": 4, "processed": 8, "skipped": 0, "failed": 0}
    assert admin.run_file(hub, run_id, "output") == ("thresholds.csv", text.encode())

    # Read back over SFTP as a partner would.
    cfg = SftpConfig(host=remote.host, port=remote.port, username=remote.username,
                     key_file=str(remote.client_key_path), host_key_sha256=remote.host_key_sha256)
    with SftpClient(cfg) as client, client.open_read("/inbound/thresholds/thresholds.csv") as stream:
        assert list(csv.DictReader(io.TextIOWrapper(stream, encoding="utf-8", newline=""))) == rows
    _run, stats = run_job(hub, "export-thresholds", None, {"channel": "online"})
    exported = remote.root / "inbound/thresholds" / f"thresholds-{datetime.now(timezone.utc):%Y%m%d}.csv"
    assert stats["channels"] == ["online"] and exported.exists()
    with pytest.raises(Exception, match="no channel nowhere"):
        run_job(hub, "export-thresholds", None, {"channel": "nowhere"})


# -- purchase orders ------------------------------------------------------------------------------------------------

PO_HEADER = "po_number,supplier,facility,sku,quantity,received_quantity,expected_date,status\n"


def test_purchase_orders_are_upserted_and_cancelled(hub: Hub, remote: SftpServerInfo, oms: Any) -> None:
    put(remote, "/outbound/purchase-orders/purchase-orders-1.csv", PO_HEADER + (
        "PO-1,Müller GmbH 🧵,WH-BER,SKU-1,10,,2026-12-24,\n"
        "PO-1,Müller GmbH 🧵,WH-BER,SKU-2,5,2,2026-12-01,open\n"
        "PO-2,Acme,WH-MUC,SKU-1,3,,2026-12-10,\n"
        "PO-3,Acme,WH-MUC,SKU-1,4,,,\n"
        "PO-4,Acme,WH-XX,SKU-1,1,,2026-12-10,\n"  # line 6: no facility
        "PO-5,Acme,WH-BER,SKU-1,1,,24/12/2026,\n"  # line 7: not an ISO date
        "PO-6,Acme,WH-BER,SKU-1,1,,2026-12-10,lost\n"  # line 8: no such status
        "PO-7,Acme,WH-BER,SKU-1,99999999999,,2026-12-10,\n"), bom=True)  # line 9: beyond any column
    run_id, _stats = run_job(hub, "import-purchase-orders", None, {})
    assert counts(hub, run_id) == {"read": 8, "processed": 4, "skipped": 0, "failed": 4}
    records = failed_records(hub, run_id)
    assert [(r["record"]["line"], r["record"]["column"]) for r in records] == [
        (6, "facility"), (7, "expected_date"), (8, "status"), (9, "quantity")]
    assert records[3]["error"] == "purchase-orders-1.csv line 9, column quantity: is too large (99999999999)"
    with hub.db.read() as conn:
        incoming = po_store.open_quantities(conn)
        assert po_store.get(conn, "PO-1")["supplier"] == "Müller GmbH 🧵"
    assert [(i.po_number, i.facility, i.quantity, i.expected_date) for i in incoming["SKU-1"]] == [
        ("PO-2", "WH-MUC", 3, date(2026, 12, 10)), ("PO-1", "WH-BER", 10, date(2026, 12, 24)),
        ("PO-3", "WH-MUC", 4, None)]
    assert [(i.po_number, i.quantity) for i in incoming["SKU-2"]] == [("PO-1", 3)]

    put(remote, "/outbound/purchase-orders/purchase-orders-2.csv", PO_HEADER + (
        "PO-1,Müller GmbH 🧵,WH-BER,SKU-1,12,,2027-01-15,\n"  # later and more
        "PO-1,Müller GmbH 🧵,WH-BER,SKU-2,5,2,2026-12-01,open\n"  # unchanged
        "PO-2,,,,,,,cancelled\n"
        "PO-9,,,,,,,cancelled\n"))  # never seen: nothing to cancel
    run_id, _stats = run_job(hub, "import-purchase-orders", None, {})
    assert counts(hub, run_id) == {"read": 4, "processed": 2, "skipped": 2, "failed": 0}
    with hub.db.read() as conn:
        incoming = po_store.open_quantities(conn, ["SKU-1"])
        assert po_store.get(conn, "PO-2")["status"] == "cancelled"
    assert [(i.po_number, i.quantity, i.expected_date) for i in incoming["SKU-1"]] == [
        ("PO-1", 12, date(2027, 1, 15)), ("PO-3", 4, None)]


# -- reading CSV ----------------------------------------------------------------------------------------------------

class _Lazy(io.RawIOBase):
    """A big CSV made up while it is read: nothing holds it whole."""

    def __init__(self, rows: int) -> None:
        self._rows = rows
        self._n = 0
        self._pending = b"sku,facility,quantity,reason,note\n"

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while len(self._pending) < len(buffer) and self._n < self._rows:
            self._n += 1
            self._pending += f"SKU-{self._n},WH-BER,1,received,note 📦 {'x' * 60}\n".encode()
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def test_rows_stream_with_flat_memory_and_carry_their_file_line() -> None:
    columns = Columns(required=("sku", "facility", "reason"), optional=("quantity", "count", "note"))
    tracemalloc.start()
    try:
        last = None
        total = 0
        for row in read_rows(io.BufferedReader(_Lazy(50_000)), "big.csv", columns):
            last = row
            total += 1
        _size, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == 50_000 and last is not None and last.line == 50_001 and last.values["sku"] == "SKU-50000"
    assert peak < 2 * 1024 * 1024, f"reading held {peak} bytes at once"  # the file is about 4.5 MB

    quoted = io.BytesIO('\ufeffSKU , Facility,reason,note\n"SKU-1",WH-BER,received,"two\nlines"\n\nSKU-2,WH-BER,'
                        'received,🦋\n'.encode())
    rows = list(read_rows(quoted, "q.csv", columns))
    assert [(r.line, r.values["sku"], r.values["note"]) for r in rows] == [(2, "SKU-1", "two\nlines"),
                                                                          (5, "SKU-2", "🦋")]
