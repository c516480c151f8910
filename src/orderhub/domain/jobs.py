"""Jobs as the job manager sees them: categories, parameters, schedules and their ticks.

Pure rules, no I/O: what a schedule expression means, when its next tick is in the
job's own timezone, which missed ticks still run after downtime, and whether the
parameters someone gave a job are acceptable.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter


@dataclass(frozen=True)
class Category:
    code: str
    title: str
    description: str
    # The Shopify webhook topics its page subscribes (real time, backed up by its batch jobs).
    topics: tuple[str, ...] = ()


CATEGORIES: tuple[Category, ...] = (
    Category("initial-load", "Initial load", "Import all products, then all historical orders, when orderhub "
             "is set up for a shop.", ("bulk_operations/finish",)),
    Category("pre-order", "Pre-order", "Pre-order and backorder catalogues, tags and promise dates."),
    Category("orders", "Orders", "New, approved, updated, cancelled and returned orders.",
             ("orders/create", "orders/cancelled", "orders/paid", "order_transactions/create", "refunds/create")),
    Category("brokering", "Brokering", "Routing runs that allocate order units to facilities."),
    Category("fulfilment", "Fulfilment", "Shipping, fulfilment history and auto-cancellations."),
    Category("inventory", "Inventory", "Thresholds, variances and inventory sync with Shopify.",
             ("inventory_levels/update",)),
    Category("products", "Products", "Products and their category structure from Shopify.",
             ("products/create", "products/delete")),
    Category("misc", "Miscellaneous", "Reconciliation, retention and the error-log digest."),
)
CATEGORY_CODES = frozenset(c.code for c in CATEGORIES)


def category(code: str) -> Category:
    for c in CATEGORIES:
        if c.code == code:
            return c
    raise ValueError(f"unknown job category {code!r}; categories: {', '.join(c.code for c in CATEGORIES)}")


# -- parameters ---------------------------------------------------------------------------------------

class ParamKind(StrEnum):
    TEXT = "text"
    INT = "int"
    BOOL = "bool"
    DURATION = "duration"  # 90s, 15m, 2h, 1d -> seconds
    TIME = "time"  # ISO 8601 with an offset -> aware UTC datetime
    PATTERN = "pattern"  # a file-name pattern (fnmatch)


@dataclass(frozen=True)
class Param:
    name: str
    kind: ParamKind = ParamKind.TEXT
    help: str = ""
    required: bool = False
    default: Any = None
    max_len: int = 500


class InvalidParams(ValueError):
    pass


_DURATION = re.compile(r"\s*(\d+)\s*([smhd]?)\s*")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int:
    """``90s``, ``15m``, ``1h``, ``1d`` or plain seconds."""
    m = _DURATION.fullmatch(text)
    if not m:
        raise ValueError(f"{text!r} is not a duration: use a number with s, m, h or d (e.g. 15m)")
    return int(m.group(1)) * _UNITS[m.group(2)]


def _convert(job: str, p: Param, raw: Any) -> Any:
    text = raw if isinstance(raw, str) else str(raw)
    if len(text) > p.max_len:
        raise InvalidParams(f"job {job}: parameter {p.name!r} is longer than {p.max_len} characters")
    try:
        if p.kind is ParamKind.INT:
            if isinstance(raw, bool):
                raise ValueError
            return int(raw)
        if p.kind is ParamKind.BOOL:
            if isinstance(raw, bool):
                return raw
            if text.lower() in ("true", "yes", "1", "on"):
                return True
            if text.lower() in ("false", "no", "0", "off"):
                return False
            raise ValueError
        if p.kind is ParamKind.DURATION:
            return parse_duration(text)
        if p.kind is ParamKind.TIME:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if value.tzinfo is None:
                raise ValueError
            return value.astimezone(timezone.utc)
    except (ValueError, OverflowError):  # overflow: a time past what UTC can hold (9999-12-31 at -12:00)
        expected = {ParamKind.INT: "a whole number", ParamKind.BOOL: "true or false",
                    ParamKind.DURATION: "a duration such as 15m", ParamKind.TIME: "an ISO 8601 time with an offset"}
        raise InvalidParams(f"job {job}: parameter {p.name!r} must be {expected[p.kind]}, got {text[:60]!r}") from None
    return text


def validate_params(job: str, spec: tuple[Param, ...], given: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters as the job reads them: converted, defaults filled in, unknown names refused."""
    known = {p.name: p for p in spec}
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise InvalidParams(f"job {job}: unknown parameter(s) {', '.join(unknown)}; it takes "
                            + (", ".join(sorted(known)) or "none"))
    out: dict[str, Any] = {}
    for p in spec:
        raw = given.get(p.name)
        if raw is None or raw == "":
            if p.required:
                raise InvalidParams(f"job {job}: parameter {p.name!r} is required ({p.help})")
            out[p.name] = p.default
        else:
            out[p.name] = _convert(job, p, raw)
    return out


# -- schedules ---------------------------------------------------------------------------------------

# Named frequencies, as the job manager offers them, and the cron expression each stands for.
FREQUENCIES: dict[str, str] = {
    "every-5-minutes": "*/5 * * * *",
    "every-15-minutes": "*/15 * * * *",
    "every-30-minutes": "*/30 * * * *",
    "hourly": "0 * * * *",
    "every-6-hours": "0 */6 * * *",
    "daily": "0 0 * * *",
}
_EVERY = re.compile(r"every\s+(\d+\s*[smhd]?)")


class MissedPolicy(StrEnum):
    RUN_ONCE = "run-once"  # ticks missed during downtime run once, together
    SKIP = "skip"  # ticks missed during downtime are skipped; the next tick runs


@dataclass(frozen=True)
class Cadence:
    """When a schedule ticks: a named frequency, a cron expression (5 fields, or 6 with seconds
    last), or ``every N[smhd]`` counted from the schedule's start."""

    expression: str
    tz: str = "UTC"

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {self.tz!r}; use an IANA name such as Europe/Berlin") from None
        if self.interval() is None and not croniter.is_valid(self.cron()):
            raise ValueError(f"{self.expression!r} is not a schedule: use one of {', '.join(FREQUENCIES)}, "
                             "a cron expression such as '*/10 * * * *', or 'every 90s'")

    def cron(self) -> str:
        return FREQUENCIES.get(self.expression, self.expression)

    def interval(self) -> int | None:
        m = _EVERY.fullmatch(self.expression.strip())
        if not m:
            return None
        seconds = parse_duration(m.group(1))
        if seconds <= 0:
            raise ValueError(f"{self.expression!r}: the interval must be at least one second")
        return seconds

    def next_after(self, moment: datetime) -> datetime:
        """The tick after ``moment`` (aware UTC in, aware UTC out): an interval counts from the tick
        before (the schedule's start is its first); cron runs in the schedule's timezone, so 'daily' is
        midnight there, across daylight-saving changes."""
        seconds = self.interval()
        if seconds is not None:
            return moment + timedelta(seconds=seconds)
        local = moment.astimezone(ZoneInfo(self.tz))
        nxt = croniter(self.cron(), local).get_next(datetime)
        return nxt.astimezone(timezone.utc)

    def shortest_gap(self, around: datetime) -> float:
        """The shortest time between two ticks over the next few days, in seconds."""
        seconds = self.interval()
        if seconds is not None:
            return float(seconds)
        ticks = [around]
        for _ in range(48):
            ticks.append(self.next_after(ticks[-1]))
        return min((b - a).total_seconds() for a, b in zip(ticks[1:], ticks[2:], strict=False))


@dataclass(frozen=True)
class Due:
    """What a scheduler does for a schedule whose tick came: queue a run for ``tick`` (or nothing),
    and move the schedule to ``next_tick``; ``missed`` ticks were passed over."""

    tick: datetime | None
    next_tick: datetime
    missed: int = 0


def due(cadence: Cadence, next_run_at: datetime, now: datetime, policy: MissedPolicy, *,
        grace: timedelta = timedelta(seconds=60)) -> Due:
    """Decide for a schedule whose ``next_run_at`` has come. Ticks that came while no scheduler ran
    collapse into one run (run-once) or none (skip: unless the newest one is within ``grace``)."""
    ticks = [next_run_at]
    while True:
        nxt = cadence.next_after(ticks[-1])
        if nxt > now:
            break
        ticks.append(nxt)
        if len(ticks) > 100_000:  # a long downtime of a per-second schedule: the count is what matters
            nxt = cadence.next_after(now)
            break
    latest = ticks[-1]
    if policy is MissedPolicy.SKIP and now - latest > grace:
        return Due(None, nxt, missed=len(ticks))
    return Due(latest, nxt, missed=len(ticks) - 1)


def parse_start(text: str, now: datetime, tz: str = "UTC") -> datetime:
    """``now``, ``+5m``, ``+1h``, ``tomorrow`` (midnight in ``tz``) or an ISO 8601 time."""
    text = text.strip()
    if text == "now":
        return now
    if text.startswith("+"):
        return now + timedelta(seconds=parse_duration(text[1:]))
    if text == "tomorrow":
        local = now.astimezone(ZoneInfo(tz))
        midnight = datetime(local.year, local.month, local.day, tzinfo=ZoneInfo(tz)) + timedelta(days=1)
        return midnight.astimezone(timezone.utc)
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"start {text!r}: use now, +5m, +1h, tomorrow or an ISO 8601 time") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(tz))
    try:
        return value.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError(f"start {text!r} is out of range") from None


# -- job definitions -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Policy:
    """How runs of a job behave; a schedule may override each."""

    allow_overlap: bool = False  # may two runs of it (for one shop) run at once?
    timeout_seconds: int = 3600
    max_retries: int = 2  # after a failure, or a worker that died
    retry_delay_seconds: int = 60
    missed: MissedPolicy = MissedPolicy.RUN_ONCE


# The counts every run records (its history shows them as read/processed/skipped/failed).
COUNTS = ("read", "processed", "skipped", "failed")


@dataclass(frozen=True)
class Definition:
    """What the catalogue says of a job (the code that runs it is registered beside it).

    ``counts`` names, for a job that returns its counts in its statistics under names of its own,
    which statistic is which count: ``(("read", "checked"), ("processed", "approved"))``. Jobs that
    report through ``ctx.count`` or return the standard names need none.
    """

    name: str
    category: str
    description: str
    params: tuple[Param, ...] = ()
    default_schedule: str = "every-15-minutes"
    min_interval_seconds: int = 300  # slow jobs: hourly or slower (3600)
    per_shop: bool = True
    requires: tuple[str, ...] = ()  # jobs that must have succeeded (for the shop) before it may run
    policy: Policy = field(default_factory=Policy)
    counts: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.category not in CATEGORY_CODES:
            raise ValueError(f"job {self.name}: unknown category {self.category!r}")
        unknown = sorted({count for count, _stat in self.counts} - set(COUNTS))
        if unknown:
            raise ValueError(f"job {self.name}: {', '.join(unknown)} is not a count; counts are {', '.join(COUNTS)}")

    def count_key(self, count: str) -> str:
        """The statistic that holds ``count`` (read, processed, skipped, failed) for this job."""
        return dict(self.counts).get(count, count)

    def check_cadence(self, cadence: Cadence, now: datetime) -> None:
        gap = cadence.shortest_gap(now)
        if gap < self.min_interval_seconds:
            raise ValueError(f"job {self.name} may run at most every {_human(self.min_interval_seconds)}; "
                             f"{cadence.expression!r} ticks every {_human(int(gap))}")


def _human(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
