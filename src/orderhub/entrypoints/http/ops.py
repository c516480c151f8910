"""Health and Prometheus metrics."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select, text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from orderhub.adapters.store import error_log, inbox, shops, store_views
from orderhub.adapters.store.schema import deliveries, job_runs, outbox, subscription_deliveries, workflows
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.entrypoints.http.auth import bearer_ok
from orderhub.services import pos_alerts, shop_versions


async def healthz(request: Request) -> Response:
    hub: Hub = request.app.state.hub
    try:
        with hub.db.read() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:
        return JSONResponse({"status": "unhealthy", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": hub.db.dialect})


class QueueCollector(Collector):
    """Queue depths and the error-log size, read from the database when scraped."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def describe(self) -> list[GaugeMetricFamily]:
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self.hub.db.read() as conn:
            depth, oldest = inbox.depth(conn)
            sizes = error_log.size_by_kind(conn)
            waiting = conn.execute(select(func.count()).select_from(deliveries).where(
                deliveries.c.status.in_(("pending", "sending")))).scalar_one()
            events, oldest_event = conn.execute(select(func.count(), func.min(outbox.c.created_at))
                                                .where(outbox.c.fanned_out_at.is_(None))).one()
            per_subscription = conn.execute(
                select(subscription_deliveries.c.subscription_id, subscription_deliveries.c.status, func.count())
                .where(subscription_deliveries.c.status.in_(("pending", "sending", "failed")))
                .group_by(subscription_deliveries.c.subscription_id, subscription_deliveries.c.status)).all()
            jobs = conn.execute(select(job_runs.c.status, func.count(), func.min(job_runs.c.queued_at))
                                .where(job_runs.c.status.in_(("queued", "running")))
                                .group_by(job_runs.c.status)).all()
            flows = conn.execute(select(workflows.c.kind, workflows.c.status, func.count())
                                 .where(workflows.c.status.in_(("running", "compensating")))
                                 .group_by(workflows.c.kind, workflows.c.status)).all()
            versions = shop_versions.states(shops.all_shops(conn), shop_versions.today())
            silent = store_views.silent_per_store(conn, pos_alerts.silent_after(self.hub.settings))
        yield GaugeMetricFamily("orderhub_inbox_depth", "Inbox records waiting to be processed", value=depth)
        age = 0.0 if oldest is None else (utcnow() - oldest).total_seconds()
        yield GaugeMetricFamily("orderhub_inbox_oldest_age_seconds", "Age of the oldest waiting record", value=age)
        yield GaugeMetricFamily("orderhub_outbox_depth", "Deliveries waiting for HTTP destinations", value=waiting)
        yield GaugeMetricFamily("orderhub_events_unpublished", "Domain events not yet fanned out to subscriptions",
                                value=events)
        yield GaugeMetricFamily("orderhub_events_oldest_unpublished_age_seconds",
                                "Age of the oldest event not yet fanned out",
                                value=0.0 if oldest_event is None else (utcnow() - oldest_event).total_seconds())
        g = GaugeMetricFamily("orderhub_subscription_deliveries", "Webhook deliveries to subscriptions not "
                              "delivered (yet), by subscription and status", labels=["subscription", "status"])
        for subscription_id, status, n in per_subscription:
            g.add_metric([str(subscription_id), status], n)
        yield g
        g = GaugeMetricFamily("orderhub_job_runs", "Job runs queued or running", labels=["status"])
        oldest_queued = None
        for status, n, oldest in jobs:
            g.add_metric([status], n)
            if status == "queued":
                oldest_queued = oldest
        yield g
        yield GaugeMetricFamily("orderhub_job_runs_oldest_queued_age_seconds", "How long the oldest queued run waits",
                                value=0.0 if oldest_queued is None else (utcnow() - oldest_queued).total_seconds())
        g = GaugeMetricFamily("orderhub_workflows_open", "Workflows under way, by kind and status",
                              labels=["kind", "status"])
        for kind, status, n in flows:
            g.add_metric([kind, status], n)
        yield g
        g = GaugeMetricFamily("orderhub_error_log_size", "Error-log entries by kind and status",
                              labels=["kind", "status"])
        for (kind, status), n in sorted(sizes.items()):
            g.add_metric([kind, status], n)
        yield g
        g = GaugeMetricFamily("orderhub_pos_devices_silent", "A store's active POS devices that have not synced "
                              "for longer than ORDERHUB_POS_SILENT_MINUTES, by store", labels=["store"])
        for store, n in sorted(silent.items()):
            g.add_metric([store], n)
        yield g
        yield from _version_gauges(versions)


def _version_gauges(versions: list[shop_versions.VersionState]) -> Iterator[GaugeMetricFamily]:
    """Each active shop's Shopify API version: days of support left, and whether it needs moving."""
    left = GaugeMetricFamily("orderhub_shopify_api_version_support_days_left",
                             "Days until Shopify stops supporting the shop's Admin API version (0 or less: ended)",
                             labels=["shop", "api_version"])
    moving = GaugeMetricFamily("orderhub_shopify_api_version_needs_moving",
                               "1 when the shop's Admin API version leaves support within 60 days, has left it or "
                               "is not a stable version; the labels say until when and what to move to",
                               labels=["shop", "api_version", "state", "support_ends", "move_to"])
    for v in versions:
        if v.days_left is not None:
            left.add_metric([v.shop, v.version], v.days_left)
        moving.add_metric([v.shop, v.version, v.state, v.support_ends.isoformat() if v.support_ends else "",
                           v.move_to], 1 if v.needs_attention else 0)
    yield left
    yield moving


def queue_registry(hub: Hub) -> CollectorRegistry:
    """A registry of this hub's own database-backed gauges (the process counters are global)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(QueueCollector(hub))
    return registry


async def metrics(request: Request) -> Response:
    """Prometheus metrics, for a bearer API token unless ORDERHUB_OPEN_ENDPOINTS opens them."""
    hub = request.app.state.hub
    if "metrics" not in hub.settings.open_endpoints and not bearer_ok(request, hub, "api"):
        return Response('{"error":"a bearer API token is needed"}', status_code=401, media_type="application/json",
                        headers={"WWW-Authenticate": "Bearer"})
    body = generate_latest(REGISTRY) + generate_latest(request.app.state.queue_registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
