"""The misc jobs on SQLite and PostgreSQL: retention, the error-log digest (real SMTP server), and
the webhook check against the Shopify simulator (a subscription Shopify removed is re-created and
its gap back-filled by import-order-updates)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, insert, select, update

from orderhub.adapters.shopify import subscriptions as shopify_subscriptions
from orderhub.adapters.store import destinations, error_log, shops, traffic
from orderhub.adapters.store import subscriptions as outbound
from orderhub.adapters.store.schema import (
    deliveries,
    inbox,
    job_run_files,
    job_run_logs,
    job_runs,
    outbox,
    subscription_deliveries,
)
from orderhub.adapters.store.schema import error_log as error_table
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.domain.jobs import CATEGORIES, InvalidParams
from orderhub.entrypoints.http.app import create_app
from orderhub.services import identify, webhook_categories
from orderhub.services.jobs.import_orders import admin_client
from orderhub.services.jobs.manager import JobManager
from orderhub.services.jobs.runner import JobFailed, run_job
from orderhub.simulators.shopify.schema import TOPICS as SIMULATED_TOPICS
from orderhub.simulators.shopify.server import start_in_thread
from orderhub.testing.postgres import free_port
from orderhub.testing.server import ServerThread
from orderhub.testing.smtp_server import SmtpTestServer
from tests.support import add_shop

pytestmark = pytest.mark.timeout(120)

OLD = timedelta(days=40)
RECENT = timedelta(days=1)


# -- purge-retention ------------------------------------------------------------------------------------

class Rows:
    """Rows made for the retention test, by what should become of them."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.shop = add_shop(hub)
        self.now = utcnow()
        with hub.db.write() as conn:
            self.destination = destinations.add_http(conn, "erp", "https://erp.example/hook", "s3cret").id
            self.subscribers = [outbound.add(conn, f"https://subscriber-{i}.example/hook", "order.*").id
                                for i in range(2)]

    def inbox(self, status: str, age: timedelta, n: int = 1) -> list[int]:
        ids = []
        with self.hub.db.write() as conn:
            for _ in range(n):
                at = self.now - age
                ids.append(int(conn.execute(insert(inbox).values(
                    shop_id=self.shop.id, source="webhook", topic="orders/create",
                    identity=f"order:{len(ids)}-{time.monotonic_ns()}@{at.isoformat()}", payload='{"note": "Zoë 🦋"}',
                    status=status, received_at=at, available_at=at, processed_at=at if status == "done" else None)
                    .returning(inbox.c.id)).scalar_one()))
        return ids

    def delivery(self, inbox_id: int, status: str, age: timedelta) -> int:
        at = self.now - age
        with self.hub.db.write() as conn:
            return int(conn.execute(insert(deliveries).values(
                destination_id=self.destination, inbox_id=inbox_id, event_id=f"ev-{inbox_id}", topic="order.created",
                payload="{}", status=status, available_at=at, created_at=at,
                delivered_at=at if status == "done" else None).returning(deliveries.c.id)).scalar_one())

    def event(self, age: timedelta, *, fanned: bool = True) -> int:
        at = self.now - age
        with self.hub.db.write() as conn:
            return int(conn.execute(insert(outbox).values(
                event_type="order.created", ordering_key="order:1", payload="{}", created_at=at,
                fanned_out_at=at if fanned else None).returning(outbox.c.id)).scalar_one())

    def notify(self, outbox_id: int, status: str, age: timedelta, subscriber: int = 0) -> int:
        at = self.now - age
        with self.hub.db.write() as conn:
            return int(conn.execute(insert(subscription_deliveries).values(
                subscription_id=self.subscribers[subscriber], outbox_id=outbox_id, ordering_key="order:1",
                status=status, available_at=at, created_at=at, delivered_at=at if status == "delivered" else None)
                .returning(subscription_deliveries.c.id)).scalar_one())

    def error(self, record_type: str, record_id: int, status: str, job_run_id: int | None = None) -> int:
        with self.hub.db.write() as conn:
            entry = error_log.record(conn, error_log.Failure(
                record_type=record_type, record_id=record_id, shop_id=self.shop.id, topic="orders/create",
                source="webhook", kind="validation", error=f"{record_type} {record_id} is wrong", payload="{}"))
            conn.execute(update(error_table).where(error_table.c.id == entry).values(
                status=status, job_run_id=job_run_id))
        return entry

    def run(self, job: str, status: str, age: timedelta, *, logs: int = 0, files: int = 0) -> int:
        at = self.now - age
        with self.hub.db.write() as conn:
            run_id = int(conn.execute(insert(job_runs).values(
                job=job, scope=0, status=status, trigger="manual", params="{}", queued_at=at, available_at=at,
                started_at=at if status != "queued" else None,
                finished_at=at if status not in ("queued", "running") else None).returning(job_runs.c.id)).scalar_one())
            for i in range(logs):
                conn.execute(insert(job_run_logs).values(run_id=run_id, at=at, level="info", message=f"line {i} 🦋"))
            for i in range(files):
                conn.execute(insert(job_run_files).values(run_id=run_id, kind="output", name=f"f{i}.csv",
                                                          content=b"x", size=1, created_at=at))
        return run_id


def _ids(hub: Hub, table: Any) -> set[int]:
    with hub.db.read() as conn:
        return {r[0] for r in conn.execute(select(table.c.id))}


def test_purge_retention_deletes_exactly_what_is_no_longer_needed(hub: Hub) -> None:
    r = Rows(hub)
    # Inbox: old and done goes (five of them, so a batch of 2 takes three batches); everything else stays.
    old_done = r.inbox("done", OLD, n=5)
    [recent_done] = r.inbox("done", RECENT)
    [old_failed] = r.inbox("failed", OLD)
    [old_pending] = r.inbox("pending", OLD)
    [done_open_entry] = r.inbox("done", OLD)  # an open entry points at it
    [done_resolved_entry] = r.inbox("done", OLD)  # a resolved one does not hold it
    [done_waiting_delivery] = r.inbox("done", OLD)
    [done_failed_delivery] = r.inbox("done", OLD)  # its failed delivery has an open entry
    r.error("inbox", old_failed, "open")
    r.error("inbox", done_open_entry, "open")
    r.error("inbox", done_resolved_entry, "resolved")
    # HTTP deliveries: delivered long ago goes.
    old_delivered = r.delivery(old_done[0], "done", OLD)
    recent_delivered = r.delivery(recent_done, "done", RECENT)
    waiting = r.delivery(done_waiting_delivery, "pending", OLD)
    failed = r.delivery(done_failed_delivery, "failed", OLD)
    r.error("delivery", failed, "retrying")
    # Outbox: settled events go with their deliveries.
    settled = r.event(OLD)
    settled_delivered, settled_dismissed = r.notify(settled, "delivered", OLD), r.notify(settled, "dismissed", OLD, 1)
    lonely = r.event(OLD)  # fanned out to no subscriber
    held = r.event(OLD)
    held_failed = r.notify(held, "failed", OLD)
    held_delivered_old = r.notify(held, "delivered", OLD, 1)  # goes by itself; its event stays
    r.error(outbound.RECORD_TYPE, held_failed, "open")
    unfanned = r.event(OLD, fanned=False)
    recent_event = r.event(RECENT)
    recent_notified = r.notify(recent_event, "delivered", RECENT)
    # Job runs (90 days): the newest run and the newest success of each job stay, and runs an open entry names.
    ancient = timedelta(days=100)
    a_success = r.run("job-a", "succeeded", ancient, logs=3, files=1)
    a_failed = r.run("job-a", "failed", ancient, logs=2, files=2)
    a_newest = r.run("job-a", "failed", ancient)
    b_first = r.run("job-b", "succeeded", ancient, logs=1)
    b_named = r.run("job-b", "failed", ancient)
    b_second = r.run("job-b", "succeeded", ancient)
    b_newest = r.run("job-b", "succeeded", RECENT)
    c_queued = r.run("job-c", "queued", ancient)
    c_running = r.run("job-c", "running", ancient)
    r.error("inbox", old_done[1], "dismissed", job_run_id=b_named)  # dismissed: does not hold the run
    r.error("inbox", old_pending, "open", job_run_id=b_named)
    # The dashboard's traffic counts go by their minute: three old rows (two batches), the recent one stays.
    with hub.db.write() as conn:
        now = utcnow()
        traffic.add(conn, traffic.RECEIVED, {"orders/create": 4, "orders/paid": 1}, now - OLD)
        traffic.add(conn, traffic.DELIVERED, {"erp": 2}, now - OLD - timedelta(minutes=1))
        traffic.add(conn, traffic.RECEIVED, {"orders/create": 7}, now - RECENT)
    with hub.db.read() as conn:
        entries = conn.execute(select(func.count()).select_from(error_table)).scalar_one()

    run_id, stats = run_job(hub, "purge-retention", None, {"batch_size": "2"})

    assert stats["deleted"] == {"deliveries": 1, "subscription_deliveries": 3, "outbox": 2, "inbox": 6,
                                "job_runs": 3, "job_run_logs": 3, "job_run_files": 2, "traffic_minutes": 3}
    with hub.db.read() as conn:
        assert [(r.series, r.name, r.count) for r in traffic.since(conn, now - OLD - timedelta(days=1))] == [
            ("received", "orders/create", 7)]
    assert stats["batches"] > 5  # small batches, each its own transaction
    assert _ids(hub, inbox) == {recent_done, old_failed, old_pending, done_open_entry, done_waiting_delivery,
                                done_failed_delivery}
    assert done_resolved_entry not in _ids(hub, inbox) and not set(old_done) & _ids(hub, inbox)
    assert _ids(hub, deliveries) == {recent_delivered, waiting, failed} and old_delivered not in _ids(hub, deliveries)
    assert _ids(hub, outbox) == {held, unfanned, recent_event} and not {settled, lonely} & _ids(hub, outbox)
    assert _ids(hub, subscription_deliveries) == {held_failed, recent_notified}
    assert not {settled_delivered, settled_dismissed, held_delivered_old} & _ids(hub, subscription_deliveries)
    assert _ids(hub, job_runs) == {a_success, a_newest, b_named, b_newest, c_queued, c_running, run_id}
    assert not {a_failed, b_first, b_second} & _ids(hub, job_runs)
    with hub.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(error_table)).scalar_one() == entries  # never deleted
        assert {r.run_id for r in conn.execute(select(job_run_logs.c.run_id))} <= {a_success, run_id}
        assert {r.run_id for r in conn.execute(select(job_run_files.c.run_id))} == {a_success}

    # Nothing left to do: a second run deletes nothing (and keeps the first run, the newest of its job).
    _run, again = run_job(hub, "purge-retention", None, {})
    assert sum(again["deleted"].values()) == 0
    assert run_id in _ids(hub, job_runs)


def test_purge_retention_refuses_a_retention_of_zero_days(hub: Hub) -> None:
    with pytest.raises(JobFailed, match=r"job purge-retention: parameter 'days' must be at least 1, got 0"):
        run_job(hub, "purge-retention", None, {"days": "0"})


# -- error-log-digest ----------------------------------------------------------------------------------

SCRIPT_ERROR = "customer note <script>alert('x')</script> from Zoë 🦋 — مرحبا & \"quotes\""


def _entry(hub: Hub, record_id: int, *, kind: str, topic: str, error: str, shop_id: int | None,
           created: datetime | None = None, status: str = "open") -> int:
    with hub.db.write() as conn:
        entry = error_log.record(conn, error_log.Failure(
            record_type="inbox", record_id=record_id, shop_id=shop_id, topic=topic, source="webhook", kind=kind,
            error=error, payload="{}"))
        values: dict[str, Any] = {"status": status}
        if created is not None:
            values["created_at"] = created
        conn.execute(update(error_table).where(error_table.c.id == entry).values(**values))
    return entry


def test_the_digest_needs_smtp_and_valid_recipients(hub: Hub, mail_hub: Hub) -> None:
    with pytest.raises(JobFailed) as caught:
        run_job(hub, "error-log-digest", None, {"recipients": "ops@shop.example"})
    assert str(caught.value) == ("RuntimeError: job error-log-digest: no SMTP server configured; set "
                                 "ORDERHUB_SMTP_HOST and ORDERHUB_SMTP_FROM (see README, Configuration)")
    with pytest.raises(InvalidParams, match="job error-log-digest: parameter 'recipients' is required"):
        run_job(mail_hub, "error-log-digest", None, {})
    for bad in ("ops@shop.example, not-an-address", "ops@localhost", "Ops <ops@shop>"):
        with pytest.raises(JobFailed, match=r"job error-log-digest: recipient .* is not an e-mail address"):
            run_job(mail_hub, "error-log-digest", None, {"recipients": bad})
    with pytest.raises(JobFailed, match="parameter 'recipients' has a line break"):  # no header injection
        run_job(mail_hub, "error-log-digest", None, {"recipients": "a@b.example\nBcc: x@evil.example"})


def test_the_digest_mails_new_and_open_entries_once(mail_hub: Hub, smtp_server: SmtpTestServer) -> None:
    hub = mail_hub
    shop = add_shop(hub)
    now = utcnow()
    oldest = _entry(hub, 1, kind="validation", topic="orders/create", error=SCRIPT_ERROR, shop_id=shop.id,
                    created=now - timedelta(days=3))
    second = _entry(hub, 2, kind="validation", topic="orders/create", error="currency: unknown currency 'XXQ'",
                    shop_id=shop.id, created=now - timedelta(days=2))
    exhausted = _entry(hub, 3, kind="retries_exhausted", topic="order.created", error="subscriber said 500",
                       shop_id=None, created=now - timedelta(days=1))
    dismissed = _entry(hub, 4, kind="validation", topic="refunds/create", error="dismissed one", shop_id=shop.id,
                       status="dismissed")
    params = {"recipients": 'Ops Team 🛠 <ops@shop.example>, "Doe, Jo" <oncall@shop.example>, OPS@shop.example',
              "base_url": "https://hub.example"}

    _run, stats = run_job(hub, "error-log-digest", None, params)

    assert stats["sent"] is True and (stats["new"], stats["open"]) == (4, 3)
    [mail] = smtp_server.wait_for(1)
    assert sorted(mail.rcpt_tos) == ["oncall@shop.example", "ops@shop.example"] and mail.tls  # each once
    msg = mail.message
    assert [a.display_name for a in msg["To"].addresses] == ["Ops Team 🛠", "Doe, Jo"]
    assert msg["Subject"] == "orderhub error log: 4 new entries, 3 open"
    assert msg["From"].addresses[0].display_name == "orderhub 🤖"
    text = msg.get_body(("plain",)).get_content()
    page = msg.get_body(("html",)).get_content()
    assert SCRIPT_ERROR in text  # the plain part has the error as it is, Unicode intact
    assert "<script>" not in page and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; from Zoë 🦋 — مرحبا" in page
    assert "&amp; &quot;quotes&quot;" in page
    assert "4 new entries since the log began; 3 open in all." in text
    oldest_section = text.split("Oldest open entries")[1].split("To work them")[0]
    shown = [int(line.split()[3]) for line in oldest_section.splitlines() if "orderhub errors show" in line]
    assert shown == [oldest, second, exhausted] and dismissed not in shown  # oldest first, open only
    link = f"https://hub.example/api/errors/{oldest}"
    assert link in text and f'href="{link}"' in page
    by_kind = text.split("Open entries by kind and topic")[1].split("\n\n")[0].split("\n")[1:]
    assert [line.split() for line in by_kind] == [["validation", "orders/create", "2"],
                                                  ["retries_exhausted", "order.created", "1"]]
    assert f"#{dismissed}" in text.split("Open entries by kind")[0]  # new, though not open
    assert "orderhub errors retry ID" in text and "orderhub errors dismiss ID" in page

    # Nothing new: no mail, unless asked for one.
    _run, quiet = run_job(hub, "error-log-digest", None, params)
    assert quiet["sent"] is False and quiet["new"] == 0 and quiet["open"] == 3
    assert len(smtp_server.messages) == 1
    _run, forced = run_job(hub, "error-log-digest", None, params | {"send_empty": "true"})
    assert forced["sent"] is True
    assert smtp_server.wait_for(2)[1].message["Subject"] == "orderhub error log: 0 new entries, 3 open"

    # Only what came since the last digest is new.
    fresh = _entry(hub, 5, kind="validation", topic="orders/paid", error="paid twice?", shop_id=shop.id)
    _run, third = run_job(hub, "error-log-digest", None, params)
    assert (third["new"], third["open"], third["since_id"], third["through_id"]) == (1, 4, dismissed, fresh)
    latest = smtp_server.wait_for(3)[2].message
    assert latest["Subject"] == "orderhub error log: 1 new entry, 4 open"
    new_section = latest.get_body(("plain",)).get_content().split("New entries")[1].split("Open entries")[0]
    assert f"#{fresh}" in new_section and f"#{oldest} " not in new_section


# -- check-webhooks --------------------------------------------------------------------------------------

SHOP = "webhooks.myshopify.com"
SECRET = "webhooks-secret-🔑"
TOKEN = "shpat_webhooks"
ORDER_TOPICS = next(c.topics for c in CATEGORIES if c.code == "orders")


@pytest.fixture
def sim() -> Iterator[tuple[Any, str, httpx.Client]]:
    simulator, url, stop = start_in_thread([{"domain": SHOP, "api_secret": SECRET, "access_token": TOKEN}],
                                           retry_schedule=[0.05] * 8, seed=7, restore_rate=5000)
    with httpx.Client(base_url=url, timeout=30) as control:
        yield simulator, url, control
    stop()


def connect(hub: Hub, sim_url: str) -> shops.Shop:
    with hub.db.write() as conn:
        return shops.add(conn, SHOP, SECRET, admin_url=f"{sim_url}/shops/{SHOP}", access_token=TOKEN)


def sim_subscriptions(control: httpx.Client) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for s in orjson.loads(control.get("/_sim/subscriptions").content)["subscriptions"]:
        out.setdefault(s["topic"], []).append(s["address"])
    return out


def inbox_rows_per_order(hub: Hub, shop_id: int) -> dict[str, int]:
    identify.settle(hub.db, shop_id)  # the webhooks' identities, as the worker derives them
    with hub.db.read() as conn:
        identities = [r.identity for r in conn.execute(select(inbox.c.identity).where(
            inbox.c.shop_id == shop_id, inbox.c.identity.like("order:%")))]
    counts: dict[str, int] = {}
    for identity in identities:
        order_id = identity.split(":", 1)[1].split("@", 1)[0]
        counts[order_id] = counts.get(order_id, 0) + 1
    return counts


def run_log(hub: Hub, run_id: int) -> list[str]:
    with hub.db.read() as conn:
        return [r.message for r in conn.execute(select(job_run_logs.c.message).where(job_run_logs.c.run_id == run_id))]


def wait_idle(control: httpx.Client) -> None:
    assert control.post("/_sim/wait_idle", json={"timeout": 20}).json()["idle"]


def test_check_webhooks_recreates_a_removed_subscription_and_backfills_its_gap(
        hub: Hub, sim: tuple[Any, str, httpx.Client]) -> None:
    _simulator, sim_url, control = sim
    shop = connect(hub, sim_url)
    port = free_port()
    address = f"http://127.0.0.1:{port}/webhooks/shopify"
    supported = set(SIMULATED_TOPICS.values())

    states = {s.topic: s for s in webhook_categories.subscribe(hub, shop, "orders", address)}
    for topic in ORDER_TOPICS:  # a topic the simulator does not know is refused, by name; the others go ahead
        if topic in supported:
            assert states[topic].state == "subscribed" and states[topic].callback_url == address, topic
        else:
            assert states[topic].state == "missing" and states[topic].error.startswith(f"{topic}: "), topic
    subscribed = [t for t in ORDER_TOPICS if t in supported]
    assert "orders/create" in subscribed

    # orderhub is up: the first orders arrive as webhooks.
    with ServerThread(create_app(hub), port=port):
        before = control.post("/_sim/orders", json={"count": 3, "seed": 1}).json()["order_ids"]
        wait_idle(control)
    assert set(inbox_rows_per_order(hub, shop.id)) == {str(i) for i in before}
    with hub.db.read() as conn:
        last_webhook = webhook_categories.last_webhook_at(conn, shop.id, ["orders/create"])
    assert last_webhook is not None

    # orderhub is down: deliveries fail and Shopify removes the orders/create subscription.
    control.post("/_sim/config", json={"remove_after_failures": 2, "retry_schedule": [0.05] * 8})
    gone = control.post("/_sim/orders", json={"count": 4, "seed": 2}).json()["order_ids"]
    wait_idle(control)
    assert "orders/create" not in sim_subscriptions(control)
    assert all(t in sim_subscriptions(control) for t in subscribed if t != "orders/create")  # only that one went
    current = {s.topic: s for s in webhook_categories.state(hub, shop, "orders")}
    assert current["orders/create"].state == "missing" and "removed at Shopify" in current["orders/create"].note
    assert current["orders/paid"].state == "subscribed" and current["orders/paid"].callback_url == address

    with ServerThread(create_app(hub), port=port):
        run_id, stats = run_job(hub, "check-webhooks", shop, {})
        assert stats["recreated"] == ["orders/create"] and stats["failed"] == {}
        assert sorted(stats["present"]) == sorted(t for t in subscribed if t != "orders/create")
        assert sim_subscriptions(control)["orders/create"] == [address]
        [backfill] = stats["backfill"]
        since = datetime.fromisoformat(backfill["since"])
        assert backfill["job"] == "import-order-updates" and backfill["status"] == "queued"
        assert since == last_webhook - timedelta(minutes=10)
        # The queued back-fill runs on a worker like any run.
        manager = JobManager(hub)
        assert manager.work_once()[0] == 1
        with hub.db.read() as conn:
            queued = conn.execute(select(job_runs).where(job_runs.c.id == backfill["run_id"])).one()
        assert (queued.status, queued.trigger, queued.parent_run_id, queued.shop_id) == (
            "succeeded", "backfill", run_id, shop.id)
        assert datetime.fromisoformat(orjson.loads(queued.params)["since"]) == since
        assert orjson.loads(queued.stats)["stored"] == len(gone)

        # Every order reached the inbox exactly once: the first by webhook, the missed ones by the back-fill.
        assert inbox_rows_per_order(hub, shop.id) == {str(i): 1 for i in before + gone}

        # The re-created subscription delivers again.
        after = control.post("/_sim/orders", json={"count": 1, "seed": 3}).json()["order_ids"]
        wait_idle(control)
    assert inbox_rows_per_order(hub, shop.id)[str(after[0])] == 1
    logged = run_log(hub, run_id)
    assert any("orders/create is no longer subscribed at Shopify" in m for m in logged)
    assert any(f"queued back-fill run {backfill['run_id']} of import-order-updates" in m for m in logged)

    # All present now: a second check changes nothing and queues nothing.
    _run, quiet = run_job(hub, "check-webhooks", shop, {})
    assert quiet["recreated"] == [] and quiet["backfill"] == [] and len(quiet["present"]) == len(subscribed)


def test_check_webhooks_can_run_the_backfill_here_when_no_webhook_ever_arrived(
        hub: Hub, sim: tuple[Any, str, httpx.Client]) -> None:
    _simulator, sim_url, control = sim
    shop = connect(hub, sim_url)
    address = f"http://127.0.0.1:{free_port()}/webhooks/shopify"  # nothing listens: no webhook ever arrives
    webhook_categories.subscribe(hub, shop, "orders", address)
    with hub.db.read() as conn:
        [recorded] = [r for r in webhook_categories.records(conn, shop.id, "orders") if r.topic == "orders/create"]
    client = admin_client(shop)
    [create] = [s for s in shopify_subscriptions.list_subscriptions(client) if s["topic"] == "orders/create"]
    shopify_subscriptions.unsubscribe(client, create["id"])  # gone at Shopify, as after failed deliveries
    missed = control.post("/_sim/orders", json={"count": 3, "seed": 4}).json()["order_ids"]
    wait_idle(control)

    _run, stats = run_job(hub, "check-webhooks", shop, {"run_backfill": "true", "buffer": "1m",
                                                         "category": "orders"})

    [backfill] = stats["backfill"]
    assert backfill["status"] == "succeeded" and backfill["stats"]["stored"] == len(missed)
    assert backfill["last_webhook_at"] is None
    # No webhook received: it starts where the subscription was made (it was seen right after), less the buffer.
    assert datetime.fromisoformat(backfill["since"]) == recorded.subscribed_at - timedelta(minutes=1)
    assert inbox_rows_per_order(hub, shop.id) == {str(i): 1 for i in missed}
    with hub.db.read() as conn:
        run = conn.execute(select(job_runs).where(job_runs.c.id == backfill["run_id"])).one()
    assert (run.job, run.trigger, run.status) == ("import-order-updates", "backfill", "succeeded")
    with pytest.raises(InvalidParams, match="job check-webhooks: parameter .buffer. must be a duration"):
        run_job(hub, "check-webhooks", shop, {"buffer": "soon"})


def test_check_webhooks_backfills_inventory_with_a_full_sync_and_leaves_unsubscribed_ones_alone(
        hub: Hub, sim: tuple[Any, str, httpx.Client]) -> None:
    _simulator, sim_url, control = sim
    shop = connect(hub, sim_url)
    address = f"http://127.0.0.1:{free_port()}/webhooks/shopify"
    assert [s.state for s in webhook_categories.subscribe(hub, shop, "inventory", address)] == ["subscribed"]
    assert {s.state for s in webhook_categories.subscribe(hub, shop, "products", address)} == {"subscribed"}
    client = admin_client(shop)
    for s in shopify_subscriptions.list_subscriptions(client):  # Shopify removes inventory's subscription
        if s["topic"] == "inventory_levels/update":
            shopify_subscriptions.unsubscribe(client, s["id"])
    webhook_categories.unsubscribe(hub, shop, "products")  # a person unsubscribed products: not re-created

    run_id, stats = run_job(hub, "check-webhooks", shop, {"buffer": "5m"})

    assert stats["recreated"] == ["inventory_levels/update"] and stats["not_backfilled"] == []
    [backfill] = stats["backfill"]
    assert (backfill["category"], backfill["job"], backfill["status"]) == (
        "inventory", "sync-inventory-from-shopify", "queued")
    assert set(sim_subscriptions(control)) == {"inventory_levels/update"}
    with hub.db.read() as conn:
        [queued] = conn.execute(select(job_runs).where(job_runs.c.trigger == "backfill")).all()
    assert (queued.job, orjson.loads(queued.params)) == ("sync-inventory-from-shopify", {})  # a full sync: no window


def test_the_backfill_start_never_follows_a_lost_webhook() -> None:
    made = datetime(2026, 11, 1, tzinfo=timezone.utc)
    seen = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
    record = webhook_categories.Record("orders", "orders/create", "gid://1", "https://hub.example/w", made, seen)
    buffer = timedelta(minutes=10)
    recent = seen - timedelta(minutes=3)
    # A webhook arrived since: start there.
    assert webhook_categories.backfill_start([record], recent, buffer) == recent - buffer
    # None arrived: Shopify's retries began at most its retry window before the removal (after the sighting).
    assert webhook_categories.backfill_start([record], None, buffer) == seen - timedelta(hours=4) - buffer
    # A subscription made after that began there.
    young = replace(record, subscribed_at=seen - timedelta(hours=1))
    assert webhook_categories.backfill_start([young], None, buffer) == seen - timedelta(hours=1) - buffer
