"""The order lists' filters, each answered by an index of its own that ends in the order's id, and intersected
through those indexes.

A list reads a page of order ids newest first (order_search.page). A filter whose index is (value, id) gives
its orders in that order already, so one filter alone reads about the page's own index entries. With two or
more, one of them drives (its index gives the ids in page order) and SQLite checks each of the others on the
ids it gives in the other's own index (``EXISTS ... INDEXED BY``: an index entry, no row). The rarest drives,
counted in each index up to ``DRIVE_BOUND`` entries: driven by the commonest, a page would read and check on
the order of a hundred thousand entries; checked on the rows, each of the driver's orders would be a read
from elsewhere in the file (a cold cache's cost). PostgreSQL's planner intersects its indexes itself
(a bitmap AND, or the rarer index with a check): it is given the plain conditions.

A creation day is the order's ``source_created_at`` UTC date, indexed with the id (``ix_orders_day``,
migration 0030): one day's orders come in page order. A range of up to ``MERGED_DAYS`` days is read day
by day, each day's newest first, merged (:func:`merged`); a longer or open range is one range of the index,
sorted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, Date, String, and_, func, literal, literal_column, select, text, union_all

from orderhub.adapters.store.schema import orders
from orderhub.adapters.store.schema.order_days import DAY_INDEX, day_sql

DRIVE_BOUND = 1_000  # index entries counted per filter to find the rarest: a few pages of an index at most
MERGED_DAYS = 31  # a range of up to this many days is read day by day (one statement, a part a day)


@dataclass(frozen=True)
class Filter:
    """A filter answered by ``index`` (its columns, then the order's id): ``condition`` over ``orders``, and
    ``probe``, the same over the alias ``f`` (SQL, with ``params``), for a check read from the index alone."""

    index: str
    condition: Any
    probe: str
    params: dict[str, Any]
    days: tuple[date, ...] = ()  # a range of creation days short enough to be read day by day


def equal(column: str, value: Any, index: str) -> Filter:
    """``orders.<column> = value``, answered by ``index`` on (column, id)."""
    name = f"probe_{column}"
    return Filter(index, orders.c[column] == value, f"f.{column} = :{name}", {name: value})


def _day(dialect: str, alias: str = "orders") -> Any:
    return literal_column(day_sql(dialect, alias), type_=String() if dialect == "sqlite" else Date())


def _day_value(dialect: str, day: date) -> Any:
    return day.isoformat() if dialect == "sqlite" else day


def created(dialect: str, first: date | None, last: date | None) -> Filter:
    """Orders created (``source_created_at``, UTC) on the days from ``first`` to ``last``, both included (either
    may be open), answered by the (day, id) index. Checked in that index on a given order, a day or a short
    range is one look-up a day (day, id); a longer or open range is checked on the order's row."""
    day = _day(dialect)
    if first is not None and last is not None and (last - first).days < MERGED_DAYS:
        every = tuple(first + timedelta(days=k) for k in range((last - first).days + 1))
        values = {f"probe_day_{k}": _day_value(dialect, d) for k, d in enumerate(every)}
        condition = day == values["probe_day_0"] if len(every) == 1 else day.in_(list(values.values()))
        probe = f"{day_sql(dialect, 'f')} IN ({', '.join(':' + name for name in values)})"
        return Filter(DAY_INDEX, condition, probe, values, every if len(every) > 1 else ())
    bounds = [day >= _day_value(dialect, first)] if first is not None else []
    bounds += [day <= _day_value(dialect, last)] if last is not None else []
    return Filter(DAY_INDEX, and_(*bounds), "", {})


@dataclass(frozen=True)
class Narrowed:
    """The filters as a page reads them: ``where`` over ``orders`` (the driver's condition, the others' index
    checks) and ``days``, the driver's days when it is a short range read day by day."""

    where: list[Any] = field(default_factory=list)
    days: tuple[date, ...] = ()


def narrow(conn: Connection, filters: Sequence[Filter]) -> Narrowed:
    """The filters intersected through their indexes, the rarest driving (see the module's description)."""
    if not filters:
        return Narrowed()
    if conn.dialect.name != "sqlite":
        return Narrowed([f.condition for f in filters], filters[0].days if len(filters) == 1 else ())
    # Past the bound, a creation day (or range) drives: its entries sit together in its index, whereas the
    # matches of a common value's index may lie far back, behind a walk of every newer entry.
    driver = min(filters, key=lambda f: (_count(conn, f), f.index != DAY_INDEX)) if len(filters) > 1 else filters[0]
    return Narrowed([driver.condition, *(_check(f) for f in filters if f is not driver)], driver.days)


def _count(conn: Connection, f: Filter) -> int:
    """The filter's index entries, up to ``DRIVE_BOUND + 1`` (its index alone)."""
    return int(conn.execute(select(func.count()).select_from(
        select(literal(1)).select_from(orders).where(f.condition).limit(DRIVE_BOUND + 1).subquery())).scalar_one())


def _check(f: Filter) -> Any:
    """The filter checked on the order being read in its own index: an entry found by (value, id), no row (a
    filter with no such check, on the order's row)."""
    if not f.probe:
        return f.condition
    return text(f"EXISTS (SELECT 1 FROM orders AS f INDEXED BY {f.index} WHERE {f.probe} AND f.id = orders.id)"
                ).bindparams(**f.params)


def merged(conn: Connection, key: Any, frm: Any, conditions: list[Any], days: tuple[date, ...], *,
           limit: int, newest_first: bool) -> list[int]:
    """Up to ``limit`` ids matching ``conditions``, read day by day in the (day, id) index (each day's in page
    order: at most ``limit`` entries a day) and merged: a page reads about ``limit`` entries a day, not the
    range's every entry."""
    dialect = conn.dialect.name
    day = _day(dialect)
    order = key.desc() if newest_first else key
    parts = [select(key.label("id")).select_from(frm).where(*conditions, day == _day_value(dialect, d))
             .order_by(order).limit(limit).subquery() for d in days]
    every = union_all(*(select(p.c.id) for p in parts)).subquery()
    stmt = select(every.c.id).order_by(every.c.id.desc() if newest_first else every.c.id).limit(limit)
    return [r[0] for r in conn.execute(stmt)]
