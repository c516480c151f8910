"""The part of Shopify's Admin GraphQL schema the simulator serves, with Shopify's names.

Built from SDL with graphql-core. Custom scalars serialize as Shopify does:
``DateTime`` as UTC with ``Z``, ``Decimal`` amounts as decimal strings ("12.5"),
``Money`` as the amount string ("19.90"), ``UnsignedInt64`` ids as strings (they
exceed 2^53).
"""

from __future__ import annotations

import functools
from decimal import Decimal
from pathlib import Path
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
    "CUSTOMERS_CREATE": "customers/create", "CUSTOMERS_UPDATE": "customers/update",
    "CUSTOMERS_DELETE": "customers/delete",
    "CUSTOMERS_EMAIL_MARKETING_CONSENT_UPDATE": "customers_email_marketing_consent/update",
    "CUSTOMERS_MARKETING_CONSENT_UPDATE": "customers_marketing_consent/update",
}
TOPIC_ENUMS: dict[str, str] = {topic: enum for enum, topic in TOPICS.items()}


# The newest SDL, in a data file of its own (its placeholders are filled in by _document).
_SDL_FILE = Path(__file__).with_name("schema.graphql")


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
    sdl = _SDL_FILE.read_text(encoding="utf-8")
    return parse(sdl % {"currencies": " ".join(currencies), "countries": " ".join(countries),
                        "topics": " ".join(TOPICS)})


@functools.cache
def build(version: str = UNSTABLE) -> GraphQLSchema:
    """The schema of one API version, built once per version and process (read-only once built).

    The SDL (schema.graphql) is the newest schema; :mod:`orderhub.simulators.shopify.versions` leaves out
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
