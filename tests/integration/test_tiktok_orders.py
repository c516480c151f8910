"""TikTok Shop orders in: the poll job against the simulator, the processor through the TikTok translator,
and what the store then holds; bad orders in the error log; failures that lose nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
import pytest
from sqlalchemy import select
from tiktok_shop_api import Signer

from orderhub.adapters.store import error_log, job_store
from orderhub.adapters.store.accounts import Account
from orderhub.adapters.store.inbox import InboxEntry, insert_entries
from orderhub.adapters.store.schema import inbox, order_addresses, order_items, orders, rate_buckets
from orderhub.adapters.tiktok import translate
from orderhub.adapters.tiktok.channel import order_identity
from orderhub.adapters.tiktok.client import THROTTLED_PAUSE_SECONDS, TikTokAuthError, TikTokUnavailable
from orderhub.adapters.tiktok.signing import request_signature
from orderhub.bootstrap import Hub
from orderhub.services.jobs.runner import JobFailed, run_job
from orderhub.services.jobs.tiktok_jobs import FETCH_JOB, IMPORT_JOB, WATERMARK, import_orders
from tests.integration.test_tiktok_support import ACCOUNT, Sim, add_account, fast_client
from tests.support import drain

pytest_plugins = ("tests.integration.test_tiktok_support",)  # the simulator, reset per test, and an account

EMOJI_BUYER = {"name": "Zoë Ångström 🦋", "first_name": "Zoë", "last_name": "Ångström 🦋", "phone": "12125550142",
               "address_line1": "7 Straße der Einheit 🏠", "address_line2": "Suite №5", "city": "New York",
               "state": "New York", "postal_code": "10118"}


def _poll(hub: Hub, account: Account, **params: Any) -> dict[str, Any]:
    return import_orders(hub, account, params, client=fast_client(account, hub))


def _stored(hub: Hub, order_id: str) -> Any:
    with hub.db.read() as conn:
        return conn.execute(select(orders).where(orders.c.shopify_id == order_id)).first()


def _lines(hub: Hub, order_pk: int) -> list[Any]:
    with hub.db.read() as conn:
        return conn.execute(select(order_items).where(order_items.c.order_id == order_pk)
                            .order_by(order_items.c.id)).all()


def test_polled_orders_are_stored_with_their_lines_money_buyer_and_status(hub: Hub, tt: Sim, account: Account) -> None:
    multi = tt.order(lines=[{"seller_sku": "MUG-CAFE-WHT", "quantity": 3, "seller_discount": "2.00"},
                            {"seller_sku": "SERUM-30", "quantity": 1, "platform_discount": "1.50"}],
                     buyer=EMOJI_BUYER, shipping_fee="4.99", shipping_fee_seller_discount="2.00", tax="1.23",
                     buyer_message="Please gift wrap 🎁")
    restricted = tt.order(buyer=None)
    on_hold = tt.order(status="ON_HOLD")
    unpaid = tt.order(status="UNPAID")
    cancelled = tt.order(status="CANCELLED", cancel_reason="Better price elsewhere 💸")
    fbt = tt.order(fulfillment_type="FULFILLMENT_BY_TIKTOK", status="IN_TRANSIT")

    stats = _poll(hub, account)
    assert (stats["fetched"], stats["stored"], stats["skipped"]) == (6, 5, 1)
    drain(hub)

    row = _stored(hub, multi["id"])
    assert row.currency == "USD" and row.payment_status == "paid" and row.source_status == "open"
    # 3 mugs at 14.00 less 2.00 each, a serum at 29.90 less 1.50: 64.40; shipping 4.99 - 2.00; tax 1.23;
    # discounts 6.00 + 1.50 on the lines, 2.00 on shipping
    assert (row.subtotal_price, row.total_shipping, row.total_tax, row.total_price) == (
        Decimal("64.40"), Decimal("2.99"), Decimal("1.23"), Decimal("68.62"))
    assert Decimal(row.total_price) == Decimal(multi["payment"]["total_amount"])
    assert row.total_discounts == Decimal("9.50") and row.note == "Please gift wrap 🎁"
    lines = _lines(hub, row.id)
    assert [(li.sku, li.quantity, li.price, li.total_discount) for li in lines] == [
        ("MUG-CAFE-WHT", 3, Decimal("14.00"), Decimal("6.00")), ("SERUM-30", 1, Decimal("29.90"), Decimal("1.50"))]
    assert lines[0].shopify_id == multi["line_items"][0]["id"]  # the first unit's id names the line
    with hub.db.read() as conn:
        address = conn.execute(select(order_addresses).where(order_addresses.c.order_id == row.id)).one()
    assert (address.name, address.address1, address.address2, address.city, address.province, address.zip,
            address.country_code) == ("Zoë Ångström 🦋", "7 Straße der Einheit 🏠", "Suite №5", "New York",
                                      "New York", "10118", "US")

    bare = _stored(hub, restricted["id"])  # no buyer details: still a good order
    with hub.db.read() as conn:
        assert conn.execute(select(order_addresses).where(order_addresses.c.order_id == bare.id)).first() is None
    assert _stored(hub, on_hold["id"]).payment_status == "pending"
    assert _stored(hub, unpaid["id"]) is None
    gone = _stored(hub, cancelled["id"])
    assert gone.source_status == "cancelled" and gone.cancelled_at is not None and gone.status == "cancelled"
    assert gone.cancel_reason == "Better price elsewhere 💸"
    assert _stored(hub, fbt["id"]).source_fulfillment_status == "fulfilled"
    assert translate.order(tt.control("GET", f"/orders/{fbt['id']}")).fulfilled_by == "channel"
    with hub.db.read() as conn:
        assert error_log.list_entries(conn, error_log.ErrorFilter(status="open")) == []


def test_statuses_promises_and_channel_fulfilment_in_the_canonical_order(tt: Sim, account: Account) -> None:
    placed = tt.order()
    order = translate.order(placed)
    assert order.ship_by is not None and int(order.ship_by.timestamp()) == placed["rts_sla_time"]
    assert order.ship_by.tzinfo is not None and order.fulfilled_by is None and order.source_name == "tiktok"
    assert (order.financial_status, order.fulfillment_status) == ("paid", None)
    shipped = translate.order(tt.order(status="PARTIALLY_SHIPPING", lines=[
        {"seller_sku": "MUG-CAFE-WHT", "quantity": 1}, {"seller_sku": "SERUM-30", "quantity": 1}]))
    assert shipped.fulfillment_status == "partial"
    assert [i.fulfillment_status for i in shipped.items] == ["fulfilled", None]
    done = translate.order(tt.order(status="COMPLETED"))
    assert done.closed_at == done.updated_at and done.fulfillment_status == "fulfilled"
    held = translate.order(tt.order(status="ON_HOLD"))
    assert held.financial_status == "pending" and "on-hold" in held.tags
    never_paid = translate.order(tt.event(tt.order(status="UNPAID")["id"], "auto_cancel")["order"])
    assert never_paid.financial_status == "voided" and never_paid.cancelled_at is not None


def test_a_version_is_stored_once_an_older_one_never_wins_and_a_later_change_updates(
        hub: Hub, tt: Sim, account: Account) -> None:
    placed = tt.order(status="ON_HOLD")
    assert _poll(hub, account)["stored"] == 1
    assert _poll(hub, account)["duplicates"] == 1  # re-polled over the overlap: the same version, one record
    drain(hub)
    older = dict(placed)  # the same order as it stood a version ago
    released = tt.event(placed["id"], "release_hold")["order"]
    assert _poll(hub, account)["stored"] == 1
    drain(hub)
    assert _stored(hub, placed["id"]).payment_status == "paid"
    older["update_time"] = placed["update_time"] - 5
    insert_entries(hub.db, [InboxEntry(shop_id=account.id, source="poll", topic="tiktok/order",
                                       identity=order_identity(placed["id"], older["update_time"]),
                                       payload=orjson.dumps(older).decode())])
    drain(hub)
    row = _stored(hub, placed["id"])
    assert row.payment_status == "paid" and row.source_updated_at.timestamp() == released["update_time"]
    with hub.db.read() as conn:
        identities = conn.execute(select(inbox.c.identity).where(inbox.c.shop_id == account.id)).scalars().all()
    assert len(identities) == len(set(identities)) == 3


def test_bad_orders_go_to_the_error_log_naming_the_field(hub: Hub, tt: Sim, account: Account) -> None:
    placed = tt.order()
    wrong_total = placed | {"payment": placed["payment"] | {"total_amount": "999.99"}}
    no_currency = placed | {"id": "576600000000999999", "payment": {k: v for k, v in placed["payment"].items()
                                                                     if k != "currency"}}
    bad_time = placed | {"id": "576600000000999998", "update_time": "yesterday"}
    for n, payload in enumerate((wrong_total, no_currency, bad_time)):
        insert_entries(hub.db, [InboxEntry(shop_id=account.id, source="poll", topic="tiktok/order",
                                           identity=f"broken-{n}", payload=orjson.dumps(payload).decode())])
    drain(hub)
    with hub.db.read() as conn:
        entries = error_log.list_entries(conn, error_log.ErrorFilter(status="open"))
    fields = sorted(e._mapping["field"] for e in entries)
    assert fields == ["payment.currency", "payment.total_amount", "update_time"]
    named = next(e._mapping["error"] for e in entries if e._mapping["field"] == "payment.total_amount")
    assert named.startswith(f"tiktok/order TikTok order {placed['id']} (AWAITING_SHIPMENT): payment.total_amount")
    assert _stored(hub, placed["id"]) is None


def test_the_watermark_moves_only_after_every_page_is_stored(hub: Hub, tt: Sim, account: Account) -> None:
    placed = [tt.order() for _ in range(3)]
    tt.fail(operation="getOrderList", outcome="error", status=503, times=20, after=1)
    with pytest.raises(TikTokUnavailable, match=f"TikTok account {ACCOUNT}: getOrderList failed at TikTok"):
        import_orders(hub, account, {}, client=fast_client(account, hub, max_attempts=2), page_size=1)
    with hub.db.read() as conn:
        assert job_store.time_watermark(conn, IMPORT_JOB, account.id, WATERMARK) is None
        assert conn.execute(select(inbox.c.id).where(inbox.c.shop_id == account.id)).all() != []  # page one kept
    tt.control("DELETE", "/failures")
    stats = import_orders(hub, account, {}, client=fast_client(account, hub), page_size=1)
    assert stats["pages"] == 3 and stats["stored"] == 2 and stats["duplicates"] == 1
    with hub.db.read() as conn:
        mark = job_store.time_watermark(conn, IMPORT_JOB, account.id, WATERMARK)
    assert mark is not None and int(mark.timestamp()) == max(o["update_time"] for o in placed)


def test_refused_credentials_name_the_account_and_operation_and_no_secret(hub: Hub, tt: Sim) -> None:
    with pytest.raises(TikTokAuthError, match=f"TikTok account {ACCOUNT}: the access token has characters") as bad:
        fast_client(add_account(hub, tt, access_token="tökenn-🦋"), hub)
    assert "tökenn" not in str(bad.value)
    account = add_account(hub, tt, access_token="not-the-token")
    with pytest.raises(TikTokAuthError) as caught:
        _poll(hub, account)
    message = str(caught.value)
    assert f"TikTok account {ACCOUNT}: getOrderList was refused" in message and "105001" in message
    for secret in account.credentials.values():
        assert secret not in message
    assert len(tt.requests("getOrderList")) == 1  # no retry helps refused credentials


def test_5xx_timeouts_and_429_are_tried_again_then_named(hub: Hub, tt: Sim, account: Account) -> None:
    tt.order()
    tt.fail(operation="getOrderList", outcome="error", status=502, times=1)
    assert _poll(hub, account)["stored"] == 1  # one 502, then the retry is answered
    tt.fail(operation="getOrderList", outcome="timeout", seconds=1.0, times=1)
    with pytest.raises(TikTokUnavailable, match=f"TikTok account {ACCOUNT}: getOrderList timed out"):
        import_orders(hub, account, {}, client=fast_client(account, hub, timeout=0.3, max_attempts=1))
    tt.control("POST", "/rate_limits", {"operation": "getOrderList", "qps": 1})
    client = fast_client(account, hub, max_attempts=1)
    import_orders(hub, account, {}, client=client)
    with pytest.raises(TikTokUnavailable, match="getOrderList was throttled") as caught:
        import_orders(hub, account, {}, client=client)
    assert caught.value.status == 429 and caught.value.retry_after is None
    with hub.db.read() as conn:  # every process now waits before asking again
        bucket = conn.execute(select(rate_buckets).where(
            rate_buckets.c.name == f"tiktok:{account.id}:getOrderList")).one()
    assert bucket.paused_until is not None
    assert THROTTLED_PAUSE_SECONDS > 0


def test_requests_are_signed_as_the_published_client_signs_them() -> None:
    query = [("app_key", "6orderhubsim"), ("timestamp", "1796638495"), ("shop_cipher", "ROW_x"),
             ("page_size", "50"), ("access_token", "left-out")]
    body = orjson.dumps({"update_time_ge": 1796638000, "note": "Zoë 🦋"})
    assert request_signature("s3cret", "/order/202309/orders/search", query, body) == Signer.sign(
        path="/order/202309/orders/search", query=query, content_type="application/json", body=body,
        app_secret="s3cret")


def test_the_jobs_run_through_the_job_manager_for_the_account_named(hub: Hub, tt: Sim, account: Account) -> None:
    placed = tt.order()
    _run_id, stats = run_job(hub, IMPORT_JOB, None, {"account": ACCOUNT})
    assert (stats["read"], stats["processed"], stats["failed_accounts"]) == (1, 1, {})
    drain(hub)
    assert _stored(hub, placed["id"]) is not None
    with pytest.raises(JobFailed, match="no TikTok account nobody"):
        run_job(hub, IMPORT_JOB, None, {"account": "nobody"})
    _run_id, stats = run_job(hub, FETCH_JOB, None, {})
    assert stats["accounts"][0]["notified"] == 0
