"""Reading hostile JSON field by field, with errors that name the exact field: every channel's translator
(Shopify, Amazon, Walmart, TikTok Shop) reads its payloads with it."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from orderhub.domain.errors import InvalidRecord

MISSING = object()
MAX_INT = 2**31 - 1  # whole numbers are stored as 32-bit integers


def parse_time(value: str, path: str = "time") -> datetime:
    """ISO 8601 times with an offset or ``Z`` (Shopify's REST and GraphQL, the marketplaces' APIs)."""
    if not isinstance(value, str):
        raise InvalidRecord(path, f"expected an ISO 8601 time, got {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRecord(path, f"not an ISO 8601 time: {value[:40]!r}") from None
    if parsed.tzinfo is None:
        raise InvalidRecord(path, f"time {value[:40]!r} has no UTC offset")
    try:
        return parsed.astimezone(timezone.utc)
    except OverflowError:  # 9999-12-31T23:59:59-12:00 is past the last moment Python can hold in UTC
        raise InvalidRecord(path, f"time {value[:40]!r} is out of range") from None


def numeric_id(value: Any, path: str) -> str:
    """Numeric ids (Shopify's, TikTok's) kept as strings: they exceed 2^53. Accepts ints, digit strings and
    Shopify's gids."""
    if isinstance(value, bool):
        raise InvalidRecord(path, "expected an id, got a boolean")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        tail = value.rsplit("/", 1)[-1] if value.startswith("gid://") else value
        tail = tail.split("?", 1)[0]
        if tail.isdigit() and len(tail) <= 30:
            return tail
    raise InvalidRecord(path, f"not a numeric id: {str(value)[:40]!r}")


class Fields:
    """A view on one JSON object that remembers where it is in the payload."""

    __slots__ = ("data", "path")

    def __init__(self, data: Any, path: str = "") -> None:
        if not isinstance(data, dict):
            raise InvalidRecord(path or None, f"expected an object, got {type(data).__name__}")
        self.data = data
        self.path = path

    def path_to(self, key: str) -> str:
        """Where ``key`` of this object is in the payload, as error messages name it."""
        return self._p(key)

    def _p(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def _get(self, key: str, required: bool) -> Any:
        value = self.data.get(key, MISSING)
        if value is MISSING or value is None:
            if required:
                raise InvalidRecord(self._p(key), "required field is missing")
            return None
        return value

    def id(self, key: str = "id", required: bool = True) -> str | None:
        value = self._get(key, required)
        return None if value is None else numeric_id(value, self._p(key))

    def str(self, key: str, *, required: bool = False, max_len: int = 255) -> str | None:
        value = self._get(key, required)
        if value is None:
            return None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise InvalidRecord(self._p(key), f"expected text, got {type(value).__name__}")
        if len(value) > max_len:
            raise InvalidRecord(self._p(key), f"text of {len(value)} characters exceeds the limit of {max_len}")
        # NUL cannot be stored in PostgreSQL text; it carries no meaning in a name or a note.
        return value.replace("\x00", "") if "\x00" in value else value

    def int(self, key: str, *, required: bool = False) -> int | None:
        value = self._get(key, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise InvalidRecord(self._p(key), f"expected a whole number, got {str(value)[:40]!r}")
        try:
            number = int(value)
        except ValueError:
            raise InvalidRecord(self._p(key), f"expected a whole number, got {value[:40]!r}") from None
        if not -MAX_INT <= number <= MAX_INT:  # the database's integers: beyond them no retry can ever help
            raise InvalidRecord(self._p(key), f"{str(value)[:40]} is out of range (at most {MAX_INT:,})")
        return number

    def float(self, key: str) -> float | None:
        value = self._get(key, False)
        if value is None:
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise InvalidRecord(self._p(key), f"expected a number, got {str(value)[:40]!r}") from None

    def money(self, key: str, *, required: bool = False, default: str = "0") -> Decimal:
        value = self._get(key, required)
        if value is None:
            return Decimal(default)
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise InvalidRecord(self._p(key), f"expected an amount, got {type(value).__name__}")
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            raise InvalidRecord(self._p(key), f"not an amount: {str(value)[:40]!r}") from None
        if not amount.is_finite() or abs(amount) >= Decimal("1e15"):
            raise InvalidRecord(self._p(key), f"amount out of range: {str(value)[:40]!r}")
        return amount

    def time(self, key: str, *, required: bool = False) -> datetime | None:
        value = self._get(key, required)
        return None if value is None else parse_time(value, self._p(key))

    def bool(self, key: str, default: bool) -> bool:
        value = self._get(key, False)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise InvalidRecord(self._p(key), f"expected true or false, got {str(value)[:40]!r}")
        return value

    def obj(self, key: str, *, required: bool = False) -> "Fields | None":
        value = self._get(key, required)
        return None if value is None else Fields(value, self._p(key))

    def objs(self, key: str, *, required: bool = False, max_items: int = 5000) -> list["Fields"]:
        value = self._get(key, required)
        if value is None:
            return []
        if not isinstance(value, list):
            raise InvalidRecord(self._p(key), f"expected a list, got {type(value).__name__}")
        if len(value) > max_items:
            raise InvalidRecord(self._p(key), f"{len(value)} entries exceed the limit of {max_items}")
        return [Fields(v, f"{self._p(key)}[{i}]") for i, v in enumerate(value)]

    def tags(self, key: str = "tags") -> tuple[str, ...]:
        value = self._get(key, False)
        if value is None:
            return ()
        if isinstance(value, list):
            parts = [str(v) for v in value]
        elif isinstance(value, str):
            parts = value.split(",")
        else:
            raise InvalidRecord(self._p(key), f"expected comma-separated text, got {type(value).__name__}")
        return tuple(t.strip() for t in parts if t.strip())

    def shop_amount(self, key: str, *, required: bool = False, default: str = "0") -> Decimal:
        """An amount in the shop's currency: ``{key}_set.shop_money`` where Shopify sends it, else ``key``.

        Both are the shop's currency in REST bodies; the set is the one Shopify keeps current."""
        from_set = self.shop_money(f"{key}_set")
        return from_set if from_set is not None else self.money(key, required=required, default=default)

    def presentment_money(self, key: str) -> tuple[Decimal, str | None] | None:
        """``{"presentment_money": {"amount", "currency_code"}}`` of a money set: what the customer saw."""
        money_set = self.obj(key)
        money = None if money_set is None else money_set.obj("presentment_money")
        if money is None or money.data.get("amount") is None:
            return None
        return money.money("amount"), money.str("currency_code", max_len=3)

    def shop_money(self, key: str) -> Decimal | None:
        """``{"shop_money": {"amount": "1.00"}}`` money sets, as in ``total_shipping_price_set``."""
        money_set = self.obj(key)
        if money_set is None:
            return None
        shop_money = money_set.obj("shop_money")
        return None if shop_money is None else shop_money.money("amount")
