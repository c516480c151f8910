"""`orderhub invoicing setup|status` and `orderhub facility set --pos-store` end to end."""

from __future__ import annotations

import orjson

from orderhub.bootstrap import Hub
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
