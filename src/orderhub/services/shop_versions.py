"""Each shop's Shopify API version against Shopify's support window: which shops need moving, and
saying so in the log (once per worker start and per job run), for the CLI, the console and the
metrics.

Shopify supports a stable version for 12 months and then answers it with the oldest supported
one, so a shop left behind changes behaviour on a date nobody chose. orderhub warns 60 days
ahead (:data:`api_versions.WARN_DAYS`), naming the shop, its version, the day support ends and
the version to move to.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import structlog

from orderhub.adapters.shopify import api_versions
from orderhub.adapters.store import shops
from orderhub.adapters.store.db import Database
from orderhub.adapters.store.shops import Shop
from orderhub.clock import utcnow

log = structlog.get_logger(__name__)
INVALID = "invalid"


@dataclass(frozen=True)
class VersionState:
    """Where one shop's API version stands today."""

    shop: str
    version: str
    state: str  # supported | ending | unsupported | preview | invalid
    support_ends: date | None
    days_left: int | None
    move_to: str
    message: str

    @property
    def needs_attention(self) -> bool:
        return self.state != api_versions.SUPPORTED


def today() -> date:
    return utcnow().date()


def state_of(shop: Shop, day: date) -> VersionState:
    try:
        standing = api_versions.standing(shop.api_version, day)
    except api_versions.InvalidVersion as exc:
        newest = api_versions.newest_stable(day)
        return VersionState(shop.domain, shop.api_version, INVALID, None, None, newest,
                            f"shop {shop.domain}: {exc}. Set a supported one: "
                            f"`orderhub shop set {shop.domain} --api-version {newest}`")
    return VersionState(shop.domain, standing.version, standing.state, standing.support_ends, standing.days_left,
                        standing.move_to, standing.advice(shop.domain))


def states(all_shops: Iterable[Shop], day: date) -> list[VersionState]:
    """The API-version state of every active shop."""
    return [state_of(s, day) for s in all_shops if s.status == "active"]


def warn(found: Iterable[VersionState], **context: object) -> list[VersionState]:
    """Log a warning for each state that needs attention; returns those."""
    flagged = [s for s in found if s.needs_attention]
    for s in flagged:
        log.warning("shopify_api_version_needs_moving", shop=s.shop, api_version=s.version, state=s.state,
                    support_ends=s.support_ends.isoformat() if s.support_ends else None, days_left=s.days_left,
                    move_to=s.move_to, advice=s.message, **context)
    return flagged


def warn_all(db: Database, day: date | None = None) -> list[VersionState]:
    """Read every shop and log those whose version needs moving (a worker calls this when it starts)."""
    with db.read() as conn:
        found = states(shops.all_shops(conn), day or today())
    return warn(found)
