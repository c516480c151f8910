"""The simulator's customers: their webhooks in the shapes of Shopify's samples (tests/fixtures/shopify/customers),
the marketing-consent and data-erasure mutations with Shopify's validation, driven here with Shopify's own Python
library (ShopifyAPI)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import shopify  # ShopifyAPI

from orderhub.simulators.shopify import customers
from tests.simulators.conftest import API_VERSION, SHOP_A, TOKENS, Receiver, SimClient

SAMPLES = Path(__file__).parent.parent / "fixtures" / "shopify" / "customers"
TOPICS = ("CUSTOMERS_CREATE", "CUSTOMERS_UPDATE", "CUSTOMERS_DELETE", "CUSTOMERS_EMAIL_MARKETING_CONSENT_UPDATE",
          "CUSTOMERS_MARKETING_CONSENT_UPDATE")
ANNA = {"shop": SHOP_A, "email": "Anna.Schmidt@example.de", "phone": "+4915123456789", "first_name": "Anna",
        "last_name": "Schmidt 🌷", "address": {"address1": "Friedrichstraße 43", "city": "Berlin", "zip": "10117",
                                              "country": "Germany", "country_code": "DE"},
        "email_marketing_consent": {"state": "subscribed", "opt_in_level": "confirmed_opt_in",
                                    "consent_updated_at": "2026-11-02T10:00:00+01:00"}}


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


def shape(value: Any) -> Any:
    """The keys of a JSON object, nested objects' keys included (values left out)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    return None


def _subscribe_all(sim_client: SimClient, receiver: Receiver) -> None:
    for topic in TOPICS:
        sim_client.subscribe(topic, f"{receiver.url}/hooks")


def test_customer_webhooks_have_the_shapes_of_shopifys_samples(sim_client: SimClient, receiver: Receiver) -> None:
    _subscribe_all(sim_client, receiver)
    anna = sim_client.control("POST", "/customers", ANNA, expect=201)["customer"]
    sim_client.control("POST", f"/customers/{anna['id']}/consent",
                       {"shop": SHOP_A, "channel": "sms", "state": "subscribed"})
    sim_client.control("POST", f"/customers/{anna['id']}/delete", {"shop": SHOP_A})
    sim_client.idle()
    got = receiver.on("/hooks")
    assert all(r.hmac_ok and r.headers["x-shopify-shop-domain"] == SHOP_A for r in got)
    assert sorted(r.topic for r in got) == sorted([  # several senders: in any order, as Shopify allows itself
        "customers/create", "customers_email_marketing_consent/update", "customers_marketing_consent/update",
        "customers_marketing_consent/update", "customers/update", "customers/delete"])
    [created], [email], [updated], [deleted] = ([r.json() for r in got if r.topic == topic] for topic in (
        "customers/create", "customers_email_marketing_consent/update", "customers/update", "customers/delete"))
    [sms] = [b for r in got if r.topic == "customers_marketing_consent/update"
             and (b := r.json())["sms_marketing_consent"]["state"] == "subscribed"]

    newest = sample("customers_create_2026-01.json")
    assert set(created) == set(newest) and set(updated) == set(newest)  # 2025-01 on: no consent, no tags
    assert set(created["default_address"]) == set(newest["default_address"])
    assert created["default_address"]["country_code"] == "DE"
    assert shape(email) == shape(sample("customers_email_marketing_consent_update_2026-01.json"))
    assert email["email_marketing_consent"] == {"state": "subscribed", "opt_in_level": "confirmed_opt_in",
                                                "consent_updated_at": "2026-11-02T04:00:00-05:00"}
    assert shape(sms) == shape(sample("customers_marketing_consent_update_2026-01.json"))
    assert (sms["sms_marketing_consent"]["state"], sms["sms_marketing_consent"]["consent_collected_from"]) == (
        "subscribed", "shopify")
    assert deleted == {"id": anna["id"], "tax_exemptions": [], "admin_graphql_api_id": anna["admin_graphql_api_id"]}
    assert set(deleted) == set(sample("customers_delete_2026-01.json"))


def test_before_2025_01_the_customer_webhook_carries_its_consent_as_shopifys_customer_resource(
        sim_client: SimClient) -> None:
    anna = sim_client.control("POST", "/customers", ANNA, expect=201)["customer"]
    record = sim_client.sim.store.shop(SHOP_A).customers[anna["id"]]
    older = customers.customer_body(record).for_version("2024-10")
    resource = sample("customer_2024-01.json")
    for key in ("tags", "email_marketing_consent", "sms_marketing_consent"):
        assert key in older and key not in customers.customer_body(record).for_version("2025-01")
    assert shape(older["email_marketing_consent"]) == shape(resource["email_marketing_consent"])
    assert shape(older["sms_marketing_consent"]) == shape(resource["sms_marketing_consent"])
    assert older["sms_marketing_consent"]["consent_collected_from"] == "OTHER"  # upper case in the resource


def test_customers_of_orders_are_the_shops_customers(sim_client: SimClient) -> None:
    sim_client.place(6)
    shop = sim_client.sim.store.shop(SHOP_A)
    ordered = {o["customer"]["id"] for o in shop.orders.values() if o.get("customer")}
    assert ordered and ordered <= set(shop.customers)
    [first] = sim_client.graphql("{ customers(first: 1) { nodes { id emailMarketingConsent { marketingState } } } }"
                                 )["customers"]["nodes"]
    assert first["emailMarketingConsent"] == {"marketingState": "NOT_SUBSCRIBED"}


@pytest.fixture
def library(sim_client: SimClient, monkeypatch: pytest.MonkeyPatch) -> Iterator[SimClient]:
    """Shopify's Python library pointed at the simulator's first shop (its default Admin API path)."""
    port = int(str(sim_client.http.base_url).rstrip("/").rsplit(":", 1)[1])
    monkeypatch.setattr(shopify.Session, "protocol", "http")
    monkeypatch.setattr(shopify.Session, "myshopify_domain", "0.0.1")
    monkeypatch.setattr(shopify.Session, "port", port)
    shopify.ApiVersion.define_version(shopify.Release(API_VERSION))
    shopify.ShopifyResource.activate_session(shopify.Session("127", API_VERSION, TOKENS[SHOP_A]))
    yield sim_client
    shopify.ShopifyResource.clear_session()


def _execute(query: str, variables: dict[str, Any]) -> Any:
    answer = json.loads(shopify.GraphQL().execute(query, variables))
    assert "errors" not in answer, answer["errors"]
    return answer["data"]


EMAIL = """mutation Email($input: CustomerEmailMarketingConsentUpdateInput!) {
  customerEmailMarketingConsentUpdate(input: $input) {
    customer { id emailMarketingConsent { marketingState marketingOptInLevel consentUpdatedAt } }
    userErrors { code field message } } }"""
SMS = """mutation Sms($input: CustomerSmsMarketingConsentUpdateInput!) {
  customerSmsMarketingConsentUpdate(input: $input) {
    customer { id smsMarketingConsent { marketingState marketingOptInLevel consentUpdatedAt consentCollectedFrom } }
    userErrors { code field message } } }"""
ERASE = """mutation Erase($id: ID!) {
  customerRequestDataErasure(customerId: $id) { customerId userErrors { code field message } } }"""


def test_shopifys_library_drives_the_consent_and_erasure_mutations(library: SimClient, receiver: Receiver) -> None:
    sim_client = library
    _subscribe_all(sim_client, receiver)
    anna = sim_client.control("POST", "/customers", ANNA, expect=201)["customer"]
    sim_client.idle()
    receiver.reset()
    gid = anna["admin_graphql_api_id"]

    done = _execute(EMAIL, {"input": {"customerId": gid, "emailMarketingConsent": {
        "marketingState": "UNSUBSCRIBED", "consentUpdatedAt": "2026-12-01T12:00:00Z"}}})
    assert done["customerEmailMarketingConsentUpdate"] == {"customer": {"id": gid, "emailMarketingConsent": {
        "marketingState": "UNSUBSCRIBED", "marketingOptInLevel": None, "consentUpdatedAt": "2026-12-01T12:00:00Z"}},
        "userErrors": []}
    read = _execute("query($id: ID!) { customer(id: $id) { emailMarketingConsent { marketingState } } }", {"id": gid})
    assert read["customer"]["emailMarketingConsent"]["marketingState"] == "UNSUBSCRIBED"
    sim_client.idle()
    [email] = receiver.on("/hooks", "customers_email_marketing_consent/update")
    assert email.json()["email_marketing_consent"] == {"state": "unsubscribed", "opt_in_level": None,
                                                       "consent_updated_at": "2026-12-01T07:00:00-05:00"}
    assert len(receiver.on("/hooks", "customers/update")) == 1

    again = _execute(EMAIL, {"input": {"customerId": gid, "emailMarketingConsent": {
        "marketingState": "UNSUBSCRIBED", "consentUpdatedAt": "2026-12-01T12:00:00Z"}}})
    assert again["customerEmailMarketingConsentUpdate"]["userErrors"] == []
    sim_client.idle()
    assert len(receiver.on("/hooks")) == 2  # the state it has already: nothing sent

    sms = _execute(SMS, {"input": {"customerId": gid, "smsMarketingConsent": {
        "marketingState": "SUBSCRIBED", "marketingOptInLevel": "SINGLE_OPT_IN"}}})
    assert sms["customerSmsMarketingConsentUpdate"]["customer"]["smsMarketingConsent"]["marketingState"] == "SUBSCRIBED"

    erased = _execute(ERASE, {"id": gid})["customerRequestDataErasure"]
    assert erased == {"customerId": gid, "userErrors": []}
    assert sim_client.control("GET", f"/customers/{anna['id']}?shop={SHOP_A}")["customer"][
        "data_erasure_requested_at"] is not None


def test_the_mutations_refuse_what_shopify_refuses(library: SimClient) -> None:
    sim_client = library
    nobody = "gid://shopify/Customer/999"
    mail_only = sim_client.control("POST", "/customers", {"shop": SHOP_A, "email": "mo@example.org"},
                                   expect=201)["customer"]["admin_graphql_api_id"]

    def errors(query: str, variables: dict[str, Any], name: str) -> list[dict[str, Any]]:
        return list(_execute(query, variables)[name]["userErrors"])

    [unknown] = errors(EMAIL, {"input": {"customerId": nobody, "emailMarketingConsent": {
        "marketingState": "SUBSCRIBED"}}}, "customerEmailMarketingConsentUpdate")
    assert unknown["field"] == ["input", "customerId"]
    for state in ("NOT_SUBSCRIBED", "REDACTED", "INVALID"):
        [refused] = errors(EMAIL, {"input": {"customerId": mail_only, "emailMarketingConsent": {
            "marketingState": state}}}, "customerEmailMarketingConsentUpdate")
        assert (refused["code"], refused["field"]) == ("INCLUSION", ["input", "emailMarketingConsent",
                                                                     "marketingState"])
    [no_phone] = errors(SMS, {"input": {"customerId": mail_only, "smsMarketingConsent": {
        "marketingState": "SUBSCRIBED"}}}, "customerSmsMarketingConsentUpdate")
    assert "phone number" in no_phone["message"]
    [gone] = errors(ERASE, {"id": nobody}, "customerRequestDataErasure")
    assert gone["code"] == "DOES_NOT_EXIST"


def test_the_control_api_refuses_what_it_cannot_do(sim_client: SimClient) -> None:
    assert "error" in sim_client.control("POST", "/customers", {"shop": SHOP_A}, expect=400)
    assert "no customer" in sim_client.control("POST", "/customers/42/consent", {"shop": SHOP_A, "state": "subscribed"},
                                               expect=404)["error"]
    mo = sim_client.control("POST", "/customers", {"shop": SHOP_A, "email": "mo@example.org"}, expect=201)["customer"]
    assert "phone" in sim_client.control("POST", f"/customers/{mo['id']}/consent",
                                         {"shop": SHOP_A, "channel": "sms", "state": "subscribed"}, expect=400)["error"]
