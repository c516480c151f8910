"""Shopify as a channel: every topic its intake stores has a reading, and each reading is canonical."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from orderhub.adapters.shopify.channel import TRANSLATOR
from orderhub.adapters.shopify.webhooks import SUPPORTED_TOPICS
from orderhub.domain.channels import UnknownTopic
from orderhub.domain.errors import InvalidRecord
from orderhub.domain.model import JobSignal, ProductDeletion

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("topic", sorted(SUPPORTED_TOPICS))
def test_every_topic_the_intake_stores_has_a_reading(topic: str) -> None:
    try:
        TRANSLATOR.translate(topic, {}, NOW)
    except InvalidRecord:
        pass  # an empty body is not a valid one; what counts is that the topic is read, not refused as unknown


def test_a_topic_orderhub_does_not_read_is_named() -> None:
    with pytest.raises(UnknownTopic, match="'carts/create'"):
        TRANSLATOR.translate("carts/create", {}, NOW)


def test_a_finished_bulk_operation_is_a_signal_for_the_job_that_waits() -> None:
    gid = "gid://shopify/BulkOperation/720918"
    signal = TRANSLATOR.translate("bulk_operations/finish", {"admin_graphql_api_id": gid, "status": "completed",
                                                             "error_code": None, "completed_at": "2026-12-07"}, NOW)
    assert signal == JobSignal("bulk_operations/finish", gid, {"status": "completed", "error_code": None,
                                                                "completed_at": "2026-12-07"})
    with pytest.raises(InvalidRecord) as refused:
        TRANSLATOR.translate("bulk_operations/finish", {"admin_graphql_api_id": "gid://shopify/Order/1"}, NOW)
    assert refused.value.field == "admin_graphql_api_id"


def test_a_deletion_takes_the_notification_time() -> None:
    assert TRANSLATOR.translate("products/delete", {"id": 788032119674292922}, NOW) == ProductDeletion(
        shopify_id="788032119674292922", deleted_at=NOW)


def test_orders_are_described_by_name_and_id() -> None:
    described = TRANSLATOR.describe("orders/create", {"id": 9, "name": "#1001"})
    assert described == "orders/create order #1001 (Shopify id 9)"
    assert TRANSLATOR.describe("products/update", {"id": 9}) is None
