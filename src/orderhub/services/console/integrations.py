"""How each integration is doing, for the dashboard: every Shopify shop (its webhook
subscriptions and the last check of them, and its Admin API version against Shopify's support
window), the HTTP destinations, Retail Pro, SFTP and SMTP.

Each line is read from what orderhub recorded (runs, calls, deliveries), never by calling the
service from a page: the dashboard must stay fast when a service is down.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import desc, select

from orderhub.adapters.shopify.api_versions import UNSUPPORTED
from orderhub.adapters.store import job_store, shops
from orderhub.adapters.store.schema import deliveries, destinations, invoice_calls
from orderhub.bootstrap import Hub
from orderhub.config import Settings
from orderhub.services import shop_versions, webhook_categories
from orderhub.services.jobs.misc_jobs import CHECK as CHECK_WEBHOOKS

RECENT_CALLS = 200  # the window of the recent-failures figures (the newest calls or deliveries)
OK, WARN, BAD, OFF = "ok", "warn", "bad", "off"


@dataclass(frozen=True)
class Health:
    name: str
    state: str  # ok | warn | bad | off (not configured)
    detail: str
    at: datetime | None = None  # of the newest fact the line rests on
    link: str | None = None


def _version_line(shop: shops.Shop) -> Health:
    """The shop's Shopify API version: fine, leaving support within 60 days (look), or past it (failing)."""
    state = shop_versions.state_of(shop, shop_versions.today())
    health = OK if not state.needs_attention else BAD if state.state in (UNSUPPORTED, shop_versions.INVALID) else WARN
    return Health(f"Shopify {shop.domain} API version", health, state.message)


def _shop_lines(conn: Any, runs: dict[tuple[str, int], Any]) -> list[Health]:
    lines = []
    for shop in shops.all_shops(conn):
        if shop.status != "active":
            lines.append(Health(f"Shopify {shop.domain}", OFF, f"shop is {shop.status}"))
            continue
        records = webhook_categories.records(conn, shop.id)
        check = runs.get((CHECK_WEBHOOKS, shop.id))
        seen = max((r.last_seen_at for r in records), default=None)
        topics = sorted({r.topic for r in records})
        detail = f"{len(records)} webhook subscription(s) recorded" + (f": {', '.join(topics)}" if topics else "")
        if check is not None and check.status == "failed":
            state, detail = BAD, f"{detail}; the last check failed: {(check.error or '')[:200]}"
        elif not records:
            state, detail = WARN, "no webhook subscriptions: only the batch jobs bring its changes"
        elif check is None:
            state, detail = WARN, f"{detail}; never checked (job check-webhooks)"
        else:
            state, detail = OK, f"{detail}; last check {check.status}"
        lines.append(Health(f"Shopify {shop.domain}", state, detail, check.finished_at if check else seen,
                            "/jobs/category/orders"))
        lines.append(_version_line(shop))
    return lines


def _destination_lines(conn: Any) -> list[Health]:
    lines = []
    for dest in conn.execute(select(destinations).where(destinations.c.kind == "http").order_by(destinations.c.name)):
        if not dest.enabled:
            lines.append(Health(f"Destination {dest.name}", OFF, "disabled"))
            continue
        recent = list(conn.execute(select(deliveries.c.status, deliveries.c.delivered_at, deliveries.c.last_status)
                                   .where(deliveries.c.destination_id == dest.id)
                                   .order_by(desc(deliveries.c.id)).limit(RECENT_CALLS)))
        failed = sum(1 for r in recent if r.status == "failed")
        waiting = sum(1 for r in recent if r.status in ("pending", "sending"))
        newest = max((r.delivered_at for r in recent if r.delivered_at), default=None)
        state = BAD if recent and failed == len(recent) else WARN if failed else OK
        lines.append(Health(f"Destination {dest.name}", state,
                            f"of the last {len(recent)} deliveries: {failed} failed, {waiting} waiting", newest))
    return lines


def _retail_pro_line(conn: Any, configured: bool) -> Health:
    if not configured:
        return Health("Retail Pro", OFF, "not configured (ORDERHUB_RETAILPRO_URL)")
    recent = list(conn.execute(select(invoice_calls.c.outcome, invoice_calls.c.at, invoice_calls.c.error)
                               .order_by(desc(invoice_calls.c.id)).limit(RECENT_CALLS)))
    if not recent:
        return Health("Retail Pro", OK, "configured; no calls yet")
    unavailable = sum(1 for r in recent if r.outcome == "unavailable")
    rejected = sum(1 for r in recent if r.outcome == "rejected")
    last = recent[0]
    state = BAD if last.outcome == "unavailable" else WARN if unavailable or rejected else OK
    detail = (f"last call {last.outcome}; of the last {len(recent)}: {unavailable} unanswered, {rejected} refused"
              + (f"; last error: {last.error[:200]}" if last.outcome in ("unavailable", "rejected") and last.error
                 else ""))
    return Health("Retail Pro", state, detail, last.at, "/jobs/category/fulfilment")


def health(hub: Hub) -> list[Health]:
    with hub.db.read() as conn:
        return lines(conn, hub.settings, job_store.last_runs(conn))


def lines(conn: Any, settings: Settings, runs: dict[tuple[str, int], Any]) -> list[Health]:
    """The lines, in a read the caller holds, with the jobs' last runs it has read already."""
    found = _shop_lines(conn, runs) + _destination_lines(conn)
    found.append(_retail_pro_line(conn, bool(settings.retailpro_url)))
    found.append(Health("SFTP", OK if settings.sftp_host else OFF,
                        f"{settings.sftp_user or '?'}@{settings.sftp_host}:{settings.sftp_port}" if settings.sftp_host
                        else "not configured (ORDERHUB_SFTP_HOST)"))
    found.append(Health("SMTP", OK if settings.smtp_host else OFF,
                        f"{settings.smtp_host}:{settings.smtp_port} ({settings.smtp_tls})" if settings.smtp_host
                        else "not configured (ORDERHUB_SMTP_HOST)"))
    return found
