"""The dashboard over real HTTP names each shop by its domain, with the webhook topics orderhub subscribed
for it through Shopify's Admin GraphQL API (as the demo does)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import httpx
import pytest

from orderhub.adapters.shopify import subscriptions as shopify_subscriptions
from orderhub.bootstrap import Hub
from orderhub.entrypoints.demo import TOPICS
from orderhub.services import webhook_categories
from orderhub.services.console import accounts
from orderhub.services.jobs.import_orders import admin_client
from orderhub.services.jobs.manager import JobManager
from orderhub.simulators.shopify.server import start_in_thread
from orderhub.testing.server import ServerThread
from tests.e2e.test_console_http import PASSWORD, sign_in
from tests.e2e.test_job_webhooks import ADDRESS, SECRET, SHOP, TOKEN, connect
from tests.versions import NEWEST, TEST_DAY

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def sim() -> Iterator[tuple[str, httpx.Client]]:
    simulator, url, stop = start_in_thread([{"domain": SHOP, "api_secret": SECRET, "access_token": TOKEN}],
                                           seed=5, restore_rate=5000)
    simulator.store.clock.fixed_day = TEST_DAY
    with httpx.Client(base_url=url, timeout=30) as control:
        yield url, control
    stop()


def _integration(page: str, name: str) -> str:
    row = re.search(rf"<tr data-state=\"(\w+)\"><td>(?:<a [^>]*>)?{re.escape(name)}(?:</a>)?</td>(.*?)</tr>", page,
                    re.S)
    assert row, page[:2000]
    return html.unescape(row.group(1) + " " + re.sub(r"<[^>]+>", " ", row.group(2)))


def test_the_dashboard_shows_each_shops_domain_and_subscribed_topics(
        hub: Hub, hub_server: ServerThread, sim: tuple[str, httpx.Client]) -> None:
    sim_url, _control = sim
    shop = connect(hub, sim_url, api_version=NEWEST)
    accounts.add_user(hub.db, "vera", PASSWORD, "viewer")
    states = webhook_categories.subscribe_topics(hub, shop, TOPICS, ADDRESS)
    assert [s.state for s in states] == ["subscribed"] * len(TOPICS)
    client = admin_client(shop)
    try:
        at_shopify = sorted(s["topic"] for s in shopify_subscriptions.list_subscriptions(client))
    finally:
        client.client.close()
    assert at_shopify == sorted(TOPICS)
    assert JobManager(hub).run_now("check-webhooks", shop, {}).status == "succeeded"
    with sign_in(hub_server.url, "vera") as browser:
        page = browser.get("/").text
    line = _integration(page, f"Shopify {SHOP}")
    assert line.startswith("ok ") and "no webhook subscriptions" not in line
    assert f"{len(TOPICS)} webhook subscription(s) recorded: {', '.join(sorted(TOPICS))}; last check succeeded" \
        in " ".join(line.split())
    assert f'<small data-test="job-shop">{SHOP}</small>' in page
    assert f"shop {shop.id}<" not in page
