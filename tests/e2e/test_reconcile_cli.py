"""Reconciliation end to end: the `orderhub reconcile` command and the /api/reconciliations routes."""

from __future__ import annotations

from datetime import timedelta

import click
import httpx
import orjson
from click.testing import CliRunner

from orderhub.adapters.store import tokens
from orderhub.clock import utcnow
from orderhub.entrypoints import cli_reconcile
from orderhub.entrypoints.cli import main
from orderhub.entrypoints.http.api_reconcile import router
from orderhub.entrypoints.http.app import create_app
from orderhub.testing.server import ServerThread
from tests.integration.test_reconcile import (  # noqa: F401  (sim is a fixture)
    EXTRA_NAME,
    SHOP,
    UNICODE_NAME,
    build_scenario,
    inbox_count,
    reconciliation_entries,
    sim,
)

# The maintainer registers the command on `main`; here it goes on a group of its own, with `errors`.
root = click.Group("orderhub", commands={"errors": main.commands["errors"]})
cli_reconcile.register(root)


def cli(db_url: str, *args: str) -> str:
    result = CliRunner().invoke(root, [*args, "--db", db_url], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout  # progress goes to standard error, apart from what the command prints


def cli_fails(db_url: str, *args: str) -> str:
    result = CliRunner().invoke(root, [*args, "--db", db_url])
    assert result.exit_code != 0, result.output
    return result.output


def test_reconcile_command(hub, db_url, sim):  # noqa: F811  # type: ignore[no-untyped-def]
    s = build_scenario(hub, sim)
    out = cli(db_url, "reconcile", "--shop", SHOP, "--since", "2h")
    assert f"of {SHOP} since" in out and "7 orders from Shopify" in out
    for word in ("Summary", "Findings", "missing", "stale", "mismatch", "extra", "unacknowledged",
                 "reingested", "error_logged", UNICODE_NAME, EXTRA_NAME, "total_price"):
        assert word in out, word
    assert inbox_count(hub, s.missing[0]) == 1

    report = orjson.loads(cli(db_url, "reconcile", "--shop", SHOP, "--since", "2h", "--no-reingest", "--json"))
    assert report["counts"] == {"missing": 3, "stale": 1, "mismatch": 1, "extra": 1, "unacknowledged": 1}
    assert {f["action"] for f in report["findings"] if f["kind"] in ("missing", "stale")} == {"reported"}
    assert report["actor"] == "cli" and report["summary"]["inbox_stored"] == 0
    assert len(reconciliation_entries(hub)) == 2  # the second run logged nothing new
    mismatch = next(f for f in report["findings"] if f["kind"] == "mismatch")
    assert f"items.{s.tampered_line}.sku" in mismatch["diff"] and mismatch["error_id"]
    error = orjson.loads(cli(db_url, "errors", "show", str(mismatch["error_id"]), "--json"))
    assert error["record_type"] == "reconciliation" and error["kind"] == "mismatch"

    listed = orjson.loads(cli(db_url, "reconcile", "list", "--json"))
    assert [r["id"] for r in listed] == [report["id"], report["id"] - 1]
    assert "findings" not in listed[0] and listed[1]["counts"]["missing"] == 3
    assert SHOP in cli(db_url, "reconcile", "list")
    shown = orjson.loads(cli(db_url, "reconcile", "show", str(report["id"]), "--json"))
    assert [f["id"] for f in shown["findings"]] == [f["id"] for f in report["findings"]]
    assert EXTRA_NAME in cli(db_url, "reconcile", "show", str(report["id"]))

    assert "no reconciliation 9999" in cli_fails(db_url, "reconcile", "show", "9999")
    assert "no shop nowhere.myshopify.com" in cli_fails(db_url, "reconcile", "--shop", "nowhere.myshopify.com")
    assert "neither a duration" in cli_fails(db_url, "reconcile", "--shop", SHOP, "--since", "soon")
    future = (utcnow() + timedelta(days=1)).isoformat()
    assert "in the future" in cli_fails(db_url, "reconcile", "--shop", SHOP, "--since", future)
    assert "--shop" in cli_fails(db_url, "reconcile")


def test_reconcile_api(hub, sim):  # noqa: F811  # type: ignore[no-untyped-def]
    s = build_scenario(hub, sim)
    with hub.db.write() as conn:
        operator = tokens.create(conn, "ops 🛠", ("api",), role="operator")
        viewer = tokens.create(conn, "viewer", ("api",), role="viewer")
    as_operator = {"Authorization": f"Bearer {operator}"}
    as_viewer = {"Authorization": f"Bearer {viewer}"}
    app = create_app(hub)
    app.include_router(router)
    with ServerThread(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        body = {"shop": SHOP, "since": "2h"}
        assert client.post("/api/reconciliations", json=body).status_code == 401
        assert client.post("/api/reconciliations", json=body, headers=as_viewer).status_code == 403
        unknown = client.post("/api/reconciliations", json=body | {"shop": "nowhere.myshopify.com"},
                              headers=as_operator)
        assert unknown.status_code == 404 and "nowhere.myshopify.com" in unknown.json()["error"]
        future = (utcnow() + timedelta(hours=1)).isoformat()
        later = client.post("/api/reconciliations", json=body | {"since": future}, headers=as_operator)
        assert later.status_code == 422 and "in the future" in later.json()["error"]
        assert client.post("/api/reconciliations", json=body | {"since": "soon"},
                           headers=as_operator).status_code == 422
        assert client.post("/api/reconciliations", json=body | {"shop": "x" * 300},
                           headers=as_operator).status_code == 422
        assert client.post("/api/reconciliations", json=body | {"reingest": "perhaps"},
                           headers=as_operator).status_code == 422

        created = client.post("/api/reconciliations", json=body, headers=as_operator)
        assert created.status_code == 201, created.text
        report = created.json()
        assert report["counts"] == {"missing": 3, "stale": 1, "mismatch": 1, "extra": 1, "unacknowledged": 1}
        assert report["actor"] == "api:ops 🛠"
        assert {f["order_name"] for f in report["findings"]} >= {UNICODE_NAME, EXTRA_NAME}
        assert inbox_count(hub, s.missing[1]) == 1

        second = client.post("/api/reconciliations", json=body | {"reingest": False}, headers=as_operator).json()
        listed = client.get("/api/reconciliations", headers=as_viewer).json()
        assert listed["total"] == 2
        assert [r["id"] for r in listed["reconciliations"]] == [second["id"], report["id"]]
        shown = client.get(f"/api/reconciliations/{report['id']}", headers=as_viewer).json()
        assert [(f["id"], f["kind"], f["action"]) for f in shown["findings"]] == [
            (f["id"], f["kind"], f["action"]) for f in report["findings"]]
        assert client.get("/api/reconciliations/9999", headers=as_viewer).status_code == 404
        assert client.get(f"/api/reconciliations?shop={SHOP}&limit=1", headers=as_viewer).json()[
            "reconciliations"][0]["id"] == second["id"]
