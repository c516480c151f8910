"""The job manager end to end: `orderhub jobs ...` and the /api/jobs routes over real HTTP."""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson
from click.testing import CliRunner

from orderhub.adapters.store import job_store, tokens
from orderhub.bootstrap import Hub
from orderhub.entrypoints.cli import main
from orderhub.testing.server import ServerThread
from tests import job_support
from tests.support import add_shop


def cli(db_url: str, *args: str) -> str:
    result = CliRunner().invoke(main, [*args, "--db", db_url], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout  # the structured log goes to stderr


def cli_fails(db_url: str, *args: str) -> str:
    result = CliRunner().invoke(main, [*args, "--db", db_url])
    assert result.exit_code != 0, result.output
    return result.output


def test_the_jobs_commands(hub: Hub, tmp_path: Path) -> None:
    url = hub.settings.database_url
    shop = add_shop(hub)
    listed = orjson.loads(cli(url, "jobs", "list", "--category", "orders", "--json"))
    assert {j["name"] for j in listed} >= {"approve-orders", "import-new-orders"}
    bulk = orjson.loads(cli(url, "jobs", "list", "--category", "initial-load", "--json"))
    assert {j["name"]: j["requires"] for j in bulk}["import-orders-bulk"] == ["import-products-bulk"]
    out = cli(url, "jobs", "schedule", "test-count", "--shop", shop.domain, "--every", "every-15-minutes",
              "--tz", "Europe/Berlin", "--start", "tomorrow", "--param", "window=5m")
    assert out.startswith(f"test-count for {shop.domain}: every-15-minutes (Europe/Berlin), next run ")
    assert " 00:00 Europe/Berlin (yours: " in out  # midnight in Berlin, the job's zone
    [listed_schedule] = orjson.loads(cli(url, "jobs", "schedules", "--json"))
    assert (listed_schedule["job"], listed_schedule["shop"], listed_schedule["timezone"]) == (
        "test-count", shop.domain, "Europe/Berlin")
    run = orjson.loads(cli(url, "jobs", "run", "test-count", "--shop", shop.domain, "--param", "limit=3",
                           "--json"))
    assert run["status"] == "succeeded" and run["stats"] == {"counted": 1}
    history = orjson.loads(cli(url, "jobs", "history", "test-count", "--json"))
    assert [(r["id"], r["status"], r["trigger"], r["shop"]) for r in history] == [
        (run["run_id"], "succeeded", "manual", shop.domain)]
    detail = orjson.loads(cli(url, "jobs", "log", str(run["run_id"]), "--json"))
    assert detail["counts"]["failed"] == 1 and detail["log"][0]["message"].endswith("🦋")
    target = tmp_path / "failed.jsonl"
    cli(url, "jobs", "file", str(run["run_id"]), "--kind", "failed", "-o", str(target))
    assert orjson.loads(target.read_bytes())["error"] == "unknown SKU"
    assert "job test-count: parameter 'limit' must be a whole number, got 'lots'" in cli_fails(
        url, "jobs", "run", "test-count", "--shop", shop.domain, "--param", "limit=lots")
    failed = cli_fails(url, "jobs", "run", "test-count", "--shop", shop.domain, "--param", "fail=true")
    assert "run 2 failed: RuntimeError: the destination said no second line" in failed
    assert "no job named 'nope'" in cli_fails(url, "jobs", "run", "nope")
    assert "run 1 is not running" in cli_fails(url, "jobs", "release", "1")
    cli(url, "jobs", "skip-next", "test-count")
    cli(url, "jobs", "chain", "test-count", "test-needs-count", "--delay", "5m")
    shown = orjson.loads(cli(url, "jobs", "show", "test-count", "--json"))
    assert shown["schedules"][0]["skip_next"] is True
    assert shown["chains"] == [{"after": "test-count", "then": "test-needs-count", "delay_seconds": 300,
                                "trigger_on": "succeeded",
                                "params": {}}]
    cli(url, "jobs", "disable", "test-count")
    assert orjson.loads(cli(url, "jobs", "show", "test-count", "--json"))["schedules"][0]["enabled"] is False
    assert "all job schedules paused" in cli(url, "jobs", "pause")
    assert orjson.loads(cli(url, "jobs", "show", "test-count", "--json"))["paused"] is True


def test_the_jobs_api(hub: Hub, hub_server: ServerThread) -> None:
    shop = add_shop(hub)
    with hub.db.write() as conn:
        operator = tokens.create(conn, "ops 🛠", role="operator")
        viewer = tokens.create(conn, "reader", role="viewer")
    ops = httpx.Client(base_url=hub_server.url, headers={"Authorization": f"Bearer {operator}"}, timeout=30)
    view = httpx.Client(base_url=hub_server.url, headers={"Authorization": f"Bearer {viewer}"}, timeout=30)
    with ops, view:
        catalogue = view.get("/api/jobs").json()
        assert [c["code"] for c in catalogue["categories"]][:3] == ["initial-load", "pre-order", "orders"]
        assert view.post("/api/jobs/test-count/run", json={"shop": shop.domain}).status_code == 403
        run = ops.post("/api/jobs/test-count/run", json={"shop": shop.domain, "params": {"limit": 2}})
        assert run.status_code == 200, run.text
        body = run.json()
        assert body["status"] == "succeeded" and body["counts"]["read"] == 3
        failed = view.get(f"/api/jobs/runs/{body['id']}/files/failed")
        assert failed.headers["content-disposition"] == (
            f'attachment; filename="run-{body["id"]}-failed.jsonl"; filename*=UTF-8\'\'run-{body["id"]}-failed.jsonl')
        assert orjson.loads(failed.content)["record"]["sku"] == "SKU-🦋"
        with hub.db.write() as conn:  # a file named in any script downloads, its name intact (RFC 5987)
            job_store.put_file(conn, body["id"], "input", "Bestände 日本 🦋.csv", b"sku\n")
        named = view.get(f"/api/jobs/runs/{body['id']}/files/input")
        assert named.status_code == 200 and named.headers["content-disposition"] == (
            "attachment; filename=\"Best_nde_____.csv\"; filename*=UTF-8''Best%C3%A4nde%20%E6%97%A5%E6%9C%AC%20"
            "%F0%9F%A6%8B.csv")
        assert ops.post("/api/jobs/test-count/run", json={"shop": shop.domain, "params": {"limit": "x"}}
                        ).status_code == 422
        assert ops.post("/api/jobs/nope/run", json={}).status_code == 404
        scheduled = ops.put("/api/jobs/test-count/schedule", json={"shops": [shop.domain], "schedule": "hourly",
                                                                   "timezone": "Asia/Tokyo", "max_retries": 0})
        assert scheduled.status_code == 200, scheduled.text
        assert scheduled.json()["schedules"][0]["next_run_local"].endswith("+09:00")
        bad = ops.put("/api/jobs/approve-orders/schedule", json={"schedule": "every 1m"})
        assert bad.status_code == 422 and "at most every 5m" in bad.json()["error"]
        assert ops.post("/api/jobs/test-count/skip-next", json={}).json()["schedules"][0]["skip_next"] is True
        assert ops.put("/api/jobs-paused", json={"paused": True}).json() == {"paused": True}
        runs = view.get("/api/jobs/runs", params={"job": "test-count"}).json()
        assert [r["id"] for r in runs["runs"]] == [body["id"]]
        assert ops.post(f"/api/jobs/runs/{body['id']}/release").status_code == 409
    assert job_support.calls[-1]["params"]["limit"] == 2
