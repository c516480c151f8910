"""Reading Shopify's customer webhooks as orderhub's news of a customer (domain/customers.py CustomerUpdate).

The bodies, as Shopify's samples show them (https://shopify.dev/docs/api/admin-rest/2026-01/resources/webhook, the
fixtures in tests/fixtures/shopify/customers/ say where each came from):

- ``customers/create``, ``customers/update``: the REST Customer. Before API version 2025-01 it carries
  ``email_marketing_consent {state, opt_in_level, consent_updated_at}`` and ``sms_marketing_consent {...,
  consent_collected_from}`` (older still: ``accepts_marketing``, ``accepts_marketing_updated_at``,
  ``marketing_opt_in_level``); from 2025-01 neither, the consent having topics of its own
  (https://shopify.dev/changelog/new-customer-s-webhook-and-changes-to-existing-customer-s-webhooks-payload):
- ``customers_email_marketing_consent/update``: ``{customer_id, email_address, email_marketing_consent}``;
- ``customers_marketing_consent/update`` (SMS): ``{id, phone, sms_marketing_consent}``;
- ``customers/delete``: ``{id, tax_exemptions, admin_graphql_api_id}``.

States map to orderhub's: subscribed -> granted, pending -> pending, unsubscribed -> withdrawn, not_subscribed ->
not_given; redacted, invalid and a null state record nothing. A ``not_subscribed`` Shopify never dated is how every
new customer starts, not a choice the person made: it records nothing either, so it can never outweigh a consent
the person gave elsewhere. A consent applies on every channel (scope ``*``), at the time Shopify says it changed
(``consent_updated_at``), else at the customer's ``updated_at`` (else when the webhook was sent).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from orderhub.adapters.fields import Fields
from orderhub.domain.customers import ConsentChange, CustomerUpdate
from orderhub.domain.errors import InvalidRecord
from orderhub.domain.model import Customer

SOURCE = "shopify"
EMAIL_TOPIC = "customers_email_marketing_consent/update"
SMS_TOPIC = "customers_marketing_consent/update"
CUSTOMER_TOPICS = frozenset({"customers/create", "customers/update", "customers/delete", EMAIL_TOPIC, SMS_TOPIC})

STATES = {"subscribed": "granted", "pending": "pending", "unsubscribed": "withdrawn", "not_subscribed": "not_given"}
NO_CHANGE = frozenset({"redacted", "invalid"})
OPT_IN_LEVELS = frozenset({"single_opt_in", "confirmed_opt_in", "unknown"})


def _consent(f: Fields | None, purpose: str, fallback: datetime) -> ConsentChange | None:
    """One consent object as a change, or None when it records nothing."""
    if f is None:
        return None
    raw = f.str("state", max_len=40)
    state = (raw or "").strip().lower()
    if not state or state in NO_CHANGE:
        return None
    if state not in STATES:
        raise InvalidRecord(f.path_to("state"), f"unknown marketing consent state {raw!r}: one of "
                                                f"{', '.join(sorted(STATES | dict.fromkeys(NO_CHANGE)))}")
    at = f.time("consent_updated_at")
    if at is None and state == "not_subscribed":
        return None  # Shopify's default for a customer never asked
    level = (f.str("opt_in_level", max_len=40) or "").strip().lower() or None
    if level is not None and level not in OPT_IN_LEVELS:
        raise InvalidRecord(f.path_to("opt_in_level"), f"unknown opt-in level {level!r}: one of "
                                                       f"{', '.join(sorted(OPT_IN_LEVELS))}")
    return ConsentChange(purpose, STATES[state], at or fallback, SOURCE, opt_in_level=level)


def _accepts_marketing(f: Fields, fallback: datetime) -> ConsentChange | None:
    """Versions before email_marketing_consent: ``accepts_marketing`` true or false."""
    if f.data.get("accepts_marketing") is None:
        return None
    accepts = f.bool("accepts_marketing", False)
    at = f.time("accepts_marketing_updated_at")
    if not accepts and at is None:
        return None
    level = (f.str("marketing_opt_in_level", max_len=40) or "").strip().lower() or None
    return ConsentChange("email_marketing", "granted" if accepts else "not_given", at or fallback, SOURCE,
                         opt_in_level=level if level in OPT_IN_LEVELS else None)


def _person(f: Fields, key: str = "id", *, email: str = "email") -> Customer:
    return Customer(shopify_id=f.id(key) or "", email=f.str(email, max_len=320), first_name=f.str("first_name"),
                    last_name=f.str("last_name"), phone=f.str("phone", max_len=64))


def _region(f: Fields) -> str | None:
    address = f.obj("default_address")
    code = None if address is None else address.str("country_code", max_len=2)
    return code.upper() if code else None


def customer(payload: Any, notified_at: datetime) -> CustomerUpdate:
    """customers/create, customers/update: the customer and whatever consent the body carries."""
    f = Fields(payload)
    updated_at = f.time("updated_at") or f.time("created_at") or notified_at
    consents = [_consent(f.obj("email_marketing_consent"), "email_marketing", updated_at),
                _consent(f.obj("sms_marketing_consent"), "sms_marketing", updated_at)]
    if "email_marketing_consent" not in f.data:
        consents.append(_accepts_marketing(f, updated_at))
    return CustomerUpdate(_person(f), updated_at, region=_region(f), consents=tuple(c for c in consents if c))


def customer_deletion(payload: Any, notified_at: datetime) -> CustomerUpdate:
    """customers/delete: the customer is gone from the shop (its body has no time: the webhook's is taken)."""
    f = Fields(payload)
    return CustomerUpdate(Customer(shopify_id=f.id() or ""), notified_at, deleted=True)


def email_consent(payload: Any, notified_at: datetime) -> CustomerUpdate:
    """customers_email_marketing_consent/update."""
    f = Fields(payload)
    change = _consent(f.obj("email_marketing_consent", required=True), "email_marketing", notified_at)
    person = Customer(shopify_id=f.id("customer_id") or "", email=f.str("email_address", max_len=320) or None)
    return CustomerUpdate(person, notified_at, consents=(change,) if change else (), partial=True)


def sms_consent(payload: Any, notified_at: datetime) -> CustomerUpdate:
    """customers_marketing_consent/update (SMS)."""
    f = Fields(payload)
    change = _consent(f.obj("sms_marketing_consent", required=True), "sms_marketing", notified_at)
    person = Customer(shopify_id=f.id() or "", phone=f.str("phone", max_len=64) or None)
    return CustomerUpdate(person, notified_at, consents=(change,) if change else (), partial=True)


READERS = {"customers/create": customer, "customers/update": customer, "customers/delete": customer_deletion,
           EMAIL_TOPIC: email_consent, SMS_TOPIC: sms_consent}


def describe(topic: str, payload: Any) -> str | None:
    """``customers/update customer 706405506930370084``: the record as a person finds it in Shopify admin."""
    if topic not in CUSTOMER_TOPICS or not isinstance(payload, dict):
        return None
    ref = payload.get("customer_id") if topic == EMAIL_TOPIC else payload.get("id")
    return f"{topic} customer {str(ref)[:30]}"
