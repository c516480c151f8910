"""A Shopify order's pickup choice: the location the customer collects at, when they chose local pickup.

Shopify keeps the choice on the order's fulfillment orders, not on the order itself: a fulfillment order whose
delivery method is of type ``pick_up`` (REST ``delivery_method.method_type``, since Admin API 2021-04; GraphQL
``deliveryMethod.methodType`` ``PICK_UP``) is collected at its assigned location (REST
``assigned_location_id`` and ``assigned_location.name``; GraphQL ``assignedLocation { name location { id } }``).
The REST order body's shipping line names the location only by its name or address (``source`` "shopify"),
which says nothing certain, so an order body is read for pickup only when it carries its fulfillment orders
(``fulfillment_orders``, in either shape). tests/fixtures/shopify/pickup_order.json records the shapes and
where they came from.
"""

from __future__ import annotations

from orderhub.adapters.fields import Fields, numeric_id
from orderhub.domain.errors import InvalidRecord

PICK_UP = "pick_up"


def location(f: Fields) -> tuple[str | None, str | None]:
    """(location id, location name) of the order's pickup, or (None, None) for an order that is delivered."""
    for fo in f.objs("fulfillment_orders", max_items=100):
        method = fo.obj("delivery_method") or fo.obj("deliveryMethod")
        kind = (method.str("method_type", max_len=32) or method.str("methodType", max_len=32) or "") if method else ""
        if kind.lower() != PICK_UP:
            continue
        return _assigned(fo)
    return None, None


def _assigned(fo: Fields) -> tuple[str | None, str | None]:
    assigned = fo.obj("assigned_location") or fo.obj("assignedLocation")
    name = assigned.str("name", max_len=255) if assigned else None
    if fo.data.get("assigned_location_id") is not None:
        return fo.id("assigned_location_id"), name
    if assigned is not None:
        if assigned.data.get("location_id") is not None:
            return assigned.id("location_id"), name
        inner = assigned.obj("location")
        if inner is not None and inner.data.get("id") is not None:
            return numeric_id(inner.data["id"], f"{inner.path}.id"), name
    raise InvalidRecord(fo.path, "a pick-up fulfillment order without its assigned location: which store is it?")
