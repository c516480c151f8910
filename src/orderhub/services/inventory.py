"""Inventory operations people and jobs perform: receive, count, adjust, set safety stock; and views.

Every change goes through the ledger, which announces it with ``inventory.changed``
in the same transaction (see :mod:`inventory_store`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from orderhub.adapters.store import facilities as facility_store
from orderhub.adapters.store import inventory_store
from orderhub.adapters.store import thresholds as threshold_store
from orderhub.adapters.store.inventory_store import Change, Movement
from orderhub.adapters.store.schema import facilities, inventory_ledger
from orderhub.domain.inventory import LedgerReason, Position, channel_atp

# Reasons a person may give for a manual change.
MANUAL_REASONS = (LedgerReason.RECEIVED, LedgerReason.DAMAGED, LedgerReason.CYCLE_COUNT, LedgerReason.ADJUSTED,
                  LedgerReason.RETURNED, LedgerReason.SHOPIFY_SYNC)


def adjust(conn: Connection, sku: str, facility_code: str, *, actor: str, reason: str,
           delta: int | None = None, on_hand: int | None = None, safety_stock: int | None = None,
           note: str | None = None) -> Change:
    """Change on hand by ``delta``, or set it to ``on_hand`` (a count); optionally set safety stock."""
    if not sku or len(sku) > 255:
        raise ValueError("SKU must be 1 to 255 characters")
    why = LedgerReason(reason)
    if why not in MANUAL_REASONS:
        raise ValueError(f"reason must be one of {', '.join(MANUAL_REASONS)} (got {reason!r})")
    if (delta is None) == (on_hand is None) and safety_stock is None:
        raise ValueError(f"{sku} at {facility_code}: give either a change (delta) or a count (on_hand)")
    facility_id = facility_store.id_of(conn, facility_code)
    before = inventory_store.positions(conn, [sku]).get((sku, facility_id), Position(0, 0))
    if delta is not None:
        if delta == 0:
            raise ValueError(f"{sku} at {facility_code}: a change of 0 changes nothing")
        if before.on_hand + delta < 0:
            raise ValueError(f"{sku} at {facility_code}: on hand is {before.on_hand}; cannot take away {-delta}")
        change = inventory_store.move(conn, [Movement(sku, facility_id, abs(delta))], reason=why, actor=actor,
                                      on_hand_sign=1 if delta > 0 else -1, note=note)[0]
        if safety_stock is not None:
            change = inventory_store.set_on_hand(conn, sku, facility_id, change.after.on_hand, reason=why,
                                                 actor=actor, note=note, safety_stock=safety_stock)
    else:
        if on_hand is None:
            on_hand = before.on_hand
        change = inventory_store.set_on_hand(conn, sku, facility_id, on_hand, reason=why, actor=actor, note=note,
                                             safety_stock=safety_stock)
    return Change(sku, facility_id, before, change.after)


def view(conn: Connection, sku: str) -> dict[str, Any]:
    """A SKU across facilities, and what each channel may sell of it."""
    positions = {fid: p for (_, fid), p in inventory_store.positions(conn, [sku]).items()}
    facs = {f.id: f for f in facility_store.all_facilities(conn)}
    rows = [{"facility": facs[fid].code if fid in facs else str(fid), "on_hand": p.on_hand, "reserved": p.reserved,
             "safety_stock": p.safety_stock, "atp": p.atp} for fid, p in sorted(positions.items())]
    channels = {}
    known = [c for c in (facility_store.get_channel(conn, code) for code in facility_store.channel_codes(conn)) if c]
    # The product's own threshold (by SKU, category or tag) where one is set, else the channel's.
    thresholds = threshold_store.applicable(conn, threshold_store.catalogue_item(conn, sku),
                                            {c.code: c.threshold for c in known})
    for channel in known:
        channels[channel.code] = channel_atp(positions.items(), threshold=thresholds[channel.code].threshold,
                                             facilities=facility_store.channel_facilities(conn, channel))
    return {"sku": sku, "facilities": rows, "atp": sum(p.atp for p in positions.values()), "channels": channels}


def ledger(conn: Connection, sku: str, *, limit: int = 100) -> list[dict[str, Any]]:
    codes = {r.id: r.code for r in conn.execute(select(facilities.c.id, facilities.c.code))}
    rows = conn.execute(select(inventory_ledger).where(inventory_ledger.c.sku == sku)
                        .order_by(inventory_ledger.c.id.desc()).limit(limit))
    return [{"id": r.id, "at": r.at.isoformat(), "facility": codes.get(r.facility_id, str(r.facility_id)),
             "reason": r.reason, "on_hand": [r.on_hand_before, r.on_hand_after],
             "reserved": [r.reserved_before, r.reserved_after], "order_id": r.order_id, "unit_id": r.unit_id,
             "actor": r.actor, "note": r.note} for r in rows]
