"""Reconciliation against the Shopify simulator on loopback, on SQLite and PostgreSQL.

One shop with orders in several states: in step, never ingested (missing), one waiting
in the inbox, changed in Shopify without a webhook (stale), tampered in orderhub's
database at the same version (mismatch), only in orderhub (extra), and with failed or
long-pending outbound webhook deliveries (unacknowledged).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, insert, select, update

from orderhub.adapters.store import error_log, shops
from orderhub.adapters.store.schema import (
    error_log as error_table,
)
from orderhub.adapters.store.schema import (
    inbox,
    order_items,
    orders,
    outbox,
    reconciliation_findings,
    reconciliations,
    subscription_deliveries,
    subscriptions,
)
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.services import reconcile as service
from orderhub.services.jobs.runner import JobFailed, run_job
from orderhub.simulators.shopify.server import start_in_thread
from tests.support import BIG_ID, drain, order_payload, put

SHOP = "recon.myshopify.com"
SECRET = "recon-secret-🔑"
TOKEN = "shpat_recon"
UNICODE_NAME = "#Zoë-🦋-1001"
EXTRA_NAME = "#Ωmega-🦄"
TAMPERED_SKU = "SKU-tampered-🧪"


@dataclass
class Sim:
    simulator: Any
    url: str
    control: httpx.Client

    def orders(self) -> dict[str, dict[str, Any]]:
        return {str(o["id"]): o for o in self.control.get("/_sim/orders").json()["orders"]}

    def change(self, order_id: str, action: str, **params: Any) -> None:
        r = self.control.post(f"/_sim/orders/{order_id}/{action}", json=params)
        assert r.status_code == 200, r.text


@pytest.fixture
def sim() -> Iterator[Sim]:
    simulator, url, stop = start_in_thread([{"domain": SHOP, "api_secret": SECRET, "access_token": TOKEN}],
                                           seed=11, restore_rate=5000)  # a fast bucket keeps the tests quick
    with httpx.Client(base_url=url, timeout=30) as control:
        yield Sim(simulator, url, control)
    stop()


def connect(hub: Hub, sim: Sim) -> shops.Shop:
    with hub.db.write() as conn:
        return shops.add(conn, SHOP, SECRET, admin_url=f"{sim.url}/shops/{SHOP}", access_token=TOKEN)


@dataclass
class Scenario:
    shop: shops.Shop
    ids: list[str]  # Shopify ids, in placing order
    in_step: list[str]
    missing: list[str]  # never ingested
    waiting: str  # its webhook is in the inbox, not processed yet
    stale: str
    tampered: str
    tampered_line: str
    tampered_sku: str
    extra: str
    unacknowledged: str


def build_scenario(hub: Hub, sim: Sim) -> Scenario:
    """Orders in every state a reconciliation reports (no webhook subscriptions: nothing arrives by itself)."""
    shop = connect(hub, sim)
    ids = [str(i) for i in sim.control.post("/_sim/orders", json={"count": 7, "seed": 5}).json()["order_ids"]]
    _shop, named = sim.simulator.store.order(int(ids[5]), SHOP)
    with sim.simulator.store.lock:
        named["name"] = UNICODE_NAME  # a missing order with emoji in its name
    rest = sim.orders()
    for order_id in ids[:4]:  # delivered as webhooks and processed
        assert put(hub, "orders/create", rest[order_id], shop_id=shop.id)
    drain(hub)
    sim.change(ids[1], "edit")  # changed in Shopify; no webhook reaches orderhub
    tampered = ids[2]
    with hub.db.write() as conn:
        pk = conn.execute(select(orders.c.id).where(orders.c.shopify_id == tampered)).scalar_one()
        conn.execute(update(orders).where(orders.c.id == pk).values(total_price=orders.c.total_price + 1))
        line = conn.execute(select(order_items.c.shopify_id, order_items.c.sku).where(order_items.c.order_id == pk)
                            .order_by(order_items.c.id).limit(1)).one()
        conn.execute(update(order_items).where(order_items.c.order_id == pk,
                                               order_items.c.shopify_id == line.shopify_id).values(sku=TAMPERED_SKU))
    extra = order_payload(BIG_ID, updated_at=utcnow().isoformat(timespec="seconds"), name=EXTRA_NAME)
    assert put(hub, "orders/create", extra, shop_id=shop.id)
    drain(hub)
    assert put(hub, "orders/updated", rest[ids[4]], shop_id=shop.id)  # waiting in the inbox, not processed yet
    add_deliveries(hub, ids[3])
    return Scenario(shop=shop, ids=ids, in_step=[ids[0], ids[3]], missing=[ids[5], ids[6]], waiting=ids[4],
                    stale=ids[1], tampered=tampered, tampered_line=line.shopify_id, tampered_sku=line.sku,
                    extra=str(BIG_ID), unacknowledged=ids[3])


def add_deliveries(hub: Hub, shopify_id: str) -> dict[str, int]:
    """Outbound webhooks of one order: failed, pending for 20 minutes, pending just now, and delivered."""
    now = utcnow()
    with hub.db.write() as conn:
        pk = conn.execute(select(orders.c.id).where(orders.c.shopify_id == shopify_id)).scalar_one()
        subs = {}
        for name in ("erp", "crm"):
            subs[name] = conn.execute(insert(subscriptions).values(
                url=f"https://{name}.example/hooks", events="order.*", secret="whsec_dGVzdA==", description=name,
                rate_per_second=10, max_attempts=3, timeout_seconds=5, enabled=True, created_at=now)
                .returning(subscriptions.c.id)).scalar_one()
        plan = [("order.created", "erp", "failed", 0), ("order.updated", "crm", "pending", 20),
                ("order.updated", "erp", "pending", 0), ("order.created", "crm", "delivered", 30)]
        for event_type, sub, status, minutes_ago in plan:
            at = now - timedelta(minutes=minutes_ago)
            event = conn.execute(insert(outbox).values(
                event_type=event_type, ordering_key=f"order:{pk}", order_id=pk, payload="{}", created_at=at,
                fanned_out_at=at).returning(outbox.c.id)).scalar_one()
            conn.execute(insert(subscription_deliveries).values(
                subscription_id=subs[sub], outbox_id=event, ordering_key=f"order:{pk}", status=status,
                attempts=3 if status == "failed" else 1, available_at=at, created_at=at))
    return subs


def inbox_count(hub: Hub, shopify_id: str | None = None) -> int:
    stmt = select(func.count()).select_from(inbox)
    if shopify_id is not None:
        stmt = stmt.where(inbox.c.identity.like(f"order:{shopify_id}@%"))
    with hub.db.read() as conn:
        return int(conn.execute(stmt).scalar_one())


def reconciliation_entries(hub: Hub) -> list[Any]:
    with hub.db.read() as conn:
        return conn.execute(select(error_table).where(error_table.c.record_type == service.RECORD_TYPE)
                            .order_by(error_table.c.id)).all()


def by_kind(report: service.Report) -> dict[str, list[service.Finding]]:
    out: dict[str, list[service.Finding]] = {}
    for f in report.findings:
        out.setdefault(f.kind, []).append(f)
    return out


def test_reconcile_finds_every_kind_and_a_second_run_duplicates_nothing(hub, sim):  # type: ignore[no-untyped-def]
    s = build_scenario(hub, sim)
    since = utcnow() - timedelta(hours=1)
    shopify_before = sim.orders()

    report = service.reconcile(hub, SHOP, since, actor="test 🧪")
    assert report.counts == {"missing": 3, "stale": 1, "mismatch": 1, "extra": 1, "unacknowledged": 1}
    assert report.summary["shopify_orders"] == 7 and report.summary["in_step"] == 2
    assert report.summary["inbox_stored"] == 3 and report.summary["inbox_duplicates"] == 1
    found = by_kind(report)

    # missing: put in the inbox; the one already waiting there is not stored twice
    assert {f.order_shopify_id for f in found["missing"]} == {*s.missing, s.waiting}
    assert all(f.action == "reingested" for f in found["missing"])
    assert {f.order_name for f in found["missing"]} >= {UNICODE_NAME}
    assert inbox_count(hub, s.waiting) == 1

    # stale: Shopify's newer version (with its edited quantity and totals) goes in the inbox
    (stale,) = found["stale"]
    assert (stale.order_shopify_id, stale.action) == (s.stale, "reingested")
    assert "updated_at" in stale.diff and "total_price" in stale.diff
    assert any(k.startswith("items.") and k.endswith(".quantity") for k in stale.diff)

    # mismatch: same version, different data -> the error log, with the diff naming the fields
    (mismatch,) = found["mismatch"]
    sku_field = f"items.{s.tampered_line}.sku"
    assert mismatch.order_shopify_id == s.tampered and mismatch.action == "error_logged"
    assert set(mismatch.diff) == {"total_price", sku_field}
    assert mismatch.diff[sku_field] == [TAMPERED_SKU, s.tampered_sku]
    ours, theirs = (Decimal(v) for v in mismatch.diff["total_price"])
    assert ours == theirs + 1

    # extra: only in orderhub; confirmed by id, reported and logged
    (extra,) = found["extra"]
    assert (extra.order_shopify_id, extra.order_name, extra.action) == (s.extra, EXTRA_NAME, "error_logged")

    # unacknowledged: the failed delivery and the one pending for 20 minutes, not the fresh or delivered ones
    (unack,) = found["unacknowledged"]
    assert unack.order_shopify_id == s.unacknowledged and unack.action == "reported"
    listed = [line for value in unack.diff.values() for line in value[0]]
    assert len(unack.diff) == 2 and len(listed) == 2
    assert any(line.startswith("order.created failed") for line in listed)
    assert any(line.startswith("order.updated pending") for line in listed)

    entries = reconciliation_entries(hub)
    assert [(e.record_id, e.kind, e.status, e.topic) for e in entries] == [
        (mismatch.id, "mismatch", "open", service.TOPIC), (extra.id, "mismatch", "open", service.TOPIC)]
    entry = entries[0]
    assert mismatch.error_id == entry.id
    name = shopify_before[s.tampered]["name"]
    assert f"order {name} (Shopify id {s.tampered})" in entry.error
    assert "total_price" in entry.error and sku_field in entry.error
    payload = orjson.loads(entry.payload)
    assert payload["diff"][sku_field] == [TAMPERED_SKU, s.tampered_sku]
    assert str(payload["shopify"]["id"]) == s.tampered and payload["finding_id"] == mismatch.id
    assert EXTRA_NAME in entries[1].error and s.extra in entries[1].error

    # stored: one report row, one row per finding
    with hub.db.read() as conn:
        row = conn.execute(select(reconciliations).where(reconciliations.c.id == report.id)).one()
        assert orjson.loads(row.summary)["missing"] == 3 and row.finished_at is not None and row.actor == "test 🧪"
        assert conn.execute(select(func.count()).select_from(reconciliation_findings).where(
            reconciliation_findings.c.reconciliation_id == report.id)).scalar_one() == 7
        shown = service.get_report(conn, report.id)
    assert shown is not None and shown.counts == report.counts
    assert {f.id: (f.kind, f.action, f.error_id) for f in shown.findings} == {
        f.id: (f.kind, f.action, f.error_id) for f in report.findings}

    drain(hub)
    with hub.db.read() as conn:
        stored = {r.shopify_id: r.name for r in conn.execute(select(orders.c.shopify_id, orders.c.name))}
    assert set(s.ids) <= set(stored) and stored[s.missing[0]] == UNICODE_NAME

    # Again: the re-ingested orders are in step; the mismatch and the extra are still there, logged once.
    inbox_before = inbox_count(hub)
    again = service.reconcile(hub, SHOP, since, actor="test")
    assert again.id != report.id
    assert again.counts == {"missing": 0, "stale": 0, "mismatch": 1, "extra": 1, "unacknowledged": 1}
    assert again.summary["in_step"] == 6 and again.summary["inbox_stored"] == 0
    assert inbox_count(hub) == inbox_before
    entries_again = reconciliation_entries(hub)
    assert [e.id for e in entries_again] == [e.id for e in entries]
    assert len(orjson.loads(entries_again[0].attempts)) == 2
    assert {f.error_id for f in again.findings if f.action == "error_logged"} == {e.id for e in entries}

    # Once a person dismissed them, the same differences are reported but not logged again.
    with hub.db.write() as conn:
        error_log.dismiss(conn, [e.id for e in entries], by="ops", reason="checked by hand 🔍")
    third = service.reconcile(hub, SHOP, since, actor="test")
    assert {f.kind: (f.action, f.error_id) for f in third.findings if f.kind in ("mismatch", "extra")} == {
        "mismatch": ("reported", None), "extra": ("reported", None)}
    assert [(e.id, e.status) for e in reconciliation_entries(hub)] == [(e.id, "dismissed") for e in entries]


def test_retry_finding_repolls_the_order_and_a_later_run_resolves_it(hub, sim):  # type: ignore[no-untyped-def]
    s = build_scenario(hub, sim)
    since = utcnow() - timedelta(hours=1)
    report = service.reconcile(hub, SHOP, since, actor="test", reingest=False)
    found = by_kind(report)
    missing = next(f for f in found["missing"] if f.order_shopify_id == s.missing[0])
    assert missing.action == "reported" and inbox_count(hub, s.missing[0]) == 0
    assert report.summary["inbox_stored"] == 0

    service.retry_finding(hub.db, missing.id)
    assert inbox_count(hub, s.missing[0]) == 1
    service.retry_finding(hub.db, missing.id)  # still waiting in the inbox: nothing more to do
    assert inbox_count(hub, s.missing[0]) == 1

    (mismatch,) = found["mismatch"]
    with pytest.raises(service.RetryRefused, match="changes nothing"):
        service.retry_finding(hub.db, mismatch.id)
    (extra,) = found["extra"]
    with pytest.raises(service.RetryRefused, match="does not have order"):
        service.retry_finding(hub.db, extra.id)
    (unack,) = found["unacknowledged"]
    with pytest.raises(service.RetryRefused, match="deliveries"):
        service.retry_finding(hub.db, unack.id)
    with pytest.raises(LookupError, match="no reconciliation finding 999999"):
        service.retry_finding(hub.db, 999999)

    # Shopify changes the order; a person retries the entry; the next run finds it in step and resolves it.
    sim.change(s.tampered, "update", note="fixed in Shopify ✅")
    with hub.db.write() as conn:
        error_log.mark_retrying(conn, mismatch.error_id, None)
    service.retry_finding(hub.db, mismatch.id)
    drain(hub)
    again = service.reconcile(hub, SHOP, since, actor="test")
    assert again.counts["mismatch"] == 0 and again.summary["resolved"] == 1
    statuses = {e.record_id: e.status for e in reconciliation_entries(hub)}
    assert statuses == {mismatch.id: "resolved", extra.id: "open"}


def test_the_job_and_bad_windows(hub, sim):  # type: ignore[no-untyped-def]
    shop = connect(hub, sim)
    sim.control.post("/_sim/orders", json={"count": 2})
    _run, stats = run_job(hub, "reconcile-orders", shop, {"since": "2h", "reingest": "false"})
    assert (stats["missing"], stats["reingested"], stats["inbox_stored"]) == (2, 0, 0)
    assert stats["reconciliation_id"] > 0
    _run, stats = run_job(hub, "reconcile-orders", shop, {})  # 24 hours, re-ingesting
    assert (stats["missing"], stats["reingested"], stats["inbox_stored"]) == (2, 2, 2)
    with pytest.raises(JobFailed, match="neither a duration"):
        run_job(hub, "reconcile-orders", shop, {"since": "yesterday"})
    with pytest.raises(JobFailed, match="reingest"):
        run_job(hub, "reconcile-orders", shop, {"reingest": "maybe"})
    with pytest.raises(ValueError, match="in the future"):
        service.reconcile(hub, SHOP, utcnow() + timedelta(hours=1), actor="test")
    with pytest.raises(LookupError, match="no shop nowhere.myshopify.com"):
        service.reconcile(hub, "Nowhere.myshopify.com", utcnow(), actor="test")


def test_parse_since() -> None:
    now = utcnow()
    assert service.parse_since("6h", now) == now - timedelta(hours=6)
    assert service.parse_since(" 2d ", now) == now - timedelta(days=2)
    assert service.parse_since("90m", now) == now - timedelta(minutes=90)
    assert service.parse_since("2026-01-02T03:04:05Z", now).isoformat() == "2026-01-02T03:04:05+00:00"
    assert service.parse_since("2026-01-02T04:04:05+01:00", now).isoformat() == "2026-01-02T03:04:05+00:00"
    assert service.parse_since("2026-01-02T03:04:05", now).isoformat() == "2026-01-02T03:04:05+00:00"
    for bad in ("", "soon", "6 hours", "x" * 100):
        with pytest.raises(ValueError):
            service.parse_since(bad, now)
    with pytest.raises(ValueError, match="in the future"):
        service.parse_since((now + timedelta(minutes=5)).isoformat(), now)


def test_an_order_seen_twice_while_paging_gives_one_finding(hub, sim):  # type: ignore[no-untyped-def]
    shop = connect(hub, sim)
    (order_id,) = [str(i) for i in sim.control.post("/_sim/orders", json={"count": 1}).json()["order_ids"]]
    first = sim.orders()[order_id]
    sim.change(order_id, "update", note="while paging")
    run = service._Run(hub, shop, utcnow() - timedelta(hours=1), client=None, reingest=False)  # type: ignore[arg-type]
    run.check([first])
    run.check([sim.orders()[order_id]])
    later = datetime.fromisoformat(sim.orders()[order_id]["updated_at"]).astimezone(timezone.utc)
    assert [(p.finding.kind, p.finding.diff["updated_at"][1]) for p in run.pending] == [("missing", later.isoformat())]
    assert run.stats["shopify_orders"] == 1


def test_a_run_shopify_refuses_keeps_its_row_with_the_error(hub, sim):  # type: ignore[no-untyped-def]
    from orderhub.adapters.shopify.graphql import AuthError

    with hub.db.write() as conn:
        shops.add(conn, SHOP, SECRET, admin_url=f"{sim.url}/shops/{SHOP}", access_token="wrong")
    with pytest.raises(AuthError, match="refused the access token"):
        service.reconcile(hub, SHOP, utcnow() - timedelta(hours=1), actor="test")
    with hub.db.read() as conn:
        row = conn.execute(select(reconciliations)).one()
    assert row.finished_at is not None and "refused the access token" in orjson.loads(row.summary)["error"]
