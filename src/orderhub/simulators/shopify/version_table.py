"""How the Admin GraphQL schema the simulator serves differs between API versions.

The SDL in :mod:`orderhub.simulators.shopify.schema` is the newest schema; each row here says
since which version a part of it exists (``added``), from which version it is gone
(``removed``) and from which version it is deprecated (``deprecated``, with Shopify's reason),
and where Shopify says so. :mod:`orderhub.simulators.shopify.versions` builds one schema per
version from the SDL and these rows.

A coordinate names a type (``CustomerEmailAddress``), a field (``Customer.email``), an input
field (``InventoryQuantityInput.compareQuantity``), an argument
(``Mutation.orderCancel(refund:)``) or a directive (``@idempotent``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Change:
    coordinate: str
    source: str
    added: str | None = None
    removed: str | None = None
    deprecated: str | None = None
    reason: str | None = None
    default_before: tuple[str, str] | None = None  # (version, GraphQL literal): the default before that version


_CUSTOMER = "https://shopify.dev/changelog/adding-defaultemailaddress-field-to-customer"
_PHONE = "https://shopify.dev/changelog/adding-defaultphonenumber-field-to-customer"
# Deprecation reasons of Customer as Shopify's schema states them (the Customer object's page,
# https://shopify.dev/docs/api/admin-graphql/latest/objects/Customer).
_CANCEL = "https://shopify.dev/changelog/ordercancel-mutation-now-supports-refunds-to-store-credit"
_GROUP = ("https://shopify.dev/changelog/optional-groupobjects-argument-in-bulk-operations-mutations-that-offers-"
          "faster-and-more-reliable-job-execution")
_GROUP_DEFAULT = "https://shopify.dev/changelog/bulk-operations-group-objects-default-changed-to-false"
_WEBHOOK = "https://shopify.dev/changelog/consolidate-webhook-graphql-surfaces"
_BULK = "https://shopify.dev/changelog/new-queries-for-bulk-operations"
_CURRENT_BULK = "https://shopify.dev/docs/api/admin-graphql/2026-01/queries/currentBulkOperation"
_CAS = "https://shopify.dev/changelog/compare-and-swap-redesign-for-inventory-set-quantities"
_CAS_FINAL = "https://shopify.dev/changelog/finalizing-compare-and-swap-redesign-for-inventory-set-quantities"
_IDEMPOTENT = "https://shopify.dev/changelog/adding-idempotency-for-inventory-adjustments-and-refund-mutations"
_CANCEL_PAYLOAD = "https://shopify.dev/docs/api/admin-graphql/2024-07/payloads/ordercancelpayload"
_USE_URI = "Use `uri` instead."

CHANGES: tuple[Change, ...] = (
    # Customer contact details
    Change("CustomerEmailAddress", _CUSTOMER, added="2025-04"),
    Change("CustomerPhoneNumber", _PHONE, added="2025-04"),
    Change("Customer.defaultEmailAddress", _CUSTOMER, added="2025-04"),
    Change("Customer.defaultPhoneNumber", _PHONE, added="2025-04"),
    Change("Customer.email", _CUSTOMER, deprecated="2025-04", reason="Use `defaultEmailAddress.emailAddress` instead."),
    Change("Customer.phone", _PHONE, deprecated="2025-04", reason="Use `defaultPhoneNumber.phoneNumber` instead."),
    # orderCancel's refund method
    Change("OrderCancelRefundMethodInput", _CANCEL, added="2025-07"),
    Change("OrderCancelStoreCreditRefundInput", _CANCEL, added="2025-07"),
    Change("Mutation.orderCancel(refundMethod:)", _CANCEL, added="2025-07"),
    Change("Mutation.orderCancel(refund:)", _CANCEL, deprecated="2025-07", reason="Use `refundMethod` instead."),
    Change("OrderCancelPayload.userErrors", _CANCEL_PAYLOAD, deprecated="2024-07",
           reason="Use `orderCancelUserErrors` instead."),
    # bulk operations
    Change("Mutation.bulkOperationRunQuery(groupObjects:)", _GROUP, added="2025-07",
           default_before=("2026-01", "true")),
    Change("BulkOperationConnection", _BULK, added="2026-01"),
    Change("BulkOperationEdge", _BULK, added="2026-01"),
    Change("BulkOperationsSortKeys", _BULK, added="2026-01"),
    Change("QueryRoot.bulkOperations", _BULK, added="2026-01"),
    Change("QueryRoot.bulkOperation", _BULK, added="2026-01"),
    Change("QueryRoot.currentBulkOperation", _CURRENT_BULK, deprecated="2026-01",
           reason="Use `bulkOperations` with status filter instead."),
    # webhook subscriptions
    Change("WebhookSubscriptionInput.uri", _WEBHOOK, added="2025-10"),
    Change("WebhookSubscription.uri", _WEBHOOK, added="2025-10"),
    Change("QueryRoot.webhookSubscriptions(uri:)", _WEBHOOK, added="2025-10"),
    Change("WebhookSubscriptionInput.callbackUrl", _WEBHOOK, deprecated="2025-10", reason=_USE_URI),
    Change("WebhookSubscription.callbackUrl", _WEBHOOK, deprecated="2025-10", reason=_USE_URI),
    Change("WebhookSubscription.endpoint", _WEBHOOK, deprecated="2025-10", reason=_USE_URI),
    Change("QueryRoot.webhookSubscriptions(callbackUrl:)", _WEBHOOK, deprecated="2025-10", reason=_USE_URI),
    # inventorySetQuantities: compare and swap, idempotency
    Change("InventoryQuantityInput.changeFromQuantity", _CAS, added="2026-01"),
    Change("InventoryQuantityInput.compareQuantity", _CAS_FINAL, deprecated="2026-01", removed="2026-04",
           reason="Use `changeFromQuantity` instead."),
    Change("InventorySetQuantitiesInput.ignoreCompareQuantity", _CAS_FINAL, deprecated="2026-01", removed="2026-04",
           reason="Pass `changeFromQuantity: null` instead."),
    Change("@idempotent", _IDEMPOTENT, added="2026-01"),
)
