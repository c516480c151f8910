"""Stores as their operations manager reads them: the store's local day of sales (exact money, per currency,
across a clock change), late and flagged sales, oversells, settings; and the alert for a POS device that
stopped syncing (error log once per silence, resolved when it syncs again)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import orjson
import pytest
from sqlalchemy import select
from structlog.testing import capture_logs

from orderhub.adapters.store import (
    channel_stock,
    error_log,
    facilities,
    inventory_store,
    pos_devices,
    store_views,
    stores,
)
from orderhub.adapters.store.schema import error_log as error_log_table
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.domain.inventory import LedgerReason
from orderhub.services import errors as error_service
from orderhub.services import pos_alerts
from orderhub.services.jobs.context import JobContext
from orderhub.services.jobs.pos_devices_check import run as run_check
from tests.stores_support import add_oversell, add_sale, add_store, enrol, silence
from tests.support import add_shop

UTC = timezone.utc
LATE = timedelta(minutes=30)


def test_a_store_s_day_is_its_local_day_even_when_the_clocks_change(hub: Hub) -> None:
    store_id = add_store(hub, timezone="America/New_York")
    spring = date(2026, 3, 8)  # New York moves to summer time: a day of 23 hours
    with hub.db.write() as conn:
        add_sale(conn, store_id, datetime(2026, 3, 8, 4, 30, tzinfo=UTC), "99.00")  # 23:30 on the 7th there
        add_sale(conn, store_id, datetime(2026, 3, 8, 5, 30, tzinfo=UTC), "19.99", units=2)  # 00:30 on the 8th
        add_sale(conn, store_id, datetime(2026, 3, 9, 3, 30, tzinfo=UTC), "0.01", flags="late")  # 23:30 EDT
        add_sale(conn, store_id, datetime(2026, 3, 8, 12, 0, tzinfo=UTC), "1500", "JPY", returned=1,
                 delay=timedelta(minutes=31), flags="clock_future")
        add_sale(conn, store_id, datetime(2026, 3, 9, 4, 30, tzinfo=UTC), "5.00")  # 00:30 on the 9th
        add_oversell(conn, store_id, "MUG-🦋", 2, at=datetime(2026, 3, 8, 20, 0, tzinfo=UTC))
        store = stores.get(conn, "BOS01")
        totals = store_views.day_totals(conn, store, spring, LATE)
        assert store.day_bounds(spring) == (datetime(2026, 3, 8, 5, tzinfo=UTC), datetime(2026, 3, 9, 4, tzinfo=UTC))
        assert totals.public() == {"day": "2026-03-08", "sales": 3, "units_sold": 4, "units_returned": 1,
                                   "totals": {"JPY": "1500", "USD": "20.00"}, "late": 2, "flagged": 1,
                                   "oversells": 1}
        late = store_views.sales(conn, store, late_after=LATE, day=spring, late=True)
        flagged = store_views.sales(conn, store, late_after=LATE, day=spring, flagged=True)
        both = store_views.sales(conn, store, late_after=LATE, day=spring, late=True, flagged=True)
        every = store_views.sales(conn, store, late_after=LATE, day=spring)
    assert [s.public()["total"] for s in late] == ["0.01", "1500"]  # newest first; flag `late`, then 31 min late
    assert [s.public()["flags"] for s in flagged] == [["clock_future"]]
    assert [s.public()["currency"] for s in both] == ["JPY"]
    assert len(every) == 3 and all(s.public()["sold_at"].startswith("2026-03-0") for s in every)


def test_the_late_and_flagged_rules_agree_in_sql_and_in_python(hub: Hub) -> None:
    store_id = add_store(hub)
    day = date(2026, 6, 1)
    cases = [("", 5), ("late", 5), ("clock_past", 5), ("late,tender_mismatch", 5), ("", 1801), ("lateish", 5),
             ("clock_future,late", 4000)]
    with hub.db.write() as conn:
        for i, (flags, delay) in enumerate(cases):
            add_sale(conn, store_id, datetime(2026, 6, 1, 10, i, tzinfo=UTC), "1.00", flags=flags,
                     delay=timedelta(seconds=delay), ref=f"S{i}")
        store = stores.get(conn, "BOS01")
        late = {s.row.sale_ref for s in store_views.sales(conn, store, late_after=LATE, day=day, late=True)}
        flagged = {s.row.sale_ref for s in store_views.sales(conn, store, late_after=LATE, day=day, flagged=True)}
        totals = store_views.day_totals(conn, store, day, LATE)
    assert late == {"S1", "S3", "S4", "S6"}
    assert flagged == {"S2", "S3", "S5", "S6"}  # "lateish" is a flag of its own, not `late`
    assert (totals.late, totals.flagged) == (len(late), len(flagged))


def test_a_store_s_settings_are_checked_and_name_the_store(hub: Hub) -> None:
    add_store(hub)
    with hub.db.write() as conn:
        facilities.add(conn, "WH-1", "Lager", "warehouse")
        found, changed = stores.change(conn, "BOS01", online_safety_stock=3, timezone_name="Europe/Paris")
        assert (found.online_safety_stock, found.timezone, changed) == (3, "Europe/Paris", 0)
        assert stores.change(conn, "BOS01", timezone_name="")[0].timezone is None  # back to UTC
        for bad in ("Mars/Olympus", "../../etc/passwd", "Europe/Paris\x00", "x" * 200):
            with pytest.raises(ValueError, match="store BOS01: .* is not a time zone; give an IANA name"):
                stores.change(conn, "BOS01", timezone_name=bad)
        with pytest.raises(ValueError, match="store BOS01: the online safety stock is 0 to"):
            stores.change(conn, "BOS01", online_safety_stock=-1)
        with pytest.raises(LookupError, match="facility WH-1 is a warehouse, not a store"):
            stores.get(conn, "WH-1")
        with pytest.raises(LookupError, match="no store NOPE; `orderhub store list` shows them"):
            stores.get(conn, "NOPE")
        assert [s.code for s in stores.all_stores(conn)] == ["BOS01"]


def test_a_new_safety_stock_changes_what_the_channels_are_sent(hub: Hub) -> None:
    store_id = add_store(hub)
    shop = add_shop(hub)
    with hub.db.write() as conn:
        inventory_store.set_on_hand(conn, "TEE-🌵", store_id, 5, reason=LedgerReason.RECEIVED, actor="test")
        channel_stock.list_skus(conn, shop.id, ["TEE-🌵"])
        assert [r["wanted"] for r in channel_stock.shown(conn, shop.id)] == [5]
        assert stores.change(conn, "BOS01", online_safety_stock=2)[1] == 1
        assert [r["wanted"] for r in channel_stock.shown(conn, shop.id)] == [3]
        assert stores.change(conn, "BOS01", online_safety_stock=2)[1] == 0  # the same: nothing new to send
        assert stores.change(conn, "BOS01", timezone_name="Asia/Tokyo")[1] == 0


def test_devices_show_whether_they_are_silent_and_how_long_their_queue_waits(hub: Hub) -> None:
    store_id = add_store(hub)
    other = add_store(hub, "NYC02", "Manhattan")
    enrol(hub, store_id, "till-1", synced_ago=timedelta(minutes=2), queue=3)
    quiet = enrol(hub, store_id, "till-2", synced_ago=timedelta(hours=2))
    new = enrol(hub, other, "till-1")  # enrolled just now, never synced: not silent yet
    revoked = enrol(hub, other, "old till", synced_ago=timedelta(days=3))
    now = utcnow()
    with hub.db.write() as conn:
        pos_devices.revoke(conn, revoked.id, actor="test")
        lines = store_views.device_lines(conn, None, now, LATE)
        silent = store_views.device_lines(conn, None, now, LATE, silent_only=True)
        per_store = store_views.silent_per_store(conn, LATE)
        summary = store_views.summary(conn, stores.get(conn, "BOS01"), now, LATE)
    assert [(d.device.store, d.device.name, d.silent) for d in lines] == [
        ("BOS01", "till-1", False), ("BOS01", "till-2", True), ("NYC02", "old till", False), ("NYC02", "till-1", False)]
    assert [d.device.id for d in silent] == [quiet.id]
    assert 44 * 60 <= (lines[0].queue_age_seconds or 0) <= 46 * 60
    assert per_store == {"BOS01": 1, "NYC02": 0}
    assert (summary.devices, summary.silent) == (2, 1)
    assert new.id in {d.device.id for d in lines}


def _ctx(hub: Hub) -> JobContext:
    return JobContext(hub=hub, shop=None, params={}, run_id=0)


def _entries(hub: Hub) -> list[tuple[int, str]]:
    with hub.db.read() as conn:
        return [(r.record_id, r.status) for r in conn.execute(
            select(error_log_table.c.record_id, error_log_table.c.status)
            .where(error_log_table.c.record_type == error_service.POS_SILENT).order_by(error_log_table.c.id))]


def test_a_silent_device_is_reported_once_per_silence_and_resolved_when_it_syncs(hub: Hub) -> None:
    store_id = add_store(hub)
    fine = enrol(hub, store_id, "till-1", synced_ago=timedelta(minutes=1))
    quiet = enrol(hub, store_id, "till-🌵", synced_ago=timedelta(minutes=95), queue=4)
    with capture_logs() as logs:
        first = run_check(_ctx(hub))
        again = run_check(_ctx(hub))  # a minute later, say: still silent, not reported again
    assert first == {"active": 2, "syncing": 1, "silent": 1, "newly_silent": 1, "back": 0}
    assert again == {"active": 2, "syncing": 1, "silent": 1, "newly_silent": 0, "back": 0}
    assert [(e["event"], e["store"], e["device"]) for e in logs if e["log_level"] == "warning"] == [
        ("pos_device_silent", "BOS01", "till-🌵")]
    assert _entries(hub) == [(quiet.id, "open")]
    with hub.db.read() as conn:
        entry = error_log.list_entries(conn, error_log.ErrorFilter(kind="device_silent"))[0]
    assert entry.error.startswith(f"store BOS01: POS device till-🌵 (id {quiet.id}) has not synced since ")
    assert "4 sale(s) waiting on it" in entry.error and f"orderhub device revoke {quiet.id}" in entry.error
    assert orjson.loads(entry.payload)["store"] == "BOS01"
    with pytest.raises(error_service.NotRetryable, match="resolves the entry when the device syncs again"):
        error_service.retry(hub.db, entry.id)

    with hub.db.write() as conn:  # it syncs again
        pos_devices.seen(conn, quiet.id, pos_devices.Report(queue_length=0), synced=1)
    assert run_check(_ctx(hub))["back"] == 1
    assert _entries(hub) == [(quiet.id, "resolved")]

    silence(hub, quiet.id, timedelta(hours=1))  # and falls silent anew: reported again, the same entry reopened
    with capture_logs() as logs:
        assert run_check(_ctx(hub))["newly_silent"] == 1
    assert [e["device_id"] for e in logs if e["event"] == "pos_device_silent"] == [quiet.id]
    assert _entries(hub) == [(quiet.id, "open")]
    assert fine.id not in dict(_entries(hub))


def test_a_dismissed_silence_stays_dismissed_and_a_revoked_device_is_resolved(hub: Hub) -> None:
    store_id = add_store(hub)
    one = enrol(hub, store_id, "till-1", synced_ago=timedelta(hours=3))
    two = enrol(hub, store_id, "till-2", synced_ago=timedelta(hours=3))
    pos_alerts.check_devices(hub.db, hub.settings)
    with hub.db.read() as conn:
        ids = {r.record_id: r.id for r in error_log.list_entries(conn, error_log.ErrorFilter(kind="device_silent"))}
    error_service.dismiss(hub.db, [ids[one.id]], by="ana", reason="the till is in for repair")
    with hub.db.write() as conn:
        pos_devices.revoke(conn, two.id, actor="test")
    with capture_logs() as logs:
        report = pos_alerts.check_devices(hub.db, hub.settings)
    assert (len(report.silent), report.opened, report.back) == (1, [], 1)
    assert not [e for e in logs if e["event"] == "pos_device_silent"]
    assert dict(_entries(hub)) == {one.id: "dismissed", two.id: "resolved"}


def test_the_threshold_is_the_setting(hub: Hub) -> None:
    store_id = add_store(hub)
    enrol(hub, store_id, "till-1", synced_ago=timedelta(minutes=40))
    assert pos_alerts.check_devices(hub.db, hub.settings).silent  # default 30 minutes
    longer = type(hub.settings)(**{**hub.settings.__dict__, "pos_silent_minutes": 60})
    assert pos_alerts.silent_after(longer) == timedelta(hours=1)
    report = pos_alerts.check_devices(hub.db, longer)
    assert (report.silent, report.back) == ([], 1)  # its entry is resolved under the new threshold


def test_a_device_s_missing_sales_are_the_gaps_in_its_sequence(hub: Hub) -> None:
    store_id = add_store(hub)
    till = enrol(hub, store_id, "till-🌵")
    other = enrol(hub, store_id, "till-2")
    with hub.db.write() as conn:
        for n in (1, 2, 5, 6, 9, 9):  # 9 twice: the same number counts once
            add_sale(conn, store_id, utcnow(), "1.00", device_id=till.id, sequence=n)
        add_sale(conn, store_id, utcnow(), "1.00", device_id=other.id, sequence=40)  # from 40 on: none missing
    with hub.db.read() as conn:
        lines = {line.device.id: line for line in store_views.device_lines(conn, store_id, utcnow(), timedelta(1))}
        one = store_views.one_device_line(conn, till, utcnow(), timedelta(1))
    assert (lines[till.id].missing, lines[other.id].missing) == (4, 0)
    assert one.missing_ranges == ((3, 4), (7, 8)) and one.public()["missing_ranges"] == [[3, 4], [7, 8]]
