"""The fixture set: Shopify's own bodies (and bodies live shops logged), with what Shopify means by them.

One JSON file per fixture (see ``shopify/README.md`` beside them for where each came from):
``{"name", "kind": webhook | rest | graphql, "topic", "source", "payload", "expected"}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

SHIPPED = Path(__file__).parent / "shopify"


@dataclass(frozen=True)
class Fixture:
    name: str
    kind: str
    topic: str
    payload: Any
    expected: dict[str, Any]
    source: dict[str, Any]

    def node(self) -> Any:
        """The object ``expected["node"]`` points at in a GraphQL result ("data.order"; ``[]`` takes the first)."""
        value = self.payload
        for part in (self.expected.get("node") or "").split("."):
            if not part:
                continue
            key, many = (part[:-2], True) if part.endswith("[]") else (part, False)
            value = value.get(key) if isinstance(value, dict) else None
            if many:
                value = value[0] if isinstance(value, list) and value else None
        return value


def load(directory: Path | None = None) -> list[Fixture]:
    found = []
    for path in sorted((directory or SHIPPED).glob("*.json")):
        data = orjson.loads(path.read_bytes())
        found.append(Fixture(name=path.stem, kind=data["kind"], topic=data.get("topic") or "",
                             payload=data["payload"], expected=data.get("expected") or {},
                             source=data.get("source") or {}))
    return found
