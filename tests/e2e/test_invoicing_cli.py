"""`orderhub invoicing setup|status` and `orderhub facility set --pos-store` end to end."""

from __future__ import annotations

import httpx
import orjson

from orderhub.adapters.store import tokens
from orderhub.bootstrap import Hub
from orderhub.testing.server import ServerThread
from tests.e2e.test_jobs_cli_api import cli, cli_fails


def test_setup_schedules_the_feed_and_chains_the_rest_with_the_seed_delays(hub: Hub) -> None:
    url = hub.settings.database_url
    out = cli(url, "invoicing", "setup", "--recipients", "ops@shop.example", "--every", "hourly",
              "--transform-param", "invoicing=most-units")
    assert out.splitlines() == [
        "feed-completed-orders: hourly",
        "transform-invoices: 3m after each successful feed-completed-orders",
        "send-invoices: 3m after each successful transform-invoices",
        "report-invoice-failures: 5m after each send-invoices, failed or not, to ops@shop.example"]
    shown = orjson.loads(cli(url, "jobs", "show", "send-invoices", "--json"))
    assert [(c["after"], c["then"], c["delay_seconds"], c["trigger_on"]) for c in shown["chains"]] == [
        ("send-invoices", "report-invoice-failures", 300, "finished"),
        ("transform-invoices", "send-invoices", 180, "succeeded")]
    transform = orjson.loads(cli(url, "jobs", "show", "transform-invoices", "--json"))
    assert [c["params"] for c in transform["chains"] if c["then"] == "transform-invoices"] == [
        {"invoicing": "most-units"}]
    assert "transform-invoices" in cli(url, "jobs", "show", "feed-completed-orders")
    assert "unknown parameter(s) nope" in cli_fails(url, "invoicing", "setup", "--recipients", "a@b.example",
                                                    "--transform-param", "nope=1")
    status = orjson.loads(cli(url, "invoicing", "status", "--json"))
    assert status == {"orders": {}, "slips": {}, "open_errors": 0}


def test_a_facility_gets_its_pos_store_code(hub: Hub) -> None:
    url = hub.settings.database_url
    cli(url, "facility", "add", "STORE-1", "--name", "San Salvador 🏬", "--kind", "store")
    out = cli(url, "facility", "set", "STORE-1", "--pos-store", "SVA32")
    assert out == "facility STORE-1: pos_store_code = SVA32\n"
    listed = orjson.loads(cli(url, "facility", "list", "--json"))
    assert [(f["code"], f["pos_store_code"]) for f in listed] == [("STORE-1", "SVA32")]
    assert "no facility NOPE" in cli_fails(url, "facility", "set", "NOPE", "--pos-store", "X")
    assert "1 to 32 characters" in cli_fails(url, "facility", "set", "STORE-1", "--pos-store", "X" * 33)


def test_the_invoicing_api(hub: Hub, hub_server: ServerThread) -> None:
    with hub.db.write() as conn:
        admin_token = tokens.create(conn, "admin 🛠", role="admin")
        viewer_token = tokens.create(conn, "reader", role="viewer")
    boss = httpx.Client(base_url=hub_server.url, headers={"Authorization": f"Bearer {admin_token}"}, timeout=30)
    viewer = httpx.Client(base_url=hub_server.url, headers={"Authorization": f"Bearer {viewer_token}"}, timeout=30)
    assert httpx.get(f"{hub_server.url}/api/invoicing").status_code == 401
    assert viewer.get("/api/invoicing").json() == {"orders": {}, "slips": {}, "open_errors": 0}
    body = {"recipients": "ops@shop.example", "every": "hourly"}
    assert viewer.post("/api/invoicing/setup", json=body).status_code == 403
    done = boss.post("/api/invoicing/setup", json=body)
    assert done.status_code == 200 and done.json()["set_up"][0] == "feed-completed-orders: hourly"
    bad = boss.post("/api/invoicing/setup", json=body | {"transform_delay": "soon"})
    assert bad.status_code == 422 and "not a duration" in bad.json()["error"]
    missing = viewer.get("/api/invoicing/orders/42")
    assert missing.status_code == 404 and "has not entered invoicing" in missing.json()["error"]
