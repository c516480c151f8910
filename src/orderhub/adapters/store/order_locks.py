"""Which worker applies an order's records now: one at a time, without waiting (PostgreSQL).

Workers claim inbox records with ``SKIP LOCKED``, so two of them may hold records of one order
at once (its creation in one batch, its payment in the other). Applied side by side, the second
would wait for the first's uncommitted rows and, as both go on, they can deadlock. Before a batch
is applied, its worker takes a transaction-scoped advisory lock on each order its records are about
(``pg_try_advisory_xact_lock``, never waiting); records of an order another worker holds stay
pending for a later batch, and the lock ends with the transaction. On SQLite one writer runs at a
time already: every order is granted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import Connection, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import Integer

Key = tuple[int, str]  # (shop id, channel order id)

# Advisory locks of two 32-bit keys are a space of their own: the first says what is locked, the second which.
_ORDERS = 0x6F726473  # "ords"
_TRY = text("SELECT k FROM unnest(:keys) AS k WHERE pg_try_advisory_xact_lock(:space, k)").bindparams(
    bindparam("keys", type_=ARRAY(Integer)), bindparam("space", type_=Integer))


def _number(key: Key) -> int:
    """The order's 32-bit lock number (two orders sharing one is harmless: one waits a batch)."""
    digest = hashlib.blake2b(f"{key[0]}:{key[1]}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


def try_lock(conn: Connection, keys: Iterable[Key]) -> set[Key]:
    """The orders among ``keys`` this transaction holds now (all of them on SQLite)."""
    wanted = set(keys)
    if conn.dialect.name != "postgresql" or not wanted:
        return wanted
    numbers: dict[int, list[Key]] = {}
    for key in wanted:
        numbers.setdefault(_number(key), []).append(key)
    granted = set(conn.execute(_TRY, {"keys": sorted(numbers), "space": _ORDERS}).scalars())
    return {key for number in granted for key in numbers[number]}
