"""What the till sells: SKUs with their prices (and titles), from ``--skus``, a file, or orderhub's API.

- ``--skus SKU:PRICE,SKU:PRICE``;
- a file: JSON (``[{"sku", "price", "title"?}]``) or CSV with a header ``sku,price[,title]``;
- orderhub's API with an admin token: every SKU listed on a channel account that the store holds
  (``GET /api/channels/accounts``, ``/{name}/listings``, ``GET /api/inventory/{sku}``); orderhub's API has
  no shop price for a SKU, so each sells at ``--price``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import orjson


class CatalogueError(ValueError):
    """The catalogue cannot be read; the message says which entry and what to fix."""


@dataclass(frozen=True)
class Item:
    sku: str
    price: Decimal
    title: str | None = None


def _price(text: Any, where: str) -> Decimal:
    try:
        price = Decimal(str(text).strip())
    except InvalidOperation:
        raise CatalogueError(f"{where}: {str(text)[:40]!r} is not a price such as 19.99") from None
    if not price.is_finite() or price < 0:
        raise CatalogueError(f"{where}: {price} is not a possible price")
    return price.quantize(Decimal("0.01"))


def _items(rows: list[Item]) -> list[Item]:
    if not rows:
        raise CatalogueError("the catalogue is empty: give at least one SKU with its price")
    return list({item.sku: item for item in rows}.values())


def parse_skus(text: str) -> list[Item]:
    """``SKU:PRICE,SKU:PRICE`` (a SKU may hold colons: the price is after the last one)."""
    rows = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        sku, sep, price = part.rpartition(":")
        if not sep or not sku.strip():
            raise CatalogueError(f"--skus: {part!r} is not SKU:PRICE (e.g. MUG-CAFE:14.00)")
        rows.append(Item(sku.strip(), _price(price, f"--skus {sku.strip()}")))
    return _items(rows)


def read_file(path: str | Path) -> list[Item]:
    """A JSON list of {sku, price, title?} or a CSV file with a header sku,price[,title]."""
    raw = Path(path).read_bytes()
    text = raw.decode("utf-8-sig")
    if text.lstrip().startswith("["):
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise CatalogueError(f"{path}: not valid JSON: {exc}") from None
        rows = []
        for i, entry in enumerate(data):
            if not isinstance(entry, dict) or not entry.get("sku") or entry.get("price") is None:
                raise CatalogueError(f"{path}: entry {i} needs a sku and a price")
            rows.append(Item(str(entry["sku"]), _price(entry["price"], f"{path} entry {i}"),
                             str(entry["title"]) if entry.get("title") else None))
        return _items(rows)
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not {"sku", "price"} <= {f.strip().lower() for f in reader.fieldnames}:
        raise CatalogueError(f"{path}: a CSV catalogue needs a header line with sku and price (title optional)")
    rows = []
    for n, row in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        if not row.get("sku"):
            raise CatalogueError(f"{path} line {n}: no SKU")
        rows.append(Item(row["sku"], _price(row.get("price"), f"{path} line {n}"), row.get("title") or None))
    return _items(rows)


def from_orderhub(client: httpx.Client, store: str, token: str, price: Decimal) -> list[Item]:
    """SKUs listed on orderhub's channel accounts that ``store`` holds, each at ``price``."""
    headers = {"authorization": f"Bearer {token}"}

    def get(path: str) -> Any:
        answer = client.get(path, headers=headers)
        if answer.status_code in (401, 403):
            raise CatalogueError(f"orderhub refused the API token for {path} ({answer.status_code}); give an "
                                 "admin token (orderhub token create)")
        answer.raise_for_status()
        return answer.json()

    skus: list[str] = []
    for account in get("/api/channels/accounts").get("accounts", []):
        name = account.get("name")
        if name:
            skus += [row["sku"] for row in get(f"/api/channels/accounts/{name}/listings").get("listings", [])]
    held = []
    for sku in dict.fromkeys(skus):
        view = get(f"/api/inventory/{quote(sku, safe='')}")
        if any(f.get("facility") == store and int(f.get("on_hand") or 0) > 0 for f in view.get("facilities", [])):
            held.append(Item(sku, price))
    if not held:
        raise CatalogueError(f"no SKU listed on a channel account is in stock at {store}; give --skus or "
                             "--catalogue")
    return held
