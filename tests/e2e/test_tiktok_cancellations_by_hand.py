"""Buyers' cancellation requests on TikTok Shop decided by a person (`orderhub channel cancellations` /
`cancellation`, and /api/channels/accounts/{name}/cancellations), the rule set per account, and TikTok's
cancellation notification starting decide-tiktok-cancellations at once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from orderhub.adapters.store import accounts, tokens
from orderhub.adapters.store.accounts import Account
from orderhub.adapters.store.schema import job_runs, job_state, order_events, orders
from orderhub.adapters.tiktok.channel import DECIDE_JOB
from orderhub.adapters.tiktok.operations import DEFAULT_REJECT_REASON
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.entrypoints.cli import main
from orderhub.services.jobs import tiktok_cancellations
from orderhub.services.jobs.manager import JobManager
from orderhub.services.jobs.tiktok_jobs import import_orders
from orderhub.simulators.tiktok.defaults import DEFAULT_APP_KEY, DEFAULT_APP_SECRET
from orderhub.testing.server import ServerThread
from tests.integration.test_tiktok_support import ACCOUNT, CIPHER, SHOP_ID, TOKEN, Sim, fast_client
from tests.support import drain

pytest_plugins = ("tests.integration.test_tiktok_support",)

A = "/api/channels/accounts"


@pytest.fixture(autouse=True)
def quick_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tiktok_cancellations, "client_for",
                        lambda account, hub: fast_client(account, hub, max_attempts=2))


def _cli(db_url: str, *args: str, ok: bool = True) -> str:
    result = CliRunner().invoke(main, [*args, "--db", db_url])
    assert (result.exit_code == 0) is ok, result.output
    return result.output


def _requests(hub: Hub, account: Account, tt: Sim, n: int) -> list[tuple[str, str]]:
    """``n`` TikTok orders in orderhub, each with a buyer's pending cancellation request: (order, request)."""
    placed = [tt.order() for _ in range(n)]
    import_orders(hub, account, {}, client=fast_client(account, hub))
    drain(hub)
    return [(p["id"], tt.event(p["id"], "buyer_cancel", reason="Found it cheaper 💸")["cancel_id"]) for p in placed]


def _timeline(hub: Hub, order_ref: str) -> list[tuple[str, str, dict[str, Any]]]:
    with hub.db.read() as conn:
        return [(r.kind, r.actor, orjson.loads(r.detail)) for r in conn.execute(
            select(order_events).where(order_events.c.order_shopify_id == order_ref,
                                       order_events.c.kind.startswith("cancel_request")))]


def test_a_person_lists_approves_and_rejects_requests_at_the_terminal(
        hub: Hub, db_url: str, tt: Sim, account: Account) -> None:
    (first, approve_id), (second, reject_id) = _requests(hub, account, tt, 2)
    listed = orjson.loads(_cli(db_url, "channel", "cancellations", ACCOUNT, "--json"))
    assert listed["rule"] == "approve-unpicked" and not listed["more"]
    assert [(r["request"], r["order"], r["reason"], r["rule_would"]) for r in listed["requests"]] == [
        (approve_id, first, "Found it cheaper 💸", "approve"), (reject_id, second, "Found it cheaper 💸", "approve")]
    assert all(r["requested_at"].endswith("+00:00") for r in listed["requests"])
    shown = _cli(db_url, "channel", "cancellations", ACCOUNT)
    assert f"{approve_id}  order {first}  requested 20" in shown and "  reason: Found it cheaper 💸\n" in shown
    assert "  the rule would: approve (no unit of the order is picked, packed or shipped in orderhub)\n" in shown

    said = _cli(db_url, "channel", "cancellation", ACCOUNT, approve_id, "approve")
    assert said == f"tiktok account {ACCOUNT}: cancellation request {approve_id} of order {first} approved\n"
    said = _cli(db_url, "channel", "cancellation", ACCOUNT, reject_id, "reject", "--reason", "Already on its way 🚚")
    assert said.endswith(f"rejected ({DEFAULT_REJECT_REASON})\n")
    assert [op["cancel_id"] for op in tt.operations("cancellation_approved")] == [approve_id]
    [rejected] = tt.operations("cancellation_rejected")
    assert (rejected["cancel_id"], rejected["comment"]) == (reject_id, "Already on its way 🚚")
    [(kind, actor, detail)] = _timeline(hub, second)
    assert kind == "cancel_request_rejected" and actor.startswith("cli")
    assert (detail["decided_by"], detail["why"]) == ("person", "Already on its way 🚚")
    assert _timeline(hub, first)[0][2]["why"] == "decided by hand"
    drain(hub)  # the approved order, fetched after the approval
    with hub.db.read() as conn:
        assert conn.execute(select(orders.c.source_status).where(orders.c.shopify_id == first)).scalar_one() == \
            "cancelled"
    assert "has no pending cancellation request" in _cli(db_url, "channel", "cancellations", ACCOUNT)

    again = _cli(db_url, "channel", "cancellation", ACCOUNT, approve_id, "reject", ok=False)
    assert f"cancellation request {approve_id} of TikTok order {first} is CANCELLATION_REQUEST_COMPLETE" in again
    assert f"TikTok account {ACCOUNT} has no cancellation request 99" in _cli(
        db_url, "channel", "cancellation", ACCOUNT, "99", "approve", ok=False)
    assert "is not a TikTok cancellation id" in _cli(db_url, "channel", "cancellation", ACCOUNT, "abc", "approve",
                                                     ok=False)
    assert "no TikTok account nobody" in _cli(db_url, "channel", "cancellations", "nobody", ok=False)
    tt.fail(operation="searchCancellations", outcome="error", status=503, times=20)
    down = _cli(db_url, "channel", "cancellations", ACCOUNT, ok=False)
    assert "searchCancellations failed at TikTok" in down and "try again later" in down


def test_the_rule_is_set_per_account_at_the_terminal(hub: Hub, db_url: str, tt: Sim) -> None:
    added = ["channel", "add", "tiktok", ACCOUNT, "--app-key", DEFAULT_APP_KEY, "--app-secret", DEFAULT_APP_SECRET,
             "--access-token", TOKEN, "--shop-cipher", CIPHER, "--endpoint", tt.url]
    _cli(db_url, *added, "--cancellation-rule", "manual")
    with hub.db.read() as conn:
        found = accounts.get(conn, ACCOUNT)
    assert found is not None and found.settings["cancellation_rule"] == "manual"
    assert "is one of approve-unpicked, manual" in _cli(db_url, *added, "--cancellation-rule", "yes", ok=False)
    said = _cli(db_url, "channel", "cancellation-rule", ACCOUNT, "approve-unpicked")
    assert said == (f"tiktok account {ACCOUNT}: buyers' cancellation requests are approved while nothing of the "
                    "order is picked, else rejected\n")
    with hub.db.read() as conn:
        changed = accounts.get(conn, ACCOUNT)
    assert changed is not None and changed.settings["cancellation_rule"] == "approve-unpicked"
    assert changed.credentials == found.credentials  # the secrets are kept
    assert "no TikTok account nobody" in _cli(db_url, "channel", "cancellation-rule", "nobody", "manual", ok=False)
    assert "Invalid value" in _cli(db_url, "channel", "cancellation-rule", ACCOUNT, "always", ok=False)


def test_a_person_decides_through_the_api_with_an_admin_token(
        hub: Hub, hub_server: ServerThread, tt: Sim, account: Account) -> None:
    (first, approve_id), (second, reject_id) = _requests(hub, account, tt, 2)
    with hub.db.write() as conn:
        admin = tokens.create(conn, "desk")
        viewer = tokens.create(conn, "viewer", role="viewer")
    as_admin, as_viewer = {"Authorization": f"Bearer {admin}"}, {"Authorization": f"Bearer {viewer}"}
    listing = f"{A}/{ACCOUNT}/cancellations"
    with httpx.Client(base_url=hub_server.url, timeout=30) as client:
        assert client.get(listing).status_code == 401
        assert client.get(listing, headers=as_viewer).status_code == 403
        found = client.get(listing, headers=as_admin)
        assert found.status_code == 200, found.text
        assert [r["request"] for r in found.json()["requests"]] == [approve_id, reject_id]
        viewed = client.post(f"{listing}/{approve_id}", json={"decision": "approve"}, headers=as_viewer)
        assert viewed.status_code == 403
        approved = client.post(f"{listing}/{approve_id}", json={"decision": "approve"}, headers=as_admin)
        assert approved.status_code == 200, approved.text
        assert approved.json() == {"account": ACCOUNT, "request": approve_id, "order": first, "decision": "approve",
                                   "reject_reason": None, "in_orderhub": True}
        rejected = client.post(f"{listing}/{reject_id}", headers=as_admin,
                               json={"decision": "reject", "reason": "seller_reject_apply_buyer_agreed_to_continue"})
        assert rejected.json()["reject_reason"] == "seller_reject_apply_buyer_agreed_to_continue"
        again = client.post(f"{listing}/{reject_id}", json={"decision": "approve"}, headers=as_admin)
        assert again.status_code == 409 and "only a pending request" in again.text
        refused = [client.post(f"{listing}/{p}", json=b, headers=as_admin) for p, b in (
            (approve_id, {"decision": "cancel"}), ("12ab", {"decision": "approve"}),
            ("9" * 41, {"decision": "approve"}), (approve_id, {"decision": "reject", "reason": "x" * 501}))]
        assert [r.status_code for r in refused] == [422] * 4
        assert client.post(f"{listing}/99", json={"decision": "approve"}, headers=as_admin).status_code == 404
        assert client.get(f"{A}/nobody/cancellations", headers=as_admin).status_code == 404
        tt.fail(operation="searchCancellations", outcome="error", status=503, times=20)
        down = client.post(f"{listing}/{approve_id}", json={"decision": "approve"}, headers=as_admin)
        assert down.status_code == 503 and "try again later" in down.text
    [rejected_op] = tt.operations("cancellation_rejected")
    assert rejected_op["reject_reason"] == "seller_reject_apply_buyer_agreed_to_continue"
    assert rejected_op.get("comment") is None
    assert _timeline(hub, first)[0][:2] == ("cancel_request_approved", "api:desk")
    assert _timeline(hub, second)[0][:2] == ("cancel_request_rejected", "api:desk")


def test_a_cancellation_notification_starts_the_job_at_once(
        hub: Hub, hub_server: ServerThread, tt: Sim, account: Account) -> None:
    placed = tt.order()
    import_orders(hub, account, {}, client=fast_client(account, hub))
    drain(hub)
    tt.control("PUT", "/webhooks", {"shop_id": SHOP_ID, "event_type": "CANCELLATION_STATUS_CHANGE",
                                    "address": f"{hub_server.url}/webhooks/tiktok/{ACCOUNT}"})
    cancel_id = tt.event(placed["id"], "buyer_cancel")["cancel_id"]
    assert tt.control("POST", "/webhooks/wait", {"timeout": 10})["idle"]
    drain(hub)
    with hub.db.read() as conn:
        runs = conn.execute(select(job_runs).where(job_runs.c.job == DECIDE_JOB)).all()
        signal = conn.execute(select(job_state).where(job_state.c.job == DECIDE_JOB)).one()
    assert [(r.status, r.trigger) for r in runs] == [("queued", "signal")]  # not the next scheduled run
    assert signal.key == placed["id"] and orjson.loads(signal.value)["cancel_id"] == cancel_id
    assert JobManager(hub).work_once(utcnow() + timedelta(seconds=2))[0] == 1  # it starts a second on
    assert [op["cancel_id"] for op in tt.operations("cancellation_approved")] == [cancel_id]
    drain(hub)
    with hub.db.read() as conn:
        row = conn.execute(select(orders.c.status, orders.c.source_status).where(
            orders.c.shopify_id == placed["id"])).one()
        run = conn.execute(select(job_runs).where(job_runs.c.job == DECIDE_JOB).order_by(job_runs.c.id)).first()
        assert conn.execute(select(job_state).where(job_state.c.job == DECIDE_JOB,
                                                    job_state.c.value == signal.value)).first() is None
    assert (row.status, row.source_status) == ("cancelled", "cancelled")
    assert run is not None and run.status == "succeeded"
