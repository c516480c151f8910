"""Metadata shared by every table: naming conventions, the id type for queues, the raw body type."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Integer, MetaData, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL wants BIGINT for queues.
BigId = BigInteger().with_variant(Integer(), "sqlite")



class RawBody(TypeDecorator[str]):
    """A body as it arrived, read back as text. On SQLite a door may store the UTF-8 bytes it checked as they
    are (``inbox.insert_entries``), not encode them a second time from a ``str``; they read back as the same
    text. PostgreSQL's ``text`` gets text."""

    impl = Text
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return value.decode() if isinstance(value, bytes) else value
