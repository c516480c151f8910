"""Sign-in throttling that holds attackers back, not the user they are guessing for.

Each password check is reserved in the database *before* it is made (a conditional UPDATE:
see :mod:`orderhub.adapters.store.sign_in_limits`), so a burst of concurrent attempts, in one
process or many, passes at most the limit. Limits are per (username, address) and per address.
Failures against one username from everywhere do not lock it: past a few, the addresses that
have already failed for that username share a slow lane (one check per ``SLOW_LANE``), while an
address that has not failed for it — the owner's own — goes straight through.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from orderhub.adapters.store import sign_in_limits
from orderhub.adapters.store.db import Database

WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_PAIR = 5  # one address guessing one username: then it waits out the window
MAX_FAILURES_PER_ADDRESS = 20  # one address, whatever names it tries
MAX_FAILURES_PER_USER = 5  # from everywhere: past it, addresses that failed for the name take the slow lane
SLOW_LANE = timedelta(seconds=10)


class Throttled(Exception):
    """Too many failed sign-ins; ``retry_after`` in seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("too many failed sign-ins; try again in a few minutes")
        self.retry_after = max(1, retry_after)


@dataclass(frozen=True)
class Ticket:
    """A reserved password check, to be settled with :func:`settle` once it is made (or not)."""

    pair: str
    address: str
    user: str


def name_key(username_key: str) -> str:
    """A name as counted and recorded. Casefolding can lengthen a name past its 64 characters
    (``ﬃ`` is ``ffi``): such a name goes by its hash, so it fits every column."""
    if len(username_key) <= 64:
        return username_key
    return "sha256:" + hashlib.sha256(username_key.encode()).hexdigest()[:57]


def keys(username_key: str, ip: str) -> Ticket:
    """The counters of an attempt: the name at the address, the address, the name."""
    username_key = name_key(username_key)
    return Ticket(f"pair:{username_key}|{ip[:64]}", f"addr:{ip[:64]}", f"user:{username_key}")


def _left(window_start: datetime, now: datetime) -> int:
    return int((window_start + WINDOW - now).total_seconds()) + 1


def admit(db: Database, username_key: str, ip: str, now: datetime) -> Ticket:
    """Reserve one password check for this username from this address, or raise :class:`Throttled`."""
    ticket = keys(username_key, ip)
    with db.write() as conn:
        address = sign_in_limits.reserve(conn, ticket.address, MAX_FAILURES_PER_ADDRESS, now, WINDOW)
        if not address.taken:
            refused = _left(address.window_start, now)
        else:
            pair = sign_in_limits.reserve(conn, ticket.pair, MAX_FAILURES_PER_PAIR, now, WINDOW)
            if not pair.taken:
                sign_in_limits.release(conn, ticket.address)
                refused = _left(pair.window_start, now)
            else:
                user = sign_in_limits.reserve(conn, ticket.user, None, now, WINDOW)
                failed_here_before = pair.count > 1
                if (user.count > MAX_FAILURES_PER_USER and failed_here_before
                        and not sign_in_limits.take_turn(conn, ticket.user, now, SLOW_LANE)):
                    for key in (ticket.address, ticket.pair, ticket.user):
                        sign_in_limits.release(conn, key)
                    refused = int(SLOW_LANE.total_seconds())
                else:
                    return ticket
    raise Throttled(refused)


def settle(db: Database, ticket: Ticket, *, ok: bool | None) -> None:
    """After the check: a failure keeps the reservations; ``None`` (the check was never made) gives
    them back; a success gives the address's back and forgets the name's failures (the owner is
    in: the pair's and the name-wide slow lane's), so a few typos do not follow the owner around."""
    if ok is False:
        return
    with db.write() as conn:
        sign_in_limits.release(conn, ticket.address)
        if ok:
            sign_in_limits.clear(conn, ticket.pair)
            sign_in_limits.clear(conn, ticket.user)
        else:
            sign_in_limits.release(conn, ticket.pair)
            sign_in_limits.release(conn, ticket.user)
