"""Job ``reconcile-orders``: compare a shop's recent orders with Shopify and with subscribers, every hour.

A scheduled run of :func:`orderhub.services.reconcile.reconcile`. Parameters come as text
(``--param since=6h``): ``since`` is a duration (``2h``, ``1d``) or an ISO 8601 time and defaults
to 24 hours; ``reingest=false`` reports missing and stale orders without putting them in the inbox.
"""

from __future__ import annotations

from typing import Any

from orderhub.adapters.store.shops import Shop
from orderhub.bootstrap import Hub
from orderhub.domain.jobs import Definition, Param
from orderhub.services.jobs.registry import register
from orderhub.services.progress import NOWHERE, Progress

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


def reconcile_orders(hub: Hub, shop: Shop | None, params: dict[str, Any], *,
                     progress: Progress = NOWHERE) -> dict[str, Any]:
    from orderhub.services.reconcile import parse_since, reconcile

    assert shop is not None
    since = parse_since(str(params.get("since") or DEFAULT_SINCE))
    given = params.get("reingest")
    reingest = True if given is None else parse_flag(given, "reingest")
    report = reconcile(hub, shop.domain, since, actor=f"job:{NAME}", reingest=reingest, progress=progress)
    return {"reconciliation_id": report.id, "since": since.isoformat(), **report.summary}


register(Definition(
    name=NAME, category="misc",
    description="Reconciliation: compare orders with Shopify and with subscribers; re-ingest missing ones, "
                "log mismatches",
    default_schedule="hourly", min_interval_seconds=3600,
    params=(Param("since", help="how far back: a duration like 2h or 1d, or an ISO time (default 24h)"),
            Param("reingest", help="put missing and stale orders in the inbox (default true)")),
    # Orders read at Shopify; those put in the inbox again; those found in step; those the error log got.
    counts=(("read", "shopify_orders"), ("processed", "reingested"), ("skipped", "in_step"),
            ("failed", "error_logged")),
), lambda ctx: reconcile_orders(ctx.hub, ctx.shop, ctx.params, progress=ctx.progress))
