"""Starting the simulator: in a background thread (tests, demo) and as ``orderhub simulate shopify``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from orderhub.simulators.shopify.server import start_in_thread
from orderhub.testing.postgres import free_port
from tests.processes import wait_for

ORDERS = "{ orders(first: 5) { nodes { name } } }"


def test_start_in_thread_serves_on_a_free_port_until_stopped() -> None:
    sim, url, stop = start_in_thread([{"domain": "gamma.myshopify.com", "api_secret": "g", "access_token": "tok"}],
                                     port=0, seed=1)
    try:
        with httpx.Client(base_url=url, timeout=10) as client:
            assert client.post("/_sim/orders", json={"count": 2}).status_code == 201
            answer = client.post("/admin/api/2025-10/graphql.json", json={"query": ORDERS},
                                 headers={"X-Shopify-Access-Token": "tok"}).json()
        assert [n["name"] for n in answer["data"]["orders"]["nodes"]] == ["#1001", "#1002"]
        assert len(sim.store.shop().orders) == 2
    finally:
        stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/_sim/shops")


def test_the_cli_command_runs_the_simulator(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with open(tmp_path / "sim.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "orderhub.entrypoints.cli", "simulate", "shopify", "--port", str(port),
             "--shop", "delta.myshopify.com", "--secret", "d", "--access-token", "tok"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        def ready() -> bool:
            assert proc.poll() is None, (tmp_path / "sim.log").read_text()
            try:
                return httpx.get(f"{url}/_sim/shops").status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, timeout=30, what="the simulator to answer")
        httpx.post(f"{url}/_sim/orders", json={"count": 1})
        answer = httpx.post(f"{url}/shops/delta.myshopify.com/admin/api/2025-10/graphql.json", json={"query": ORDERS},
                            headers={"X-Shopify-Access-Token": "tok"}).json()
        assert answer["data"]["orders"]["nodes"] == [{"name": "#1001"}]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
