"""Prometheus metrics. Counters are per process; queue gauges are read from the database at scrape time."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

WEBHOOKS_RECEIVED = Counter(
    "orderhub_webhooks_received_total", "Webhooks received, by topic and outcome",
    ["topic", "outcome"])
INBOX_PROCESSED = Counter(
    "orderhub_inbox_processed_total", "Inbox records processed, by topic and outcome", ["topic", "outcome"])
INBOX_RETRIED = Counter("orderhub_inbox_retried_total", "Inbox records put back for a later attempt")
DELIVERIES_SENT = Counter(
    "orderhub_destination_sent_total", "Events sent to HTTP destinations, by destination and result",
    ["destination", "result"])
DESTINATION_RETRIED = Counter(
    "orderhub_destination_retried_total", "Deliveries scheduled for another attempt", ["destination"])
ERRORS_LOGGED = Counter("orderhub_error_log_added_total", "Records moved to the error log, by kind", ["kind"])
RECEIVE_SECONDS = Histogram(
    "orderhub_webhook_receive_seconds", "Time from request to durable acknowledgement",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
JOB_RUNS = Counter("orderhub_job_runs_total", "Job runs finished on this node, by job and status", ["job", "status"])
JOB_RUN_SECONDS = Histogram(
    "orderhub_job_run_seconds", "How long job runs took, by job", ["job"],
    buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 14400))

