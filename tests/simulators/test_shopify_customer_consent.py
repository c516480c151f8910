"""orderhub's Shopify customer channel (adapters/shopify/customer_consent.py) against the simulator: consent set with
Shopify's mutations, orderhub's ``not_given`` only ever stopping marketing, erasure requested, and Shopify's refusals
(for a person) told apart from its outages (tried again later)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from orderhub.adapters.shopify.customer_consent import ShopifyCustomers
from orderhub.adapters.shopify.graphql import AdminClient
from orderhub.domain.channels import ChannelRefused, ChannelUnavailable, ConsentNotice, ErasureNotice
from tests.simulators.conftest import API_VERSION, SHOP_A, TOKENS, SimClient

WHEN = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def channel(sim_client: SimClient, **options: object) -> ShopifyCustomers:
    endpoint = f"{str(sim_client.http.base_url).rstrip('/')}/shops/{SHOP_A}/admin/api/{API_VERSION}/graphql.json"
    return ShopifyCustomers(AdminClient(endpoint, TOKENS[SHOP_A], sleep=lambda _s: None, **options), SHOP_A)


def customer(sim_client: SimClient, **consent: object) -> dict[str, object]:
    body = {"shop": SHOP_A, "email": "anna@example.de", "phone": "+4915123456789", **consent}
    return dict(sim_client.control("POST", "/customers", body, expect=201)["customer"])


def consent_of(sim_client: SimClient, customer_id: object, channel_name: str = "email") -> dict[str, object]:
    found = sim_client.control("GET", f"/customers/{customer_id}?shop={SHOP_A}")["customer"]
    return dict(found[f"{channel_name}_marketing_consent"])


def test_consent_is_set_with_its_time_and_level(sim_client: SimClient) -> None:
    anna = customer(sim_client)
    shop = channel(sim_client)
    shop.update_consent(ConsentNotice(str(anna["id"]), "email_marketing", "granted", WHEN, "confirmed_opt_in"))
    assert consent_of(sim_client, anna["id"]) == {"state": "subscribed", "opt_in_level": "confirmed_opt_in",
                                                  "consent_updated_at": "2026-12-01T07:00:00-05:00"}
    shop.update_consent(ConsentNotice(str(anna["id"]), "sms_marketing", "withdrawn", WHEN))
    assert consent_of(sim_client, anna["id"], "sms")["state"] == "unsubscribed"
    shop.update_consent(ConsentNotice(str(anna["id"]), "email_marketing", "pending", WHEN))
    assert consent_of(sim_client, anna["id"])["state"] == "pending"


def test_not_given_stops_marketing_and_otherwise_leaves_shopify_alone(sim_client: SimClient) -> None:
    subscribed = customer(sim_client, email_marketing_consent={"state": "subscribed"})
    never_asked = customer(sim_client, email="ben@example.de", phone=None)
    shop = channel(sim_client)
    shop.update_consent(ConsentNotice(str(subscribed["id"]), "email_marketing", "not_given", WHEN))
    assert consent_of(sim_client, subscribed["id"])["state"] == "unsubscribed"
    before = consent_of(sim_client, never_asked["id"])
    shop.update_consent(ConsentNotice(str(never_asked["id"]), "email_marketing", "not_given", WHEN))
    assert consent_of(sim_client, never_asked["id"]) == before == {
        "state": "not_subscribed", "opt_in_level": "single_opt_in", "consent_updated_at": None}


def test_refusals_name_the_customer_and_shopifys_error(sim_client: SimClient) -> None:
    no_phone = customer(sim_client, phone=None)
    shop = channel(sim_client)
    with pytest.raises(ChannelRefused) as refused:
        shop.update_consent(ConsentNotice(str(no_phone["id"]), "sms_marketing", "granted", WHEN))
    assert str(no_phone["id"]) in str(refused.value) and "phone number" in str(refused.value)
    assert SHOP_A in str(refused.value)
    with pytest.raises(ChannelRefused, match="customer 4242"):
        shop.update_consent(ConsentNotice("4242", "email_marketing", "withdrawn", WHEN))
    with pytest.raises(ChannelRefused, match="customer 4242"):
        shop.update_consent(ConsentNotice("4242", "email_marketing", "not_given", WHEN))
    with pytest.raises(ChannelRefused, match="customer 4242.*DOES_NOT_EXIST"):
        shop.request_erasure(ErasureNotice("4242", "erase:7"))


def test_erasure_is_requested_once_and_a_repeat_is_harmless(sim_client: SimClient) -> None:
    anna = customer(sim_client)
    shop = channel(sim_client)
    shop.request_erasure(ErasureNotice(str(anna["id"]), "erase:7"))
    first = sim_client.control("GET", f"/customers/{anna['id']}?shop={SHOP_A}")["customer"]["data_erasure_requested_at"]
    shop.request_erasure(ErasureNotice(str(anna["id"]), "erase:7"))
    again = sim_client.control("GET", f"/customers/{anna['id']}?shop={SHOP_A}")["customer"]["data_erasure_requested_at"]
    assert first is not None and again == first


def test_outages_and_throttling_are_tried_again_later(sim_client: SimClient) -> None:
    anna = customer(sim_client)
    notice = ConsentNotice(str(anna["id"]), "email_marketing", "withdrawn", WHEN)
    sim_client.control("POST", "/config", {"fail_graphql_rate": 1.0})
    with pytest.raises(ChannelUnavailable):
        channel(sim_client, max_attempts=1).update_consent(notice)
    sim_client.control("POST", "/config", {"fail_graphql_rate": 0.0, "throttle": {
        "shop": SHOP_A, "maximum_available": 1000, "restore_rate": 0.001, "currently_available": 0}})
    with pytest.raises(ChannelUnavailable, match="throttled"):
        channel(sim_client, max_attempts=1).request_erasure(ErasureNotice(str(anna["id"]), "erase:7"))
    assert consent_of(sim_client, anna["id"])["state"] == "not_subscribed"
