"""Delivery options and the shipping providers a seller may name when shipping a package itself."""

from __future__ import annotations

DELIVERY_OPTIONS = ({"id": "7129736654371391237", "name": "Standard shipping", "type": "STANDARD",
                     "description": "Delivered in 3-8 business days"},
                    {"id": "7129736654371391238", "name": "Express shipping", "type": "EXPRESS",
                     "description": "Delivered in 1-3 business days"})
SHIPPING_PROVIDERS = ({"id": "6617675021119438849", "name": "USPS"},
                      {"id": "6617675021119438850", "name": "UPS"},
                      {"id": "6617675021119438851", "name": "FedEx"},
                      {"id": "7117858858072016686", "name": "DHL eCommerce"})


def provider_name(provider_id: str) -> str | None:
    return next((p["name"] for p in SHIPPING_PROVIDERS if p["id"] == provider_id), None)
