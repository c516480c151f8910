"""Inventory jobs: Shopify's quantities into orderhub, and orderhub's changes up to Shopify.

**Locations and facilities.** A Shopify location is the facility whose code is the
location's name (exactly, else ignoring case), unless the parameter ``locations`` maps
it: ``Shop location=WH-BER, 86543210=ST-MUC`` (a location's name or id, then a facility
code). A location with no facility is left alone, and said so in the run's log. So is the
shop's stock location, whose available the real-time stock pusher sets from a sales channel's
ATP (``orderhub shop stock-location``; adapters/shopify/stock.py): neither job reads or writes it.

**Which quantity.** With ``quantity=available`` (the default) Shopify's *available* stands
for orderhub's ATP at the facility (on hand less reserved less safety stock): the upload
sends ATP, and the sync sets on hand so that ATP becomes what Shopify has available
(available + reserved + safety stock), so an upload followed by a sync changes nothing.
With ``quantity=on_hand`` the two on-hand quantities are kept equal instead.

``sync-inventory-from-shopify`` reads every item's quantities per location and, where
orderhub differs, sets on hand through the inventory service with reason
``shopify_sync`` (a ledger row and an ``inventory.changed`` event each). It also records
what Shopify has available in ``inventory_levels``, which the upload compares with.

``upload-inventory-changes`` reads the ``inventory.changed`` events after its watermark
(an outbox event id, in ``job_state``), keeps the last one per SKU and facility, maps the
SKU to its inventory item(s) and the facility to its location, and sends
``inventorySetQuantities`` in batches. Each batch carries an idempotency key derived from
the event ids it covers; the batches are written to ``job_state`` before the first is
sent, and the watermark moves only after all were answered, so a run that stops midway
is finished by the next one with the same requests and keys - Shopify applies each once.
Compare quantities are what orderhub last knew Shopify to have (``inventory_levels``, or
read from Shopify): a level someone changed in Shopify meanwhile is a conflict, reported
and not overwritten; ``ignore_compare=true`` overwrites instead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, delete, select

from orderhub.adapters.shopify import graphql_inventory as api
from orderhub.adapters.shopify.graphql import AdminClient
from orderhub.adapters.store import facilities as facility_store
from orderhub.adapters.store import inventory_store, shopify_listings
from orderhub.adapters.store.db import upsert
from orderhub.adapters.store.schema import inventory_levels, job_state, outbox, variants
from orderhub.adapters.store.shops import Shop
from orderhub.clock import utcnow
from orderhub.domain.inventory import LedgerReason, Position
from orderhub.domain.jobs import Definition, Param, ParamKind
from orderhub.domain.model import InventoryLevel
from orderhub.services import inventory as inventory_service
from orderhub.services.jobs.context import JobContext
from orderhub.services.jobs.import_orders import admin_client
from orderhub.services.jobs.registry import register

SYNC = "sync-inventory-from-shopify"
UPLOAD = "upload-inventory-changes"
QUANTITIES = ("available", "on_hand")
WATERMARK, PLAN = "event_id", "pending"  # job_state keys of the upload
REASON = "correction"  # Shopify's reason for the upload's changes
STALE = frozenset({"COMPARE_QUANTITY_STALE", "CHANGE_FROM_QUANTITY_STALE"})  # before / from 2026-01


# -- locations and facilities ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Mapping:
    """Shopify locations and orderhub facilities, both ways."""

    facility_of: dict[str, tuple[int, str]]  # location id -> (facility id, facility code)
    location_of: dict[str, str]  # facility code -> location id
    names: dict[str, str]  # location id -> name
    unmapped: tuple[str, ...] = ()  # names of locations with no facility
    pushed: dict[str, str] = field(default_factory=dict)  # facility code -> the location the stock pusher feeds


def location_mapping(conn: Connection, locations: Sequence[api.Location], spec: str | None) -> Mapping:
    """Map each location to a facility: as ``spec`` says ("location=FACILITY, ..."), else by code = name."""
    facilities = {f.code: f.id for f in facility_store.all_facilities(conn)}
    folded = {code.casefold(): code for code in facilities}
    by_name = {loc.name.casefold(): loc.id for loc in locations}
    ids = {loc.id for loc in locations}
    chosen: dict[str, str] = {}
    for entry in filter(None, (e.strip() for e in (spec or "").split(","))):
        left, sep, right = entry.partition("=")
        left, right = left.strip(), right.strip()
        location = left.rsplit("/", 1)[-1] if left.rsplit("/", 1)[-1] in ids else by_name.get(left.casefold())
        if not sep or not left or not right:
            raise ValueError(f"locations: {entry!r} is not LOCATION=FACILITY (a location's name or id, then a "
                             "facility code)")
        if location is None:
            raise ValueError(f"locations: Shopify has no location named or numbered {left!r}; its locations are "
                             + ", ".join(f"{loc.name} ({loc.id})" for loc in locations))
        if right not in facilities:
            raise LookupError(f"locations: no facility {right}; list them with `orderhub facility list`")
        chosen[location] = right
    facility_of: dict[str, tuple[int, str]] = {}
    unmapped = []
    for loc in locations:
        code = chosen.get(loc.id) or (loc.name if loc.name in facilities else folded.get(loc.name.casefold()))
        if code is None:
            unmapped.append(loc.name)
        else:
            facility_of[loc.id] = (facilities[code], code)
    location_of: dict[str, str] = {}
    for location_id, (_fid, code) in facility_of.items():
        if code in location_of:
            raise ValueError(f"facility {code} is mapped to two Shopify locations ({location_of[code]} and "
                             f"{location_id}); map it to one with the locations parameter")
        location_of[code] = location_id
    return Mapping(facility_of, location_of, {loc.id: loc.name for loc in locations}, tuple(unmapped))


def without_pushed(mapping: Mapping, location_id: str | None) -> Mapping:
    """The mapping less the location the real-time stock pusher feeds (``orderhub shop stock-location``): there
    Shopify's available is a sales channel's ATP, set by the pusher, not a facility's quantity."""
    if location_id is None or location_id not in mapping.facility_of:
        return mapping
    _fid, code = mapping.facility_of[location_id]
    return replace(mapping, facility_of={k: v for k, v in mapping.facility_of.items() if k != location_id},
                   location_of={k: v for k, v in mapping.location_of.items() if v != location_id},
                   pushed={code: mapping.names.get(location_id, location_id)})


def _mapping(ctx: JobContext, client: AdminClient) -> Mapping:
    assert ctx.shop is not None
    found = api.locations(client)
    with ctx.hub.db.read() as conn:
        mapping = location_mapping(conn, found, ctx.params.get("locations"))
        pushed = shopify_listings.stock_location(conn, ctx.shop.id)
    if mapping.unmapped:
        ctx.log(f"Shopify location(s) with no facility, left alone: {', '.join(mapping.unmapped)} (name a facility "
                "after the location, or map it with the locations parameter)", "warning")
    mapping = without_pushed(mapping, pushed.id if pushed else None)
    for code, name in mapping.pushed.items():
        ctx.log(f"Shopify location {name} (facility {code}) gets its stock from the real-time stock pusher "
                "(orderhub shop stock-location); this job leaves it alone")
    return mapping


def _quantity(ctx: JobContext) -> str:
    name = str(ctx.params["quantity"])
    if name not in QUANTITIES:
        raise ValueError(f"quantity must be available or on_hand (got {name!r})")
    return name


def _not_older(excluded: Any) -> Any:
    return inventory_levels.c.source_updated_at <= excluded.source_updated_at


def _record_levels(conn: Connection, shop_id: int, levels: Sequence[InventoryLevel]) -> None:
    """What Shopify said it has available, as ``inventory_levels`` keeps it for the next upload's compare.

    Unlike a webhook, what Shopify just answered wins over a version of the same second: Shopify's
    times are whole seconds, and a level read or set in the second it last changed is no older.
    """
    for level in levels:
        upsert(conn, inventory_levels, dict(shop_id=shop_id, inventory_item_id=level.inventory_item_id,
                                            location_id=level.location_id, available=level.available,
                                            source_updated_at=level.updated_at),
               keys=("shop_id", "inventory_item_id", "location_id"), update=("available", "source_updated_at"),
               where=_not_older)


# -- sync-inventory-from-shopify ------------------------------------------------------------------------

def target_on_hand(name: str, shopify: int, current: Position) -> int | None:
    """The on hand that makes orderhub match Shopify's ``name`` quantity, or None when it already does."""
    if name == "on_hand":
        target = max(0, shopify)
    elif max(0, shopify) == current.atp:
        return None
    else:
        target = max(0, shopify) + current.reserved + current.safety_stock
    return None if target == current.on_hand else target


def sync_from_shopify(ctx: JobContext) -> dict[str, Any]:
    """Align on hand at each mapped facility with Shopify's quantities, where they differ."""
    shop = ctx.shop
    assert shop is not None
    name = _quantity(ctx)
    client = admin_client(shop)
    mapping = _mapping(ctx, client)
    stats = {"items": 0, "levels": 0, "changed": 0, "equal": 0, "no_sku": 0, "unmapped_levels": 0}
    for page in api.item_levels(client, QUANTITIES):
        ctx.check()
        seen: list[InventoryLevel] = []
        with ctx.hub.db.write() as conn:
            positions = inventory_store.positions(conn, [i.sku for i in page if i.sku])
            for item in page:
                stats["items"] += 1
                for level in item.levels:
                    stats["levels"] += 1
                    if level.updated_at is not None and "available" in level.quantities:
                        seen.append(InventoryLevel(item.item_id, level.location_id, level.quantities["available"],
                                                   level.updated_at))
                    facility = mapping.facility_of.get(level.location_id)
                    if not item.sku or facility is None:
                        stats["no_sku" if not item.sku else "unmapped_levels"] += 1
                        ctx.count(skipped=1)
                        continue
                    ctx.count(read=1)
                    current = positions.get((item.sku, facility[0]), Position(0, 0))
                    target = target_on_hand(name, level.quantities.get(name, 0), current)
                    if target is None:
                        stats["equal"] += 1
                        continue
                    inventory_service.adjust(conn, item.sku, facility[1], actor=f"job:{SYNC}",
                                             reason=LedgerReason.SHOPIFY_SYNC.value, on_hand=target,
                                             note=f"Shopify {name} {level.quantities.get(name)} at "
                                                  f"{mapping.names.get(level.location_id, level.location_id)}")
                    stats["changed"] += 1
                    ctx.count(processed=1)
            _record_levels(conn, shop.id, seen)
    if stats["no_sku"]:
        ctx.log(f"{stats['no_sku']} level(s) of items without a SKU left alone")
    return stats | {"quantity": name, "throttled": client.throttled_count,
                    "waited_seconds": round(client.waited_seconds, 3)}


# -- upload-inventory-changes ---------------------------------------------------------------------------

@dataclass
class Entry:
    """One quantity to set: where, what, and the event it comes from."""

    sku: str
    facility: str
    event_id: int
    item_id: str
    location_id: str
    quantity: int
    compare: int | None = None

    def as_quantity(self) -> dict[str, Any]:
        return {"item_id": self.item_id, "location_id": self.location_id, "quantity": self.quantity,
                "compare": self.compare}


@dataclass
class Plan:
    """What one run sends, written before the first request: the batches, and the last event they cover."""

    through: int
    through_at: str  # when that event was written
    name: str
    ignore_compare: bool
    batches: list[list[Entry]]
    done: int = 0  # batches answered
    keys: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return orjson.dumps({"through": self.through, "through_at": self.through_at, "name": self.name,
                             "ignore_compare": self.ignore_compare,
                             "done": self.done, "keys": self.keys,
                             "batches": [[e.__dict__ for e in b] for b in self.batches]}).decode()

    @classmethod
    def from_json(cls, text: str) -> Plan:
        data = orjson.loads(text)
        return cls(through=data["through"], through_at=data["through_at"], name=data["name"],
                   ignore_compare=data["ignore_compare"],
                   done=data["done"], keys=data["keys"], batches=[[Entry(**e) for e in b] for b in data["batches"]])


def idempotency_key(shop_id: int, name: str, batch: Sequence[Entry]) -> str:
    """Derived from the events (and items and locations) a batch covers: the same batch, the same key."""
    covered = ",".join(f"{e.event_id}:{e.item_id}:{e.location_id}" for e in sorted(
        batch, key=lambda e: (e.event_id, e.item_id, e.location_id)))
    return "orderhub-inventory-" + hashlib.sha256(f"{shop_id}|{name}|{covered}".encode()).hexdigest()[:40]


def _state(conn: Connection, shop_id: int, key: str) -> str | None:
    return conn.execute(select(job_state.c.value).where(
        job_state.c.job == UPLOAD, job_state.c.shop_id == shop_id, job_state.c.key == key)).scalar()


def _put_state(conn: Connection, shop_id: int, key: str, value: str) -> None:
    upsert(conn, job_state, dict(job=UPLOAD, shop_id=shop_id, key=key, value=value), keys=("job", "shop_id", "key"),
           update=("value",))


def _save_plan(ctx: JobContext, plan: Plan) -> None:
    assert ctx.shop is not None
    with ctx.hub.db.write() as conn:
        _put_state(conn, ctx.shop.id, PLAN, plan.to_json())


@dataclass(frozen=True)
class Mark:
    """The watermark: the last event uploaded, and when it was written."""

    id: int
    at: str | None  # ISO time of that event

    def restarted(self, conn: Connection) -> bool:
        """Whether ids began again below the mark (SQLite reuses ids once the purge has emptied the outbox)."""
        if not self.id or self.at is None:
            return False
        return conn.execute(select(outbox.c.id).where(outbox.c.id <= self.id, outbox.c.created_at >
                                                      datetime.fromisoformat(self.at)).limit(1)).first() is not None


def _watermark(conn: Connection, shop_id: int) -> Mark:
    value = _state(conn, shop_id, WATERMARK)
    if value is None:
        return Mark(0, None)
    data = orjson.loads(value)
    return Mark(int(data["id"]), data.get("at"))


def finish_plan(ctx: JobContext, mark: Mark) -> None:
    """Move the watermark past the events a plan covered and forget the plan, in one transaction."""
    assert ctx.shop is not None
    with ctx.hub.db.write() as conn:
        _put_state(conn, ctx.shop.id, WATERMARK, orjson.dumps({"id": mark.id, "at": mark.at}).decode())
        conn.execute(delete(job_state).where(job_state.c.job == UPLOAD, job_state.c.shop_id == ctx.shop.id,
                                             job_state.c.key == PLAN))


def _settled_events(conn: Connection, after: int, limit: int, settle: timedelta) -> list[Any]:
    """``inventory.changed`` events after ``after``, in id order, up to a gap that may still fill.

    On PostgreSQL ids are taken before commit, so a transaction can commit an id lower than
    one already visible; a gap younger than ``settle`` stops the read there. An older gap
    is a transaction that rolled back (or events purged), and is passed over.
    """
    rows = conn.execute(select(outbox.c.id, outbox.c.payload, outbox.c.created_at).where(
        outbox.c.event_type == "inventory.changed", outbox.c.id > after).order_by(outbox.c.id).limit(limit)).all()
    if not rows:
        return []
    between = {r.id for r in conn.execute(select(outbox.c.id).where(
        outbox.c.id > after, outbox.c.id <= rows[-1].id))}  # every event type counts for the gaps
    now, expected, out = utcnow(), after + 1, []
    for r in rows:
        while expected in between and expected < r.id:
            expected += 1
        if r.id != expected and now - r.created_at < settle:
            break
        out.append(r)
        expected = r.id + 1
    return out


def _items_of(conn: Connection, shop_id: int, skus: Sequence[str]) -> dict[str, list[str]]:
    rows = conn.execute(select(variants.c.sku, variants.c.inventory_item_id).where(
        variants.c.shop_id == shop_id, variants.c.sku.in_(sorted(set(skus))), variants.c.deleted_at.is_(None),
        variants.c.inventory_item_id.is_not(None)))
    out: dict[str, list[str]] = {}
    for r in rows:
        if r.inventory_item_id not in out.setdefault(r.sku, []):
            out[r.sku].append(r.inventory_item_id)
    return out


def _known_available(conn: Connection, shop_id: int, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
    items = sorted({item for item, _ in pairs})
    rows = conn.execute(select(inventory_levels.c.inventory_item_id, inventory_levels.c.location_id,
                               inventory_levels.c.available).where(
        inventory_levels.c.shop_id == shop_id, inventory_levels.c.inventory_item_id.in_(items)))
    wanted = set(pairs)
    return {(r.inventory_item_id, r.location_id): r.available for r in rows
            if (r.inventory_item_id, r.location_id) in wanted and r.available is not None}


def _describe(e: Entry, mapping_names: dict[str, str]) -> str:
    return (f"SKU {e.sku} at {e.facility} (inventory item {e.item_id}, location "
            f"{mapping_names.get(e.location_id, e.location_id)}, event {e.event_id})")


def _plan(ctx: JobContext, client: AdminClient, mapping: Mapping, rows: Sequence[Any], name: str,
          ignore: bool, batch_size: int) -> tuple[Plan, dict[str, int]]:
    """Coalesce events to the last per SKU and facility, map them, add compare quantities, batch them."""
    assert ctx.shop is not None
    last: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
    for r in rows:
        payload = orjson.loads(r.payload)
        last[(payload["sku"], payload["facility"])] = (r.id, payload)
    counts = {"events": len(rows), "superseded": len(rows) - len(last), "unchanged": 0, "unmapped": 0, "pushed": 0}
    with ctx.hub.db.read() as conn:
        items = _items_of(conn, ctx.shop.id, [sku for sku, _ in last])
    entries: list[Entry] = []
    for (sku, facility), (event_id, payload) in sorted(last.items(), key=lambda kv: kv[1][0]):
        record = {"sku": sku, "facility": facility, "event_id": event_id, name: payload.get(
            "atp" if name == "available" else "on_hand")}
        location = mapping.location_of.get(facility)
        if facility in mapping.pushed:  # the stock pusher sets that location
            counts["pushed"] += 1
            ctx.count(skipped=1)
            continue
        if location is None:
            counts["unmapped"] += 1
            ctx.failed_record(record, f"SKU {sku} at {facility} (event {event_id}): facility {facility} is no Shopify "
                                      f"location of {ctx.shop.domain}; name a location after it or map it with the "
                                      "locations parameter")
            continue
        if not items.get(sku):
            counts["unmapped"] += 1
            ctx.failed_record(record, f"SKU {sku} at {facility} (event {event_id}): no product variant of "
                                      f"{ctx.shop.domain} has this SKU; run sync-products, or add the SKU in Shopify")
            continue
        quantity = int(payload["atp"] if name == "available" else payload["on_hand"])
        entries += [Entry(sku, facility, event_id, item, location, quantity) for item in items[sku]]
    if not ignore and entries:
        _add_compares(ctx, client, entries, name, mapping)
    sendable = []
    for e in entries:
        if e.compare is not None and e.compare == e.quantity:
            counts["unchanged"] += 1
            ctx.count(skipped=1)
        elif ignore or e.compare is not None:
            sendable.append(e)
    batches = [sendable[i:i + batch_size] for i in range(0, len(sendable), batch_size)]
    plan = Plan(through=rows[-1].id, through_at=rows[-1].created_at.isoformat(), name=name, ignore_compare=ignore,
                batches=batches,
                keys=[idempotency_key(ctx.shop.id, name, b) for b in batches])
    return plan, counts


def _add_compares(ctx: JobContext, client: AdminClient, entries: list[Entry], name: str, mapping: Mapping) -> None:
    """What orderhub last knew Shopify to have (``inventory_levels``), or what Shopify says now."""
    assert ctx.shop is not None
    pairs = [(e.item_id, e.location_id) for e in entries]
    known: dict[tuple[str, str], int] = {}
    if name == "available":
        with ctx.hub.db.read() as conn:
            known = _known_available(conn, ctx.shop.id, pairs)
    missing = sorted({p for p in pairs if p not in known})
    if missing:
        current = api.current_quantities(client, missing, name)
        known.update({pair: c.quantity for pair, c in current.items() if c is not None})
        _learn(ctx, current)
    for e in entries:
        e.compare = known.get((e.item_id, e.location_id))
        if e.compare is None:
            ctx.failed_record(e.__dict__, f"{_describe(e, mapping.names)}: the item is not stocked at this location "
                                          "in Shopify; stock it there first")


def _send_plan(ctx: JobContext, client: AdminClient, plan: Plan, mapping_names: dict[str, str]) -> dict[str, int]:
    """Send each batch not answered yet (a retry carries its first key); failures become failed records."""
    assert ctx.shop is not None
    shop = ctx.shop
    counts = {"set": 0, "already": 0, "conflicts": 0, "rejected": 0, "requests": 0}
    while plan.done < len(plan.batches):
        ctx.check()
        batch, key = plan.batches[plan.done], plan.keys[plan.done]
        result = api.set_quantities(client, name=plan.name, reason=REASON, quantities=[e.as_quantity() for e in batch],
                                    ignore_compare=plan.ignore_compare, idempotency_key=key,
                                    reference=f"orderhub://inventory-events/{batch[0].event_id}-{plan.through}")
        counts["requests"] += 1
        if not result.errors:
            _applied(ctx, shop, plan.name, result)
            counts["set"] += len(batch)
            ctx.count(processed=len(batch))
            plan.done += 1
            _save_plan(ctx, plan)
            continue
        remaining = _answer_errors(ctx, client, plan, batch, result.errors, mapping_names, counts)
        if remaining:  # the request was refused whole: send the rest again, under a key of its own
            plan.batches[plan.done] = remaining
            plan.keys[plan.done] = idempotency_key(shop.id, plan.name, remaining)
        else:
            plan.done += 1
        _save_plan(ctx, plan)
    return counts


def _answer_errors(ctx: JobContext, client: AdminClient, plan: Plan, batch: list[Entry],
                   errors: Sequence[api.UserError], names: dict[str, str], counts: dict[str, int]) -> list[Entry]:
    """Report what Shopify refused; returns the quantities of the batch still to send."""
    by_index: dict[int, list[api.UserError]] = {}
    for error in errors:
        if error.index is None or not 0 <= error.index < len(batch):
            for e in batch:  # about the request itself: every quantity in it failed
                ctx.failed_record(e.__dict__, f"{_describe(e, names)}: Shopify refused the request: "
                                  + "; ".join(str(x) for x in errors))
            counts["rejected"] += len(batch)
            return []
        by_index.setdefault(error.index, []).append(error)
    stale = [i for i, errs in by_index.items() if all(x.code in STALE for x in errs)]
    current = api.current_quantities(client, [(batch[i].item_id, batch[i].location_id) for i in stale], plan.name)
    _learn(ctx, current)
    now = {pair: c.quantity for pair, c in current.items() if c is not None}
    for i, errs in sorted(by_index.items()):
        e = batch[i]
        if i in stale and now.get((e.item_id, e.location_id)) == e.quantity:
            counts["already"] += 1  # set by an earlier attempt of this plan (an API version without @idempotent)
            ctx.count(processed=1)
            continue
        if i in stale:
            counts["conflicts"] += 1
            ctx.failed_record(e.__dict__ | {"shopify_now": now.get((e.item_id, e.location_id))},
                              f"{_describe(e, names)}: changed in Shopify since orderhub last saw it (orderhub "
                              f"expected {e.compare}, Shopify has {now.get((e.item_id, e.location_id))}); not "
                              f"overwritten with {e.quantity} - check it, or run with ignore_compare=true")
        else:
            counts["rejected"] += 1
            ctx.failed_record(e.__dict__, f"{_describe(e, names)}: Shopify refused {plan.name} {e.quantity}: "
                              + "; ".join(str(x) for x in errs))
    return [e for i, e in enumerate(batch) if i not in by_index]


def _learn(ctx: JobContext, current: dict[tuple[str, str], api.Current | None]) -> None:
    """Remember what Shopify said it has available, so the next upload compares with it."""
    assert ctx.shop is not None
    levels = [InventoryLevel(item, location, c.available, c.updated_at) for (item, location), c in current.items()
              if c is not None and c.available is not None and c.updated_at is not None]
    if levels:
        with ctx.hub.db.write() as conn:
            _record_levels(conn, ctx.shop.id, levels)


def _applied(ctx: JobContext, shop: Shop, name: str, result: api.SetResult) -> None:
    """Remember what Shopify now has available (the next upload compares with it)."""
    if result.created_at is None:
        return
    levels = [InventoryLevel(c.item_id, c.location_id, c.after, result.created_at) for c in result.changes
              if c.name == "available" and c.after is not None]
    with ctx.hub.db.write() as conn:
        _record_levels(conn, shop.id, levels)


def upload_changes(ctx: JobContext) -> dict[str, Any]:
    """Send the inventory changes since the watermark to Shopify, each batch once."""
    shop = ctx.shop
    assert shop is not None
    if shop.status == "uninstalled":
        raise ValueError(f"shop {shop.domain} uninstalled the app; add it again to resume uploading inventory")
    name, ignore = _quantity(ctx), bool(ctx.params["ignore_compare"])
    batch_size, limit = int(ctx.params["batch_size"]), int(ctx.params["limit"])
    if not 1 <= batch_size <= api.MAX_QUANTITIES:
        raise ValueError(f"batch_size must be 1 to {api.MAX_QUANTITIES} (got {batch_size})")
    if limit < 1:
        raise ValueError(f"limit must be at least 1 (got {limit})")
    client = admin_client(shop)
    mapping = _mapping(ctx, client)
    totals: dict[str, int] = {"events": 0, "superseded": 0, "unchanged": 0, "unmapped": 0, "pushed": 0, "set": 0,
                              "already": 0, "conflicts": 0, "rejected": 0, "requests": 0, "resumed": 0}
    with ctx.hub.db.read() as conn:
        pending = _state(conn, shop.id, PLAN)
    if pending is not None:  # a run stopped after writing its plan: finish it first, with the same keys
        plan = Plan.from_json(pending)
        ctx.log(f"resuming the upload of events up to {plan.through}: {len(plan.batches) - plan.done} batch(es) "
                "left")
        totals["resumed"] = 1
        _add(totals, _send_plan(ctx, client, plan, mapping.names))
        finish_plan(ctx, Mark(plan.through, plan.through_at))
    settle = timedelta(seconds=int(ctx.params["settle_seconds"]))
    while True:
        ctx.check()
        with ctx.hub.db.read() as conn:
            after = _watermark(conn, shop.id)
            if after.restarted(conn):
                ctx.log(f"outbox event ids started again below the watermark {after.id} (the table was emptied); "
                        "reading every event from the start", "warning")
                after = Mark(0, None)
            rows = _settled_events(conn, after.id, limit, settle)
        if not rows:
            break
        plan, counts = _plan(ctx, client, mapping, rows, name, ignore, batch_size)
        ctx.count(read=len(rows), skipped=counts["superseded"])
        _add(totals, counts)
        if plan.batches:
            _save_plan(ctx, plan)
            _add(totals, _send_plan(ctx, client, plan, mapping.names))
        finish_plan(ctx, Mark(plan.through, rows[-1].created_at.isoformat()))
        if len(rows) < limit:
            break
    with ctx.hub.db.read() as conn:
        totals["watermark"] = _watermark(conn, shop.id).id
    return totals | {"quantity": name, "ignore_compare": ignore, "idempotency_keys":
                     client.has("idempotent_directive"), "api_version": client.version,
                     "throttled": client.throttled_count}


def _add(totals: dict[str, int], counts: dict[str, int]) -> None:
    for key, n in counts.items():
        totals[key] = totals.get(key, 0) + n


_LOCATIONS = Param("locations", help="map Shopify locations to facilities: 'LOCATION=FACILITY, ...' (a location's "
                   "name or id); unmapped locations match the facility whose code is their name", max_len=2000)
_QUANTITY = Param("quantity", help="available (Shopify's available is orderhub's ATP; the default) or on_hand",
                  default="available")

register(Definition(
    SYNC, "inventory", "Sync inventory from Shopify: set on hand at each facility to what Shopify has at the "
    "location mapped to it, where they differ (reason shopify_sync: ledger and inventory.changed)",
    params=(_QUANTITY, _LOCATIONS), default_schedule="daily", min_interval_seconds=3600),
    sync_from_shopify)
register(Definition(
    UPLOAD, "inventory", "Upload recent inventory change: upload recent inventory changes to Shopify (the last "
    "change per SKU and facility, in batches of inventorySetQuantities, each applied once)",
    params=(_QUANTITY, _LOCATIONS,
            Param("ignore_compare", ParamKind.BOOL, "overwrite Shopify's quantity even if it changed there since "
                  "orderhub last saw it", default=False),
            Param("batch_size", ParamKind.INT, f"quantities per request (1 to {api.MAX_QUANTITIES})", default=100),
            Param("limit", ParamKind.INT, "events read at a time", default=5000),
            Param("settle_seconds", ParamKind.INT, "how long a gap in event ids may still fill (a transaction "
                  "committing late) before it is passed over", default=30)),
    default_schedule="every-5-minutes"),
    upload_changes)
