"""Inventory in the Admin GraphQL API: locations, quantities per item and location, inventorySetQuantities.

Reads: the shop's locations; every inventory item with its levels and named quantities
(``available``, ``on_hand``), a page at a time within the cost limit; and the current
quantity of chosen (item, location) pairs. Writes: ``inventorySetQuantities`` with the
quantity each level is expected to hold now - ``changeFromQuantity`` (null to opt out of the
check) on API versions from 2026-01, where it is mandatory from 2026-04 and
``compareQuantity``/``ignoreCompareQuantity`` are gone; those two before - and an idempotency
key, sent with the ``@idempotent`` directive on versions that have it (2026-01 and later,
mandatory from 2026-04), so a request repeated after a timeout or a crash is applied once.
The version is the one answering the client (:attr:`AdminClient.version`). Ids are Shopify's
numeric ids as text.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from orderhub.adapters.fields import numeric_id, parse_time
from orderhub.adapters.shopify import api_versions
from orderhub.adapters.shopify.graphql import AdminClient
from orderhub.adapters.shopify.graphql_products import paged

LEVELS_PER_ITEM = 10  # more are fetched with MORE_LEVELS_QUERY
PAIRS_PER_QUERY = 100  # (item, location) pairs per current-quantity query: 3 points each
MAX_QUANTITIES = 250  # quantities per inventorySetQuantities

LOCATIONS_QUERY = """
query Locations($first: Int!, $after: String) {
  locations(first: $first, after: $after) { pageInfo { hasNextPage endCursor } nodes { id name isActive } }
}
"""

_LEVEL = "location { id } updatedAt quantities(names: $names) { name quantity }"
ITEMS_QUERY = """
query InventoryItems($first: Int!, $after: String, $names: [String!]!) {
  inventoryItems(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { id sku inventoryLevels(first: %d) { pageInfo { hasNextPage endCursor } nodes { %s } } }
  }
}
""" % (LEVELS_PER_ITEM, _LEVEL)

MORE_LEVELS_QUERY = """
query ItemLevels($id: ID!, $after: String, $names: [String!]!) {
  inventoryItem(id: $id) { inventoryLevels(first: 100, after: $after) { pageInfo { hasNextPage endCursor }
                                                                      nodes { %s } } }
}
""" % _LEVEL

_SET_FIELDS = """{
    inventoryAdjustmentGroup { createdAt changes { name delta quantityAfterChange item { id } location { id } } }
    userErrors { code field message }
  }"""
SET_QUANTITIES = ("mutation SetQuantities($input: InventorySetQuantitiesInput!) {\n"
                  "  inventorySetQuantities(input: $input) " + _SET_FIELDS + "\n}")
SET_QUANTITIES_IDEMPOTENT = ("mutation SetQuantities($input: InventorySetQuantitiesInput!, $key: String!) {\n"
                             "  inventorySetQuantities(input: $input) @idempotent(key: $key) " + _SET_FIELDS + "\n}")


def item_gid(item_id: str) -> str:
    return f"gid://shopify/InventoryItem/{item_id}"


def location_gid(location_id: str) -> str:
    return f"gid://shopify/Location/{location_id}"


def supports_idempotency(api_version: str) -> bool:
    """Whether the API version takes ``@idempotent(key:)`` on inventory mutations."""
    return api_versions.has("idempotent_directive", api_version)


def _quantity(q: dict[str, Any], ignore_compare: bool, change_from: bool) -> dict[str, Any]:
    out = {"inventoryItemId": item_gid(q["item_id"]), "locationId": location_gid(q["location_id"]),
           "quantity": int(q["quantity"])}
    if change_from:  # null opts out of the check; the field itself must be there (2026-04)
        out["changeFromQuantity"] = None if ignore_compare else q["compare"]
    elif not ignore_compare:
        out["compareQuantity"] = q["compare"]
    return out


@dataclass(frozen=True)
class Location:
    id: str
    name: str
    active: bool


def locations(client: AdminClient) -> list[Location]:
    return [Location(numeric_id(n["id"], "locations.id"), n.get("name") or "", bool(n.get("isActive", True)))
            for nodes in paged(client, LOCATIONS_QUERY, {}, "locations") for n in nodes]


@dataclass(frozen=True)
class Level:
    location_id: str
    quantities: dict[str, int]
    updated_at: datetime | None


@dataclass(frozen=True)
class ItemLevels:
    item_id: str
    sku: str | None
    levels: tuple[Level, ...]


def _level(node: dict[str, Any]) -> Level:
    stamp = node.get("updatedAt")
    return Level(location_id=numeric_id(node["location"]["id"], "inventoryLevels.location.id"),
                 quantities={q["name"]: int(q["quantity"]) for q in node.get("quantities") or []},
                 updated_at=None if stamp is None else parse_time(stamp, "inventoryLevels.updatedAt"))


def item_levels(client: AdminClient, names: Sequence[str]) -> Iterator[list[ItemLevels]]:
    """Every inventory item with its quantities ``names`` at each location it is stocked at, a page at a time."""
    for nodes in paged(client, ITEMS_QUERY, {"names": list(names)}, "inventoryItems"):
        page = []
        for n in nodes:
            connection = n.get("inventoryLevels") or {}
            level_nodes = list(connection.get("nodes") or [])
            while (connection.get("pageInfo") or {}).get("hasNextPage"):
                data = client.execute(MORE_LEVELS_QUERY, {"id": n["id"], "names": list(names),
                                                          "after": connection["pageInfo"]["endCursor"]})
                connection = (data.get("inventoryItem") or {}).get("inventoryLevels") or {}
                level_nodes += connection.get("nodes") or []
            page.append(ItemLevels(numeric_id(n["id"], "inventoryItems.id"), n.get("sku"),
                                   tuple(_level(level) for level in level_nodes)))
        yield page


@dataclass(frozen=True)
class Current:
    """An item's quantities at a location now, and when the level last changed."""

    quantity: int  # the quantity asked for
    available: int | None
    updated_at: datetime | None


def current_quantities(client: AdminClient, pairs: Sequence[tuple[str, str]], name: str
                       ) -> dict[tuple[str, str], Current | None]:
    """The quantity ``name`` (and ``available``) of each (item, location) now; None where it is not stocked."""
    out: dict[tuple[str, str], Current | None] = {}
    names = sorted({name, "available"})
    for start in range(0, len(pairs), PAIRS_PER_QUERY):
        chunk = pairs[start:start + PAIRS_PER_QUERY]
        params = ", ".join(f"$i{i}: ID!, $l{i}: ID!" for i in range(len(chunk)))
        fields = "\n".join(f"  q{i}: inventoryItem(id: $i{i}) {{ inventoryLevel(locationId: $l{i}) {{ updatedAt "
                           f"quantities(names: $names) {{ name quantity }} }} }}" for i in range(len(chunk)))
        variables: dict[str, Any] = {"names": names}
        for i, (item, location) in enumerate(chunk):
            variables[f"i{i}"], variables[f"l{i}"] = item_gid(item), location_gid(location)
        data = client.execute(f"query Current($names: [String!]!, {params}) {{\n{fields}\n}}", variables,
                              expected_cost=3 * len(chunk))
        for i, pair in enumerate(chunk):
            level = (data.get(f"q{i}") or {}).get("inventoryLevel")
            quantities = {} if level is None else {q["name"]: int(q["quantity"]) for q in level.get("quantities") or []}
            if level is None or name not in quantities:
                out[pair] = None
                continue
            stamp = level.get("updatedAt")
            out[pair] = Current(quantities[name], quantities.get("available"),
                                None if stamp is None else parse_time(stamp, "inventoryLevel.updatedAt"))
    return out


@dataclass(frozen=True)
class Change:
    name: str
    item_id: str
    location_id: str
    delta: int
    after: int | None


@dataclass(frozen=True)
class UserError:
    code: str | None
    message: str
    index: int | None  # the quantity it is about (its position in the request), when it names one

    def __str__(self) -> str:
        return f"{self.code or 'ERROR'}: {self.message}"


@dataclass(frozen=True)
class SetResult:
    created_at: datetime | None
    changes: tuple[Change, ...]
    errors: tuple[UserError, ...]


def _error(e: dict[str, Any]) -> UserError:
    field = e.get("field") or []
    index = int(field[2]) if len(field) > 2 and field[1] == "quantities" and str(field[2]).isdigit() else None
    return UserError(e.get("code"), e.get("message") or "", index)


def set_quantities(client: AdminClient, *, name: str, reason: str, quantities: Sequence[dict[str, Any]],
                   ignore_compare: bool, idempotency_key: str | None, reference: str | None = None) -> SetResult:
    """Send one ``inventorySetQuantities``. ``quantities``: {item_id, location_id, quantity, compare}.

    With ``idempotency_key`` the request carries ``@idempotent(key:)`` where the version has it:
    sent again with the same key and input, Shopify returns the first result and changes nothing.
    From 2026-04 the key is required.
    """
    if not 0 < len(quantities) <= MAX_QUANTITIES:
        raise ValueError(f"inventorySetQuantities takes 1 to {MAX_QUANTITIES} quantities, not {len(quantities)}")
    if not idempotency_key and client.has("idempotency_required"):
        raise ValueError(f"inventorySetQuantities on Shopify API version {client.version} needs an idempotency key")
    change_from = client.has("inventory_change_from_quantity")
    payload: dict[str, Any] = {
        "name": name, "reason": reason,
        **({} if change_from else {"ignoreCompareQuantity": ignore_compare}),
        "quantities": [_quantity(q, ignore_compare, change_from) for q in quantities]}
    if reference:
        payload["referenceDocumentUri"] = reference
    if idempotency_key and client.has("idempotent_directive"):
        data = client.execute(SET_QUANTITIES_IDEMPOTENT, {"input": payload, "key": idempotency_key}, expected_cost=10)
    else:
        data = client.execute(SET_QUANTITIES, {"input": payload}, expected_cost=10)
    result = data["inventorySetQuantities"] or {}
    group = result.get("inventoryAdjustmentGroup") or {}
    return SetResult(
        created_at=parse_time(group["createdAt"], "createdAt") if group.get("createdAt") else None,
        changes=tuple(Change(c["name"], numeric_id(c["item"]["id"], "changes.item.id"),
                             numeric_id(c["location"]["id"], "changes.location.id"), int(c["delta"]),
                             c.get("quantityAfterChange")) for c in group.get("changes") or []),
        errors=tuple(_error(e) for e in result.get("userErrors") or []))
