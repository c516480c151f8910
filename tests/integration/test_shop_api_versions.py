"""A shop's Shopify API version against Shopify's support window: its default, and the warning
when it leaves support within 60 days (or has left it) - on the dashboard, in the metrics and in
the log of the worker and of each job run. Each names the shop, its version, the date support
ends and the version to move to."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import generate_latest

from orderhub.adapters.shopify import api_versions
from orderhub.adapters.store import job_store, shops
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.entrypoints.http.ops import queue_registry
from orderhub.services import shop_versions
from orderhub.services.console import integrations
from orderhub.services.jobs.runner import JobFailed, run_job
from tests.versions import NEWEST, SUPPORTED, TEST_DAY

ENDING, GONE, FINE = "ending.myshopify.com", "gone.myshopify.com", "fine.myshopify.com"


@pytest.fixture
def on_test_day(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shop_versions, "today", lambda: TEST_DAY)


class Recorder:
    """Stands in for the module's structlog logger (whose configuration the process caches)."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def warning(self, event: str, **fields: Any) -> None:
        self.entries.append({"event": event, "log_level": "warning", **fields})


@pytest.fixture
def logged(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recorder = Recorder()
    monkeypatch.setattr(shop_versions, "log", recorder)
    return recorder


def _add(hub: Hub, domain: str, version: str | None) -> shops.Shop:
    with hub.db.write() as conn:
        return shops.add(conn, domain, "secret", api_version=version)


def test_a_new_shop_gets_the_newest_stable_version_and_bad_versions_are_refused(hub: Hub) -> None:
    shop = _add(hub, "new.myshopify.com", None)
    assert shop.api_version == api_versions.newest_stable(utcnow().date())
    with hub.db.write() as conn:
        with pytest.raises(api_versions.InvalidVersion):
            shops.add(conn, "bad.myshopify.com", "secret", api_version="2026-05")
        moved = shops.set_api_version(conn, "new.myshopify.com", SUPPORTED[0])
        assert moved is not None and moved.api_version == SUPPORTED[0]
        assert shops.set_api_version(conn, "nobody.myshopify.com", NEWEST) is None
        again = shops.add(conn, "new.myshopify.com", "other-secret")  # new credentials keep the version
        assert again.api_version == SUPPORTED[0]


def test_the_dashboard_says_which_shops_to_move(hub: Hub, on_test_day: None) -> None:
    _add(hub, ENDING, SUPPORTED[0])
    _add(hub, GONE, "2025-07")
    _add(hub, FINE, NEWEST)
    lines = {h.name: h for h in integrations.health(hub)}
    ending = lines[f"Shopify {ENDING} API version"]
    ends = api_versions.support_ends(SUPPORTED[0])
    assert ending.state == "warn"
    for part in (ENDING, SUPPORTED[0], str(ends), NEWEST, f"orderhub shop set {ENDING} --api-version {NEWEST}"):
        assert part in ending.detail
    gone = lines[f"Shopify {GONE} API version"]
    assert gone.state == "bad" and "2025-07" in gone.detail and "2026-07-01" in gone.detail and NEWEST in gone.detail
    assert lines[f"Shopify {FINE} API version"].state == "ok"


def test_the_metrics_carry_each_shops_days_left_and_whether_to_move(hub: Hub, on_test_day: None) -> None:
    _add(hub, ENDING, SUPPORTED[0])
    _add(hub, FINE, NEWEST)
    text = generate_latest(queue_registry(hub)).decode()
    left = api_versions.days_left(SUPPORTED[0], TEST_DAY)
    assert (f'orderhub_shopify_api_version_support_days_left{{api_version="{SUPPORTED[0]}",shop="{ENDING}"}} '
            f'{float(left)}') in text  # type: ignore[arg-type]
    ends = api_versions.support_ends(SUPPORTED[0])
    assert (f'orderhub_shopify_api_version_needs_moving{{api_version="{SUPPORTED[0]}",move_to="{NEWEST}",'
            f'shop="{ENDING}",state="ending",support_ends="{ends}"}} 1.0') in text
    assert (f'orderhub_shopify_api_version_needs_moving{{api_version="{NEWEST}",move_to="{NEWEST}",shop="{FINE}",'
            f'state="supported",support_ends="{api_versions.support_ends(NEWEST)}"}} 0.0') in text


def test_the_worker_logs_each_shop_to_move_when_it_starts(hub: Hub, logged: Recorder) -> None:
    _add(hub, ENDING, SUPPORTED[0])
    _add(hub, FINE, NEWEST)
    flagged = shop_versions.warn_all(hub.db, TEST_DAY)
    assert [s.shop for s in flagged] == [ENDING]
    [entry] = [e for e in logged.entries if e["event"] == "shopify_api_version_needs_moving"]
    assert entry["log_level"] == "warning"
    assert (entry["shop"], entry["api_version"], entry["move_to"], entry["state"]) == (
        ENDING, SUPPORTED[0], NEWEST, "ending")
    assert entry["support_ends"] == str(api_versions.support_ends(SUPPORTED[0]))


def test_a_job_run_for_the_shop_logs_the_warning(hub: Hub, on_test_day: None, logged: Recorder) -> None:
    shop = _add(hub, ENDING, SUPPORTED[0])  # no access token: the job itself fails at once
    with pytest.raises(JobFailed) as failed:
        run_job(hub, "import-new-orders", shop, {})
    assert [(e["event"], e["shop"], e["job"]) for e in logged.entries] == [
        ("shopify_api_version_needs_moving", ENDING, "import-new-orders")]
    with hub.db.read() as conn:
        lines = job_store.logs(conn, failed.value.run_id)
    [warning] = [line for line in lines if line.level == "warning"]
    assert ENDING in warning.message and NEWEST in warning.message
    assert str(api_versions.support_ends(SUPPORTED[0])) in warning.message
