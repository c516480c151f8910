"""Turn checked values into the JSON the service stores and answers with (Decimal and datetime as strings)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any


def plain(value: Any) -> Any:
    """``value`` with Decimals as fixed-point strings and datetimes in ISO 8601, recursively."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
