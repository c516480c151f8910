"""Customers in the Admin GraphQL API: ``customers``, ``customer(id:)`` and the marketing-consent and data-erasure
mutations, as Shopify documents them.

- ``customerEmailMarketingConsentUpdate(input: {customerId, emailMarketingConsent: {marketingState,
  marketingOptInLevel, consentUpdatedAt}})`` answers ``{customer, userErrors {code field message}}``. "The customer
  must have an email address to update their consent"; "only three values are accepted as input: SUBSCRIBED,
  UNSUBSCRIBED, and PENDING. NOT_SUBSCRIBED, REDACTED, and INVALID cannot be set via this mutation"
  (https://shopify.dev/docs/api/admin-graphql/latest/mutations/customerEmailMarketingConsentUpdate). Error codes:
  INCLUSION, INTERNAL_ERROR, INVALID, MISSING_ARGUMENT (CustomerEmailMarketingConsentUpdateUserErrorCode).
- ``customerSmsMarketingConsentUpdate(input: {customerId, smsMarketingConsent: {marketingState, marketingOptInLevel,
  consentUpdatedAt, sourceLocationId}})``: "the customer must have a phone number on their account"
  (https://shopify.dev/docs/api/admin-graphql/latest/mutations/customerSmsMarketingConsentUpdate); the simulator
  takes the same three states as the e-mail mutation. Codes as CustomerSmsMarketingConsentErrorCode.
- ``customerRequestDataErasure(customerId:)`` "enqueues a request to erase customer's data" and answers
  ``{customerId, userErrors}``, code DOES_NOT_EXIST for a customer the shop does not have
  (https://shopify.dev/docs/api/admin-graphql/latest/mutations/customerRequestDataErasure,
  .../enums/CustomerRequestDataErasureErrorCode). The simulator records the request (the control API shows it as
  the customer's ``data_erasure_requested_at``); Shopify erases later, which the simulator does not play.

A consent change sends the consent topic and ``customers/update`` (customers.py); setting what the customer has
already sends nothing.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo

from orderhub.simulators.shopify import customers
from orderhub.simulators.shopify.changes import fire
from orderhub.simulators.shopify.clock import rest_time, utc_z
from orderhub.simulators.shopify.pagination import connection
from orderhub.simulators.shopify.resolvers import RequestContext, parse_gid

SETTABLE = ("SUBSCRIBED", "UNSUBSCRIBED", "PENDING")
_SORT = {"ID": lambda c: (c["id"], c["id"]), "CREATED_AT": lambda c: (utc_z(c["created_at"]), c["id"]),
         "UPDATED_AT": lambda c: (utc_z(c["updated_at"]), c["id"])}


def _customers(info: GraphQLResolveInfo, first: int | None = None, after: str | None = None, sortKey: str = "ID",
               reverse: bool = False) -> dict[str, Any]:
    ctx: RequestContext = info.context
    with ctx.store.lock:
        found = list(ctx.shop.customers.values())
        return connection(found, _SORT[sortKey], first=first, after=after, field_name="customers", reverse=reverse,
                          node=customers.customer_node)


def customer(ctx: RequestContext, customer_id: int) -> dict[str, Any] | None:
    with ctx.store.lock:
        record = ctx.shop.customers.get(customer_id)
        return None if record is None else customers.customer_node(record)


def _customer(info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:
    return customer(info.context, parse_gid(id, "Customer"))


def _error(code: str, field: list[str], message: str) -> dict[str, Any]:
    return {"code": code, "field": field, "message": message}


def _consent_update(info: GraphQLResolveInfo, input: dict[str, Any], channel: str) -> dict[str, Any]:
    ctx: RequestContext = info.context
    key = "emailMarketingConsent" if channel == "email" else "smsMarketingConsent"
    given = input[key]
    customer_id = parse_gid(input["customerId"], "Customer")
    state = given["marketingState"]
    if state not in SETTABLE:
        return {"customer": None, "userErrors": [_error(
            "INCLUSION", ["input", key, "marketingState"],
            f"Marketing state {state} cannot be set; use one of {', '.join(SETTABLE)}")]}
    events: list[tuple[str, dict[str, Any]]] = []
    with ctx.store.lock:
        record = ctx.shop.customers.get(customer_id)
        if record is None:
            return {"customer": None, "userErrors": [_error("INVALID", ["input", "customerId"],
                                                            "Customer not found")]}
        if channel == "email" and not record.get("email"):
            return {"customer": None, "userErrors": [_error(
                "INVALID", ["input", "customerId"], "The customer must have an email address to update their "
                                                    "email marketing consent")]}
        if channel == "sms" and not record.get("phone"):
            return {"customer": None, "userErrors": [_error(
                "INVALID", ["input", "customerId"], "The customer must have a phone number to update their "
                                                    "SMS marketing consent")]}
        at = given.get("consentUpdatedAt")
        rest = {"state": state.lower(), "opt_in_level": given.get("marketingOptInLevel"),
                "consent_updated_at": at or rest_time(ctx.store.clock.now(), ctx.shop.tz)}
        try:
            changed = customers.set_consent(ctx.store, ctx.shop, record, channel, rest)
        except customers.CustomerError as exc:
            return {"customer": None, "userErrors": [_error("INVALID", ["input", key, "consentUpdatedAt"],
                                                            str(exc))]}
        if changed:
            events = customers.consent_events(record, channel)
        node = customers.customer_node(record)
    fire(ctx, events)
    return {"customer": node, "userErrors": []}


def _email_consent_update(info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
    return _consent_update(info, input, "email")


def _sms_consent_update(info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
    return _consent_update(info, input, "sms")


def _request_data_erasure(info: GraphQLResolveInfo, customerId: str) -> dict[str, Any]:
    ctx: RequestContext = info.context
    customer_id = parse_gid(customerId, "Customer")
    with ctx.store.lock:
        if customer_id not in ctx.shop.customers:
            return {"customerId": None, "userErrors": [_error("DOES_NOT_EXIST", ["customerId"],
                                                              "Customer does not exist")]}
        ctx.shop.erasure_requests.setdefault(customer_id, rest_time(ctx.store.clock.now(), ctx.shop.tz))
    return {"customerId": customerId, "userErrors": []}


CUSTOMER_ROOT: dict[str, Any] = {
    "customers": _customers, "customer": _customer,
    "customerEmailMarketingConsentUpdate": _email_consent_update,
    "customerSmsMarketingConsentUpdate": _sms_consent_update,
    "customerRequestDataErasure": _request_data_erasure,
}
