"""Column types that keep money exact and times timezone-aware on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import DateTime, Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

SQLITE_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


# The time written last and its text: a batch writes one time (its transaction's ``now``) in many rows and
# statements. One tuple, replaced whole, so threads never see a time with another's text.
_last_written: tuple[datetime | None, str] = (None, "")


def sqlite_time(value: datetime) -> str:
    """How a UTC time is written on SQLite (sortable text, SQLITE_TIME_FORMAT); used by raw fast paths too."""
    global _last_written
    last = _last_written
    if value is last[0]:  # datetimes are immutable: the same object has the same text
        return last[1]
    if value.tzinfo is timezone.utc:  # the common case, and hot: drop the "+00:00" instead of converting
        text = value.isoformat(sep=" ", timespec="microseconds")[:-6]
    else:
        text = value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    _last_written = (value, text)
    return text


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes: ``timestamptz`` on PostgreSQL, sortable text on SQLite."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[object]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(32))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> object:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: orderhub stores aware UTC times only")
        if dialect.name == "sqlite":
            return sqlite_time(value)
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: object, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # SQLITE_TIME_FORMAT is ISO 8601 with a space: the fast C parser reads it
            return datetime.fromisoformat(value).replace(tzinfo=timezone.utc)
        assert isinstance(value, datetime)
        return value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)


class Money(TypeDecorator[Decimal]):
    """Exact decimal amounts: ``NUMERIC(20,4)`` on PostgreSQL, decimal text on SQLite."""

    impl = Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[object]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))
        return dialect.type_descriptor(Numeric(20, 4, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> object:
        if value is None:
            return None
        value = Decimal(value)
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: object, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value))
