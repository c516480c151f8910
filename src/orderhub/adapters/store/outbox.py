"""The event outbox: domain events written in the same transaction as the change that caused them.

Nothing here publishes. A worker fans committed rows out to subscriptions, so an
event of a transaction that rolls back never leaves orderhub.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, insert

from orderhub.adapters.store import bulk
from orderhub.adapters.store.schema import outbox
from orderhub.clock import utcnow
from orderhub.domain import money
from orderhub.domain.events import check_subscription_event


@dataclass(frozen=True)
class Event:
    """``payload`` may hold Decimal amounts: they are written as :func:`orderhub.domain.money.to_json`
    shows them, in the ``currency`` beside them (so a payload with amounts carries its currency)."""

    event_type: str
    payload: dict[str, Any]
    ordering_key: str  # events with one key (one order) are delivered in the order written
    order_id: int | None = None

    def __post_init__(self) -> None:
        check_subscription_event(self.event_type)  # subscribers and the reference know only catalogued types


def _default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"cannot put {type(value).__name__} in an event")


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError  # an amount, or anything else to_json may turn into JSON: take the long way


def serialize(payload: dict[str, Any]) -> str:
    """An event's payload as stored, and as subscribers receive it: amounts as
    :func:`orderhub.domain.money.to_json` shows them (in the ``currency`` beside them), ISO dates.

    Most payloads hold no Decimal (an order's summary shows its amounts already): those are written
    straight away; only one that does is copied through ``to_json`` first."""
    try:
        return orjson.dumps(payload, default=_plain, option=orjson.OPT_PASSTHROUGH_DATETIME).decode()
    except TypeError:
        return orjson.dumps(money.to_json(payload, None), default=_default).decode()


def _row(e: Event, now: datetime, payload: str) -> dict[str, Any]:
    return {"event_type": e.event_type, "ordering_key": e.ordering_key, "order_id": e.order_id,
            "payload": payload, "created_at": now}


def add(conn: Connection, event_type: str, payload: dict[str, Any], *, ordering_key: str,
        order_id: int | None = None) -> int:
    row = _row(Event(event_type, payload, ordering_key, order_id), utcnow(), serialize(payload))
    return int(conn.execute(insert(outbox).values(**row).returning(outbox.c.id)).scalar_one())


def add_many(conn: Connection, events: Sequence[Event]) -> None:
    """One executemany for a batch pipeline's events, in the order given. Events that carry the same payload
    (an order's ``order.created`` ... ``order.placed``, say) have it written out once."""
    if events:
        now = utcnow()
        written: dict[int, str] = {}  # id(payload) -> its text; the events hold the payloads alive meanwhile
        rows = []
        for e in events:
            text = written.get(id(e.payload))
            if text is None:
                text = written[id(e.payload)] = serialize(e.payload)
            rows.append((e.event_type, e.ordering_key, e.order_id, text, now))
        bulk.insert_tuples(conn, outbox, _COLUMNS, rows)


_COLUMNS = ("event_type", "ordering_key", "order_id", "payload", "created_at")  # as _row names them
