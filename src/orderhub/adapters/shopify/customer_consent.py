"""Telling a Shopify shop about its customers: their marketing consent as orderhub keeps it, and that orderhub erased
a person (a :class:`~orderhub.domain.channels.CustomerChannel`).

The Admin API's mutations, as Shopify documents them:

- ``customerEmailMarketingConsentUpdate(input: CustomerEmailMarketingConsentUpdateInput!)``, the input ``{customerId,
  emailMarketingConsent: {marketingState, marketingOptInLevel, consentUpdatedAt}}``; only SUBSCRIBED, UNSUBSCRIBED
  and PENDING can be set (https://shopify.dev/docs/api/admin-graphql/latest/mutations/customerEmailMarketingConsentUpdate,
  .../input-objects/CustomerEmailMarketingConsentInput).
- ``customerSmsMarketingConsentUpdate(input: {customerId, smsMarketingConsent: {marketingState, marketingOptInLevel,
  consentUpdatedAt}})``; the customer needs a phone number
  (https://shopify.dev/docs/api/admin-graphql/latest/mutations/customerSmsMarketingConsentUpdate).
- ``customerRequestDataErasure(customerId: ID!)`` answers ``{customerId, userErrors {code field message}}``
  (https://shopify.dev/docs/api/admin-graphql/latest/mutations/customerRequestDataErasure).

orderhub's ``not_given`` has no Shopify state a client may set (NOT_SUBSCRIBED is Shopify's own): where Shopify
markets to the customer (subscribed or pending) it becomes UNSUBSCRIBED, as no consent orderhub knows of allows
marketing; otherwise nothing is sent. Setting the state a customer has already is harmless, so a repeat is too.
"""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING, Any

from orderhub.adapters.shopify import shop_client
from orderhub.adapters.shopify.graphql import AdminClient, AuthError, GraphQLErrors, ShopifyError
from orderhub.adapters.store.accounts import Account
from orderhub.domain.channels import ChannelRefused, ChannelUnavailable, ConsentNotice, ErasureNotice

if TYPE_CHECKING:
    from orderhub.bootstrap import Hub

STATES = {"granted": "SUBSCRIBED", "pending": "PENDING", "withdrawn": "UNSUBSCRIBED"}
MARKETING = frozenset({"SUBSCRIBED", "PENDING"})  # the states in which Shopify markets to the customer
OPT_IN_LEVELS = frozenset({"single_opt_in", "confirmed_opt_in", "unknown"})


class _Purpose:
    def __init__(self, mutation: str, input_type: str, field: str, title: str) -> None:
        self.field, self.title = field, title
        self.update = (f"mutation Consent($input: {input_type}!) {{ {mutation}(input: $input) "
                       "{ customer { id } userErrors { code field message } } }")
        self.mutation = mutation
        self.read = f"query ConsentNow($id: ID!) {{ customer(id: $id) {{ id {field} {{ marketingState }} }} }}"


PURPOSES = {
    "email_marketing": _Purpose("customerEmailMarketingConsentUpdate", "CustomerEmailMarketingConsentUpdateInput",
                                "emailMarketingConsent", "e-mail marketing consent"),
    "sms_marketing": _Purpose("customerSmsMarketingConsentUpdate", "CustomerSmsMarketingConsentUpdateInput",
                              "smsMarketingConsent", "SMS marketing consent"),
}
ERASE = ("mutation Erase($id: ID!) { customerRequestDataErasure(customerId: $id) "
         "{ customerId userErrors { code field message } } }")


def customer_gid(customer_ref: str) -> str:
    return customer_ref if customer_ref.startswith("gid://") else f"gid://shopify/Customer/{customer_ref}"


def _said(errors: list[dict[str, Any]]) -> str:
    return "; ".join(f"{e.get('message')}" + (f" ({'.'.join(e['field'])})" if e.get("field") else "")
                     + (f" [{e['code']}]" if e.get("code") else "") for e in errors)[:500]


class ShopifyCustomers:
    """What orderhub tells one shop about its customers."""

    def __init__(self, client: AdminClient, shop: str) -> None:
        self.client, self.shop = client, shop

    def update_consent(self, notice: ConsentNotice) -> None:
        purpose = PURPOSES.get(notice.purpose)
        if purpose is None:
            raise ChannelRefused(f"Shopify keeps no {notice.purpose} consent per customer; dismiss this")
        customer = customer_gid(notice.customer_ref)
        state = STATES.get(notice.state)
        if state is None:  # not_given: stop any marketing Shopify does, else leave Shopify's state alone
            found = self._call(purpose.read, {"id": customer}, f"reading the {purpose.title} of customer "
                                                                f"{notice.customer_ref}")["customer"]
            if found is None:
                raise ChannelRefused(self._unknown(notice.customer_ref, purpose.title))
            if ((found.get(purpose.field) or {}).get("marketingState")) not in MARKETING:
                return
            state = "UNSUBSCRIBED"
        consent: dict[str, Any] = {"marketingState": state, "consentUpdatedAt": _utc(notice)}
        level = (notice.opt_in_level or "").lower()
        if state == "SUBSCRIBED" and level in OPT_IN_LEVELS:
            consent["marketingOptInLevel"] = level.upper()
        result = self._call(purpose.update, {"input": {"customerId": customer, purpose.field: consent}},
                            f"updating the {purpose.title} of customer {notice.customer_ref}")[purpose.mutation]
        errors = result.get("userErrors") or []
        if errors:
            raise ChannelRefused(f"Shopify shop {self.shop} refused the {purpose.title} ({notice.state}) of customer "
                                 f"{notice.customer_ref}: {_said(errors)}; set it in Shopify admin if it still "
                                 "applies, then dismiss this")
        if result.get("customer") is None:
            raise ChannelRefused(self._unknown(notice.customer_ref, purpose.title))

    def request_erasure(self, notice: ErasureNotice) -> None:
        result = self._call(ERASE, {"id": customer_gid(notice.customer_ref)},
                            f"requesting the erasure of customer {notice.customer_ref}")["customerRequestDataErasure"]
        errors = result.get("userErrors") or []
        if errors:
            raise ChannelRefused(f"Shopify shop {self.shop} refused to erase customer {notice.customer_ref}: "
                                 f"{_said(errors)}; erase the customer in Shopify admin (Customers > Erase personal "
                                 "data) if they are still there, then dismiss this")

    def _unknown(self, customer_ref: str, what: str) -> str:
        return (f"Shopify shop {self.shop} has no customer {customer_ref} to set the {what} of (deleted there?); "
                "dismiss this")

    def _call(self, query: str, variables: dict[str, Any], doing: str) -> Any:
        try:
            return self.client.execute(query, variables, expected_cost=10)
        except GraphQLErrors as exc:
            if any(isinstance(e, dict) and (e.get("extensions") or {}).get("code") == "THROTTLED"
                   for e in (exc.errors if isinstance(exc.errors, list) else [])):
                raise ChannelUnavailable(f"Shopify shop {self.shop} throttled {doing}: {exc}") from None
            raise ChannelRefused(f"Shopify shop {self.shop} refused {doing}: {exc}") from None
        except AuthError as exc:
            raise ChannelUnavailable(str(exc)) from None  # a new token is set; then it goes through
        except ShopifyError as exc:
            raise ChannelUnavailable(f"{doing}: {exc}") from None


def _utc(notice: ConsentNotice) -> str:
    return notice.occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def customer_channel(account: Account, hub: Hub | None, **options: Any) -> ShopifyCustomers:
    """The shop's customer channel. Raises ChannelRefused saying what a person must set."""
    client, shop = shop_client.for_account(account, hub, **options)
    return ShopifyCustomers(client, shop.domain)
