"""Job ``reconcile-orders``: compare a shop's recent orders with Shopify and with subscribers, every hour.

A scheduled run of :func:`orderhub.services.reconcile.reconcile`. Parameters come as text
(``--param since=6h``): ``since`` is a duration (``2h``, ``1d``) or an ISO 8601 time and defaults
to 24 hours; ``reingest=false`` reports missing and stale orders without putting them in the inbox.
"""

from __future__ import annotations

from typing import Any

from orderhub.adapters.store.shops import Shop
from orderhub.bootstrap import Hub
from orderhub.services.jobs.registry import Job, register

NAME = "reconcile-orders"
DEFAULT_SINCE = "24h"
_FALSE = frozenset({"0", "false", "no", "off"})
_TRUE = frozenset({"1", "true", "yes", "on"})


def parse_flag(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{name}: expected true or false, got {str(value)[:40]!r}")


def reconcile_orders(hub: Hub, shop: Shop | None, params: dict[str, Any]) -> dict[str, Any]:
    from orderhub.services.reconcile import parse_since, reconcile

    assert shop is not None
    since = parse_since(str(params.get("since") or DEFAULT_SINCE))
    reingest = parse_flag(params.get("reingest", True), "reingest")
    report = reconcile(hub, shop.domain, since, actor=f"job:{NAME}", reingest=reingest)
    return {"reconciliation_id": report.id, "since": since.isoformat(), **report.summary}


register(Job(
    name=NAME, category="orders",
    description="Compare orders with Shopify and with subscribers; re-ingest missing ones, log mismatches",
    run=reconcile_orders, default_every_seconds=3600,
    params={"since": "how far back: a duration like 2h or 1d, or an ISO time (default 24h)",
            "reingest": "put missing and stale orders in the inbox (default true)"},
))
