"""The processor's batch paths: records about orders applied a batch at a time, one statement per table.

Most records of a busy shop are first versions of new orders, later versions of known ones and
refunds. :func:`take_new`, :func:`take_known` and :func:`take_refunds` each pick from a batch the
records they can apply exactly as the per-record path would (:mod:`inbound`), apply them together
and say what came of each. Records about one order apply in the order they arrived: each round
takes at most the next record of each order. The processor leaves every other record (edits,
cancellations, refunds that return shipped units, anything invalid, and the records of an order
after one of those) to the per-record path, in the order they arrived.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from orderhub.adapters.store import known_orders, new_orders
from orderhub.domain.channels import Inbound
from orderhub.domain.model import Freshness, Order, OrderEdit, OrderStatus, Refund
from orderhub.services import inbound, order_sync

Key = tuple[int, str]  # (shop id, channel order id)


@dataclass(frozen=True)
class Applied:
    """What came of a record a batch path applied: the inbox outcome, and the event owed to HTTP destinations."""

    row: Any
    outcome: str
    event: tuple[str, Any] | None


def order_key(row: Any, record: Inbound | None) -> Key | None:
    """The order a record is about (orders, edits and refunds)."""
    if isinstance(record, Order):
        return row.shop_id, record.shopify_id
    if isinstance(record, OrderEdit | Refund):
        return row.shop_id, record.order_id
    return None


def _storable(order: Order) -> bool:
    """Whether a version of an order is one the batch paths can store as it is: valid, and not cancelled (a
    cancellation is followed through the OMS one order at a time)."""
    if order.status is OrderStatus.CANCELLED:
        return False
    try:
        inbound.validate(order)
    except Exception:
        return False  # the per-record path reports it
    return True


def _firsts(rows: Sequence[Any], read_as: dict[int, Inbound]) -> dict[Key, Any]:
    """The first record (in the order they arrived) about each order the batch does not also edit. The records of
    an edited order apply one by one, in the order they arrived; so does every record of an order after one a
    batch path leaves (it stays first in line)."""
    first: dict[Key, Any] = {}
    edited: set[Key] = set()
    for row in rows:
        record = read_as.get(row.id)
        if (key := order_key(row, record)) is None:
            continue
        first.setdefault(key, row)
        if isinstance(record, OrderEdit):
            edited.add(key)
    return {key: row for key, row in first.items() if key not in edited}


def _new_candidates(rows: Sequence[Any], read_as: dict[int, Inbound]) -> dict[Key, Any]:
    return {key: row for key, row in _firsts(rows, read_as).items() if isinstance(read_as[row.id], Order)
            and not read_as[row.id].refunds and _storable(read_as[row.id])}  # refunds apply one by one


def take_new(conn: Connection, rows: Sequence[Any], read_as: dict[int, Inbound],
             firsts: dict[Key, Any] | None = None) -> list[Applied]:
    """Store the first versions of orders orderhub has not seen, and take them into the OMS (their later versions
    in the batch are then versions of known orders). ``firsts``: the candidates, when the caller picked them."""
    firsts = _new_candidates(rows, read_as) if firsts is None else firsts
    unknown = new_orders.unknown(conn, list(firsts)) if firsts else set()
    chosen = [new_orders.NewOrder(row.shop_id, read_as[row.id], row.id) for k, row in firsts.items() if k in unknown]
    if not chosen:
        return []
    pks = new_orders.insert_all(conn, chosen)
    order_sync.after_ingest_new(conn, list(pks.values()))
    by_id = {row.id: row for row in rows}
    return [Applied(by_id[n.inbox_id], "applied", ("order.created", n.order)) for n in chosen]


def _known_candidates(rows: Sequence[Any], read_as: dict[int, Inbound]) -> dict[Key, Any]:
    return {key: row for key, row in _firsts(rows, read_as).items()
            if isinstance(read_as[row.id], Order) and _storable(read_as[row.id])}


def take_known(conn: Connection, rows: Sequence[Any], read_as: dict[int, Inbound],
               chosen: dict[Key, Any] | None = None) -> list[Applied]:
    """Apply the next version in the batch of each order orderhub holds: store the newer ones and follow them
    through the OMS, note the others on the timeline. The processor takes again until nothing is taken, so
    several versions of an order apply in turn, in the order they arrived. ``chosen``: the candidates, when the
    caller picked them."""
    chosen = _known_candidates(rows, read_as) if chosen is None else chosen
    if not chosen:
        return []
    stored = known_orders.lock(conn, chosen)
    chosen = {key: row for key, row in chosen.items()
              # an order whose data was erased is stored without it, and a cancelled one stays cancelled
              if (s := stored.get(key)) is not None and s.personal_data_erased_at is None
              and s.source_status != OrderStatus.CANCELLED.value}
    refund_keys = {(key[0], r.shopify_id) for key, row in chosen.items() for r in read_as[row.id].refunds}
    kept = known_orders.stored_refunds(conn, refund_keys) if refund_keys else set()
    edits = known_orders.latest_edits(conn, chosen) if chosen else {}
    versions = []
    for key, row in chosen.items():
        order = read_as[row.id]
        if any((key[0], r.shopify_id) not in kept for r in order.refunds):
            continue  # a refund to keep (with its returns): per record
        version = known_orders.Version(stored[key], order, row.id)
        if version.fresh is Freshness.NEWER and (edited := edits.get(key)) is not None and edited > order.updated_at:
            continue  # edits made after this version apply again on top of it: per record
        versions.append(version)
    if not versions:
        return []
    newer = [v for v in versions if v.fresh is Freshness.NEWER]
    known_orders.ignore_all(conn, [v for v in versions if v.fresh is not Freshness.NEWER])
    if newer:
        known_orders.update_all(conn, newer)
        order_sync.after_ingest_known(conn, [(v.stored, v.order) for v in newer])
    by_id = {row.id: row for row in rows}
    return [Applied(by_id[v.inbox_id], "applied", ("order.updated", v.order)) if v.fresh is Freshness.NEWER
            else Applied(by_id[v.inbox_id], v.fresh.value, None) for v in versions]


def _refund_candidates(rows: Sequence[Any], read_as: dict[int, Inbound]) -> dict[Key, Any]:
    return {key: row for key, row in _firsts(rows, read_as).items() if isinstance(read_as[row.id], Refund)}


def take_refunds(conn: Connection, rows: Sequence[Any], read_as: dict[int, Inbound],
                 candidates: dict[Key, Any] | None = None) -> list[Applied]:
    """Keep the refunds that come next for their orders and change nothing in the OMS (their order not stored
    yet, or no line of theirs shipped): one insert for the batch. A refund of shipped units makes returns,
    one by one on the per-record path. ``candidates``: as picked by the caller."""
    candidates = _refund_candidates(rows, read_as) if candidates is None else candidates
    firsts = {key: (row, read_as[row.id]) for key, row in candidates.items()}
    if not firsts:
        return []
    orders = known_orders.stored(conn, firsts)
    kept_before = known_orders.stored_refunds(conn, {(key[0], r.shopify_id) for key, (_, r) in firsts.items()})
    moving = order_sync.refunds_moving_units(conn, [(orders[key].id, r) for key, (_, r) in firsts.items()
                                                    if key in orders and (key[0], r.shopify_id) not in kept_before])
    taken: list[Applied] = []
    keep: list[tuple[int, Refund, int, str | None]] = []
    for key, (row, refund) in firsts.items():
        order = orders.get(key)
        if (key[0], refund.shopify_id) in kept_before:
            taken.append(Applied(row, "unchanged", None))
        elif order is None or (order.id, refund.shopify_id) not in moving:
            keep.append((key[0], refund, row.id, order.currency if order is not None else None))
            taken.append(Applied(row, "applied", ("refund.created", refund)))
    known_orders.keep_refunds(conn, keep)
    return taken


@dataclass(frozen=True)
class Path:
    """A batch path: ``pick`` says which records it would take (reading nothing), ``take`` applies them."""

    name: str
    pick: Callable[[Sequence[Any], dict[int, Inbound]], dict[Key, Any]]
    take: Callable[[Connection, Sequence[Any], dict[int, Inbound], dict[Key, Any]], list[Applied]]


NEW = Path("take_new", _new_candidates, take_new)
KNOWN = Path("take_known", _known_candidates, take_known)
REFUNDS = Path("take_refunds", _refund_candidates, take_refunds)
