"""Operations about a person (consent, erase) go through the account kind's customer channel, whatever the kind's
order operations are; a channel that is down gets them again later, and one the sender cannot make a notice of
waits in the error log naming the customer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from orderhub.adapters import channels
from orderhub.adapters.store import channel_operations, error_log, shops
from orderhub.adapters.store.schema import channel_operations as operations
from orderhub.bootstrap import Hub
from orderhub.domain.channels import ChannelUnavailable, ConsentNotice, ErasureNotice
from orderhub.services.channel_ops import send_once

WHEN = datetime(2026, 12, 1, 8, 15, tzinfo=UTC)


class FakeCustomers:
    def __init__(self) -> None:
        self.told: list[ConsentNotice | ErasureNotice] = []
        self.down = False

    def update_consent(self, notice: ConsentNotice) -> None:
        if self.down:
            raise ChannelUnavailable("Shopify answered 503 8 times")
        self.told.append(notice)

    def request_erasure(self, notice: ErasureNotice) -> None:
        self.told.append(notice)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeCustomers]:
    made = FakeCustomers()
    real = channels.customer_channel
    monkeypatch.setattr(channels, "customer_channel",
                        lambda kind: (lambda account, hub: made) if kind == "shopify" else real(kind))
    yield made


def _shop(hub: Hub) -> int:
    with hub.db.write() as conn:
        return shops.add(conn, "kunden.myshopify.com", "secret", access_token="shpat_x").id


def _ops(hub: Hub) -> list[Any]:
    with hub.db.read() as conn:
        return conn.execute(select(operations).order_by(operations.c.id)).all()


def test_consent_and_erasure_reach_the_customer_channel_though_shopify_takes_only_refunds_as_order_operations(
        hub: Hub, fake: FakeCustomers) -> None:
    assert "consent" not in channels.order_operations("shopify")
    account = _shop(hub)
    with hub.db.write() as conn:
        channel_operations.enqueue(conn, account, None, "consent", "consent:1:email_marketing:5", {
            "customer_ref": "7001", "purpose": "email_marketing", "state": "withdrawn",
            "occurred_at": WHEN.isoformat(), "opt_in_level": None}, customer_id=None)
        channel_operations.enqueue(conn, account, None, "erase", "erase:1", {"customer_ref": "7001"})
    assert send_once(hub).done == 2
    assert fake.told == [ConsentNotice("7001", "email_marketing", "withdrawn", WHEN, None,
                                       "consent:1:email_marketing:5"), ErasureNotice("7001", "erase:1")]
    assert [op.status for op in _ops(hub)] == ["done", "done"]


def test_a_channel_that_is_down_gets_it_again_and_a_payload_without_its_fields_waits_for_a_person(
        hub: Hub, fake: FakeCustomers) -> None:
    account = _shop(hub)
    fake.down = True
    with hub.db.write() as conn:
        channel_operations.enqueue(conn, account, None, "consent", "consent:1:sms_marketing:9", {
            "customer_ref": "7001", "purpose": "sms_marketing", "state": "granted", "occurred_at": WHEN.isoformat()})
        channel_operations.enqueue(conn, account, None, "consent", "consent:2:sms_marketing:9",
                                   {"customer_ref": "7002", "purpose": "sms_marketing"})
    report = send_once(hub)
    assert (report.done, report.later) == (0, 1)
    [refused] = report.refused
    assert refused.startswith("shopify account kunden.myshopify.com: sms_marketing consent of customer 7002: "
                              "its payload lacks what the channel needs (state)")
    later, parked = _ops(hub)
    assert (later.status, later.attempts, parked.status) == ("pending", 1, "failed")
    with hub.db.read() as conn:
        [entry] = error_log.list_entries(conn, error_log.ErrorFilter())
    assert (entry.topic, entry.kind) == ("shopify/consent", "channel_refused") and "customer 7002" in entry.error
