"""The one source of "now": aware UTC datetimes everywhere in orderhub."""

from __future__ import annotations

from datetime import datetime, timezone


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(value: datetime) -> datetime:
    """``value`` as an aware UTC time (a naive one is taken as UTC).

    A time someone typed or sent can lie beyond what Python holds once moved to UTC (9999-12-31 at
    -12:00): that is a ValueError saying so, for the caller to report as bad input, never a crash."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    try:
        return value.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError(f"{value.isoformat()} is out of range") from None
