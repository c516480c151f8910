"""Business rules a canonical order must meet before orderhub stores it."""

from __future__ import annotations

from collections.abc import Callable

from orderhub.domain.errors import InvalidRecord
from orderhub.domain.model import Address, Order
from orderhub.domain.order_totals import reconcile

KnownCode = Callable[[str], bool]


def validate_order(order: Order, *, known_currency: KnownCode, known_country: KnownCode) -> None:
    """Raise :class:`InvalidRecord` naming the first field that breaks a rule."""
    if not order.items:
        raise InvalidRecord("line_items", "the order has no line items; an order needs at least one")
    if not known_currency(order.currency):
        raise InvalidRecord("currency", f"unknown currency {order.currency!r}; expected an ISO 4217 code such as USD")
    for i, item in enumerate(order.items):
        if item.quantity < 0:
            raise InvalidRecord(f"line_items[{i}].quantity",
                                f"negative quantity {item.quantity} on line {item.shopify_id}")
        if item.price < 0:
            raise InvalidRecord(f"line_items[{i}].price", f"negative price {item.price} on line {item.shopify_id}")
    for kind, address in (("shipping_address", order.shipping_address), ("billing_address", order.billing_address)):
        if address is not None:
            validate_address(kind, address, known_country)
    if order.total_price < 0:
        raise InvalidRecord("total_price", f"negative total {order.total_price}")
    reconcile(order)


def validate_address(path: str, address: Address, known_country: KnownCode) -> None:
    if address.country_code is not None and not known_country(address.country_code):
        raise InvalidRecord(f"{path}.country_code",
                            f"unknown country code {address.country_code!r}; expected ISO 3166 alpha-2 such as US")
    if not any((address.address1, address.city, address.zip, address.country_code, address.country)):
        raise InvalidRecord(path, "address has no street, city, postal code or country")
    for name, lat_or_lng, limit in (("latitude", address.latitude, 90), ("longitude", address.longitude, 180)):
        if lat_or_lng is not None and not -limit <= lat_or_lng <= limit:
            raise InvalidRecord(f"{path}.{name}", f"{name} {lat_or_lng} is out of range")
