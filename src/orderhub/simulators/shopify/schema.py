"""The part of Shopify's Admin GraphQL schema the simulator serves, with Shopify's names.

Built from SDL with graphql-core. Custom scalars serialize as Shopify does:
``DateTime`` as UTC with ``Z``, ``Decimal`` amounts as decimal strings ("12.5"),
``Money`` as the amount string ("19.90"), ``UnsignedInt64`` ids as strings (they
exceed 2^53).
"""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import Any

import pycountry
from graphql import DocumentNode, GraphQLEnumType, GraphQLError, GraphQLSchema, build_ast_schema, parse

from orderhub.adapters.shopify.api_versions import UNSTABLE
from orderhub.simulators.shopify import versions
from orderhub.simulators.shopify.clock import utc_z

# Shopify's CountryCode enum also has these, beside ISO 3166-1 alpha-2 ("ZZ" is "Unknown Region").
_EXTRA_COUNTRY_CODES = ("AC", "TA", "XK", "ZZ")

# WebhookSubscriptionTopic values and the topic names webhooks carry in X-Shopify-Topic.
TOPICS: dict[str, str] = {
    "ORDERS_CREATE": "orders/create", "ORDERS_UPDATED": "orders/updated", "ORDERS_CANCELLED": "orders/cancelled",
    "ORDERS_PAID": "orders/paid", "ORDERS_FULFILLED": "orders/fulfilled",
    "ORDERS_PARTIALLY_FULFILLED": "orders/partially_fulfilled", "ORDERS_EDITED": "orders/edited",
    "REFUNDS_CREATE": "refunds/create", "ORDER_TRANSACTIONS_CREATE": "order_transactions/create",
    "INVENTORY_LEVELS_UPDATE": "inventory_levels/update",
    "PRODUCTS_CREATE": "products/create", "PRODUCTS_UPDATE": "products/update", "PRODUCTS_DELETE": "products/delete",
    "APP_UNINSTALLED": "app/uninstalled", "BULK_OPERATIONS_FINISH": "bulk_operations/finish",
}
TOPIC_ENUMS: dict[str, str] = {topic: enum for enum, topic in TOPICS.items()}


_SDL = """
scalar DateTime
scalar Decimal
scalar URL
scalar UnsignedInt64
scalar Money

enum CurrencyCode { %(currencies)s }
enum CountryCode { %(countries)s }
enum OrderSortKeys { CREATED_AT ID ORDER_NUMBER PROCESSED_AT UPDATED_AT }
enum OrderDisplayFinancialStatus { AUTHORIZED EXPIRED PAID PARTIALLY_PAID PARTIALLY_REFUNDED PENDING REFUNDED VOIDED }
enum OrderDisplayFulfillmentStatus {
  FULFILLED IN_PROGRESS ON_HOLD OPEN PARTIALLY_FULFILLED PENDING_FULFILLMENT RESTOCKED SCHEDULED UNFULFILLED
}
enum OrderCancelReason { CUSTOMER DECLINED FRAUD INVENTORY OTHER STAFF }
enum WebhookSubscriptionTopic { %(topics)s }
enum WebhookSubscriptionFormat { JSON XML }
enum ProductStatus { ACTIVE ARCHIVED DRAFT }
enum BulkOperationStatus { CANCELED CANCELING COMPLETED CREATED EXPIRED FAILED RUNNING }
enum BulkOperationErrorCode { ACCESS_DENIED INTERNAL_SERVER_ERROR TIMEOUT }
enum BulkOperationType { MUTATION QUERY }
enum BulkOperationUserErrorCode { INVALID LIMIT_REACHED OPERATION_IN_PROGRESS }
enum BulkOperationsSortKeys { COMPLETED_AT CREATED_AT }
enum ProductSortKeys { CREATED_AT ID INVENTORY_TOTAL PRODUCT_TYPE PUBLISHED_AT RELEVANCE TITLE UPDATED_AT VENDOR }
enum CollectionSortKeys { ID RELEVANCE TITLE UPDATED_AT }
enum CollectionSortOrder { ALPHA_ASC ALPHA_DESC BEST_SELLING CREATED CREATED_DESC MANUAL PRICE_ASC PRICE_DESC }
enum CollectionRuleColumn {
  IS_PRICE_REDUCED PRODUCT_CATEGORY_ID PRODUCT_METAFIELD_DEFINITION PRODUCT_TAXONOMY_NODE_ID TAG TITLE TYPE
  VARIANT_COMPARE_AT_PRICE VARIANT_INVENTORY VARIANT_METAFIELD_DEFINITION VARIANT_PRICE VARIANT_TITLE
  VARIANT_WEIGHT VENDOR
}
enum CollectionRuleRelation {
  CONTAINS ENDS_WITH EQUALS GREATER_THAN IS_NOT_SET IS_SET LESS_THAN NOT_CONTAINS NOT_EQUALS STARTS_WITH
}
enum CountPrecision { AT_LEAST EXACT }
enum RefundLineItemRestockType { CANCEL LEGACY_RESTOCK NO_RESTOCK RETURN }
enum OrderTransactionKind { AUTHORIZATION CAPTURE CHANGE EMV_AUTHORIZATION REFUND SALE SUGGESTED_REFUND VOID }
enum OrderTransactionStatus { AWAITING_RESPONSE ERROR FAILURE PENDING SUCCESS UNKNOWN }
enum OrderCancelUserErrorCode {
  INTERNAL_ERROR INVALID NO_REFUND_PERMISSION NO_REFUND_TO_STORE_CREDIT_PERMISSION NOT_FOUND
  STORE_CREDIT_REFUND_B2B_NOT_SUPPORTED STORE_CREDIT_REFUND_EXPIRATION_IN_PAST STORE_CREDIT_REFUND_MISSING_CUSTOMER
}
enum InventorySetQuantitiesUserErrorCode {
  CHANGE_FROM_QUANTITY_STALE COMPARE_QUANTITY_REQUIRED COMPARE_QUANTITY_STALE IDEMPOTENCY_CONCURRENT_REQUEST
  IDEMPOTENCY_KEY_PARAMETER_MISMATCH INVALID_INVENTORY_ITEM INVALID_LOCATION INVALID_NAME INVALID_QUANTITY_NEGATIVE
  INVALID_QUANTITY_TOO_HIGH INVALID_QUANTITY_TOO_LOW INVALID_REASON INVALID_REFERENCE_DOCUMENT
  ITEM_NOT_STOCKED_AT_LOCATION NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR NON_MUTABLE_INVENTORY_ITEM
}
enum MetafieldOwnerType { PRODUCT PRODUCTVARIANT }
enum MetafieldsSetUserErrorCode {
  APP_NOT_AUTHORIZED BLANK CAPABILITY_VIOLATION INCLUSION INTERNAL_ERROR INVALID INVALID_COMPARE_DIGEST INVALID_TYPE
  INVALID_VALUE LESS_THAN_OR_EQUAL_TO PRESENT STALE_OBJECT TAKEN TOO_LONG TOO_SHORT
}

"Makes a mutation safe to retry: a repeat with the same key and arguments returns the first result."
directive @idempotent(key: String!) on FIELD

interface Node { id: ID! }

type PageInfo { hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String endCursor: String }
type MoneyV2 { amount: Decimal! currencyCode: CurrencyCode! }
type MoneyBag { shopMoney: MoneyV2! presentmentMoney: MoneyV2! }

enum DiscountApplicationAllocationMethod { ACROSS EACH ONE }
enum DiscountApplicationTargetSelection { ALL ENTITLED EXPLICIT }
enum DiscountApplicationTargetType { LINE_ITEM SHIPPING_LINE }
type PricingPercentageValue { percentage: Float! }
union PricingValue = MoneyV2 | PricingPercentageValue
interface DiscountApplication {
  allocationMethod: DiscountApplicationAllocationMethod! index: Int!
  targetSelection: DiscountApplicationTargetSelection! targetType: DiscountApplicationTargetType! value: PricingValue!
}
type DiscountCodeApplication implements DiscountApplication {
  allocationMethod: DiscountApplicationAllocationMethod! index: Int!
  targetSelection: DiscountApplicationTargetSelection! targetType: DiscountApplicationTargetType! value: PricingValue!
  code: String!
}
type AutomaticDiscountApplication implements DiscountApplication {
  allocationMethod: DiscountApplicationAllocationMethod! index: Int!
  targetSelection: DiscountApplicationTargetSelection! targetType: DiscountApplicationTargetType! value: PricingValue!
  title: String!
}
type ManualDiscountApplication implements DiscountApplication {
  allocationMethod: DiscountApplicationAllocationMethod! index: Int!
  targetSelection: DiscountApplicationTargetSelection! targetType: DiscountApplicationTargetType! value: PricingValue!
  title: String! description: String
}
type ScriptDiscountApplication implements DiscountApplication {
  allocationMethod: DiscountApplicationAllocationMethod! index: Int!
  targetSelection: DiscountApplicationTargetSelection! targetType: DiscountApplicationTargetType! value: PricingValue!
  title: String!
}
type DiscountApplicationEdge { cursor: String! node: DiscountApplication! }
type DiscountApplicationConnection {
  edges: [DiscountApplicationEdge!]! nodes: [DiscountApplication!]! pageInfo: PageInfo!
}
type DiscountAllocation { allocatedAmountSet: MoneyBag! discountApplication: DiscountApplication! }
type UserError { field: [String!] message: String! }

type Customer implements Node {
  id: ID! legacyResourceId: UnsignedInt64! email: String firstName: String lastName: String phone: String
  displayName: String! defaultEmailAddress: CustomerEmailAddress defaultPhoneNumber: CustomerPhoneNumber
}
type CustomerEmailAddress { emailAddress: String }
type CustomerPhoneNumber { phoneNumber: String! }

type MailingAddress {
  name: String firstName: String lastName: String company: String address1: String address2: String
  city: String province: String provinceCode: String zip: String country: String countryCodeV2: CountryCode
  phone: String latitude: Float longitude: Float
}

type TaxLine { priceSet: MoneyBag! rate: Float ratePercentage: Float title: String! }
type Count { count: Int! precision: CountPrecision! }
type CollectionRule { column: CollectionRuleColumn! relation: CollectionRuleRelation! condition: String! }
type CollectionRuleSet { appliedDisjunctively: Boolean! rules: [CollectionRule!]! }
type Collection implements Node {
  id: ID! legacyResourceId: UnsignedInt64! title: String! handle: String! updatedAt: DateTime!
  sortOrder: CollectionSortOrder! ruleSet: CollectionRuleSet productsCount: Count
  products(first: Int, after: String): ProductConnection!
}
type CollectionEdge { cursor: String! node: Collection! }
type CollectionConnection { edges: [CollectionEdge!]! nodes: [Collection!]! pageInfo: PageInfo! }

type Location implements Node {
  id: ID! legacyResourceId: UnsignedInt64! name: String! isActive: Boolean! fulfillsOnlineOrders: Boolean!
}
type LocationEdge { cursor: String! node: Location! }
type LocationConnection { edges: [LocationEdge!]! nodes: [Location!]! pageInfo: PageInfo! }

type InventoryQuantity { id: ID! name: String! quantity: Int! updatedAt: DateTime }
type InventoryLevel implements Node {
  id: ID! item: InventoryItem! location: Location! quantities(names: [String!]!): [InventoryQuantity!]!
  createdAt: DateTime! updatedAt: DateTime!
}
type InventoryLevelEdge { cursor: String! node: InventoryLevel! }
type InventoryLevelConnection { edges: [InventoryLevelEdge!]! nodes: [InventoryLevel!]! pageInfo: PageInfo! }

type InventoryItem implements Node {
  id: ID! legacyResourceId: UnsignedInt64! sku: String tracked: Boolean! requiresShipping: Boolean!
  createdAt: DateTime! updatedAt: DateTime! variant: ProductVariant!
  inventoryLevels(first: Int, after: String): InventoryLevelConnection!
  inventoryLevel(locationId: ID!): InventoryLevel
}
type InventoryItemEdge { cursor: String! node: InventoryItem! }
type InventoryItemConnection { edges: [InventoryItemEdge!]! nodes: [InventoryItem!]! pageInfo: PageInfo! }

type InventoryChange {
  name: String! delta: Int! quantityAfterChange: Int item: InventoryItem location: Location ledgerDocumentUri: String
}
type InventoryAdjustmentGroup implements Node {
  id: ID! createdAt: DateTime! reason: String! referenceDocumentUri: String
  changes(inventoryItemIds: [ID!], locationIds: [ID!], quantityNames: [String!]): [InventoryChange!]!
}
input InventoryQuantityInput {
  inventoryItemId: ID! locationId: ID! quantity: Int! compareQuantity: Int changeFromQuantity: Int
}
input InventorySetQuantitiesInput {
  name: String! reason: String! referenceDocumentUri: String ignoreCompareQuantity: Boolean = false
  quantities: [InventoryQuantityInput!]!
}
type InventorySetQuantitiesUserError { code: InventorySetQuantitiesUserErrorCode field: [String!] message: String! }
type InventorySetQuantitiesPayload {
  inventoryAdjustmentGroup: InventoryAdjustmentGroup userErrors: [InventorySetQuantitiesUserError!]!
}

type Metafield implements Node {
  id: ID! legacyResourceId: UnsignedInt64! namespace: String! key: String! type: String! value: String!
  ownerType: MetafieldOwnerType! createdAt: DateTime! updatedAt: DateTime!
}
type MetafieldEdge { cursor: String! node: Metafield! }
type MetafieldConnection { edges: [MetafieldEdge!]! nodes: [Metafield!]! pageInfo: PageInfo! }
input MetafieldsSetInput { ownerId: ID! namespace: String key: String! type: String value: String! }
type MetafieldsSetUserError { code: MetafieldsSetUserErrorCode elementIndex: Int field: [String!] message: String! }
type MetafieldsSetPayload { metafields: [Metafield!] userErrors: [MetafieldsSetUserError!]! }
input MetafieldIdentifierInput { ownerId: ID! namespace: String! key: String! }
type MetafieldIdentifier { ownerId: ID! namespace: String! key: String! }
type MetafieldsDeletePayload { deletedMetafields: [MetafieldIdentifier] userErrors: [UserError!]! }

type ProductVariant implements Node {
  id: ID! legacyResourceId: UnsignedInt64! title: String! sku: String barcode: String price: Money!
  position: Int! inventoryQuantity: Int taxable: Boolean! createdAt: DateTime! updatedAt: DateTime!
  inventoryItem: InventoryItem!
  metafield(namespace: String, key: String!): Metafield
  metafields(first: Int, after: String, namespace: String, keys: [String!]): MetafieldConnection!
}
type ProductVariantEdge { cursor: String! node: ProductVariant! }
type ProductVariantConnection { edges: [ProductVariantEdge!]! nodes: [ProductVariant!]! pageInfo: PageInfo! }

type Product implements Node {
  id: ID! legacyResourceId: UnsignedInt64! title: String! handle: String! vendor: String! productType: String!
  status: ProductStatus! tags: [String!]! isGiftCard: Boolean! totalInventory: Int!
  createdAt: DateTime! updatedAt: DateTime! publishedAt: DateTime
  variants(first: Int, after: String): ProductVariantConnection!
  collections(first: Int, after: String): CollectionConnection!
  metafield(namespace: String, key: String!): Metafield
  metafields(first: Int, after: String, namespace: String, keys: [String!]): MetafieldConnection!
}
type ProductEdge { cursor: String! node: Product! }
type ProductConnection { edges: [ProductEdge!]! nodes: [Product!]! pageInfo: PageInfo! }

type LineItem implements Node {
  id: ID! name: String! title: String! variantTitle: String sku: String vendor: String
  quantity: Int! currentQuantity: Int! unfulfilledQuantity: Int! requiresShipping: Boolean! taxable: Boolean!
  originalUnitPriceSet: MoneyBag! originalTotalSet: MoneyBag! totalDiscountSet: MoneyBag!
  discountAllocations: [DiscountAllocation!]!
  taxLines(first: Int): [TaxLine!]!
  variant: ProductVariant product: Product
}
type LineItemEdge { cursor: String! node: LineItem! }
type LineItemConnection { edges: [LineItemEdge!]! nodes: [LineItem!]! pageInfo: PageInfo! }

type ShippingLine {
  id: ID title: String! code: String source: String
  originalPriceSet: MoneyBag! discountedPriceSet: MoneyBag! taxLines: [TaxLine!]!
  isRemoved: Boolean! discountAllocations: [DiscountAllocation!]!
}
type ShippingLineEdge { cursor: String! node: ShippingLine! }
type ShippingLineConnection { edges: [ShippingLineEdge!]! nodes: [ShippingLine!]! pageInfo: PageInfo! }

type OrderTransaction implements Node {
  id: ID! kind: OrderTransactionKind! status: OrderTransactionStatus! amountSet: MoneyBag! gateway: String
  createdAt: DateTime! processedAt: DateTime
}
type OrderTransactionEdge { cursor: String! node: OrderTransaction! }
type OrderTransactionConnection { edges: [OrderTransactionEdge!]! nodes: [OrderTransaction!]! pageInfo: PageInfo! }

type RefundLineItem {
  id: ID lineItem: LineItem! quantity: Int! restockType: RefundLineItemRestockType! restocked: Boolean!
  location: Location priceSet: MoneyBag! subtotalSet: MoneyBag! totalTaxSet: MoneyBag!
}
type RefundLineItemEdge { cursor: String! node: RefundLineItem! }
type RefundLineItemConnection { edges: [RefundLineItemEdge!]! nodes: [RefundLineItem!]! pageInfo: PageInfo! }

type Refund implements Node {
  id: ID! legacyResourceId: UnsignedInt64! createdAt: DateTime updatedAt: DateTime! note: String
  totalRefundedSet: MoneyBag!
  refundLineItems(first: Int, after: String): RefundLineItemConnection!
  transactions(first: Int, after: String): OrderTransactionConnection!
}

type Order implements Node {
  id: ID! legacyResourceId: UnsignedInt64! name: String! email: String phone: String note: String
  tags: [String!]! test: Boolean! closed: Boolean! discountCodes: [String!]! sourceName: String
  createdAt: DateTime! updatedAt: DateTime! processedAt: DateTime! cancelledAt: DateTime
  cancelReason: OrderCancelReason closedAt: DateTime
  currencyCode: CurrencyCode! presentmentCurrencyCode: CurrencyCode!
  displayFinancialStatus: OrderDisplayFinancialStatus displayFulfillmentStatus: OrderDisplayFulfillmentStatus!
  subtotalPriceSet: MoneyBag totalPriceSet: MoneyBag! totalTaxSet: MoneyBag totalDiscountsSet: MoneyBag
  totalShippingPriceSet: MoneyBag! currentTotalPriceSet: MoneyBag! currentSubtotalPriceSet: MoneyBag!
  taxesIncluded: Boolean! dutiesIncluded: Boolean! totalTipReceivedSet: MoneyBag!
  originalTotalDutiesSet: MoneyBag originalTotalAdditionalFeesSet: MoneyBag
  discountApplications(first: Int, after: String): DiscountApplicationConnection!
  customer: Customer shippingAddress: MailingAddress billingAddress: MailingAddress
  lineItems(first: Int, after: String): LineItemConnection!
  shippingLines(first: Int, after: String): ShippingLineConnection!
  refunds(first: Int): [Refund!]!
}
type OrderEdge { cursor: String! node: Order! }
type OrderConnection { edges: [OrderEdge!]! nodes: [Order!]! pageInfo: PageInfo! }

type WebhookHttpEndpoint { callbackUrl: URL! }
union WebhookSubscriptionEndpoint = WebhookHttpEndpoint

type WebhookSubscription implements Node {
  id: ID! legacyResourceId: UnsignedInt64! topic: WebhookSubscriptionTopic! format: WebhookSubscriptionFormat!
  endpoint: WebhookSubscriptionEndpoint! callbackUrl: URL! uri: String! createdAt: DateTime! updatedAt: DateTime!
}
type WebhookSubscriptionEdge { cursor: String! node: WebhookSubscription! }
type WebhookSubscriptionConnection {
  edges: [WebhookSubscriptionEdge!]! nodes: [WebhookSubscription!]! pageInfo: PageInfo!
}

type BulkOperation implements Node {
  id: ID! status: BulkOperationStatus! errorCode: BulkOperationErrorCode type: BulkOperationType!
  createdAt: DateTime! completedAt: DateTime objectCount: UnsignedInt64! rootObjectCount: UnsignedInt64!
  fileSize: UnsignedInt64 url: URL partialDataUrl: URL query: String!
}
type BulkOperationEdge { cursor: String! node: BulkOperation! }
type BulkOperationConnection { edges: [BulkOperationEdge!]! nodes: [BulkOperation!]! pageInfo: PageInfo! }
type BulkOperationUserError { field: [String!] message: String! code: BulkOperationUserErrorCode }
type BulkOperationRunQueryPayload { bulkOperation: BulkOperation userErrors: [BulkOperationUserError!]! }
type BulkOperationCancelPayload { bulkOperation: BulkOperation userErrors: [UserError!]! }

type Job { id: ID! done: Boolean! query: QueryRoot }
type OrderCancelUserError { code: OrderCancelUserErrorCode field: [String!] message: String! }
type OrderCancelPayload { job: Job orderCancelUserErrors: [OrderCancelUserError!]! userErrors: [UserError!]! }
input OrderInput { id: ID! note: String tags: [String!] email: String }
type OrderUpdatePayload { order: Order userErrors: [UserError!]! }
type TagsAddPayload { node: Node userErrors: [UserError!]! }
type TagsRemovePayload { node: Node userErrors: [UserError!]! }

input WebhookSubscriptionInput { callbackUrl: URL uri: String format: WebhookSubscriptionFormat }
input OrderCancelStoreCreditRefundInput { expiresAt: DateTime }
input OrderCancelRefundMethodInput {
  originalPaymentMethodsRefund: Boolean storeCreditRefund: OrderCancelStoreCreditRefundInput
}
type WebhookSubscriptionCreatePayload { webhookSubscription: WebhookSubscription userErrors: [UserError!]! }
type WebhookSubscriptionDeletePayload { deletedWebhookSubscriptionId: ID userErrors: [UserError!]! }

type QueryRoot {
  orders(first: Int, after: String, query: String, sortKey: OrderSortKeys = ID, reverse: Boolean = false
  ): OrderConnection!
  order(id: ID!): Order
  webhookSubscriptions(first: Int, after: String, topics: [WebhookSubscriptionTopic!], callbackUrl: URL, uri: String
  ): WebhookSubscriptionConnection!
  webhookSubscription(id: ID!): WebhookSubscription
  products(first: Int, after: String, reverse: Boolean = false, query: String, sortKey: ProductSortKeys = ID
  ): ProductConnection!
  product(id: ID!): Product
  collections(first: Int, after: String, query: String, sortKey: CollectionSortKeys = ID, reverse: Boolean = false
  ): CollectionConnection!
  collection(id: ID!): Collection
  locations(first: Int, after: String): LocationConnection!
  location(id: ID!): Location
  inventoryItems(first: Int, after: String, query: String, reverse: Boolean = false): InventoryItemConnection!
  inventoryItem(id: ID!): InventoryItem
  job(id: ID!): Job
  node(id: ID!): Node
  bulkOperation(id: ID!): BulkOperation
  currentBulkOperation(type: BulkOperationType = QUERY): BulkOperation
  bulkOperations(first: Int, after: String, query: String, sortKey: BulkOperationsSortKeys = CREATED_AT,
    reverse: Boolean = false): BulkOperationConnection!
}

type Mutation {
  webhookSubscriptionCreate(topic: WebhookSubscriptionTopic!, webhookSubscription: WebhookSubscriptionInput!
  ): WebhookSubscriptionCreatePayload
  webhookSubscriptionDelete(id: ID!): WebhookSubscriptionDeletePayload
  bulkOperationRunQuery(query: String!, groupObjects: Boolean! = false): BulkOperationRunQueryPayload
  bulkOperationCancel(id: ID!): BulkOperationCancelPayload
  inventorySetQuantities(input: InventorySetQuantitiesInput!): InventorySetQuantitiesPayload
  orderCancel(orderId: ID!, reason: OrderCancelReason!, refund: Boolean, refundMethod: OrderCancelRefundMethodInput,
    restock: Boolean!, notifyCustomer: Boolean, staffNote: String): OrderCancelPayload
  orderUpdate(input: OrderInput!): OrderUpdatePayload
  tagsAdd(id: ID!, tags: [String!]!): TagsAddPayload
  tagsRemove(id: ID!, tags: [String!]!): TagsRemovePayload
  metafieldsSet(metafields: [MetafieldsSetInput!]!): MetafieldsSetPayload
  metafieldsDelete(metafields: [MetafieldIdentifierInput!]!): MetafieldsDeletePayload
}

schema { query: QueryRoot mutation: Mutation }
"""


def _decimal(value: Any) -> str:
    """Shopify's Decimal: "12.5", "10.0" (no padding to two places, at least one decimal)."""
    text = format(Decimal(str(value)).normalize(), "f")
    return text if "." in text else f"{text}.0"


def _unsigned_int64(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).isdigit():
        raise GraphQLError(f"UnsignedInt64 cannot represent {value!r}")
    return str(value)


def _lenient(enum: GraphQLEnumType) -> None:
    """Let an enum pass through values outside it instead of failing the whole field.

    The simulator's deliberately *bad* orders carry currencies and countries no
    real shop can have (``XXQ``); a consumer polling the API should still get them
    and reject them itself, as it does with the webhook.
    """
    strict = enum.coerce_output_value

    def coerce(value: Any) -> Any:
        if isinstance(value, str) and value and value not in enum.values:
            return value
        return strict(value)

    enum.coerce_output_value = coerce  # type: ignore[method-assign]


@functools.cache
def _document() -> DocumentNode:
    """The newest SDL, parsed once."""
    currencies = sorted({c.alpha_3 for c in pycountry.currencies})
    countries = sorted({c.alpha_2 for c in pycountry.countries} | set(_EXTRA_COUNTRY_CODES))
    return parse(_SDL % {"currencies": " ".join(currencies), "countries": " ".join(countries),
                         "topics": " ".join(TOPICS)})


@functools.cache
def build(version: str = UNSTABLE) -> GraphQLSchema:
    """The schema of one API version, built once per version and process (read-only once built).

    The SDL above is the newest schema; :mod:`orderhub.simulators.shopify.versions` leaves out
    what ``version`` does not have yet or no longer has, and marks what it deprecates.
    """
    schema = build_ast_schema(versions.for_version(_document(), version))
    scalars = {"DateTime": utc_z, "Decimal": _decimal, "URL": str, "UnsignedInt64": _unsigned_int64, "Money": str}
    for name, coerce in scalars.items():
        schema.type_map[name].coerce_output_value = coerce  # type: ignore[union-attr]
    for name in ("CurrencyCode", "CountryCode"):
        enum = schema.type_map[name]
        assert isinstance(enum, GraphQLEnumType)
        _lenient(enum)
    return schema
