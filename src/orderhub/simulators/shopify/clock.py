"""The simulator's clock and Shopify's two time formats.

REST payloads (and so webhooks) carry times in the shop's time zone with an
offset, to the second ("2026-11-23T10:15:02-05:00"); GraphQL carries UTC with
``Z`` ("2026-11-23T15:15:02Z").
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone


def parse_offset(text: str) -> timezone:
    """``"-05:00"`` -> a fixed-offset time zone."""
    sign = -1 if text.startswith("-") else 1
    hours, minutes = text.lstrip("+-").split(":")
    return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes)))


def rest_time(moment: datetime, tz: timezone) -> str:
    return moment.astimezone(tz).replace(microsecond=0).isoformat()


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def utc_z(text: str | None) -> str | None:
    """A REST time as GraphQL's ``DateTime`` (UTC, ``Z``)."""
    if text is None:
        return None
    return parse_time(text).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Clock:
    """Wall-clock time in whole seconds, versions that always move forward, and the day Shopify's
    API-version rules are read on (fixed with ``POST /_sim/config {"today": "2026-12-07"}``)."""

    def __init__(self) -> None:
        self.fixed_day: date | None = None

    def today(self) -> date:
        return self.fixed_day or self.now().date()

    def now(self) -> datetime:
        return datetime.now(UTC).replace(microsecond=0)

    def after(self, previous: str | None) -> datetime:
        """Now, or one second after ``previous`` if now is not later, so each version is distinct."""
        now = self.now()
        if previous is None:
            return now
        floor = parse_time(previous).astimezone(UTC) + timedelta(seconds=1)
        return max(now, floor)
