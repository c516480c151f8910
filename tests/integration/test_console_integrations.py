"""The dashboard's integrations: each line says what orderhub last recorded of the service."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import insert

from orderhub.adapters.store import invoice_store
from orderhub.adapters.store.schema import job_runs
from orderhub.bootstrap import Hub, build
from orderhub.clock import utcnow
from orderhub.services.console import integrations
from tests.integration.test_destinations import SINK_SECRET, Sink, deliver_all
from tests.support import add_shop, drain, order_payload, put


def _lines(hub: Hub) -> dict[str, integrations.Health]:
    return {h.name: h for h in integrations.health(hub)}


def test_unconfigured_services_are_off_and_a_shop_never_checked_says_so(hub: Hub) -> None:
    add_shop(hub)
    lines = _lines(hub)
    assert lines["Retail Pro"].state == "off" and "ORDERHUB_RETAILPRO_URL" in lines["Retail Pro"].detail
    assert lines["SFTP"].state == "off" and lines["SMTP"].state == "off"
    shop_line = next(h for name, h in lines.items() if name.startswith("Shopify "))
    assert shop_line.state == "warn" and shop_line.detail == (
        "no webhook subscriptions: only the batch jobs bring its changes")


def test_a_failing_webhook_check_shows_its_error(hub: Hub) -> None:
    shop = add_shop(hub)
    at = utcnow()
    with hub.db.write() as conn:
        conn.execute(insert(job_runs).values(
            job="check-webhooks", shop_id=shop.id, scope=shop.id, status="failed", trigger="schedule", params="{}",
            error="could not re-create orders/create (401 Unauthorized 🔒)", queued_at=at, available_at=at,
            started_at=at, finished_at=at))
    line = _lines(hub)[f"Shopify {shop.domain}"]
    assert line.state == "bad" and line.at == at and line.detail == (
        "0 webhook subscription(s) recorded; the last check failed: could not re-create orders/create "
        "(401 Unauthorized 🔒)")


def test_retail_pro_calls_and_destination_deliveries(hub: Hub, sink: tuple[Sink, str]) -> None:
    s, url = sink
    configured = build(replace(hub.settings, retailpro_url="https://prism.example", sftp_host="sftp.example",
                               sftp_user="orderhub"))
    try:
        with hub.db.write() as conn:
            for outcome in ("created", "rejected", "unavailable"):
                invoice_store.log_call(conn, 1, None, "invoice", outcome, method="POST", url="https://prism.example/x",
                                       request="{}", status=503 if outcome == "unavailable" else 201,
                                       response="{}", error="no answer" if outcome == "unavailable" else None,
                                       elapsed_ms=5, at=utcnow())
        retail = _lines(configured)["Retail Pro"]
        assert retail.state == "bad" and retail.detail.startswith(
            "last call unavailable; of the last 3: 1 unanswered, 1 refused; last error: no answer")
        assert _lines(configured)["SFTP"].detail == "orderhub@sftp.example:22"
    finally:
        configured.close()
    shop = add_shop(hub)
    from orderhub.adapters.store import destinations

    with hub.db.write() as conn:
        destinations.add_http(conn, "oms", url, SINK_SECRET, rate_per_second=1000, backoff_base_seconds=0.01)
    put(hub, "orders/create", order_payload(), shop_id=shop.id)
    drain(hub)
    deliver_all(hub)
    line = _lines(hub)["Destination oms"]
    assert line.state == "ok" and line.detail == "of the last 1 deliveries: 0 failed, 0 waiting" and line.at
    assert s.received
