"""The admin API's credentials over HTTP: a revoked token is refused on its very next request by
every process, and an error-log dismissal is recorded as the token that made it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from orderhub.adapters.store import tokens
from orderhub.bootstrap import Hub, build
from orderhub.entrypoints.http.app import create_app
from orderhub.testing.server import ServerThread
from tests.integration.test_processor import put
from tests.support import BIG_ID, add_shop, drain, order_payload


@pytest.fixture
def other_server(hub: Hub) -> Iterator[ServerThread]:
    """A second hub (its own engine and connections) serving the same database."""
    other = build(hub.settings)
    with ServerThread(create_app(other)) as server:
        yield server
    other.close()


def _revoke_in_another_process(db_url: str, name: str) -> None:
    code = "from orderhub.entrypoints.cli import main; main()"
    done = subprocess.run([sys.executable, "-c", code, "token", "revoke", name, "--db", db_url],
                          env=os.environ.copy(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and f"({name}, " in done.stdout, done.stdout + done.stderr


def test_a_revoked_token_is_refused_on_the_next_request_everywhere(
        hub: Hub, hub_server: ServerThread, other_server: ServerThread) -> None:
    with hub.db.write() as conn:
        token = tokens.create(conn, "ops", role="viewer")
    auth = {"Authorization": f"Bearer {token}"}
    for server in (hub_server, other_server):
        assert httpx.get(f"{server.url}/api/orders", headers=auth).status_code == 200
    _revoke_in_another_process(hub.settings.database_url, "ops")
    for server in (hub_server, other_server):
        refused = httpx.get(f"{server.url}/api/orders", headers=auth)
        assert refused.status_code == 401 and "invalid bearer token" in refused.text


def test_a_dismissal_is_recorded_as_the_token_whatever_the_body_says(hub: Hub, hub_server: ServerThread) -> None:
    shop = add_shop(hub)
    put(hub, "orders/create", order_payload(BIG_ID, currency="XXQ"), shop_id=shop.id)
    drain(hub)
    with hub.db.write() as conn:
        token = tokens.create(conn, "night-shift", role="operator")
    with httpx.Client(base_url=hub_server.url, headers={"Authorization": f"Bearer {token}"}) as client:
        entry_id = client.get("/api/errors").json()["errors"][0]["id"]
        forged = client.post(f"/api/errors/{entry_id}/dismiss", json={"reason": "not mine", "by": "ada"})
        assert forged.status_code == 422 and "`by` is not accepted" in forged.text
        assert client.get(f"/api/errors/{entry_id}").json()["status"] == "open"
        done = client.post(f"/api/errors/{entry_id}/dismiss", json={"reason": "a test order 🧪"})
        assert done.status_code == 200 and done.json()["by"] == "api:night-shift"
        entry = client.get(f"/api/errors/{entry_id}").json()
    assert (entry["status"], entry["dismissed_by"], entry["dismissed_reason"]) == (
        "dismissed", "api:night-shift", "a test order 🧪")
