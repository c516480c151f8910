"""Health and Prometheus metrics."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select, text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from orderhub.adapters.store import error_log, inbox
from orderhub.adapters.store.schema import deliveries
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow


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
            outbox = conn.execute(select(func.count()).select_from(deliveries).where(
                deliveries.c.status.in_(("pending", "sending")))).scalar_one()
        yield GaugeMetricFamily("orderhub_inbox_depth", "Inbox records waiting to be processed", value=depth)
        age = 0.0 if oldest is None else (utcnow() - oldest).total_seconds()
        yield GaugeMetricFamily("orderhub_inbox_oldest_age_seconds", "Age of the oldest waiting record", value=age)
        yield GaugeMetricFamily("orderhub_outbox_depth", "Deliveries waiting for HTTP destinations", value=outbox)
        g = GaugeMetricFamily("orderhub_error_log_size", "Error-log entries by kind and status",
                              labels=["kind", "status"])
        for (kind, status), n in sorted(sizes.items()):
            g.add_metric([kind, status], n)
        yield g


def queue_registry(hub: Hub) -> CollectorRegistry:
    """A registry of this hub's own database-backed gauges (the process counters are global)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(QueueCollector(hub))
    return registry


async def metrics(request: Request) -> Response:
    body = generate_latest(REGISTRY) + generate_latest(request.app.state.queue_registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
