"""The one source of "now": aware UTC datetimes everywhere in orderhub."""

from __future__ import annotations

from datetime import datetime, timezone


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
