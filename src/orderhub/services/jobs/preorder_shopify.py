"""Pre-selling in Shopify: variant details, order tags, and promise dates in order notes (category pre-order).

- ``sync-presell-variants`` sets on each variant of a SKU in the pre-order or backorder catalogue the
  metafields ``orderhub.presell_kind`` (preorder | backorder; ``none`` once it left) and
  ``orderhub.next_expected`` (a date; deleted once there is none), and tags its product ``pre-order``
  or ``backorder`` while a variant of it is sold so;
- ``tag-presell-orders`` tags orders with units waiting in the pre-order or backorder parking queue,
  and takes the tag off again once none waits;
- ``note-promise-dates`` writes the promise dates given to an order's items into its Shopify note, when
  first given and whenever one changes, in a block between markers; the rest of the note is kept.

What each job sent is remembered per record in ``job_state`` (keys ``variant:<id>``,
``product:<id>``, ``order:<id>``), so a run sends only what changed since the last one, and a rerun
sends nothing. Every mutation sets a state (a value, a tag present or absent, a whole note), so one
sent again after a crash between sending and remembering changes nothing in Shopify. orderhub
removes only tags it added itself: a tag the record already had (the merchant's ``pre-order``) is
never taken off; which ones are its own is written down before they are sent. A note is read from
Shopify right before it is written, and only orderhub's block in it is replaced.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

import orjson
from sqlalchemy import Connection, delete, select

from orderhub.adapters.shopify import graphql_presell as api
from orderhub.adapters.shopify.graphql import AdminClient
from orderhub.adapters.store import presell_store
from orderhub.adapters.store.db import upsert_many
from orderhub.adapters.store.schema import job_state, order_items, order_units, orders, products, variants
from orderhub.domain.jobs import Definition, Param, ParamKind
from orderhub.domain.presell import Presell
from orderhub.services.jobs.context import JobContext
from orderhub.services.jobs.import_orders import admin_client
from orderhub.services.jobs.registry import register

VARIANTS = presell_store.PRODUCT_TAGGING_JOB  # "sync-presell-variants"
TAGS = "tag-presell-orders"
NOTES = "note-promise-dates"
NAMESPACE = "orderhub"
KIND_KEY, NEXT_KEY = "presell_kind", "next_expected"
NONE = "none"  # presell_kind of a variant no longer sold ahead
START, END = "[orderhub promise dates]", "[/orderhub promise dates]"
MAX_BATCH = 50  # mutations per request: 500 points of the 1000 a request may cost
IN_CHUNK = 500  # values per SQL IN list
_ENDED_ORDERS = ("cancelled", "rejected")
_CLOSED_ORDERS = (*_ENDED_ORDERS, "shipped", "completed", "returned")  # nothing left to promise
_DROPPED_UNITS = ("cancelled", "rejected")
_QUEUE_KINDS = {k.queue: k for k in Presell}

T = TypeVar("T")


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _fold(tags: Iterable[str]) -> set[str]:
    return {t.casefold() for t in tags}


def _unique(tags: Iterable[str]) -> list[str]:
    out: list[str] = []
    for t in tags:
        if t.casefold() not in _fold(out):
            out.append(t)
    return out


def _batch_size(ctx: JobContext) -> int:
    size = int(ctx.params["batch_size"])
    if not 1 <= size <= MAX_BATCH:
        raise ValueError(f"batch_size must be 1 to {MAX_BATCH} mutations per request (got {size})")
    return size


def _client(ctx: JobContext) -> AdminClient:
    shop = ctx.shop
    assert shop is not None
    if shop.status == "uninstalled":
        raise ValueError(f"shop {shop.domain} uninstalled the app; add it again to resume syncing pre-orders")
    return admin_client(shop)


# -- what was sent, per record (job_state) ------------------------------------------------------------------------

def load_states(conn: Connection, job: str, shop_id: int, prefix: str) -> dict[str, Any]:
    """What ``job`` remembers of the shop's records whose key starts with ``prefix``, by the rest of the key."""
    rows = conn.execute(select(job_state.c.key, job_state.c.value).where(
        job_state.c.job == job, job_state.c.shop_id == shop_id, job_state.c.key.startswith(prefix, autoescape=True)))
    return {r.key[len(prefix):]: orjson.loads(r.value) for r in rows}


def save_states(conn: Connection, job: str, shop_id: int, states: Mapping[str, Any | None]) -> None:
    """Remember these records (key -> state); a state of None forgets the record."""
    kept = [{"job": job, "shop_id": shop_id, "key": k, "value": orjson.dumps(v).decode()}
            for k, v in states.items() if v is not None]
    upsert_many(conn, job_state, kept, keys=("job", "shop_id", "key"), update=("value",))
    gone = sorted(k for k, v in states.items() if v is None)
    for chunk in _chunks(gone, IN_CHUNK):
        conn.execute(delete(job_state).where(job_state.c.job == job, job_state.c.shop_id == shop_id,
                                             job_state.c.key.in_(chunk)))


def _save(ctx: JobContext, job: str, states: Mapping[str, Any | None]) -> None:
    assert ctx.shop is not None
    if states:
        with ctx.hub.db.write() as conn:
            save_states(conn, job, ctx.shop.id, states)


def _requests(ctx: JobContext, client: AdminClient, items: Sequence[T], mutations: Callable[[T], list[api.Mutation]],
              batch_size: int) -> Iterator[list[tuple[T, list[tuple[api.UserError, ...]]]]]:
    """Send the mutations of ``items`` (``mutations(item)``), an item's together, at most ``batch_size`` (or
    one item's) to a request; yields each request's items with the answers of their mutations."""
    batch: list[tuple[T, list[api.Mutation]]] = []
    count = 0

    def flush() -> list[tuple[T, list[tuple[api.UserError, ...]]]]:
        ctx.check()
        answers = iter(api.send(client, [m for _item, ms in batch for m in ms]))
        return [(item, [next(answers) for _m in ms]) for item, ms in batch]

    for item in items:
        ms = mutations(item)
        if batch and count + len(ms) > batch_size:
            yield flush()
            batch, count = [], 0
        batch.append((item, ms))
        count += len(ms)
    if batch:
        yield flush()


def _errors_text(errors: Iterable[api.UserError]) -> str:
    return "; ".join(str(e) for e in errors)


# -- tags orderhub adds, and only removes if it added them ------------------------------------------------------------

@dataclass
class Tagged:
    """A product or order orderhub tags: the tags it wants there now, and what it remembers of it."""

    key: str  # job_state key
    owner: str  # gid
    label: str  # for the log: "order #1001", "product Boots (123)"
    want: list[str]
    tags: list[str] = field(default_factory=list)  # the tags it wanted when last done
    added: list[str] = field(default_factory=list)  # tags it added itself (the only ones it may remove)
    adding: list[str] = field(default_factory=list)  # tags it was adding as its own when a run stopped
    add: list[str] = field(default_factory=list)  # to send now
    remove: list[str] = field(default_factory=list)
    check: list[str] = field(default_factory=list)  # new ones: orderhub's own unless Shopify shows them already

    @classmethod
    def of(cls, key: str, owner: str, label: str, want: Sequence[str], state: Mapping[str, Any] | None) -> Tagged:
        state = state or {}
        return cls(key, owner, label, list(want), list(state.get("tags", [])), list(state.get("added", [])),
                   list(state.get("adding", [])))

    def plan(self, resend: bool = False) -> None:
        known = set() if resend else _fold(self.tags)
        ours = _fold(self.added + self.adding)
        new = [t for t in self.want if t.casefold() not in known]
        self.add = [t for t in new if t.casefold() in ours]
        self.check = [t for t in new if t.casefold() not in ours]
        wanted = _fold(self.want)
        self.remove = [t for t in _unique(self.added + self.adding) if t.casefold() not in wanted]

    def claim(self, shopify_tags: Sequence[str]) -> list[str]:
        """Take as its own the new tags Shopify does not show yet; returns them."""
        have = _fold(shopify_tags)
        own = [t for t in self.check if t.casefold() not in have]
        self.add += own
        self.adding = _unique(self.adding + own)
        self.check = []
        return own

    def intent(self) -> dict[str, Any]:
        """The state written before sending: what it had, and what it is adding as its own."""
        return {"tags": self.tags, "added": self.added, "adding": self.adding}

    def done(self) -> dict[str, Any] | None:
        """The state once Shopify took the changes (None: nothing left to remember)."""
        wanted = _fold(self.want)
        added = [t for t in _unique(self.added + self.adding) if t.casefold() in wanted]
        return {"tags": self.want, "added": added} if self.want or added else None

    def mutations(self) -> list[api.Mutation]:
        return ([api.add_tags(self.owner, self.add)] if self.add else []) + (
            [api.remove_tags(self.owner, self.remove)] if self.remove else [])

    @property
    def changed(self) -> bool:
        """Whether its state differs from what is remembered (even with nothing to send)."""
        stored = {"tags": self.tags, "added": self.added} if self.tags or self.added else None
        return bool(self.adding) or self.done() != stored


@dataclass
class TagReport:
    tagged: int = 0
    untagged: int = 0
    failed: int = 0
    requests: int = 0


def apply_tags(ctx: JobContext, client: AdminClient, job: str, items: Sequence[Tagged], batch_size: int, *,
               resend: bool = False) -> TagReport:
    """Add and remove the tags of ``items`` that changed since they were last done."""
    report = TagReport()
    for item in items:
        item.plan(resend)
    checking = [i for i in items if i.check]
    if checking:
        shopify = api.tags_of(client, [i.owner for i in checking])
        intents = {}
        for item in checking:
            if item.owner not in shopify:
                continue  # reported when sent
            if item.claim(shopify[item.owner]):
                intents[item.key] = item.intent()
        _save(ctx, job, intents)
    quiet: dict[str, Any] = {}
    sending = []
    for item in items:
        if item.check:
            _failed(ctx, report, item, f"{item.label}: not in Shopify any more ({item.owner}); forgotten")
            quiet[item.key] = None
        elif item.add or item.remove:
            sending.append(item)
        elif item.changed:
            quiet[item.key] = item.done()  # e.g. a wanted tag the record already had: nothing to send
    _save(ctx, job, quiet)
    for answered in _requests(ctx, client, sending, Tagged.mutations, batch_size):
        report.requests += 1
        states: dict[str, Any] = {}
        for item, answers in answered:
            errors = [e for a in answers for e in a]
            if not errors:
                states[item.key] = item.done()
                if item.add:
                    report.tagged += 1
                    ctx.log(f"{item.label}: tagged {', '.join(item.add)}")
                if item.remove:
                    report.untagged += 1
                    ctx.log(f"{item.label}: tag {', '.join(item.remove)} removed")
                ctx.count(processed=1)
            elif any(e.field[-1:] == ("id",) for e in errors):
                states[item.key] = None
                _failed(ctx, report, item, f"{item.label}: not in Shopify any more ({_errors_text(errors)}); "
                                           "forgotten")
            else:
                _failed(ctx, report, item, f"{item.label}: Shopify refused the tags (+{item.add} -{item.remove}): "
                                           f"{_errors_text(errors)}; tried again next run")
        _save(ctx, job, states)
    return report


def _failed(ctx: JobContext, report: TagReport, item: Tagged, error: str) -> None:
    report.failed += 1
    ctx.failed_record({"owner": item.owner, "label": item.label, "add": item.add + item.check,
                       "remove": item.remove}, error)


# -- sync-presell-variants -------------------------------------------------------------------------------------------

@dataclass
class VariantChange:
    """What one variant shows in Shopify now, and what it showed when last sent."""

    variant_id: str
    sku: str
    kind: str  # preorder | backorder | none
    next_expected: str | None  # ISO date
    before: Mapping[str, Any] | None

    @property
    def owner(self) -> str:
        return api.gid("ProductVariant", self.variant_id)

    def state(self) -> dict[str, Any] | None:
        return None if self.kind == NONE else {"kind": self.kind, "next": self.next_expected, "sku": self.sku}

    def changed(self, resend: bool) -> bool:
        before = self.before or {}
        return resend or (before.get("kind", NONE), before.get("next")) != (self.kind, self.next_expected)

    def drops_date(self, resend: bool) -> bool:
        return self.next_expected is None and (resend or bool((self.before or {}).get("next")))

    def metafields(self) -> list[api.Metafield]:
        out = [api.Metafield(self.owner, NAMESPACE, KIND_KEY, "single_line_text_field", self.kind)]
        if self.next_expected:
            out.append(api.Metafield(self.owner, NAMESPACE, NEXT_KEY, "date", self.next_expected))
        return out

    def describe(self) -> str:
        if self.kind == NONE:
            return f"{self.sku} (variant {self.variant_id}): no longer sold ahead ({KIND_KEY} {NONE})"
        when = f", {NEXT_KEY} {self.next_expected}" if self.next_expected else ""
        return f"{self.sku} (variant {self.variant_id}): {KIND_KEY} {self.kind}{when}"


@dataclass
class Pack:
    """One metafields mutation and the variants it carries (each with the span of its inputs)."""

    mutation: api.Mutation
    spans: list[tuple[VariantChange, int, int]]

    def at(self, indexes: set[int | None]) -> list[VariantChange]:
        return [v for v, start, end in self.spans if any(i is not None and start <= i < end for i in indexes)]


def _pack(changes: Sequence[VariantChange], deleting: bool) -> list[Pack]:
    """Metafield inputs of the variants, at most 25 to a mutation, a variant's never split."""
    packs: list[Pack] = []
    inputs: list[Any] = []
    spans: list[tuple[VariantChange, int, int]] = []

    def close() -> None:
        mutation = (api.delete_metafields(inputs) if deleting else api.set_metafields(inputs))
        packs.append(Pack(mutation, list(spans)))

    for change in changes:
        own = ([api.MetafieldKey(change.owner, NAMESPACE, NEXT_KEY)] if deleting else change.metafields())
        if inputs and len(inputs) + len(own) > api.MAX_METAFIELDS:
            close()
            inputs, spans = [], []
        spans.append((change, len(inputs), len(inputs) + len(own)))
        inputs += own
    if inputs:
        close()
    return packs


@dataclass
class VariantTarget:
    """The catalogue as the shop's variants and products show it."""

    considered: int  # variants of catalogue SKUs, and variants sent before
    changes: list[VariantChange]  # those of them that changed
    products: list[Tagged]
    forgotten: dict[str, None]  # state keys of variants and products the shop no longer has


def _product_tags(conn: Connection, shop_id: int, kinds: Sequence[tuple[str, Presell]],
                  tagged: Mapping[str, Any], forgotten: dict[str, None]) -> list[Tagged]:
    """The products of the catalogue's variants (product id, kind) with the kinds' tags, and the products tagged
    before; those the shop no longer has go into ``forgotten``."""
    want: dict[str, set[str]] = defaultdict(set)
    for product_id, kind in kinds:
        want[product_id].add(kind.tag)
    titles: dict[str, str] = {}
    for chunk in _chunks(sorted(set(want) | set(tagged)), IN_CHUNK):
        titles |= {r.shopify_id: r.title or "" for r in conn.execute(select(products.c.shopify_id, products.c.title)
                   .where(products.c.shop_id == shop_id, products.c.shopify_id.in_(chunk),
                          products.c.deleted_at.is_(None)))}
    items = []
    for product_id in sorted(set(want) | set(tagged)):
        if product_id not in titles:
            forgotten[f"product:{product_id}"] = None
            continue
        tags = [k.tag for k in Presell if k.tag in want.get(product_id, set())]
        items.append(Tagged.of(f"product:{product_id}", api.gid("Product", product_id),
                               f"product {titles[product_id]} ({product_id})", tags, tagged.get(product_id)))
    return items


def variant_target(conn: Connection, shop_id: int, *, resend: bool) -> VariantTarget:
    """Every live variant of a catalogue SKU, every variant sent before, and their products."""
    catalogue = presell_store.catalogue(conn)
    sent = load_states(conn, VARIANTS, shop_id, "variant:")
    tagged = load_states(conn, VARIANTS, shop_id, "product:")
    live: dict[str, Any] = {}
    for chunk in _chunks(sorted(catalogue), IN_CHUNK):
        for r in conn.execute(select(variants.c.shopify_id, variants.c.product_shopify_id, variants.c.sku).where(
                variants.c.shop_id == shop_id, variants.c.sku.in_(chunk), variants.c.deleted_at.is_(None))):
            live[r.shopify_id] = r
    still: set[str] = set()
    for chunk in _chunks(sorted(set(sent) - set(live)), IN_CHUNK):
        still |= {r.shopify_id for r in conn.execute(select(variants.c.shopify_id).where(
            variants.c.shop_id == shop_id, variants.c.shopify_id.in_(chunk), variants.c.deleted_at.is_(None)))}
    changes = []
    for variant_id, r in sorted(live.items()):
        entry = catalogue[r.sku]
        changes.append(VariantChange(variant_id, r.sku, entry.kind.value,
                                     entry.next_expected.isoformat() if entry.next_expected else None,
                                     sent.get(variant_id)))
    forgotten: dict[str, None] = {}
    for variant_id, before in sorted(sent.items()):
        if variant_id in live:
            continue
        if variant_id in still:
            changes.append(VariantChange(variant_id, before.get("sku") or "", NONE, None, before))
        else:
            forgotten[f"variant:{variant_id}"] = None
    items = _product_tags(conn, shop_id, [(r.product_shopify_id, catalogue[r.sku].kind) for r in live.values()],
                          tagged, forgotten)
    return VariantTarget(len(changes), [c for c in changes if c.changed(resend)], items, forgotten)


def drop_dates(ctx: JobContext, client: AdminClient, changes: Sequence[VariantChange], batch_size: int
               ) -> tuple[set[str], int]:
    """Delete ``next_expected`` of the variants that no longer have one; (variants that failed, requests)."""
    failed: set[str] = set()
    requests = 0
    for answered in _requests(ctx, client, _pack(changes, deleting=True), lambda p: [p.mutation], batch_size):
        requests += 1
        for pack, [errors] in answered:
            for change, _start, _end in pack.spans if errors else []:
                failed.add(change.variant_id)
                ctx.failed_record({"variant_id": change.variant_id, "sku": change.sku},
                                  f"{change.describe()}: Shopify did not delete {NAMESPACE}.{NEXT_KEY}: "
                                  f"{_errors_text(errors)}; tried again next run")
    return failed, requests


def set_kinds(ctx: JobContext, client: AdminClient, changes: Sequence[VariantChange], batch_size: int
              ) -> tuple[set[str], int]:
    """Set the variants' metafields, remembering each variant Shopify took; (variants that failed, requests).

    A metafieldsSet is all or nothing: the variants its user errors point at fail, the others of it are sent
    again without them."""
    failed: set[str] = set()
    requests = 0
    pending = list(changes)
    while pending:
        retry: list[VariantChange] = []
        for answered in _requests(ctx, client, _pack(pending, deleting=False), lambda p: [p.mutation], batch_size):
            requests += 1
            states: dict[str, Any] = {}
            for pack, [errors] in answered:
                bad = pack.at({e.index for e in errors}) or ([v for v, _s, _e in pack.spans] if errors else [])
                for change, start, end in pack.spans:
                    if change in bad:
                        own = [e for e in errors if e.index is not None and start <= e.index < end] or errors
                        failed.add(change.variant_id)
                        ctx.failed_record({"variant_id": change.variant_id, "sku": change.sku, "kind": change.kind,
                                           "next_expected": change.next_expected},
                                          f"{change.describe()}: Shopify refused the metafields: "
                                          f"{_errors_text(own)}; tried again next run")
                    elif errors:
                        retry.append(change)
                    else:
                        states[f"variant:{change.variant_id}"] = change.state()
                        ctx.log(change.describe())
                        ctx.count(processed=1)
            _save(ctx, VARIANTS, states)
        pending = retry
    return failed, requests


def sync_variants(ctx: JobContext) -> dict[str, Any]:
    """Send the variants' pre-selling metafields and their products' tags that changed since the last run."""
    shop = ctx.shop
    assert shop is not None
    resend, batch_size = bool(ctx.params["resend"]), _batch_size(ctx)
    with ctx.hub.db.read() as conn:
        target = variant_target(conn, shop.id, resend=resend)
    _save(ctx, VARIANTS, target.forgotten)
    ctx.count(read=target.considered)
    client = _client(ctx)
    failed, dropping = drop_dates(ctx, client, [c for c in target.changes if c.drops_date(resend)], batch_size)
    refused, setting = set_kinds(ctx, client, [c for c in target.changes if c.variant_id not in failed], batch_size)
    tags = apply_tags(ctx, client, VARIANTS, target.products, batch_size, resend=resend)
    stats = {"variants_changed": len(target.changes) - len(failed | refused), "variants_failed": len(failed | refused),
             "products_tagged": tags.tagged, "products_untagged": tags.untagged, "products_failed": tags.failed,
             "requests": dropping + setting + tags.requests, "resend": resend}
    ctx.log(f"{stats['variants_changed']} variant(s) changed in Shopify ({stats['variants_failed']} failed); "
            f"{tags.tagged} product(s) tagged, {tags.untagged} untagged ({tags.failed} failed)")
    return stats


# -- tag-presell-orders --------------------------------------------------------------------------------------------

def order_tag_targets(conn: Connection, shop_id: int) -> tuple[list[Tagged], dict[str, None]]:
    """Orders with units waiting in a parking queue (the kinds' tags), and orders tagged before."""
    sent = load_states(conn, TAGS, shop_id, "order:")
    want: dict[int, set[str]] = defaultdict(set)
    facts: dict[int, tuple[str, str]] = {}
    u = order_units
    for r in conn.execute(select(orders.c.id, orders.c.shopify_id, orders.c.name, u.c.queue)
                          .join(u, u.c.order_id == orders.c.id)
                          .where(orders.c.shop_id == shop_id, orders.c.status.not_in(_ENDED_ORDERS),
                                 u.c.status == "approved", u.c.facility_id.is_(None),
                                 u.c.queue.in_(presell_store.PARKING_QUEUES)).distinct()):
        want[r.id].add(_QUEUE_KINDS[r.queue].tag)
        facts[r.id] = (r.shopify_id, r.name or r.shopify_id)
    earlier = sorted({int(k) for k in sent} - set(facts))
    for chunk in _chunks(earlier, IN_CHUNK):
        facts |= {r.id: (r.shopify_id, r.name or r.shopify_id) for r in conn.execute(
            select(orders.c.id, orders.c.shopify_id, orders.c.name).where(orders.c.id.in_(chunk)))}
    forgotten = {f"order:{oid}": None for oid in earlier if oid not in facts}
    items = [Tagged.of(f"order:{oid}", api.gid("Order", shopify_id), f"order {name}",
                       [k.tag for k in Presell if k.tag in want.get(oid, set())], sent.get(str(oid)))
             for oid, (shopify_id, name) in sorted(facts.items())]
    return items, forgotten


def tag_orders(ctx: JobContext) -> dict[str, Any]:
    """Tag orders whose units wait as pre-orders or backorders; untag those where none waits any more."""
    shop = ctx.shop
    assert shop is not None
    batch_size = _batch_size(ctx)
    with ctx.hub.db.read() as conn:
        items, forgotten = order_tag_targets(conn, shop.id)
    _save(ctx, TAGS, forgotten)
    ctx.count(read=len(items))
    report = apply_tags(ctx, _client(ctx), TAGS, items, batch_size)
    waiting = sum(1 for i in items if i.want)
    ctx.log(f"{waiting} order(s) with units waiting as pre-orders or backorders: {report.tagged} tagged, "
            f"{report.untagged} untagged, {report.failed} failed")
    return {"waiting": waiting, "tagged": report.tagged, "untagged": report.untagged, "failed": report.failed,
            "requests": report.requests}


# -- note-promise-dates ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PromiseLine:
    """Units of one order line promised the same date (None: no date for now)."""

    item_id: int
    label: str
    promise: date | None
    quantity: int

    def key(self) -> list[Any]:
        return [self.item_id, self.promise.isoformat() if self.promise else None, self.quantity]


def _day(value: str | date | None) -> str:
    if value is None:
        return "no date yet"
    return value if isinstance(value, str) else value.isoformat()


def render_block(lines: Sequence[PromiseLine], before: Sequence[Sequence[Any]] | None) -> str:
    """orderhub's part of the note: the order's promise date and each line's, with the date each moved from."""
    dates = [line.promise for line in lines]
    order_date = None if any(d is None for d in dates) else max(d for d in dates if d is not None)
    was: dict[int, set[str | None]] = defaultdict(set)
    for item_id, promise, _quantity in before or ():
        was[int(item_id)].add(promise)
    now: dict[int, set[str | None]] = defaultdict(set)
    for line in lines:
        now[line.item_id].add(line.key()[1])
    out = [START, f"Promise date: {_day(order_date)}"]
    for line in lines:
        text = f"{line.quantity} x {line.label}: {_day(line.promise)}"
        moved = sorted(was[line.item_id] - now[line.item_id], key=lambda d: d or "9999")
        if moved and line.key()[1] not in was[line.item_id]:
            text += f" (was {', '.join(_day(d) for d in moved)})"
        out.append(text)
    out.append(END)
    return "\n".join(out)


_BLOCK = re.compile(re.escape(START) + "(?:(?!" + re.escape(START) + ").)*?" + re.escape(END), re.DOTALL)


def splice(note: str | None, block: str) -> str:
    """The note with orderhub's block replaced (the first complete one), or appended after the note's own text."""
    if not note or not note.strip():
        return block
    found = _BLOCK.search(note)
    if found is not None:
        return note[:found.start()] + block + note[found.end():]
    return note.rstrip() + "\n\n" + block


@dataclass
class NoteChange:
    order_id: int
    owner: str  # gid
    name: str
    lines: list[PromiseLine]
    before: list[list[Any]] | None
    note: str | None = None  # what Shopify has now, then what is sent

    def state(self) -> dict[str, Any]:
        return {"lines": [line.key() for line in self.lines]}

    def describe(self) -> str:
        if self.before is None:
            dates = ", ".join(sorted({_day(line.promise) for line in self.lines}))
            return f"order {self.name}: promise date {dates} added to the note"
        moved = [f"{line.label} x{line.quantity}: {_day(line.promise)}" for line in self.lines
                 if line.key() not in self.before]
        return f"order {self.name}: promise date changed in the note: {'; '.join(moved) or 'lines removed'}"


def note_targets(conn: Connection, shop_id: int) -> tuple[list[NoteChange], int, dict[str, None]]:
    """Open orders with promised units whose promises differ from what their note says; how many were read;
    and orders remembered that are closed now (forgotten)."""
    sent = load_states(conn, NOTES, shop_id, "order:")
    u, i = order_units, order_items
    grouped: dict[int, dict[tuple[int, date | None], int]] = defaultdict(lambda: defaultdict(int))
    labels: dict[int, str] = {}
    facts: dict[int, tuple[str, str]] = {}
    for r in conn.execute(select(u.c.order_id, u.c.item_id, u.c.sku, u.c.promise_date, i.c.title, i.c.variant_title,
                                 orders.c.shopify_id, orders.c.name)
                          .join(orders, orders.c.id == u.c.order_id).join(i, i.c.id == u.c.item_id)
                          .where(orders.c.shop_id == shop_id, orders.c.status.not_in(_CLOSED_ORDERS),
                                 u.c.promised_at.is_not(None), u.c.status.not_in(_DROPPED_UNITS))):
        grouped[r.order_id][(r.item_id, r.promise_date)] += 1
        title = r.title + (f" - {r.variant_title}" if r.variant_title else "")
        labels[r.item_id] = title + (f" ({r.sku})" if r.sku else "")
        facts[r.order_id] = (r.shopify_id, r.name or r.shopify_id)
    changes = []
    for order_id, counts in sorted(grouped.items()):
        lines = [PromiseLine(item, labels[item], promise, n) for (item, promise), n in
                 sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][1] or date.max))]
        before = (sent.get(str(order_id)) or {}).get("lines")
        if before != [line.key() for line in lines]:
            shopify_id, name = facts[order_id]
            changes.append(NoteChange(order_id, api.gid("Order", shopify_id), name, lines, before))
    forgotten = {f"order:{k}": None for k in sent if int(k) not in grouped}
    return changes, len(grouped), forgotten


def note_promises(ctx: JobContext) -> dict[str, Any]:
    """Write each changed order's promise dates into its Shopify note, keeping the rest of the note."""
    shop = ctx.shop
    assert shop is not None
    batch_size = _batch_size(ctx)
    with ctx.hub.db.read() as conn:
        changes, orders_read, forgotten = note_targets(conn, shop.id)
    _save(ctx, NOTES, forgotten)
    ctx.count(read=orders_read)
    stats = {"orders": orders_read, "added": 0, "updated": 0, "already": 0, "failed": 0, "requests": 0}
    client = _client(ctx) if changes else None
    for chunk in _chunks(changes, batch_size):
        assert client is not None
        ctx.check()
        notes = api.notes_of(client, [c.owner for c in chunk])  # read right before writing: the merchant's text
        states: dict[str, Any] = {}
        sending = []
        for change in chunk:
            if change.owner not in notes:
                stats["failed"] += 1
                ctx.failed_record({"order_id": change.order_id, "order": change.name},
                                  f"order {change.name}: not in Shopify ({change.owner}); its note was not written")
                continue
            change.note = splice(notes[change.owner], render_block(change.lines, change.before))
            if change.note == notes[change.owner]:
                stats["already"] += 1  # written by a run that stopped before remembering it
                states[f"order:{change.order_id}"] = change.state()
            else:
                sending.append(change)
        for answered in _requests(ctx, client, sending, lambda c: [api.update_note(c.owner, c.note or "")],
                                  batch_size):
            stats["requests"] += 1
            for change, [errors] in answered:
                if errors:
                    stats["failed"] += 1
                    ctx.failed_record({"order_id": change.order_id, "order": change.name},
                                      f"order {change.name}: Shopify refused the note: {_errors_text(errors)}; "
                                      "tried again next run")
                    continue
                stats["added" if change.before is None else "updated"] += 1
                states[f"order:{change.order_id}"] = change.state()
                ctx.log(change.describe())
                ctx.count(processed=1)
        _save(ctx, NOTES, states)
    ctx.log(f"{orders_read} open order(s) with promise dates: {stats['added']} note(s) added, {stats['updated']} "
            f"updated, {stats['failed']} failed")
    return stats


_BATCH = Param("batch_size", ParamKind.INT, f"mutations per request (1 to {MAX_BATCH}; each costs 10 points)",
               default=10)

register(Definition(
    name=VARIANTS, category="pre-order",
    description="Sync variant details: sync pre-selling information to Shopify as metafields of the variants "
                f"({NAMESPACE}.{KIND_KEY}, {NAMESPACE}.{NEXT_KEY}) and pre-order/backorder tags of their products, "
                "sending only what changed",
    default_schedule="hourly",
    params=(_BATCH, Param("resend", ParamKind.BOOL, "send every variant and product tag again, not only what "
                          "changed (after someone changed them in Shopify)", default=False))),
    sync_variants)

register(Definition(
    name=TAGS, category="pre-order",
    description="Add tags: add pre-order/backorder tags on orders with units waiting as pre-orders or backorders, "
                "and remove them once none waits",
    default_schedule="hourly", params=(_BATCH,)),
    tag_orders)

register(Definition(
    name=NOTES, category="pre-order",
    description="Add promise date: add a note with the promise dates given to the customer to the Shopify order, "
                "and update it when they change (the note's own text is kept)",
    default_schedule="hourly", params=(_BATCH,)),
    note_promises)
