"""Pickup in store through the CLI and the API: list, ready (the code shown once), a wrong code refused and
counted, lock and reset, collect; roles enforced; each store's pickups waiting, ready and overdue in `orderhub
store list|show` and /api/stores."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
from click.testing import CliRunner

from orderhub.adapters.store import facilities, tokens
from orderhub.bootstrap import Hub
from orderhub.domain.pickup import MAX_ATTEMPTS
from orderhub.entrypoints.cli import main
from orderhub.services import fulfilment, pickups
from orderhub.services.fulfilment import Ctx
from orderhub.testing.server import ServerThread
from tests.integration.test_pickups import oms, pickup_order  # noqa: F401 - oms is a fixture
from tests.pickups_support import pickups_in_every_state


def cli(hub: Hub, *args: str, ok: bool = True) -> str:
    result = CliRunner().invoke(main, [*args, "--db", hub.settings.database_url])
    assert (result.exit_code == 0) == ok, result.output
    return result.output


def test_the_counter_works_a_pickup_from_the_cli(hub: Hub, oms: Any) -> None:  # noqa: F811
    order_id = pickup_order(hub, oms)
    assert "pickup in store at BOS01: waiting" in cli(hub, "orders", "show", str(order_id))
    [listed] = orjson.loads(cli(hub, "pickup", "list", "--store", "BOS01", "--status", "waiting", "--json"))
    assert (listed["order_id"], listed["status"]) == (order_id, "waiting")

    assert "not picked at BOS01" in cli(hub, "pickup", "ready", str(order_id), ok=False)
    with hub.db.write() as conn:
        fulfilment.pick(conn, order_id, Ctx("store"))
    out = cli(hub, "pickup", "ready", str(order_id))
    code = out.split("verification code ")[1].split()[0]
    assert "ready for pickup at BOS01" in out
    assert orjson.loads(cli(hub, "pickup", "list", "--status", "ready", "--json"))[0]["order_id"] == order_id
    assert orjson.loads(cli(hub, "pickup", "list", "--status", "overdue", "--json")) == []

    for _ in range(MAX_ATTEMPTS):
        wrong = cli(hub, "pickup", "collect", str(order_id), "--code", "ZZZZ", ok=False)
    assert "locked" in wrong and code not in wrong
    assert "locked" in cli(hub, "pickup", "collect", str(order_id), "--code", code, ok=False)
    assert "unlocked" in cli(hub, "pickup", "reset", str(order_id))
    assert "collected at BOS01" in cli(hub, "pickup", "collect", str(order_id), "--code", code)
    assert "completed" in cli(hub, "orders", "show", str(order_id))

    assert "wait 3 day(s)" in cli(hub, "pickup", "days", "BOS01", "3")
    assert "no facility NOPE" in cli(hub, "pickup", "days", "NOPE", "3", ok=False)


def test_the_api_marks_ready_refuses_wrong_codes_and_collects(hub: Hub, hub_server: ServerThread,
                                                              oms: Any) -> None:  # noqa: F811
    order_id = pickup_order(hub, oms)
    with hub.db.write() as conn:
        fulfilment.pick(conn, order_id, Ctx("store"))
        viewer = tokens.create(conn, "kiosk", role="viewer")
        clerk = tokens.create(conn, "counter", role="operator")

    def client(token: str) -> httpx.Client:
        return httpx.Client(base_url=hub_server.url, headers={"Authorization": f"Bearer {token}"})

    with client(viewer) as as_viewer, client(clerk) as as_clerk:
        assert as_viewer.get("/api/pickups", params={"store": "BOS01"}).json()["pickups"][0]["status"] == "waiting"
        assert as_viewer.post(f"/api/pickups/{order_id}/ready").status_code == 403
        assert as_clerk.get("/api/pickups", params={"status": "bogus"}).status_code == 422
        ready = as_clerk.post(f"/api/pickups/{order_id}/ready")
        assert ready.status_code == 200, ready.text
        code = ready.json()["code"]
        refused = as_clerk.post(f"/api/pickups/{order_id}/collect", json={"code": "NOT-IT"})
        assert refused.status_code == 403 and "4 attempt(s) left" in refused.json()["error"]
        assert as_clerk.post(f"/api/pickups/{order_id}/collect", json={"code": "x" * 65}).status_code == 422
        assert as_clerk.post(f"/api/pickups/{order_id}/reset").status_code == 403  # a manager's step
        done = as_clerk.post(f"/api/pickups/{order_id}/collect", json={"code": code})
        assert done.status_code == 200 and done.json()["collected"]
        shown = as_viewer.get(f"/api/orders/{order_id}").json()
        assert shown["pickup"]["status"] == "collected" and shown["pickup"]["collected_by"] == "api:counter"
        assert code not in orjson.dumps(shown).decode()


def test_stores_count_their_pickups_waiting_ready_and_overdue(hub: Hub, hub_server: ServerThread,
                                                              oms: Any) -> None:  # noqa: F811
    counter = pickups_in_every_state(hub, oms)
    ids = counter.ids
    with hub.db.write() as conn:
        facilities.add(conn, "NYC02", "New York", "store")
        viewer = tokens.create(conn, "kiosk", role="viewer")
    expected = {"waiting": 1, "ready": 3, "overdue": 1}  # the overdue and the locked are among the ready

    listed = {s["code"]: s["pickups"] for s in orjson.loads(cli(hub, "store", "list", "--json"))}
    assert listed == {"BOS01": expected, "NYC02": {"waiting": 0, "ready": 0, "overdue": 0}}
    table = cli(hub, "store", "list")  # the table wraps its cells at 80 columns
    assert "pickups" in table and "1 waiting, 3" in table and "overdue)" in table
    assert orjson.loads(cli(hub, "store", "show", "BOS01", "--json"))["pickups"] == expected
    assert "pickups: 1 waiting, 3 ready (1 overdue) (`orderhub pickup list --store BOS01 --status open`)" in \
        cli(hub, "store", "show", "BOS01")
    assert "pickups: none open" in cli(hub, "store", "show", "NYC02")
    opened = orjson.loads(cli(hub, "pickup", "list", "--store", "BOS01", "--status", "open", "--json"))
    assert sorted(p["order_id"] for p in opened) == sorted(ids[s] for s in ("waiting", "ready", "overdue", "locked"))
    assert orjson.loads(cli(hub, "pickup", "list", "--status", "waiting", "--json"))[0]["order_id"] == ids["waiting"]

    with httpx.Client(base_url=hub_server.url, headers={"Authorization": f"Bearer {viewer}"}) as client:
        stores = {s["code"]: s["pickups"] for s in client.get("/api/stores").json()["stores"]}
        shown = client.get("/api/stores/BOS01").json()
    assert stores["BOS01"] == expected and shown["pickups"] == expected

    with hub.db.write() as conn:  # collected and cancelled pickups are no longer counted
        assert pickups.collect(conn, ids["ready"], counter.code, actor="test").collected
        fulfilment.cancel(conn, ids["overdue"], Ctx("store", "not collected"))
        pickups.close_cancelled(conn)  # as the expire-pickups job does
    assert orjson.loads(cli(hub, "store", "show", "BOS01", "--json"))["pickups"] == {"waiting": 1, "ready": 1,
                                                                                      "overdue": 0}
