"""Health and Prometheus metrics over HTTP; logs carry no secrets."""

from __future__ import annotations

import re

import httpx

from orderhub.adapters.store import tokens
from tests.integration.test_processor import put
from tests.support import BIG_ID, SECRET, add_shop, drain, order_payload, post_webhook


def _value(metrics: str, name: str) -> float:
    m = re.search(rf"^{re.escape(name)} ([0-9.e+-]+)$", metrics, re.M)
    assert m, f"{name} not in metrics"
    return float(m.group(1))


def test_metrics_show_queue_depth_processing_and_error_log(hub, hub_server, capsys):  # type: ignore[no-untyped-def]
    shop = add_shop(hub)
    with hub.db.write() as conn:
        token = tokens.create(conn, "prometheus", role="viewer")
    with httpx.Client(base_url=hub_server.url, headers={"Authorization": f"Bearer {token}"}) as client:
        for i in range(3):
            assert post_webhook(client, hub_server.url, "orders/create", order_payload(BIG_ID + i * 10)).status_code == 200
        put(hub, "orders/create", order_payload(BIG_ID + 99, currency="XXQ"), shop_id=shop.id)
        before = client.get("/metrics").text
        assert _value(before, "orderhub_inbox_depth") == 4
        assert _value(before, "orderhub_inbox_oldest_age_seconds") >= 0
        drain(hub)
        after = client.get("/metrics").text
        assert client.get("/healthz").json() == {"status": "ok", "database": hub.db.dialect}
        assert _value(after, 'orderhub_workflows_open{kind="place_order",status="running"}') == 3
        assert _value(after, "orderhub_events_unpublished") == 0
        placement = hub.placement()
        while placement.run_once()[0]:
            pass
        placed = client.get("/metrics").text
    assert "orderhub_workflows_open{" not in placed
    assert _value(placed, "orderhub_job_runs_oldest_queued_age_seconds") == 0
    assert _value(placed, "orderhub_events_unpublished") >= 3  # at least order.placed for each, not yet sent
    assert _value(placed, "orderhub_events_oldest_unpublished_age_seconds") >= 0
    assert _value(after, "orderhub_inbox_depth") == 0
    assert _value(after, 'orderhub_error_log_size{kind="validation",status="open"}') == 1
    assert 'orderhub_inbox_processed_total{outcome="applied",topic="orders/create"}' in after
    assert 'orderhub_webhooks_received_total{outcome="accepted",topic="orders/create"}' in after
    logged = capsys.readouterr()
    assert SECRET not in logged.out + logged.err
    assert "zoë@example.com" not in logged.out + logged.err


def test_tokens_are_stored_hashed(hub):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from orderhub.adapters.store.schema import api_tokens

    with hub.db.write() as conn:
        value = tokens.create(conn, "ops")
        stored = conn.execute(select(api_tokens.c.token_hash)).scalar_one()
    assert value not in stored and len(stored) == 64
