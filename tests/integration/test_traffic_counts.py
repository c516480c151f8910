"""The dashboard's per-minute traffic counts, kept by the real paths: the inbox writer counts new
webhooks (not duplicates) per topic, the processor the records it processed, the deliverer what
each destination accepted; the dashboard shows them against each destination's limit."""

from __future__ import annotations

from datetime import timedelta

from orderhub.adapters.store import destinations, traffic
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.services.console import dashboard
from tests.integration.test_destinations import SINK_SECRET, Sink, deliver_all
from tests.support import add_shop, drain, order_payload, put


def _counts(hub: Hub) -> dict[tuple[str, str], int]:
    with hub.db.read() as conn:
        rows = traffic.since(conn, utcnow() - timedelta(hours=1))
    out: dict[tuple[str, str], int] = {}
    for r in rows:
        out[(r.series, r.name)] = out.get((r.series, r.name), 0) + int(r.count)
    return out


def test_received_processed_and_delivered_are_counted(hub: Hub, sink: tuple[Sink, str]) -> None:
    _, url = sink
    shop = add_shop(hub)
    with hub.db.write() as conn:
        destinations.add_http(conn, "erp 🏭", url, SINK_SECRET, rate_per_second=2, backoff_base_seconds=0.01)
    assert put(hub, "orders/create", order_payload(), shop_id=shop.id, webhook_id="w-1")
    assert not put(hub, "orders/create", order_payload(), shop_id=shop.id, webhook_id="w-1")  # a duplicate
    assert put(hub, "orders/updated", order_payload(updated_at="2026-11-23T20:00:00Z"), shop_id=shop.id)
    assert _counts(hub) == {("received", "orders/create"): 1, ("received", "orders/updated"): 1}
    drain(hub)
    deliver_all(hub)
    assert _counts(hub) == {("received", "orders/create"): 1, ("received", "orders/updated"): 1,
                            ("processed", "orders/create"): 1, ("processed", "orders/updated"): 1,
                            ("delivered", "erp 🏭"): 2}
    chart = dashboard.series(hub.db, hours=1)
    assert len(chart["minutes"]) == 60 and chart["minutes"] == sorted(chart["minutes"])
    assert sum(chart["received"]["orders/create"]) == 1 and sum(chart["delivered"]["erp 🏭"]) == 2
    assert all(len(v) == 60 for v in chart["received"].values())


def test_the_dashboard_rates_are_five_minute_averages_against_each_limit(hub: Hub) -> None:
    with hub.db.write() as conn:
        store = destinations.ensure_store(conn)
        destinations.add_http(conn, "erp", "https://erp.example/hook", "s3cret", rate_per_second=1)
        now = utcnow()
        for minutes_ago in range(1, 7):  # minute 6 is outside the window; the current minute is not whole yet
            at = now - timedelta(minutes=minutes_ago)
            traffic.add(conn, traffic.PROCESSED, {"orders/create": 100, "orders/paid": 20}, at)
            traffic.add(conn, traffic.DELIVERED, {"erp": 30}, at)
            traffic.add(conn, traffic.RECEIVED, {"orders/create": 10 * minutes_ago}, at)
        traffic.add(conn, traffic.RECEIVED, {"orders/create": 10_000}, now)
    snap = dashboard.snapshot(hub)
    rates = {r.destination.name: (r.per_minute, r.limit_per_minute) for r in snap.rates}
    assert rates["erp"] == (30.0, 60.0)
    assert rates[store.name] == (120.0, store.rate_per_second * 60)
    assert snap.received_per_minute == {"orders/create": 30.0}  # (10 + 20 + 30 + 40 + 50) / 5
