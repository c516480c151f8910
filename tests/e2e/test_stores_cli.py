"""`orderhub store` and `orderhub device`: a store's day, settings, sales, oversells; enrolment codes, devices,
revocation; mistakes as one line naming the store or device."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import orjson
from click.testing import CliRunner

from orderhub.adapters.store import facilities, pos_devices
from orderhub.bootstrap import Hub
from orderhub.entrypoints.cli import main
from tests.stores_support import add_oversell, add_sale, add_store, enrol


def _cli(db_url: str, *args: str, ok: bool = True) -> str:
    result = CliRunner().invoke(main, [*args, "--db", db_url])
    assert (result.exit_code == 0) is ok, result.output
    return result.output


def test_a_store_is_listed_shown_and_set(hub: Hub, db_url: str) -> None:
    store_id = add_store(hub, timezone="Asia/Tokyo")
    enrol(hub, store_id, "till-1", synced_ago=timedelta(hours=1), queue=3)
    with hub.db.write() as conn:
        facilities.add(conn, "WH-1", "Lager", "warehouse")
        day = date(2026, 5, 1)
        add_sale(conn, store_id, datetime(2026, 4, 30, 16, tzinfo=timezone.utc), "1200", "JPY", ref="R-1",
                 flags="tender_mismatch")  # 01:00 on 1 May in Tokyo
        add_sale(conn, store_id, datetime(2026, 4, 30, 14, tzinfo=timezone.utc), "800", "JPY", ref="R-0",
                 delay=timedelta(hours=2))  # 23:00 on 30 April there
        add_oversell(conn, store_id, "MUG-🦋", 2, note="sold at the till before the sync")
    listed = orjson.loads(_cli(db_url, "store", "list", "--json"))
    assert [(s["code"], s["timezone"], s["devices"], s["silent_devices"]) for s in listed] == [
        ("BOS01", "Asia/Tokyo", 1, 1)]
    assert "BOS01" in _cli(db_url, "store", "list") and "(1 silent)" in _cli(db_url, "store", "list")

    shown = _cli(db_url, "store", "show", "BOS01")
    assert "store BOS01 (Boston Back Bay): time zone Asia/Tokyo, online safety stock 0" in shown
    assert "devices: 1 active, 1 silent" in shown and "SILENT" in shown and "sold at the till" in shown
    shown_json = orjson.loads(_cli(db_url, "store", "show", "BOS01", "--json"))
    assert shown_json["devices"][0]["queue_length"] == 3 and shown_json["oversells"][0]["short"] == 2

    on_day = orjson.loads(_cli(db_url, "store", "sales", "BOS01", "--day", day.isoformat(), "--json"))
    assert [(s["sale_ref"], s["total"], s["flags"]) for s in on_day["sales"]] == [("R-1", "1200", ["tender_mismatch"])]
    before = orjson.loads(_cli(db_url, "store", "sales", "BOS01", "--day", "2026-04-30", "--late", "--json"))
    assert [s["sale_ref"] for s in before["sales"]] == ["R-0"]
    assert "no flagged sales on 2026-04-30" in _cli(db_url, "store", "sales", "BOS01", "--day", "2026-04-30",
                                                   "--flagged")
    assert "R-1" in _cli(db_url, "store", "sales", "BOS01", "--day", "2026-05-01", "--flagged")
    assert "is not a day; give it as YYYY-MM-DD" in _cli(db_url, "store", "sales", "BOS01", "--day", "May 1",
                                                        ok=False)
    assert "MUG-" in _cli(db_url, "store", "variances") and "MUG-" in _cli(db_url, "store", "variances", "BOS01")
    assert orjson.loads(_cli(db_url, "store", "variances", "BOS01", "--json"))[0]["note"].startswith("sold at")

    assert _cli(db_url, "store", "set", "BOS01", "--online-safety-stock", "2", "--timezone", "Europe/Paris") == \
        "store BOS01: time zone Europe/Paris, online safety stock 2\n"
    assert "time zone UTC" in _cli(db_url, "store", "set", "BOS01", "--timezone", "")
    assert "store BOS01: 'Mars/Olympus' is not a time zone" in _cli(db_url, "store", "set", "BOS01", "--timezone",
                                                                    "Mars/Olympus", ok=False)
    assert "say what to change" in _cli(db_url, "store", "set", "BOS01", ok=False)
    assert "facility WH-1 is a warehouse, not a store" in _cli(db_url, "store", "show", "WH-1", ok=False)
    assert "no store NOPE; `orderhub store list` shows them" in _cli(db_url, "store", "sales", "NOPE", ok=False)


def test_devices_are_enrolled_with_a_code_listed_and_revoked(hub: Hub, db_url: str) -> None:
    store_id = add_store(hub)
    add_store(hub, "NYC02", "Manhattan")
    made = _cli(db_url, "device", "code", "--store", "BOS01")
    assert made.startswith("enrolment code for store BOS01: ") and "valid once, until " in made
    code = made.split(": ", 1)[1].split("\n", 1)[0]
    with hub.db.write() as conn:
        device, _ = pos_devices.enrol(conn, code, "till-🌵", "pos 4.2")
    with hub.db.read() as conn:
        from orderhub.adapters.store.schema import pos_enrolment_codes

        assert conn.execute(pos_enrolment_codes.select()).first().created_by.startswith("cli")
    enrol(hub, store_id, "till-2", synced_ago=timedelta(hours=5))
    listed = orjson.loads(_cli(db_url, "device", "list", "--json"))
    assert [(d["name"], d["silent"]) for d in listed] == [("till-2", True), ("till-🌵", False)]
    assert [d["name"] for d in orjson.loads(_cli(db_url, "device", "list", "--silent", "--json"))] == ["till-2"]
    assert "no devices in store NYC02" in _cli(db_url, "device", "list", "--store", "NYC02")
    shown = _cli(db_url, "device", "show", "till-🌵", "--store", "BOS01")
    assert f"device till-🌵 (id {device.id}) of store BOS01: active" in shown and "version: pos 4.2" in shown
    assert orjson.loads(_cli(db_url, "device", "show", str(device.id), "--json"))["store"] == "BOS01"
    assert "no device 'till-🌵' in store NYC02; `orderhub device list --store NYC02`" in _cli(
        db_url, "device", "show", "till-🌵", "--store", "NYC02", ok=False)
    assert f"no device '{device.id}' in store NYC02" in _cli(db_url, "device", "revoke", str(device.id), "--store",
                                                             "NYC02", ok=False)
    revoked = _cli(db_url, "device", "revoke", "till-🌵", "--store", "BOS01")
    assert f"device till-🌵 (id {device.id}) of store BOS01: revoked" in revoked
    assert "was revoked already" in _cli(db_url, "device", "revoke", str(device.id), ok=False)
    with hub.db.read() as conn:
        found = pos_devices.get(conn, device.id)
    assert found is not None and found.status == "revoked"
    assert "no store NOPE" in _cli(db_url, "device", "code", "--store", "NOPE", ok=False)
