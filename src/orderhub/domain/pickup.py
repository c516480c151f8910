"""Pickup in store, the pure part: the pickup's states, its verification code, and its dates.

A pickup is one order a customer collects at a store. It waits while the store picks the units, becomes ready
when the store says so (the customer gets a verification code by e-mail), and ends collected (the right code at
the counter), expired (not collected by its date) or cancelled. The code is random, stored only as a salted
scrypt hash and compared in constant time; after ``MAX_ATTEMPTS`` wrong codes the pickup is locked until a
manager resets it, so guessing at the counter gets nowhere.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final


class PickupStatus(StrEnum):
    WAITING = "waiting"  # the store is still picking
    READY = "ready"  # waiting at the counter; the customer has the code
    COLLECTED = "collected"
    EXPIRED = "expired"  # not collected by its date: the order was cancelled
    CANCELLED = "cancelled"  # the order was cancelled otherwise


OPEN: Final = frozenset({PickupStatus.WAITING, PickupStatus.READY})
MAX_ATTEMPTS: Final = 5
# No 0/O, 1/I/L, 2/Z, 5/S, 8/B: read aloud or typed from a phone, a code is not misread.
ALPHABET: Final = "ACDEFGHJKMNPQRTUVWXY34679"
CODE_LENGTH: Final = 8
# scrypt's cost: a leaked table costs an attacker this much per guess (16 MiB, a few ms here).
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


class PickupError(ValueError):
    """A pickup step that cannot be done; the message names the order and says what to do."""


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise(code: str) -> str:
    """What the customer reads out, as stored: case, spaces and dashes do not matter."""
    return "".join(code.split()).replace("-", "").upper()


def hash_code(code: str, salt: bytes | None = None) -> tuple[str, str]:
    """(salt hex, hash hex) of ``code``; a fresh random salt unless one is given."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(normalise(code).encode(), salt=salt, maxmem=64 * 1024 * 1024, **_SCRYPT)
    return salt.hex(), digest.hex()


def code_matches(code: str, salt_hex: str, hash_hex: str) -> bool:
    """Whether ``code`` is the one hashed, compared in constant time. Longer input than a code is refused
    before hashing, so nobody makes the server hash megabytes."""
    if len(code) > 64:
        return False
    _salt, candidate = hash_code(code, bytes.fromhex(salt_hex))
    return hmac.compare_digest(candidate, hash_hex)


def collect_by(ready_at: datetime, days: int) -> datetime:
    if days < 1:
        raise PickupError(f"pickup days must be 1 or more (got {days})")
    return ready_at + timedelta(days=days)


REMIND_AHEAD: Final = timedelta(days=1)  # the customer is reminded a day before the pickup expires


def reminder_cutoff(now: datetime) -> datetime:
    """Ready pickups whose collect-by date is before this are due a reminder."""
    return now + REMIND_AHEAD


def is_overdue(status: str, collect_by_at: datetime | None, now: datetime) -> bool:
    return status == PickupStatus.READY and collect_by_at is not None and collect_by_at <= now
