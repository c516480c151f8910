"""Buyers' cancellation requests on TikTok Shop, answered by decide-tiktok-cancellations against the simulator:
approved while nothing is picked (orderhub then cancels the order and releases its stock, telling TikTok
nothing back), rejected once a unit is picked, left to a person under the manual rule; an order orderhub does
not have yet and TikTok out of reach wait for the next run; a refusal waits in the error log for a person."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from sqlalchemy import select

from orderhub.adapters.channels import ACCOUNT_FIELDS, account_values
from orderhub.adapters.store import accounts, error_log, facilities, inventory_store
from orderhub.adapters.store.accounts import Account
from orderhub.adapters.store.schema import channel_operations, order_events, order_units, orders
from orderhub.adapters.tiktok import api
from orderhub.adapters.tiktok import channel as tiktok_channel
from orderhub.adapters.tiktok.client import TikTokUnavailable
from orderhub.adapters.tiktok.operations import DEFAULT_REJECT_REASON
from orderhub.bootstrap import Hub
from orderhub.services import errors, fulfilment
from orderhub.services import inventory as inventory_service
from orderhub.services.channel_ops import send_once
from orderhub.services.jobs import tiktok_cancellations
from orderhub.services.jobs.runner import JobFailed, run_job
from orderhub.services.jobs.tiktok_cancellations import decide_account, list_pending
from orderhub.services.jobs.tiktok_jobs import import_orders
from tests.integration.test_tiktok_support import ACCOUNT, Sim, fast_client
from tests.oms_support import place
from tests.support import drain

pytest_plugins = ("tests.integration.test_tiktok_support",)

MUG = "MUG-CAFE-WHT"


@pytest.fixture(autouse=True)
def quick_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """The job's TikTok client backs off for hundredths of a second and tries twice."""
    monkeypatch.setattr(tiktok_cancellations, "client_for",
                        lambda account, hub: fast_client(account, hub, max_attempts=2))


@pytest.fixture
def warehouse(hub: Hub) -> int:
    with hub.db.write() as conn:
        wh = facilities.add(conn, "WH-US", "Lager 🏭", "warehouse")
        inventory_service.adjust(conn, MUG, "WH-US", actor="test", reason="received", delta=10)
    return wh


def _in_orderhub(hub: Hub, account: Account, tt: Sim, *, picked: bool = False) -> tuple[str, int]:
    """A TikTok order imported and placed in orderhub (its two mugs reserved), optionally picked."""
    placed = tt.order()
    import_orders(hub, account, {}, client=fast_client(account, hub))
    drain(hub)
    place(hub)
    with hub.db.write() as conn:
        order_id = int(conn.execute(select(orders.c.id).where(orders.c.shopify_id == placed["id"])).scalar_one())
        if picked:
            fulfilment.pick(conn, order_id, fulfilment.Ctx("picker"))
    return placed["id"], order_id


def _decide(hub: Hub, account: Account) -> dict[str, Any]:
    return decide_account(hub, account, client=fast_client(account, hub, max_attempts=2))


def _reserved(hub: Hub, wh: int) -> int:
    with hub.db.read() as conn:
        return inventory_store.positions(conn, [MUG])[(MUG, wh)].reserved


def _timeline(hub: Hub, order_ref: str) -> list[tuple[str, str, dict[str, Any]]]:
    with hub.db.read() as conn:
        return [(r.kind, r.actor, orjson.loads(r.detail)) for r in conn.execute(
            select(order_events).where(order_events.c.order_shopify_id == order_ref,
                                       order_events.c.kind.startswith("cancel_request")).order_by(order_events.c.id))]


def _unit_statuses(hub: Hub, order_id: int) -> list[str]:
    with hub.db.read() as conn:
        return sorted(conn.execute(select(order_units.c.status).where(order_units.c.order_id == order_id)).scalars())


def _open_errors(hub: Hub) -> list[Any]:
    with hub.db.read() as conn:
        return error_log.list_entries(conn, error_log.ErrorFilter(status="open"))


def test_an_unpicked_order_s_request_is_approved_and_orderhub_cancels_it_and_releases_its_stock(
        hub: Hub, tt: Sim, account: Account, warehouse: int) -> None:
    order_ref, order_id = _in_orderhub(hub, account, tt)
    assert _reserved(hub, warehouse) == 2
    cancel_id = tt.event(order_ref, "buyer_cancel", reason="Ordered by mistake 🙈")["cancel_id"]

    stats = _decide(hub, account)
    assert (stats["pending"], stats["approved"], stats["rejected"], stats["stored"]) == (1, 1, 0, 1)
    assert [op["cancel_id"] for op in tt.operations("cancellation_approved")] == [cancel_id]
    assert tt.control("GET", f"/orders/{order_ref}")["status"] == "CANCELLED"
    [(kind, actor, detail)] = _timeline(hub, order_ref)
    assert (kind, actor) == ("cancel_request_approved", "rule:approve-unpicked")
    assert detail == {"request": cancel_id, "buyer_reason": "Ordered by mistake 🙈",
                      "decided_by": "rule approve-unpicked",
                      "why": "no unit of the order is picked, packed or shipped in orderhub"}

    drain(hub)  # the cancelled order the run fetched: orderhub's own flow cancels it
    with hub.db.read() as conn:
        row = conn.execute(select(orders.c.status, orders.c.source_status).where(orders.c.id == order_id)).one()
        told = conn.execute(select(channel_operations).where(channel_operations.c.order_id == order_id)).all()
    assert (row.status, row.source_status) == ("cancelled", "cancelled")
    assert _unit_statuses(hub, order_id) == ["cancelled", "cancelled"]
    assert _reserved(hub, warehouse) == 0
    assert told == [] and send_once(hub).done == 0  # TikTok cancelled it: nothing is told back
    assert tt.operations("cancellation") == []  # no cancellation by the seller
    assert _decide(hub, account)["pending"] == 0


def test_a_picked_order_s_request_is_rejected_with_tiktok_s_reason_for_a_packed_parcel(
        hub: Hub, tt: Sim, account: Account, warehouse: int) -> None:
    order_ref, order_id = _in_orderhub(hub, account, tt, picked=True)
    cancel_id = tt.event(order_ref, "buyer_cancel")["cancel_id"]
    stats = _decide(hub, account)
    assert (stats["approved"], stats["rejected"]) == (0, 1)
    [rejected] = tt.operations("cancellation_rejected")
    assert (rejected["cancel_id"], rejected["reject_reason"]) == (cancel_id, DEFAULT_REJECT_REASON)
    assert tt.control("GET", f"/orders/{order_ref}")["status"] == "AWAITING_SHIPMENT"
    [(kind, actor, detail)] = _timeline(hub, order_ref)
    assert (kind, actor, detail["reject_reason"]) == ("cancel_request_rejected", "rule:approve-unpicked",
                                                      DEFAULT_REJECT_REASON)
    assert detail["why"] == "2 unit(s) of the order are picked, packed or shipped in orderhub"
    assert _unit_statuses(hub, order_id) == ["picked", "picked"] and _reserved(hub, warehouse) == 2


def test_the_manual_rule_leaves_every_request_to_a_person(hub: Hub, tt: Sim, account: Account,
                                                          warehouse: int) -> None:
    with hub.db.write() as conn:
        accounts.update_settings(conn, ACCOUNT, {"cancellation_rule": "manual"})
    unpicked, _ = _in_orderhub(hub, account, tt)
    picked, _ = _in_orderhub(hub, account, tt, picked=True)
    for ref in (unpicked, picked):
        tt.event(ref, "buyer_cancel")
    with hub.db.read() as conn:
        manual = accounts.get(conn, ACCOUNT)
    assert manual is not None
    stats = _decide(hub, manual)
    assert (stats["rule"], stats["pending"], stats["left"], stats["approved"], stats["rejected"]) == (
        "manual", 2, 2, 0, 0)
    assert tt.operations("cancellation_approved") == tt.operations("cancellation_rejected") == []
    listed = list_pending(hub, ACCOUNT, client=fast_client(manual, hub))
    assert listed["rule"] == "manual"
    assert {r["order"]: (r["suggestion"], r["rule_would"]) for r in listed["requests"]} == {
        unpicked: ("approve", "leave it to a person"), picked: ("reject", "leave it to a person")}


def test_a_request_for_an_order_orderhub_does_not_have_yet_waits_for_the_next_run(
        hub: Hub, tt: Sim, account: Account, warehouse: int) -> None:
    placed = tt.order()
    tt.event(placed["id"], "buyer_cancel")
    stats = _decide(hub, account)
    assert (stats["pending"], stats["waiting"], stats["approved"]) == (1, 1, 0)
    assert tt.operations("cancellation_approved") == []
    assert list_pending(hub, ACCOUNT, client=fast_client(account, hub))["requests"][0]["rule_would"] == \
        "wait for the order"
    import_orders(hub, account, {}, client=fast_client(account, hub))
    drain(hub)
    assert _decide(hub, account)["approved"] == 1


def test_tiktok_out_of_reach_leaves_the_request_for_the_next_run(hub: Hub, tt: Sim, account: Account,
                                                                 warehouse: int) -> None:
    order_ref, _order_id = _in_orderhub(hub, account, tt)
    tt.event(order_ref, "buyer_cancel")
    tt.fail(operation="searchCancellations", outcome="error", status=503, times=20)
    with pytest.raises(TikTokUnavailable, match=f"TikTok account {ACCOUNT}: searchCancellations failed at TikTok"):
        _decide(hub, account)
    with pytest.raises(JobFailed, match="searchCancellations"):
        run_job(hub, tiktok_channel.DECIDE_JOB, None, {"account": ACCOUNT})
    tt.control("DELETE", "/failures")
    tt.fail(operation="approveCancellation", outcome="error", status=503, times=20)
    stats = _decide(hub, account)
    assert (stats["pending"], stats["unavailable"], stats["approved"]) == (1, 1, 0)
    assert tt.operations("cancellation_approved") == [] and _timeline(hub, order_ref) == []
    assert _open_errors(hub) == []  # not a refusal: nothing for a person to do
    tt.control("DELETE", "/failures")
    _run_id, totals = run_job(hub, tiktok_channel.DECIDE_JOB, None, {})
    assert (totals["read"], totals["processed"], totals["approved"]) == (1, 1, 1)


def test_a_refusal_waits_in_the_error_log_for_a_person(hub: Hub, tt: Sim, account: Account, warehouse: int) -> None:
    order_ref, _order_id = _in_orderhub(hub, account, tt)
    cancel_id = tt.event(order_ref, "buyer_cancel")["cancel_id"]
    # Shipped at TikTok behind orderhub's back (from the seller's own back office): TikTok refuses the approval.
    client = fast_client(account, hub)
    package = api.order_details(client, [order_ref])[0]["packages"][0]["id"]
    api.ship_package(client, package, tracking=None, provider_id=None)

    assert _decide(hub, account)["refused"] == 1
    [entry] = _open_errors(hub)
    assert entry.record_type == errors.TIKTOK_CANCELLATION and entry.kind == "channel_refused"
    assert f"TikTok refused to approve the buyer's cancellation request {cancel_id} of order {order_ref}" in entry.error
    assert f"orderhub channel cancellation {ACCOUNT} {cancel_id} approve|reject" in entry.error
    assert entry.error.count(f"TikTok account {ACCOUNT}") == 1
    attempts = len(tt.requests("approveCancellation"))
    stats = _decide(hub, account)  # a person has it: the rule leaves it alone
    assert (stats["held"], stats["refused"]) == (1, 0) and len(tt.requests("approveCancellation")) == attempts
    assert list_pending(hub, ACCOUNT, client=client)["requests"][0]["error_id"] == entry.id

    errors.retry(hub.db, entry.id)  # the next run answers it again (and TikTok refuses again)
    assert _decide(hub, account)["refused"] == 1 and len(tt.requests("approveCancellation")) > attempts
    assert [e.id for e in _open_errors(hub)] == [entry.id]
    with pytest.raises(errors.NotRetryable, match="cannot be edited"):
        errors.retry(hub.db, entry.id, "{}")

    done = tiktok_cancellations.decide_by_hand(hub, ACCOUNT, cancel_id, "reject", actor="cli:ana",
                                               reason="Shipped already 📦", client=client)
    assert done["reject_reason"] == DEFAULT_REJECT_REASON
    assert tt.operations("cancellation_rejected")[0]["comment"] == "Shipped already 📦"
    assert _open_errors(hub) == []  # decided: the entry is resolved
    assert _timeline(hub, order_ref)[-1][:2] == ("cancel_request_rejected", "cli:ana")


def test_the_rule_is_an_account_setting_checked_when_given(hub: Hub, tt: Sim, account: Account) -> None:
    assert tiktok_cancellations.rule_of(account) == "approve-unpicked"  # the default
    given = {"app_key": "k", "app_secret": "s", "access_token": "t", "shop_cipher": "c", "endpoint": tt.url}
    settings, _secrets = account_values("tiktok", given | {"cancellation_rule": "manual"})
    assert settings["cancellation_rule"] == "manual"
    with pytest.raises(ValueError, match="cancellation_rule of a tiktok account is one of approve-unpicked, manual"):
        account_values("tiktok", given | {"cancellation_rule": "approve-all"})
    assert [f.choices for f in ACCOUNT_FIELDS["tiktok"] if f.name == "cancellation_rule"] == [
        tiktok_cancellations.RULES]
    with hub.db.write() as conn:
        changed = accounts.update_settings(conn, ACCOUNT, {"cancellation_rule": "manual"})
    assert changed.settings["shop_cipher"] == account.settings["shop_cipher"] and changed.credentials == {
        "access_token": "", "app_secret": ""}  # secrets kept (named, not read)
    assert tiktok_cancellations.rule_of(changed) == "manual"
    assert tiktok_cancellations.rule_of(Account(1, "tiktok", "x", "active", None, {"cancellation_rule": "?"})) == \
        "manual"  # a rule orderhub does not know approves nothing


def test_a_request_answered_elsewhere_meanwhile_is_no_error(hub: Hub, tt: Sim, account: Account, warehouse: int,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    order_ref, _order_id = _in_orderhub(hub, account, tt)
    cancel_id = tt.event(order_ref, "buyer_cancel")["cancel_id"]
    client = fast_client(account, hub)
    listed = tiktok_cancellations.pending(client)
    # Between the run's search and its answer, a person rejects the request in TikTok's Seller Center.
    monkeypatch.setattr(tiktok_cancellations, "pending", lambda client, limit: (
        api.reject_cancellation(client, cancel_id, DEFAULT_REJECT_REASON, None), listed)[1])
    stats = _decide(hub, account)
    assert (stats["approved"], stats["refused"], stats["answered_elsewhere"]) == (0, 0, 1)
    assert _open_errors(hub) == [] and tt.operations("cancellation_approved") == []
