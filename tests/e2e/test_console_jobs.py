"""The console's job manager pages over real HTTP: categories, a category's jobs per shop, a job's
schedules and runs, a run with its log and files, running now, schedules and webhook subscriptions,
and the roles the server enforces on each."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select

from orderhub.adapters.store import job_store, shops
from orderhub.adapters.store.schema import job_runs, job_schedules
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.services.console import accounts
from orderhub.services.jobs import admin
from orderhub.services.jobs.manager import JobManager
from orderhub.simulators.shopify.server import start_in_thread
from orderhub.testing.server import ServerThread
from tests import job_support
from tests.e2e.test_console_http import PASSWORD, sign_in
from tests.support import SHOP, add_shop

pytestmark = pytest.mark.timeout(120)

ADDRESS = "https://hub.example.com/webhooks/shopify"


def token(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def flash(page: httpx.Response) -> str:
    found = re.search(r'<p class="flash" role="status">([^<]*)</p>', page.text)
    return found.group(1) if found else ""


def problem(page: httpx.Response) -> str:
    found = re.search(r'<p class="problem" role="alert">([^<]*)</p>', page.text)
    return html.unescape(found.group(1)) if found else ""


def runs(hub: Hub, job: str) -> list[Any]:
    with hub.db.read() as conn:
        return list(conn.execute(select(job_runs).where(job_runs.c.job == job).order_by(job_runs.c.id)))


def wait_for_end(hub: Hub, run_id: int, seconds: float = 20) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        with hub.db.read() as conn:
            row = job_store.get_run(conn, run_id)
        if row.status not in ("queued", "running"):
            return row
        assert time.monotonic() < deadline, f"run {run_id} still {row.status}"
        time.sleep(0.05)


def users(hub: Hub) -> None:
    for name, role in (("ada", "admin"), ("otto", "operator"), ("vera", "viewer")):
        accounts.add_user(hub.db, name, PASSWORD, role)


@pytest.fixture
def gate() -> Iterator[None]:
    """The blocking test job waits for the gate; it is opened however the test ends."""
    job_support.gate.clear()
    job_support.started.clear()
    yield
    job_support.gate.set()


def test_categories_with_their_counts_and_a_category_per_shop(hub: Hub, hub_server: ServerThread) -> None:
    users(hub)
    shop = add_shop(hub)
    other = add_shop(hub, "second.myshopify.com")
    manager = JobManager(hub)
    failed = manager.run_now("test-count", shop, {"fail": True})
    assert failed.status == "failed"
    manager.schedule("test-count", [other], expression="hourly", tz="Asia/Tokyo")
    with sign_in(hub_server.url, "vera") as client:
        overview = client.get("/jobs")
        assert overview.status_code == 200
        misc = re.search(r'data-test="category-misc">(.*?)</article>', overview.text, re.S).group(1)
        assert re.search(r'data-test="failing">1<', misc) and re.search(r'data-test="scheduled">1<', misc)
        orders = re.search(r'data-test="category-orders">(.*?)</article>', overview.text, re.S).group(1)
        assert re.search(r'data-test="failing">0<', orders) and "orders/create" in orders
        titles = re.findall(r'<h2><a href="/jobs/category/([a-z-]+)">([^<]+)</a></h2>', overview.text)
        assert titles == [("initial-load", "Initial load"), ("pre-order", "Pre-order"), ("orders", "Orders"),
                          ("brokering", "Brokering"), ("fulfilment", "Fulfilment"), ("inventory", "Inventory"),
                          ("products", "Products"), ("misc", "Miscellaneous")]

        page = client.get("/jobs/category/misc")
        assert page.status_code == 200
        first = re.search(rf'data-test="line-test-count-{SHOP}">(.*?)</tr>', page.text, re.S).group(1)
        assert f'href="/jobs/runs/{failed.run_id}" class="badge failed"' in first and "no schedule" in first
        second = re.search(r'data-test="line-test-count-second.myshopify.com">(.*?)</tr>', page.text, re.S).group(1)
        assert "<code>hourly</code>" in second and "Asia/Tokyo" in second and "badge enabled" in second
        assert "never ran" in second and re.search(r"\d{4}-\d\d-\d\d \d\d:00</span>", second)  # the next run
        hub_line = re.search(r'data-test="line-test-hub-count-hub">(.*?)</tr>', page.text, re.S).group(1)
        assert "never ran" in hub_line
        assert "Run now" not in page.text and "Unsubscribe" not in page.text  # a viewer has no buttons
        assert "This category has no Shopify webhooks" in page.text
        # A job with a required parameter is run from its own page, where the parameter is asked for.
        digest = re.search(r'data-test="line-error-log-digest-hub">(.*?)</tr>', page.text, re.S).group(1)
        assert "Run now" not in digest

        assert client.get("/jobs/category/nope").status_code == 404
    with sign_in(hub_server.url, "otto") as client:
        page = client.get("/jobs/category/misc")
        digest = re.search(r'data-test="line-error-log-digest-hub">(.*?)</tr>', page.text, re.S).group(1)
        assert 'href="/jobs/error-log-digest#run-now">Run with parameters' in digest
        assert page.text.count(">Run now</button>") >= 3
        assert ">Disable</button>" not in page.text  # enabling is configuration: admin


def test_an_operator_runs_a_job_now_and_sees_its_run(hub: Hub, hub_server: ServerThread) -> None:
    users(hub)
    shop = add_shop(hub)
    with sign_in(hub_server.url, "otto") as client:
        page = client.get("/jobs/test-count")
        assert 'id="run-now"' in page.text and 'name="p_limit"' in page.text and "Save schedule" not in page.text
        ran = client.post("/jobs/test-count/run", data={"csrf": token(page.text), "shop": shop.domain,
                                                        "p_limit": "2", "p_window": "<b>5m</b> 🦋 שלום"})
        assert ran.status_code == 200 and ran.url.path == "/jobs/test-count"
        [run] = runs(hub, "test-count")
        assert flash(ran) == f"Run {run.id} of test-count for {shop.domain} succeeded."
        row = re.search(rf'<tr id="run-{run.id}"[^>]*>(.*?)</tr>', ran.text, re.S).group(1)
        assert "badge succeeded" in row and "manual" in row and re.findall(r'<td class="n[^"]*">(\d+)</td>', row) == [
            "3", "2", "0", "1"]
        assert job_support.calls[-1]["params"] == {"fail": False, "window": "<b>5m</b> 🦋 שלום", "limit": 2}
        assert orjson.loads(run.params) == {"limit": "2", "window": "<b>5m</b> 🦋 שלום"}

        # Parameters are checked by the job's own specification; nothing runs when they are wrong.
        bad = client.post("/jobs/test-count/run", data={"csrf": token(page.text), "shop": shop.domain,
                                                        "p_limit": "lots"})
        assert bad.status_code == 422
        assert problem(bad) == "Not run: job test-count: parameter 'limit' must be a whole number, got 'lots'."
        no_shop = client.post("/jobs/test-count/run", data={"csrf": token(page.text)})
        assert no_shop.status_code == 422 and "runs per shop: choose the shop" in problem(no_shop)
        unknown = client.post("/jobs/test-count/run", data={"csrf": token(page.text), "shop": "nope.myshopify.com"})
        assert unknown.status_code == 422 and "there is no shop nope.myshopify.com" in problem(unknown)
        missing = client.post("/jobs/nope/run", data={"csrf": token(page.text)})
        assert missing.status_code == 404 and "There is no job named “nope”" in missing.text
        assert len(runs(hub, "test-count")) == 1

        # A failed run says why.
        failed = client.post("/jobs/test-count/run", data={"csrf": token(page.text), "shop": shop.domain,
                                                           "p_fail": "true"})
        assert flash(failed).endswith("failed: RuntimeError: the destination said no second line")

        # From a category page, "Run now" uses the shop's schedule's parameters and comes back to the job.
        JobManager(hub).schedule("test-count", [shop], expression="hourly", params={"limit": 7}, enabled=False)
        again = client.post("/jobs/test-count/run", data={"csrf": token(page.text), "shop": shop.domain,
                                                          "from_schedule": "1", "back": "category:misc"})
        assert again.status_code == 200 and "succeeded" in flash(again)
        assert job_support.calls[-1]["params"]["limit"] == 7


def test_a_long_run_goes_on_in_the_background_and_a_second_is_refused(hub: Hub, hub_server: ServerThread,
                                                                       gate: None) -> None:
    users(hub)
    with sign_in(hub_server.url, "otto") as client:
        page = client.get("/jobs/test-block")
        started = client.post("/jobs/test-block/run", data={"csrf": token(page.text)})
        [run] = runs(hub, "test-block")
        assert started.status_code == 200 and run.status == "running"
        assert flash(started) == f"Run {run.id} of test-block started; its row below follows it."
        row = re.search(rf'<tr id="run-{run.id}"[^>]*>', started.text).group(0)
        assert f'hx-get="/jobs/runs/{run.id}/row" hx-trigger="every 2s"' in row  # it follows the run

        busy = client.post("/jobs/test-block/run", data={"csrf": token(page.text), "back": "category:misc"})
        assert busy.status_code == 409 and "<h1>Miscellaneous</h1>" in busy.text
        assert problem(busy).startswith(f"Job test-block is already running (run {run.id}) and does not allow")
        live = client.get(f"/jobs/runs/{run.id}/live")
        assert 'data-status="running"' in live.text and 'hx-trigger="every 2s"' in live.text

        job_support.gate.set()
        assert wait_for_end(hub, run.id).status == "succeeded"
        fragment = client.get(f"/jobs/runs/{run.id}/row")
        assert fragment.status_code == 200 and fragment.text.lstrip().startswith(f'<tr id="run-{run.id}"')
        assert "badge succeeded" in fragment.text and "hx-trigger" not in fragment.text  # polling stops
        assert "hx-trigger" not in client.get(f"/jobs/runs/{run.id}/live").text

    # A row polled after the session ended takes the page to the sign-in form (not into the row).
    with httpx.Client(base_url=hub_server.url) as anonymous:
        polled = anonymous.get(f"/jobs/runs/{run.id}/row", headers={
            "HX-Request": "true", "HX-Current-URL": f"{hub_server.url}/jobs/test-block?status=running"})
        assert polled.status_code == 200 and polled.text == ""
        assert polled.headers["hx-redirect"] == "/sign-in?next=%2Fjobs%2Ftest-block%3Fstatus%3Drunning"
        plain = anonymous.get(f"/jobs/runs/{run.id}/live")
        assert plain.status_code == 303 and plain.headers["location"].startswith("/sign-in?next=")


def test_a_run_page_with_counts_log_and_files(hub: Hub, hub_server: ServerThread) -> None:
    users(hub)
    shop = add_shop(hub)
    result = JobManager(hub).run_now("test-count", shop, {"window": "<script>alert(1)</script>"})
    other = JobManager(hub).run_now("test-hub-count", None, {})
    with hub.db.read() as conn:
        [failed_file] = job_store.files(conn, result.run_id)
    with sign_in(hub_server.url, "vera") as client:
        page = client.get(f"/jobs/runs/{result.run_id}")
        assert page.status_code == 200
        assert f"Run #{result.run_id} of test-count <small>for {shop.domain}</small>" in page.text
        assert re.search(r'data-test="count-read">3<', page.text) and re.search(r'data-test="count-failed">1<',
                                                                                  page.text)
        assert f"run for {shop.domain} 🦋" in page.text  # the log line, intact
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text and "<script>alert" not in page.text
        assert "&#34;counted&#34;: 1" in page.text  # its statistics
        link = f'/jobs/runs/{result.run_id}/files/{failed_file.id}'
        assert f'href="{link}"' in page.text and "Release" not in page.text

        download = client.get(link)
        assert download.status_code == 200
        assert download.headers["content-disposition"].startswith(
            f'attachment; filename="run-{result.run_id}-failed.jsonl"')
        assert download.headers["content-type"] == "text/plain; charset=utf-8"
        assert download.headers["x-content-type-options"] == "nosniff"
        assert orjson.loads(download.content)["record"]["sku"] == "SKU-🦋"
        assert client.get(f"/jobs/runs/{other.run_id}/files/{failed_file.id}").status_code == 404  # not its file
        assert client.get("/jobs/runs/999999").status_code == 404
        assert "is not a job run number" in client.get("/jobs/runs/abc").text

        history = client.get("/jobs/test-count")
        assert f'<tr id="run-{result.run_id}"' in history.text
        assert "<h2>Chains</h2>" not in history.text

    admin.chain(hub, "test-needs-count", "test-count", delay="5m", params={"limit": 1})
    with sign_in(hub_server.url, "vera") as client:
        chained = client.get("/jobs/test-needs-count")
        table = re.search(r'<table class="chains">(.*?)</table>', chained.text, re.S).group(1)
        assert '<a href="/jobs/test-needs-count">test-needs-count</a>' in table and "5 min" in table
        assert "it succeeded" in table and "{&#34;limit&#34;:1}" in table


def test_the_history_pages_and_filters(hub: Hub, hub_server: ServerThread) -> None:
    users(hub)
    with hub.db.write() as conn:
        ids = [job_store.queue(conn, job="test-hub-count", shop_id=None, params="{}", trigger="schedule",
                               available_at=utcnow(), status="skipped" if n % 2 else "queued")
               for n in range(30)]
    with sign_in(hub_server.url, "vera") as client:
        first = client.get("/jobs/test-hub-count")
        shown = [int(i) for i in re.findall(r'<tr id="run-(\d+)"', first.text)]
        assert shown == sorted(ids, reverse=True)[:25]
        older = re.search(r'href="(/jobs/test-hub-count\?before=\d+)#runs" rel="next"', first.text).group(1)
        second = client.get(older)
        assert [int(i) for i in re.findall(r'<tr id="run-(\d+)"', second.text)] == sorted(ids, reverse=True)[25:]
        assert 'rel="next"' not in second.text and "« Newest runs" in second.text
        skipped = client.get("/jobs/test-hub-count", params={"status": "skipped"})
        assert len(re.findall(r'<tr id="run-\d+" class="run status-skipped"', skipped.text)) == 15
        assert "status-queued" not in skipped.text
        queued = re.search(r'<tr id="run-\d+" class="run status-queued"[^>]*>', first.text).group(0)
        assert 'hx-trigger="every 2s"' in queued  # a waiting run is followed too
        assert client.get("/jobs/test-hub-count", params={"before": "x"}).status_code == 404


def test_an_admin_schedules_enables_and_disables(hub: Hub, hub_server: ServerThread) -> None:
    users(hub)
    shop = add_shop(hub)
    with sign_in(hub_server.url, "ada") as client:
        page = client.get("/jobs/test-count")
        assert "Schedule it for " + shop.domain in page.text
        saved = client.post("/jobs/test-count/schedule", data={
            "csrf": token(page.text), "shop": shop.domain, "expression": "daily", "timezone": "Europe/Berlin",
            "start": "now", "enabled": "on", "p_window": "15m", "p_limit": ""})
        assert saved.status_code == 200 and flash(saved) == f"Schedule of test-count for {shop.domain} saved (enabled)."
        with hub.db.read() as conn:
            schedule = job_store.schedule(conn, "test-count", shop.id)
        assert (schedule.expression, schedule.timezone, schedule.enabled) == ("daily", "Europe/Berlin", True)
        assert orjson.loads(schedule.params) == {"window": "15m"}
        line = re.search(rf'data-test="schedule-{re.escape(shop.domain)}">(.*?)</tbody>', saved.text, re.S).group(1)
        assert "<code>window=15m</code>" in line and '<small class="cron">0 0 * * *</small>' in line
        assert "badge enabled" in line
        assert "Europe/Berlin" in line and re.search(r'title="\d{4}-\d\d-\d\d 00:00 Europe/Berlin"', line)

        disabled = client.post("/jobs/test-count/disable", data={"csrf": token(page.text), "shop": shop.domain,
                                                                 "back": "category:misc"})
        assert disabled.url.path == "/jobs/category/misc"
        assert flash(disabled) == f"Schedule of test-count for {shop.domain} disabled."
        line = re.search(rf'data-test="line-test-count-{re.escape(shop.domain)}">(.*?)</tr>', disabled.text,
                         re.S).group(1)
        assert "badge disabled" in line and ">Enable</button>" in line
        enabled = client.post("/jobs/test-count/enable", data={"csrf": token(page.text), "shop": shop.domain})
        assert flash(enabled) == f"Schedule of test-count for {shop.domain} enabled."

        # Mistakes name the job and the problem; nothing changes.
        too_often = client.post("/jobs/approve-orders/schedule", data={"csrf": token(page.text),
                                                                       "expression": "every 1m", "timezone": "UTC"})
        assert too_often.status_code == 422
        assert problem(too_often) == ("Schedule not saved: job approve-orders may run at most every 5m; "
                                      "'every 1m' ticks every 1m.")
        bad_zone = client.post("/jobs/approve-orders/schedule", data={"csrf": token(page.text),
                                                                      "expression": "hourly", "timezone": "Mars/Base"})
        assert bad_zone.status_code == 422 and "unknown timezone 'Mars/Base'" in problem(bad_zone)
        nothing = client.post("/jobs/approve-orders/enable", data={"csrf": token(page.text)})
        assert nothing.status_code == 409 and problem(nothing) == (
            "Job approve-orders has no schedule to enable: save a schedule for it first.")
        with hub.db.read() as conn:
            assert job_store.all_schedules(conn, "approve-orders") == []
    with sign_in(hub_server.url, "otto") as client:
        page = client.get("/jobs/test-count")
        assert "Save schedule" not in page.text and ">Disable</button>" not in page.text
        refused = client.post("/jobs/test-count/disable", data={"csrf": token(page.text), "shop": shop.domain})
        assert refused.status_code == 403 and "Your role (operator) may not do this; it needs admin." in refused.text
    with hub.db.read() as conn:
        assert job_store.schedule(conn, "test-count", shop.id).enabled


def test_a_viewers_forged_posts_are_refused_and_change_nothing(hub: Hub, hub_server: ServerThread) -> None:
    users(hub)
    shop = add_shop(hub)
    with sign_in(hub_server.url, "vera") as client:
        csrf = token(client.get("/jobs/test-count").text)  # the viewer's own, valid token
        for path, data in (
                ("/jobs/test-count/run", {"shop": shop.domain}),
                ("/jobs/test-hub-count/run", {}),
                ("/jobs/test-count/schedule", {"shop": shop.domain, "expression": "hourly", "enabled": "on"}),
                ("/jobs/test-count/enable", {"shop": shop.domain}),
                ("/jobs/category/products/webhooks", {"shop": shop.domain, "action": "subscribe",
                                                      "address": ADDRESS}),
                ("/jobs/category/products/webhooks/check", {"shop": shop.domain}),
                ("/jobs/runs/1/release", {})):
            answer = client.post(path, data={"csrf": csrf, **data})
            assert answer.status_code == 403, path
            assert "Your role (viewer) may not do this" in answer.text
    with hub.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(job_runs)).scalar() == 0
        assert conn.execute(select(func.count()).select_from(job_schedules)).scalar() == 0


@pytest.fixture
def shopify() -> Iterator[tuple[str, httpx.Client]]:
    secret, access = "hooks-secret-🔑", "shpat_console"
    _sim, url, stop = start_in_thread([{"domain": "hooks-console.myshopify.com", "api_secret": secret,
                                        "access_token": access}], seed=3, restore_rate=5000)
    with httpx.Client(base_url=url, timeout=30) as control:
        yield url, control
    stop()


def test_an_admin_subscribes_and_unsubscribes_a_categorys_webhooks(hub: Hub, hub_server: ServerThread,
                                                                   shopify: tuple[str, httpx.Client]) -> None:
    users(hub)
    sim_url, control = shopify
    domain = "hooks-console.myshopify.com"
    with hub.db.write() as conn:
        shops.add(conn, domain, "hooks-secret-🔑", admin_url=f"{sim_url}/shops/{domain}", access_token="shpat_console")

    def at_shopify() -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for s in orjson.loads(control.get("/_sim/subscriptions").content)["subscriptions"]:
            out.setdefault(s["topic"], []).append(s["address"])
        return out

    with sign_in(hub_server.url, "ada") as client:
        page = client.get("/jobs/category/products")
        hooks = re.search(rf'data-test="hooks-{domain}">(.*?)</section>', page.text, re.S).group(1)
        assert hooks.count("not subscribed") == 2 and f'value="{hub_server.url}/webhooks/shopify"' in hooks
        bad = client.post("/jobs/category/products/webhooks", data={
            "csrf": token(page.text), "shop": domain, "action": "subscribe", "address": "ftp://hub.example.com/x"})
        assert bad.status_code == 422 and "is not an http(s) URL" in problem(bad)
        assert at_shopify() == {}

        done = client.post("/jobs/category/products/webhooks", data={
            "csrf": token(page.text), "shop": domain, "action": "subscribe", "address": ADDRESS})
        assert done.url.path == "/jobs/category/products"
        assert flash(done) == (f"products webhooks of {domain} subscribed: products/create subscribed, "
                               "products/delete subscribed")
        assert at_shopify() == {"products/create": [ADDRESS], "products/delete": [ADDRESS]}
        hooks = re.search(rf'data-test="hooks-{domain}">(.*?)</section>', done.text, re.S).group(1)
        assert hooks.count("badge subscribed") == 2 and hooks.count(ADDRESS) == 3  # two records and the form

        checked = client.post("/jobs/category/products/webhooks/check", data={"csrf": token(page.text),
                                                                               "shop": domain})
        assert checked.status_code == 200 and 'data-test="at-shopify"' in checked.text
        assert checked.text.count('class="badge subscribed"') == 2 and "<html" not in checked.text

        gone = client.post("/jobs/category/products/webhooks", data={
            "csrf": token(page.text), "shop": domain, "action": "unsubscribe"})
        assert flash(gone) == (f"products webhooks of {domain} unsubscribed: products/create missing, "
                               "products/delete missing")
        assert at_shopify() == {}
        assert gone.text.count("not subscribed") == 2

        no_topics = client.post("/jobs/category/misc/webhooks", data={
            "csrf": token(page.text), "shop": domain, "action": "subscribe", "address": ADDRESS})
        assert no_topics.status_code == 422 and "category misc has no Shopify webhook topics" in problem(no_topics)
    with sign_in(hub_server.url, "otto") as client:
        page = client.get("/jobs/category/products")
        assert "Check at Shopify" in page.text and "Subscribe</button>" not in page.text
        refused = client.post("/jobs/category/products/webhooks", data={
            "csrf": token(page.text), "shop": domain, "action": "subscribe", "address": ADDRESS})
        assert refused.status_code == 403
    assert at_shopify() == {}


def test_checking_a_shop_that_shopify_cannot_be_asked_about_says_why(hub: Hub, hub_server: ServerThread) -> None:
    users(hub)
    shop = add_shop(hub)  # no Admin API token
    with sign_in(hub_server.url, "otto") as client:
        page = client.get("/jobs/category/orders")
        answer = client.post("/jobs/category/orders/webhooks/check", data={"csrf": token(page.text),
                                                                           "shop": shop.domain})
        assert answer.status_code == 200
        assert problem(answer).startswith(f"Could not read the orders webhooks of {shop.domain} at Shopify: "
                                          f"shop {shop.domain} has no access token")
