"""Shopify's customer webhooks read as orderhub's news of a customer, on Shopify's own samples
(tests/fixtures/shopify/customers/README.md says where each came from)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from orderhub.adapters.shopify import webhooks
from orderhub.adapters.shopify.channel import TRANSLATOR
from orderhub.domain.customers import ConsentChange, CustomerUpdate
from orderhub.domain.errors import InvalidRecord
from orderhub.domain.model import Customer

SAMPLES = Path(__file__).parent.parent / "fixtures" / "shopify" / "customers"
NOTIFIED = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


def read(topic: str, payload: Any) -> CustomerUpdate:
    found = TRANSLATOR.translate(topic, payload, NOTIFIED)
    assert isinstance(found, CustomerUpdate)
    return found


def test_a_customer_of_2025_01_and_later_carries_no_consent() -> None:
    news = read("customers/create", sample("customers_create_2026-01.json"))
    assert news.customer == Customer("706405506930370084", "bob@biller.com", "Bob", "Biller", None)
    assert news.updated_at == datetime(2022, 1, 1, 0, 0, tzinfo=UTC)
    assert (news.region, news.consents, news.deleted) == ("CA", (), False)


def test_a_customer_before_2025_01_carries_both_consents_as_changes_with_their_times() -> None:
    news = read("customers/update", sample("customer_2024-01.json"))
    assert news.customer.phone == "+16136120707" and news.region == "US"
    assert news.consents == (
        ConsentChange("email_marketing", "not_given", datetime(2004, 6, 13, 15, 57, 11, tzinfo=UTC), "shopify"),
        ConsentChange("sms_marketing", "not_given", datetime(2024, 1, 2, 14, 17, 48, tzinfo=UTC), "shopify",
                      opt_in_level="single_opt_in"),
    )
    assert all(c.scope == "*" for c in news.consents)


def test_subscribed_is_granted_with_its_opt_in_level() -> None:
    news = read("customers/update", sample("customer_object_subscribed.json"))
    assert [(c.purpose, c.state, c.opt_in_level, c.occurred_at) for c in news.consents] == [
        ("email_marketing", "granted", "confirmed_opt_in", datetime(2022, 4, 1, 15, 22, 6, tzinfo=UTC)),
        ("sms_marketing", "granted", "single_opt_in", datetime(2021, 8, 3, 19, 31, 6, tzinfo=UTC)),
    ]  # accepts_marketing beside email_marketing_consent is the same news told the old way: read once


@pytest.mark.parametrize(("state", "expected"), [
    ("subscribed", "granted"), ("SUBSCRIBED", "granted"), ("pending", "pending"), ("unsubscribed", "withdrawn"),
    ("not_subscribed", "not_given"), ("redacted", None), ("invalid", None), (None, None)])
def test_the_email_consent_topic_maps_shopifys_states(state: str | None, expected: str | None) -> None:
    body = sample("customers_email_marketing_consent_update_2026-01.json")
    body["email_marketing_consent"] |= {"state": state, "consent_updated_at": "2026-12-01T08:00:00-05:00"}
    news = read("customers_email_marketing_consent/update", body)
    assert news.customer.shopify_id == "706405506930370084" and news.customer.email == "bob@biller.com"
    assert [c.state for c in news.consents] == ([expected] if expected else [])
    if expected:
        assert news.consents[0].occurred_at == datetime(2026, 12, 1, 13, 0, tzinfo=UTC)


def test_a_never_dated_not_subscribed_is_shopifys_default_and_records_nothing() -> None:
    news = read("customers_email_marketing_consent/update",
                sample("customers_email_marketing_consent_update_2026-01.json"))
    assert news.consents == ()


def test_a_consent_without_its_own_time_takes_the_customers_then_the_webhooks() -> None:
    body = sample("customers_create_2026-01.json") | {
        "email_marketing_consent": {"state": "subscribed", "opt_in_level": None, "consent_updated_at": None}}
    [change] = read("customers/update", body).consents
    assert change.occurred_at == datetime(2022, 1, 1, 0, 0, tzinfo=UTC)
    sms = {"id": 1, "phone": "+4915123456789",
           "sms_marketing_consent": {"state": "unsubscribed", "opt_in_level": "single_opt_in",
                                     "consent_updated_at": None, "consent_collected_from": "other"}}
    [change] = read("customers_marketing_consent/update", sms).consents
    assert (change.purpose, change.state, change.occurred_at) == ("sms_marketing", "withdrawn", NOTIFIED)


def test_the_sms_topic_sample_with_a_null_state_records_nothing() -> None:
    news = read("customers_marketing_consent/update", sample("customers_marketing_consent_update_2026-01.json"))
    assert news.customer.shopify_id == "706405506930370084" and news.consents == ()


def test_a_consent_webhook_says_only_part_of_the_customer() -> None:
    news = read("customers_email_marketing_consent/update",
                sample("customers_email_marketing_consent_update_2026-01.json"))
    assert news.partial and not read("customers/update", sample("customers_create_2026-01.json")).partial


def test_accepts_marketing_of_old_versions() -> None:
    [change] = read("customers/create", sample("customers_create_accepts_marketing.json")).consents
    assert (change.purpose, change.state, change.occurred_at) == ("email_marketing", "granted", NOTIFIED)
    quiet = sample("customers_create_accepts_marketing.json") | {"accepts_marketing": False}
    assert read("customers/create", quiet).consents == ()


def test_a_deleted_customer() -> None:
    news = read("customers/delete", sample("customers_delete_2026-01.json"))
    assert (news.customer.shopify_id, news.deleted, news.updated_at) == ("706405506930370084", True, NOTIFIED)


@pytest.mark.parametrize(("topic", "body", "field"), [
    ("customers/update", {"id": "bob", "updated_at": "2026-01-01T00:00:00Z"}, "id"),
    ("customers/update", {"id": 1, "updated_at": "yesterday"}, "updated_at"),
    ("customers_email_marketing_consent/update", {"customer_id": 1}, "email_marketing_consent"),
    ("customers_email_marketing_consent/update",
     {"customer_id": 1, "email_marketing_consent": {"state": "maybe"}}, "email_marketing_consent.state"),
    ("customers_marketing_consent/update",
     {"id": 1, "sms_marketing_consent": {"state": "subscribed", "opt_in_level": "double"}},
     "sms_marketing_consent.opt_in_level"),
    ("customers/delete", {"tax_exemptions": []}, "id"),
])
def test_errors_name_the_field(topic: str, body: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRecord) as refused:
        TRANSLATOR.translate(topic, body, NOTIFIED)
    assert refused.value.field == field


def test_record_identities_know_one_version_of_one_customer_whichever_topic_carried_it() -> None:
    created = sample("customers_create_2026-01.json")
    assert (webhooks.identity("customers/create", created, "w1")
            == webhooks.identity("customers/update", created, "w2")
            == "customer:706405506930370084@2022-01-01T00:00:00.000000Z")
    consent = sample("customers_email_marketing_consent_update_2026-01.json")
    consent["email_marketing_consent"] |= {"state": "unsubscribed", "consent_updated_at": "2026-12-01T08:00:00-05:00"}
    assert (webhooks.identity("customers_email_marketing_consent/update", consent, "w3")
            == "email_consent:706405506930370084:unsubscribed@2026-12-01T13:00:00.000000Z")
    undated = sample("customers_marketing_consent_update_2026-01.json")
    assert webhooks.identity("customers_marketing_consent/update", undated, "w4", b"{}").startswith("body:")
    assert all(t in webhooks.SUPPORTED_TOPICS for t in (
        "customers/create", "customers/update", "customers/delete", "customers_email_marketing_consent/update",
        "customers_marketing_consent/update"))


def test_describe_names_the_customer() -> None:
    assert (TRANSLATOR.describe("customers_email_marketing_consent/update", {"customer_id": 42})
            == "customers_email_marketing_consent/update customer 42")
