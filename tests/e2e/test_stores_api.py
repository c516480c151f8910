"""/api/stores and /api/devices over HTTP: stores' days, settings, enrolment codes and devices by role; the
silent-devices gauge on /metrics; nothing a caller sends makes a server error."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import httpx

from orderhub.adapters.store import facilities, pos_devices, tokens
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.testing.server import ServerThread
from tests.stores_support import add_oversell, add_sale, add_store, enrol


def _tokens(hub: Hub) -> dict[str, dict[str, str]]:
    with hub.db.write() as conn:
        return {role: {"Authorization": f"Bearer {tokens.create(conn, role, role=role)}"}
                for role in ("admin", "operator", "viewer")}


def test_stores_are_read_by_anyone_changed_by_operators_and_enrolled_by_admins(
        hub: Hub, hub_server: ServerThread) -> None:
    store_id = add_store(hub, timezone="Europe/Paris")
    till = enrol(hub, store_id, "till-1", synced_ago=timedelta(hours=2), queue=2)
    with hub.db.write() as conn:
        facilities.add(conn, "WH-1", "Lager", "warehouse")
        now = utcnow()
        store_day_start = (now.astimezone(ZoneInfo("Europe/Paris"))
                           .replace(hour=0, minute=0, second=0, microsecond=0))
        sold = max(now - timedelta(seconds=30), store_day_start)
        add_sale(conn, store_id, sold, "12.5", "EUR", device_id=till.id, units=2)
        add_sale(conn, store_id, sold, "0.1", "KWD", device_id=till.id, flags="clock_past")
        add_oversell(conn, store_id, "MUG-🦋", 1, note="late sale")
    as_ = _tokens(hub)
    with httpx.Client(base_url=hub_server.url) as client:
        assert client.get("/api/stores").status_code == 401
        listed = client.get("/api/stores", headers=as_["viewer"]).json()["stores"]
        assert [(s["code"], s["timezone"], s["devices"], s["silent_devices"]) for s in listed] == [
            ("BOS01", "Europe/Paris", 1, 1)]
        assert listed[0]["today"]["totals"] == {"EUR": "12.50", "KWD": "0.100"}
        assert (listed[0]["today"]["sales"], listed[0]["today"]["flagged"], listed[0]["today"]["oversells"]) == (
            2, 1, 1)
        shown = client.get("/api/stores/BOS01", headers=as_["viewer"]).json()
        assert shown["devices"][0]["silent"] is True and shown["devices"][0]["queue_length"] == 2
        assert [s["flags"] for s in shown["flagged_sales"]] == [["clock_past"]]
        assert shown["oversells"][0]["sku"] == "MUG-🦋"
        assert client.get("/api/stores/WH-1", headers=as_["viewer"]).status_code == 404
        assert "not a store" in client.get("/api/stores/WH-1", headers=as_["viewer"]).json()["error"]

        sales = client.get("/api/stores/BOS01/sales", headers=as_["viewer"], params={"flagged": "true"}).json()
        assert [s["total"] for s in sales["sales"]] == ["0.100"]
        assert client.get("/api/stores/BOS01/sales", headers=as_["viewer"],
                          params={"day": "2020-01-01"}).json()["sales"] == []
        assert client.get("/api/stores/BOS01/variances", headers=as_["viewer"]).json()["variances"][0]["short"] == 1

        patch = {"online_safety_stock": 2, "timezone": "America/New_York"}
        assert client.patch("/api/stores/BOS01", json=patch, headers=as_["viewer"]).status_code == 403
        changed = client.patch("/api/stores/BOS01", json=patch, headers=as_["operator"])
        assert changed.status_code == 200, changed.text
        assert (changed.json()["online_safety_stock"], changed.json()["timezone"]) == (2, "America/New_York")
        assert client.patch("/api/stores/BOS01", json={"timezone": None},
                            headers=as_["operator"]).json()["timezone"] == "UTC"
        assert client.patch("/api/stores/BOS01", json={}, headers=as_["operator"]).json()["online_safety_stock"] == 2
        bad = client.patch("/api/stores/BOS01", json={"timezone": "Mars/Olympus"}, headers=as_["operator"])
        assert bad.status_code == 422 and "store BOS01: 'Mars/Olympus' is not a time zone" in bad.json()["error"]

        assert client.post("/api/stores/BOS01/device-codes", headers=as_["operator"]).status_code == 403
        made = client.post("/api/stores/BOS01/device-codes", headers=as_["admin"])
        assert made.status_code == 201 and len(made.json()["code"]) == 14
        with hub.db.write() as conn:
            enrolled, _ = pos_devices.enrol(conn, made.json()["code"], "till-2", "pos 5")
        assert client.get("/api/devices", headers=as_["viewer"], params={"silent": "true"}).json()["devices"][0][
            "id"] == till.id
        assert client.get(f"/api/devices/{enrolled.id}", headers=as_["viewer"]).json()["name"] == "till-2"
        assert client.post(f"/api/devices/{enrolled.id}/revoke", headers=as_["operator"]).status_code == 403
        revoked = client.post(f"/api/devices/{enrolled.id}/revoke", headers=as_["admin"])
        assert revoked.json()["status"] == "revoked" and revoked.json()["silent"] is False
        again = client.post(f"/api/devices/{enrolled.id}/revoke", headers=as_["admin"])
        assert again.status_code == 409 and "revoked already" in again.json()["error"]
        assert client.get("/api/devices/999", headers=as_["viewer"]).status_code == 404

        metrics = client.get("/metrics", headers=as_["viewer"]).text
        assert 'orderhub_pos_devices_silent{store="BOS01"} 1.0' in metrics

        hostile = [client.get("/api/stores/" + "x" * 65, headers=as_["viewer"]),
                   client.get("/api/devices/99999999999999999999", headers=as_["viewer"]),
                   client.get("/api/stores/BOS01/sales", params={"day": "2026-02-30"}, headers=as_["viewer"]),
                   client.get("/api/stores/BOS01/sales", params={"limit": "100000"}, headers=as_["viewer"]),
                   client.patch("/api/stores/BOS01", json={"online_safety_stock": -1}, headers=as_["operator"]),
                   client.patch("/api/stores/BOS01", json={"timezone": "\x00/../"}, headers=as_["operator"]),
                   client.patch("/api/stores/BOS01", content=b"{not json", headers=as_["operator"]),
                   client.get("/api/devices", params={"store": "NOPE"}, headers=as_["viewer"])]
        assert [r.status_code for r in hostile] == [422, 422, 422, 422, 422, 422, 422, 404]
