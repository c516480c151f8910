"""Multi-row inserts in the driver's own SQL store what SQLAlchemy's executemany would, on both databases."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import BigInteger, Column, Integer, MetaData, Table, Text, select

from orderhub.adapters.store import bulk
from orderhub.adapters.store.types import Money, UTCDateTime
from orderhub.bootstrap import Hub

probe = Table("bulk_probe", MetaData(), Column("id", Integer, primary_key=True, autoincrement=True),
              Column("order", BigInteger),  # a reserved word: quoted
              Column("at", UTCDateTime, nullable=False), Column("amount", Money), Column("note", Text))


def test_rows_round_trip_in_chunks_with_times_decimals_and_nulls(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    probe.create(hub.db.engine)
    monkeypatch.setattr(bulk, "_SQLITE_MAX_PARAMETERS", 10)  # 2 rows a statement on SQLite
    start = datetime(2026, 12, 7, 23, 0, 0, 123456, tzinfo=timezone.utc)
    berlin = timezone(timedelta(hours=1))
    rows = [{"id": i, "order": 2**40 + i, "at": start + timedelta(seconds=i), "amount": Decimal("10.0500") * i,
             "note": None if i % 2 else f"zoë 🦋 {i}"} for i in range(1, 6)]
    rows[2]["at"] = rows[2]["at"].astimezone(berlin)  # stored as the same instant in UTC
    rows += [{"id": i, "order": i, "at": start, "amount": None, "note": None} for i in (6, 7)]  # columns all NULL
    with hub.db.write() as conn:
        bulk.insert_rows(conn, probe, rows[:5])
        bulk.insert_rows(conn, probe, rows[5:])
        bulk.insert_rows(conn, probe, [])
    with hub.db.read() as conn:
        back = [r._asdict() for r in conn.execute(select(probe).order_by(probe.c.id))]
    assert back == rows
    assert all(r["at"].tzinfo is not None and r["at"].utcoffset() == timedelta(0) for r in back)


def test_a_naive_time_is_refused(hub: Hub) -> None:
    probe.create(hub.db.engine)
    with pytest.raises(ValueError, match="naive datetime"), hub.db.write() as conn:
        bulk.insert_rows(conn, probe, [{"id": 1, "order": 1, "at": datetime(2026, 12, 7), "amount": None,
                                        "note": None}])


def test_ids_follow_the_order_of_the_rows(hub: Hub) -> None:
    probe.create(hub.db.engine)
    start = datetime(2026, 12, 7, tzinfo=timezone.utc)
    with hub.db.write() as conn:
        bulk.insert_rows(conn, probe, [{"order": n, "at": start, "amount": None, "note": None}
                                       for n in (5, 3, 9, 1, 7) * 200])
    with hub.db.read() as conn:
        assert [r.order for r in conn.execute(select(probe.c.order).order_by(probe.c.id))] == [5, 3, 9, 1, 7] * 200
