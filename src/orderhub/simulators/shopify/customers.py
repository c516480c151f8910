"""Customers of the simulated shops, with their e-mail and SMS marketing consent, and the webhooks their changes send.

A customer is kept in the shape of REST's Customer resource, as Shopify's own samples show it
(https://shopify.dev/docs/api/admin-rest/2024-01/resources/customer; the records in Shopify's shopify-api-js tests,
packages/shopify-api/rest/admin/__tests__/2024-01/customer.test.ts): ``email_marketing_consent {state,
opt_in_level, consent_updated_at}`` and ``sms_marketing_consent {state, opt_in_level, consent_updated_at,
consent_collected_from}``, states and levels in lower case, times in the shop's zone.

Webhooks, as the topics' samples on https://shopify.dev/docs/api/admin-rest/2026-01/resources/webhook show them:

- ``customers/create`` and ``customers/update`` carry the customer; from API version 2025-01 without ``tags``,
  ``email_marketing_consent`` and ``sms_marketing_consent`` (https://shopify.dev/changelog/new-customer-s-webhook-
  and-changes-to-existing-customer-s-webhooks-payload), which have topics of their own:
- ``customers_email_marketing_consent/update``: ``{customer_id, email_address, email_marketing_consent}``;
- ``customers_marketing_consent/update`` (SMS): ``{id, phone, sms_marketing_consent}``, whose
  ``consent_collected_from`` is lower case there;
- ``customers/delete``: ``{id, tax_exemptions, admin_graphql_api_id}``.

A consent change sends its consent topic and ``customers/update``. Customers that checkout makes with orders are
kept here too (:func:`register`), without webhooks of their own.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from orderhub.adapters.shopify.api_versions import newer
from orderhub.simulators.shopify.clock import rest_time
from orderhub.simulators.shopify.store import Shop, Store, UnknownCustomer, gid

CREATE, UPDATE, DELETE = "customers/create", "customers/update", "customers/delete"
EMAIL_TOPIC = "customers_email_marketing_consent/update"
SMS_TOPIC = "customers_marketing_consent/update"
CONSENT_OUT_OF_CUSTOMER = "2025-01"  # from this version customer webhooks carry no consent and no tags

EMAIL_STATES = ("not_subscribed", "pending", "subscribed", "unsubscribed", "redacted", "invalid")
SMS_STATES = ("not_subscribed", "pending", "subscribed", "unsubscribed", "redacted")
OPT_IN_LEVELS = ("single_opt_in", "confirmed_opt_in", "unknown")
_DETAILS = ("email", "first_name", "last_name", "phone", "note", "tags")


class CustomerError(ValueError):
    """A control-API request about customers that cannot be done as asked."""


class ByVersion(dict[str, Any]):
    """A webhook body whose shape depends on the subscription's API version (see Simulator.emit)."""

    def __init__(self, newest: dict[str, Any], older: dict[str, Any], since: str) -> None:
        super().__init__(newest)
        self.older, self.since = older, since

    def for_version(self, version: str) -> dict[str, Any]:
        return dict(self) if newer(version, self.since) else self.older


def _consent(state: str | None = "not_subscribed", level: str | None = "single_opt_in", at: str | None = None
             ) -> dict[str, Any]:
    # a new customer's consent as Shopify's samples show it: not subscribed, single opt-in, never updated
    return {"state": state, "opt_in_level": level, "consent_updated_at": at}


def _address(customer_id: int, address_id: int, person: dict[str, Any], address: dict[str, Any]) -> dict[str, Any]:
    first, last = address.get("first_name", person.get("first_name")), address.get("last_name", person.get("last_name"))
    return {"id": address_id, "customer_id": customer_id, "first_name": first, "last_name": last,
            "company": address.get("company"), "address1": address.get("address1"), "address2": address.get("address2"),
            "city": address.get("city"), "province": address.get("province"), "country": address.get("country"),
            "zip": address.get("zip"), "phone": address.get("phone"),
            "name": " ".join(filter(None, (first, last))), "province_code": address.get("province_code"),
            "country_code": address.get("country_code"), "country_name": address.get("country"), "default": True}


def new_record(store: Store, shop: Shop, params: dict[str, Any]) -> dict[str, Any]:
    """A customer in REST shape from control-API ``params``: email, phone, first_name, last_name, note, tags,
    address {address1, city, zip, country, country_code, ...}, email_marketing_consent, sms_marketing_consent."""
    email, phone = params.get("email"), params.get("phone")
    if not email and not phone and not (params.get("first_name") or params.get("last_name")):
        raise CustomerError("a customer needs an email, a phone or a name")  # Shopify's customerCreate rule
    customer_id = store.next_id("customer")
    stamp = rest_time(store.clock.now(), shop.tz)
    address = params.get("address")
    if address is not None and not isinstance(address, dict):
        raise CustomerError('"address" must be an object, e.g. {"address1": "...", "country_code": "DE"}')
    default = None if address is None else _address(customer_id, store.next_id("customer"), params, address)
    record: dict[str, Any] = {
        "id": customer_id, "email": email, "created_at": stamp, "updated_at": stamp,
        "first_name": params.get("first_name"), "last_name": params.get("last_name"), "state": "disabled",
        "note": params.get("note"), "verified_email": bool(email), "multipass_identifier": None, "tax_exempt": False,
        "tags": params.get("tags") or "", "currency": shop.currency, "phone": phone,
        "addresses": [] if default is None else [default], "tax_exemptions": [],
        "email_marketing_consent": None if not email else _consent(),
        "sms_marketing_consent": None if not phone else dict(_consent(), consent_collected_from="OTHER"),
        "admin_graphql_api_id": gid("Customer", customer_id), "default_address": default}
    for channel in ("email", "sms"):
        given = params.get(f"{channel}_marketing_consent")
        if given is not None:
            set_consent(store, shop, record, channel, given, touch=False)
    return record


def register(store: Store, shop: Shop, customer: dict[str, Any] | None) -> None:
    """Keep the customer checkout made for an order (the order's copy of it), unless the shop knows it already."""
    if customer is None or customer.get("id") is None:
        return
    with store.lock:
        if customer["id"] in shop.customers:
            return
        record = copy.deepcopy(customer)
        record.setdefault("addresses", [])
        record.setdefault("tax_exemptions", [])
        record.setdefault("default_address", None)
        record.setdefault("email_marketing_consent", _consent() if record.get("email") else None)
        record.setdefault("sms_marketing_consent",
                          dict(_consent(), consent_collected_from="OTHER") if record.get("phone") else None)
        shop.customers[customer["id"]] = record


def find(store: Store, shop: Shop, customer_id: Any) -> dict[str, Any]:
    """The live record (mutate only under the store's lock). Raises UnknownCustomer naming it."""
    try:
        number = int(customer_id)
    except (TypeError, ValueError):
        raise CustomerError(f"not a customer id: {str(customer_id)[:40]!r}") from None
    with store.lock:
        found = shop.customers.get(number)
    if found is None:
        raise UnknownCustomer(f"no customer {number} in shop {shop.domain}")
    return found


def _time(value: Any, shop: Shop, field: str) -> str:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise CustomerError(f"{field} {str(value)[:40]!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise CustomerError(f"{field} {str(value)[:40]!r} has no UTC offset")
    return rest_time(moment.astimezone(UTC), shop.tz)


def set_consent(store: Store, shop: Shop, record: dict[str, Any], channel: str, given: dict[str, Any], *,
                touch: bool = True, collected_from: str = "OTHER") -> bool:
    """Set the customer's e-mail (``channel`` email) or SMS consent from ``{state, opt_in_level,
    consent_updated_at}`` (REST spelling, any case); returns whether anything changed. The caller holds the lock."""
    if not isinstance(given, dict):
        raise CustomerError(f'"{channel}_marketing_consent" must be an object, e.g. {{"state": "subscribed"}}')
    states = EMAIL_STATES if channel == "email" else SMS_STATES
    state = str(given.get("state") or "").lower()
    if state not in states:
        raise CustomerError(f"{channel} marketing state {state or None!r} is none of {', '.join(states)}")
    level = given.get("opt_in_level")
    level = None if level is None else str(level).lower()
    if level is None and channel == "sms":
        level = "single_opt_in"  # SMS consent always has a level (CustomerSmsMarketingConsentState)
    if level is not None and level not in OPT_IN_LEVELS:
        raise CustomerError(f"opt_in_level {level!r} is none of {', '.join(OPT_IN_LEVELS)}")
    if channel == "email" and not record.get("email"):
        raise CustomerError(f"customer {record['id']} has no email address to consent by")
    if channel == "sms" and not record.get("phone"):
        raise CustomerError(f"customer {record['id']} has no phone number to consent by")
    at = given.get("consent_updated_at")
    stamp = _time(at, shop, "consent_updated_at") if at else rest_time(store.clock.now(), shop.tz)
    new = _consent(state, level, stamp)
    if channel == "sms":
        new["consent_collected_from"] = collected_from
    key = f"{channel}_marketing_consent"
    if record.get(key) == new:
        return False
    record[key] = new
    if touch:
        record["updated_at"] = rest_time(store.clock.after(record.get("updated_at")), shop.tz)
    return True


def change_details(store: Store, shop: Shop, record: dict[str, Any], params: dict[str, Any]) -> bool:
    """Overwrite the details given (email, first_name, last_name, phone, note, tags); whether any changed."""
    unknown = sorted(set(params) - set(_DETAILS) - {"shop"})
    if unknown:
        raise CustomerError(f"a customer update takes {', '.join(_DETAILS)}, not {', '.join(unknown)}")
    different = {k: v for k, v in params.items() if k in _DETAILS and record.get(k) != v}
    if not different:
        return False
    record.update(different)
    if "email" in different:
        record["email_marketing_consent"] = _consent() if record.get("email") else None
    if "phone" in different:
        record["sms_marketing_consent"] = (dict(_consent(), consent_collected_from="OTHER") if record.get("phone")
                                           else None)
    record["updated_at"] = rest_time(store.clock.after(record.get("updated_at")), shop.tz)
    return True


# -- webhook bodies ------------------------------------------------------------------------------------------------

def customer_body(record: dict[str, Any]) -> ByVersion:
    """customers/create and customers/update: the customer; from 2025-01 without consent and tags."""
    older = copy.deepcopy(record)
    newest = {k: v for k, v in older.items()
              if k not in ("email_marketing_consent", "sms_marketing_consent", "tags")}
    return ByVersion(newest, older, CONSENT_OUT_OF_CUSTOMER)


def email_consent_body(record: dict[str, Any]) -> dict[str, Any]:
    return {"customer_id": record["id"], "email_address": record.get("email"),
            "email_marketing_consent": copy.deepcopy(record.get("email_marketing_consent") or _consent(None, None))}


def sms_consent_body(record: dict[str, Any]) -> dict[str, Any]:
    consent = copy.deepcopy(record.get("sms_marketing_consent")
                            or dict(_consent(None, None), consent_collected_from="OTHER"))
    consent["consent_collected_from"] = str(consent.get("consent_collected_from") or "other").lower()
    return {"id": record["id"], "phone": record.get("phone"), "sms_marketing_consent": consent}


def delete_body(record: dict[str, Any]) -> dict[str, Any]:
    return {"id": record["id"], "tax_exemptions": list(record.get("tax_exemptions") or []),
            "admin_graphql_api_id": record["admin_graphql_api_id"]}


def consent_events(record: dict[str, Any], channel: str) -> list[tuple[str, dict[str, Any]]]:
    """What a consent change sends: its consent topic, then customers/update."""
    body = email_consent_body(record) if channel == "email" else sms_consent_body(record)
    return [(EMAIL_TOPIC if channel == "email" else SMS_TOPIC, body), (UPDATE, customer_body(record))]


def describe(shop: Shop, record: dict[str, Any]) -> dict[str, Any]:
    """The customer for the control API, with the data erasure Shopify was asked for, if any."""
    return {**copy.deepcopy(record), "data_erasure_requested_at": shop.erasure_requests.get(record["id"])}


# -- GraphQL ---------------------------------------------------------------------------------------------------

def _upper(value: Any) -> str | None:
    return None if value is None else str(value).upper()


def customer_node(rest: dict[str, Any]) -> dict[str, Any]:
    """A REST customer (the shop's, or an order's copy) as GraphQL's Customer."""
    from orderhub.simulators.shopify.clock import utc_z

    email, sms = rest.get("email_marketing_consent"), rest.get("sms_marketing_consent")
    return {
        "__typename": "Customer", "id": gid("Customer", rest["id"]), "legacyResourceId": rest["id"],
        "email": rest.get("email"), "firstName": rest.get("first_name"), "lastName": rest.get("last_name"),
        "phone": rest.get("phone"),
        "defaultEmailAddress": None if not rest.get("email") else {"emailAddress": rest["email"]},
        "defaultPhoneNumber": None if not rest.get("phone") else {"phoneNumber": rest["phone"]},
        "displayName": " ".join(filter(None, (rest.get("first_name"), rest.get("last_name"))))
        or rest.get("email") or "",
        "createdAt": utc_z(rest.get("created_at")), "updatedAt": utc_z(rest.get("updated_at")),
        "emailMarketingConsent": None if not email or not email.get("state") else {
            "marketingState": _upper(email["state"]), "marketingOptInLevel": _upper(email.get("opt_in_level")),
            "consentUpdatedAt": utc_z(email.get("consent_updated_at"))},
        "smsMarketingConsent": None if not sms or not sms.get("state") else {
            "marketingState": _upper(sms["state"]),
            "marketingOptInLevel": _upper(sms.get("opt_in_level")) or "SINGLE_OPT_IN",
            "consentUpdatedAt": utc_z(sms.get("consent_updated_at")),
            "consentCollectedFrom": _upper(sms.get("consent_collected_from"))},
    }
