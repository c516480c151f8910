"""Event payloads are written the same whether they hold amounts (copied through to_json) or not (written as
they are)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import orjson

from orderhub.adapters.store import outbox
from orderhub.domain import money


def _long_way(payload: dict) -> str:  # type: ignore[type-arg]
    return orjson.dumps(money.to_json(payload, None), default=outbox._default).decode()


def test_a_payload_without_amounts_is_written_as_the_long_way_writes_it() -> None:
    payload = {"id": 7, "name": "#1001 zoë 🦋", "status": "brokered", "total_price": "38.20", "currency": "EUR",
               "at": datetime(2026, 12, 7, 23, 0, 0, 1234, tzinfo=timezone.utc), "day": date(2026, 12, 7),
               "units": [{"id": 1, "facility_id": None, "queue": None}], "pair": (1, "a"), "ok": True, "rate": 0.5}
    assert outbox.serialize(payload) == _long_way(payload)


def test_a_payload_with_amounts_shows_them_in_its_currency() -> None:
    payload = {"currency": "JPY", "total": Decimal("1200.0000"), "lines": [{"price": Decimal("600")}],
               "at": datetime(2026, 12, 7, tzinfo=timezone.utc)}
    assert outbox.serialize(payload) == _long_way(payload)
    assert orjson.loads(outbox.serialize(payload))["total"] == "1200"
