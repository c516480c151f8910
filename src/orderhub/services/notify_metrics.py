"""Prometheus metrics of outbound webhooks: fan-out and delivery to subscriptions (per process)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

EVENTS_FANNED_OUT = Counter("orderhub_outbox_fanned_out_total", "Outbox events fanned out to subscriptions")
DELIVERIES_CREATED = Counter(
    "orderhub_subscription_deliveries_created_total", "Deliveries created by fan-out (one per matching subscription)")
WEBHOOKS_SENT = Counter(
    "orderhub_subscription_sent_total", "Webhooks sent to subscriptions, by subscription and result "
    "(ok, throttled, rejected, error)", ["subscription", "result"])
WEBHOOKS_RETRIED = Counter(
    "orderhub_subscription_retried_total", "Deliveries scheduled for another attempt", ["subscription"])
SEND_SECONDS = Histogram(
    "orderhub_subscription_send_seconds", "Time a subscriber took to answer",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
