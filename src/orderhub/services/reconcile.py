"""Reconciliation: compare orderhub's orders with Shopify, and with what subscribers acknowledged.

One run polls Shopify's Admin GraphQL API for the shop's orders updated since a time
(the same paged, cost-throttled poll as the ``import-new-orders`` job) and compares
each with orderhub's stored Shopify view of it. Each difference is a *finding*:

``missing``
    Shopify has the order, orderhub does not. It is put in the inbox (source ``poll``,
    the identity a webhook of that version gets, so a version already waiting there is
    not stored twice); action ``reingested``.
``stale``
    Shopify has a newer version (``updated_at``) than orderhub stored: orderhub missed
    an update. The newer version goes in the inbox; action ``reingested``.
``mismatch``
    Same version on both sides, different data (statuses, totals, currency, line
    quantity/SKU/price). orderhub will not overwrite a version with the same version,
    so a person must look: an error-log entry (record type ``reconciliation``, record id
    the finding id, kind ``mismatch``) holds the diff and Shopify's order; action
    ``error_logged``.
``extra``
    orderhub has an order updated in the window that Shopify did not return, and
    Shopify does not know it when asked by id. Reported and put in the error log too.
``unacknowledged``
    An order in the window has outbound webhook deliveries that failed, or that are
    still pending after a threshold (15 minutes). Reported, with the subscriptions and
    event types.

Every run stores a ``reconciliations`` row (counts, start and end, actor) and one
``reconciliation_findings`` row per finding. Running again creates a new report;
re-ingestion is deduplicated by the inbox identity, and an order that is still wrong
keeps *one* open error-log entry (the new sighting is added to its attempts) instead
of a new entry every run. A later run that finds the order in step resolves an entry
that a person retried.

Error-log review: :func:`retry_finding` re-polls the finding's order from Shopify and
puts it in the inbox.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import orjson
import structlog
from sqlalchemy import Connection, and_, func, insert, or_, select, update

from orderhub.adapters.fields import parse_time
from orderhub.adapters.shopify import graphql_orders, translate
from orderhub.adapters.shopify.graphql import AdminClient
from orderhub.adapters.store import error_log
from orderhub.adapters.store.db import Database
from orderhub.adapters.store.inbox import insert_entries
from orderhub.adapters.store.schema import error_log as E
from orderhub.adapters.store.schema import (
    inbox,
    order_items,
    orders,
    outbox,
    reconciliation_findings,
    reconciliations,
    shops,
    subscription_deliveries,
)
from orderhub.adapters.store.shops import Shop, by_domain, by_id
from orderhub.bootstrap import Hub
from orderhub.clock import as_utc, utcnow
from orderhub.domain import money
from orderhub.domain.errors import InvalidRecord
from orderhub.services.jobs.import_orders import (
    admin_client,
    complete_order,
    inbox_entry,
    poll_orders,
    updated_since_query,
)
from orderhub.services.progress import NOWHERE, Progress

log = structlog.get_logger(__name__)

KINDS = ("missing", "stale", "mismatch", "extra", "unacknowledged")
RECORD_TYPE = "reconciliation"  # error-log entries of findings: record_id is the finding id
TOPIC = "orders/reconcile"
DEFAULT_WINDOW = timedelta(hours=24)
UNACKNOWLEDGED_AFTER = timedelta(minutes=15)
_ORDER_FIELDS = ("source_status", "source_financial_status", "source_fulfillment_status", "currency",
                 "subtotal_price", "total_tax", "total_price")
_ITEM_FIELDS = ("quantity", "sku", "price")

F = reconciliation_findings
R = reconciliations
D = subscription_deliveries


class RetryRefused(ValueError):
    """A finding whose retry cannot help; the message says why and what to do instead."""


# -- time windows -----------------------------------------------------------------------------------

_DURATION = re.compile(r"\s*(\d{1,6})\s*([smhdw]?)\s*")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """``6h``, ``2d``, ``90m`` (that long ago) or an ISO 8601 time (UTC when it has no offset).

    Raises ValueError for anything else, and for a time in the future.
    """
    now = now or utcnow()
    text = (text or "").strip()
    if len(text) > 64:
        raise ValueError("since: too long; use a duration like 6h or an ISO 8601 time")
    m = _DURATION.fullmatch(text)
    if m:
        since = now - timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])
    else:
        try:
            since = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"since: {text!r} is neither a duration (6h, 2d, 90m) nor an ISO 8601 time "
                             "(2026-11-23T10:00:00Z)") from None
        if since.tzinfo is None:
            since = since.replace(tzinfo=timezone.utc)
    return check_since(since, now)


def check_since(since: datetime, now: datetime | None = None) -> datetime:
    now = now or utcnow()
    if since.tzinfo is None:
        raise ValueError(f"since {since.isoformat()} has no time zone; orderhub compares aware UTC times")
    since = as_utc(since)
    if since > now:
        raise ValueError(f"since {since.isoformat()} is in the future (now is {now.isoformat(timespec='seconds')})")
    return since


# -- the report -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Finding:
    order_shopify_id: str
    kind: str  # missing | stale | mismatch | extra | unacknowledged
    diff: dict[str, Any]  # field -> [orderhub, shopify] (for unacknowledged: [deliveries, expected])
    action: str  # reingested | error_logged | reported
    order_name: str | None = None
    id: int | None = None
    error_id: int | None = None  # the error-log entry that tracks it (error_logged findings)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "order_shopify_id": self.order_shopify_id, "order_name": self.order_name,
                "kind": self.kind, "diff": self.diff, "action": self.action, "error_id": self.error_id,
                "short": short_diff(self)}


@dataclass(frozen=True)
class Report:
    id: int
    shop: str
    since: datetime
    started_at: datetime
    finished_at: datetime | None
    actor: str
    summary: dict[str, Any]
    findings: tuple[Finding, ...] = ()

    @property
    def counts(self) -> dict[str, int]:
        """Findings per kind (every kind, zero included)."""
        return {k: int(self.summary.get(k, 0)) for k in KINDS}

    def to_json(self, *, with_findings: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id, "shop": self.shop, "since": self.since.isoformat(),
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "actor": self.actor, "counts": self.counts, "summary": self.summary}
        if with_findings:
            out["findings"] = [f.to_json() for f in self.findings]
        return out


_UTC_ISO = re.compile(r"(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(\.\d+)?\+00:00")


def _text(value: Any) -> str:
    """A diff value for people: ∅ for nothing, UTC times as ``2026-11-23 10:00:00``."""
    if value is None:
        return "∅"
    return _UTC_ISO.sub(r"\1 \2", str(value))


def short_diff(finding: Finding, limit: int = 4) -> str:
    """The diff in one line, for tables: ``total_price 38.20→40.00, items.12.sku SKU-1→SKU-2``."""
    diff = finding.diff
    if finding.kind == "missing":
        return f"not in orderhub (Shopify's version: {_text((diff.get('updated_at') or [None, None])[1])})"
    if finding.kind == "extra":
        return f"not in Shopify (orderhub's version: {_text((diff.get('updated_at') or [None, None])[0])})"
    if finding.kind == "unacknowledged":
        parts = [f"{key}: {', '.join(value[0])}" for key, value in diff.items()]
    else:
        parts = [f"{key} {_text(value[0])}→{_text(value[1])}" for key, value in diff.items()]
    more = len(parts) - limit
    return ", ".join(parts[:limit]) + (f" (+{more} more)" if more > 0 else "")


# -- the two views of an order ----------------------------------------------------------------------

@dataclass
class View:
    """What is compared: the Shopify view of one order, from Shopify or as orderhub stored it."""

    shopify_id: str
    name: str | None
    updated_at: datetime
    fields: dict[str, Any] = field(default_factory=dict)
    items: dict[str, dict[str, Any]] = field(default_factory=dict)


def shopify_view(payload: dict[str, Any]) -> View | None:
    """Shopify's order (webhook shape) as a View; None when it is not a valid order (the processor will say why)."""
    try:
        order = translate.order(payload)
    except InvalidRecord:
        return None
    return View(
        shopify_id=order.shopify_id, name=order.name, updated_at=order.updated_at,
        fields={"source_status": order.status.value, "source_financial_status": order.financial_status,
                "source_fulfillment_status": order.fulfillment_status, "currency": order.currency,
                "subtotal_price": order.subtotal_price, "total_tax": order.total_tax,
                "total_price": order.total_price},
        items={i.shopify_id: {"quantity": i.quantity, "sku": i.sku, "price": i.price} for i in order.items})


def stored_views(conn: Connection, shop_id: int, shopify_ids: Sequence[str]) -> dict[str, View]:
    """orderhub's stored Shopify view of these orders (those it has)."""
    if not shopify_ids:
        return {}
    rows = conn.execute(select(orders.c.id, orders.c.shopify_id, orders.c.name, orders.c.source_updated_at,
                               *[orders.c[f] for f in _ORDER_FIELDS])
                        .where(orders.c.shop_id == shop_id, orders.c.shopify_id.in_(list(shopify_ids)))).all()
    views = {r.id: View(shopify_id=r.shopify_id, name=r.name, updated_at=r.source_updated_at,
                        fields={f: getattr(r, f) for f in _ORDER_FIELDS}) for r in rows}
    if views:
        for item in conn.execute(select(order_items.c.order_id, order_items.c.shopify_id, order_items.c.quantity,
                                        order_items.c.sku, order_items.c.price)
                                 .where(order_items.c.order_id.in_(list(views)))):
            views[item.order_id].items[item.shopify_id] = {"quantity": item.quantity, "sku": item.sku,
                                                           "price": item.price}
    return {v.shopify_id: v for v in views.values()}


def _json_value(value: Any, currency: str | None = None) -> Any:
    if isinstance(value, Decimal):
        return money.show(value, currency)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def compare(ours: View, theirs: View) -> dict[str, list[Any]]:
    """``{field: [orderhub, shopify]}`` for every compared field that differs; lines by Shopify line id."""
    diff: dict[str, list[Any]] = {}
    mine, yours = ours.fields.get("currency"), theirs.fields.get("currency")  # each side's amounts in its own
    for name in _ORDER_FIELDS:
        a, b = ours.fields.get(name), theirs.fields.get(name)
        if a != b:  # Decimal compares by value: 38.2 == 38.2000
            diff[name] = [_json_value(a, mine), _json_value(b, yours)]
    for line_id in sorted(set(ours.items) | set(theirs.items), key=lambda i: (len(i), i)):
        a_line, b_line = ours.items.get(line_id), theirs.items.get(line_id)
        if a_line is None or b_line is None:
            diff[f"items.{line_id}"] = [
                None if a_line is None else {k: _json_value(v, mine) for k, v in a_line.items()},
                None if b_line is None else {k: _json_value(v, yours) for k, v in b_line.items()}]
            continue
        for name in _ITEM_FIELDS:
            if a_line.get(name) != b_line.get(name):
                diff[f"items.{line_id}.{name}"] = [_json_value(a_line.get(name), mine),
                                                   _json_value(b_line.get(name), yours)]
    return diff


# -- Shopify: one order by id -----------------------------------------------------------------------

def order_query(version: str) -> str:
    """One order by id, with the fields of the batch poll, so it has the same shape as a polled one."""
    return "query OrderById($id: ID!) {\n  order(id: $id) {%s}\n}\n" % graphql_orders.order_selection(version)


def fetch_order(client: AdminClient, shopify_id: str) -> dict[str, Any] | None:
    """One order from Shopify (``order(id:)``) in webhook shape; None when Shopify does not have it."""
    data = client.execute(order_query(client.version), {"id": f"gid://shopify/Order/{shopify_id}"})
    node = (data or {}).get("order")
    if node is None:
        return None
    complete_order(client, node)
    return graphql_orders.to_rest(node)


# -- a run ------------------------------------------------------------------------------------------

@dataclass
class _Pending:
    """A finding before it is stored, with what its error-log entry needs."""

    finding: Finding
    error: str | None = None  # set: the finding goes to the error log with this text
    payload: dict[str, Any] | None = None


class _Run:
    def __init__(self, hub: Hub, shop: Shop, since: datetime, client: AdminClient, reingest: bool,
                 progress: Progress = NOWHERE) -> None:
        self.hub, self.shop, self.since, self.client, self.reingest = hub, shop, since, client, reingest
        self.progress = progress
        self.pending: list[_Pending] = []
        self.in_step: set[str] = set()
        self.seen: set[str] = set()
        self.stats = {"shopify_orders": 0, "orderhub_orders": 0, "inbox_stored": 0,
                      "inbox_duplicates": 0}

    def scan_shopify(self) -> None:
        self.progress.total(None, "orders")  # Shopify says how many only page by page
        for payloads in poll_orders(self.client, updated_since_query(self.since)):
            self.check(payloads)
            self.progress.advance(len(payloads))

    def check(self, payloads: list[dict[str, Any]]) -> None:
        ids = [str(p["id"]) for p in payloads]
        with self.hub.db.read() as conn:
            stored = stored_views(conn, self.shop.id, ids)
        to_inbox = []
        for shopify_id, payload in zip(ids, payloads, strict=True):
            if shopify_id in self.seen:  # updated while we paged (the sort is by updated_at): the later one wins
                self.pending = [p for p in self.pending if p.finding.order_shopify_id != shopify_id]
                self.in_step.discard(shopify_id)
            else:
                self.seen.add(shopify_id)
                self.stats["shopify_orders"] += 1
            if self.judge(shopify_id, stored.get(shopify_id), payload):
                to_inbox.append(payload)
        if to_inbox and self.reingest:
            stored_flags = insert_entries(self.hub.db, [inbox_entry(self.shop.id, p) for p in to_inbox])
            self.stats["inbox_stored"] += sum(stored_flags)
            self.stats["inbox_duplicates"] += len(stored_flags) - sum(stored_flags)

    def judge(self, shopify_id: str, ours: View | None, payload: dict[str, Any]) -> bool:
        """Adds the finding for one order Shopify has; True when its Shopify version should go in the inbox."""
        action = "reingested" if self.reingest else "reported"
        theirs = shopify_view(payload)
        name = payload.get("name") if isinstance(payload.get("name"), str) else None
        shopify_updated = theirs.updated_at if theirs else _time_or_none(payload.get("updated_at"))
        if ours is None:
            diff = {"exists": [False, True], "name": [None, name],
                    "updated_at": [None, _json_value(shopify_updated)]}
            self.add(Finding(shopify_id, "missing", diff, action, order_name=name))
            return True
        if shopify_updated is not None and shopify_updated > ours.updated_at:
            diff = {"updated_at": [ours.updated_at.isoformat(), shopify_updated.isoformat()]}
            if theirs is not None:
                diff |= compare(ours, theirs)
            self.add(Finding(shopify_id, "stale", diff, action, order_name=ours.name or name))
            return True
        diff = compare(ours, theirs) if theirs is not None else {}
        if not diff:
            self.in_step.add(shopify_id)
            return False
        label = _label(ours.name or name, shopify_id)
        fields = ", ".join(diff)
        if shopify_updated is not None and shopify_updated < ours.updated_at:
            why = (f"orderhub holds a newer version (updated_at {ours.updated_at.isoformat()}) than the one Shopify "
                   f"returned ({shopify_updated.isoformat()})")
        else:
            why = f"at the same version (updated_at {ours.updated_at.isoformat()})"
        error = (f"{label} differs from Shopify {why} in {fields}. orderhub does not overwrite a version with "
                 "the same or an older one, so check which side is right: correct the order, or dismiss this "
                 "entry with the reason.")
        self.add(Finding(shopify_id, "mismatch", diff, "error_logged", order_name=ours.name or name),
                 error=error, payload={"diff": diff, "shopify": payload})
        return False

    def add(self, finding: Finding, error: str | None = None, payload: dict[str, Any] | None = None) -> None:
        self.pending.append(_Pending(finding, error, payload))

    def scan_extras(self) -> None:
        """orderhub's orders updated in the window that Shopify did not return, each confirmed by id."""
        with self.hub.db.read() as conn:
            rows = conn.execute(select(orders.c.shopify_id, orders.c.name, orders.c.source_updated_at,
                                       orders.c.total_price, orders.c.currency)
                                .where(orders.c.shop_id == self.shop.id, orders.c.source_updated_at >= self.since)
                                .order_by(orders.c.id)).all()
        self.stats["orderhub_orders"] = len(rows)
        for row in rows:
            if row.shopify_id in self.seen:
                continue
            payload = fetch_order(self.client, row.shopify_id)
            if payload is not None:  # changed while we polled, or outside Shopify's search: compare it
                self.check([payload])
                continue
            updated = row.source_updated_at.isoformat()
            diff = {"exists": [True, False], "name": [row.name, None], "updated_at": [updated, None]}
            error = (f"{_label(row.name, row.shopify_id)} is in orderhub (updated_at {updated}) "
                     f"but Shopify ({self.shop.domain}) does not have it when asked by id. Check whether it was "
                     "deleted in Shopify or did not come from this shop, then dismiss this entry with the reason.")
            orderhub = {"shopify_id": row.shopify_id, "name": row.name, "source_updated_at": updated,
                        "total_price": money.show(row.total_price, row.currency), "currency": row.currency}
            self.add(Finding(row.shopify_id, "extra", diff, "error_logged", order_name=row.name),
                     error=error, payload={"diff": diff, "orderhub": orderhub, "shopify": None})

    def scan_unacknowledged(self, after: timedelta) -> None:
        cutoff = utcnow() - after
        stmt = (select(orders.c.shopify_id, orders.c.name, D.c.id, D.c.subscription_id, D.c.status,
                       D.c.attempts, outbox.c.event_type)
                .select_from(D.join(outbox, outbox.c.id == D.c.outbox_id)
                             .join(orders, orders.c.id == outbox.c.order_id))
                .where(orders.c.shop_id == self.shop.id,
                       or_(orders.c.source_updated_at >= self.since, outbox.c.created_at >= self.since),
                       or_(D.c.status == "failed",
                           and_(D.c.status.in_(("pending", "sending")), D.c.created_at < cutoff)))
                .order_by(orders.c.id, D.c.subscription_id, D.c.id))
        with self.hub.db.read() as conn:
            rows = conn.execute(stmt).all()
        by_order: dict[str, tuple[str | None, dict[str, list[Any]]]] = {}
        for r in rows:
            _name, diff = by_order.setdefault(r.shopify_id, (r.name, {}))
            entry = diff.setdefault(f"subscription:{r.subscription_id}", [[], "delivered"])
            entry[0].append(f"{r.event_type} {r.status} (delivery {r.id}, {r.attempts} "
                            f"attempt{'' if r.attempts == 1 else 's'})")
        for shopify_id, (name, diff) in by_order.items():
            self.add(Finding(shopify_id, "unacknowledged", diff, "reported", order_name=name))


def _label(name: str | None, shopify_id: str) -> str:
    return f"order {name} (Shopify id {shopify_id})" if name else f"order with Shopify id {shopify_id}"


def _time_or_none(value: Any) -> datetime | None:
    try:
        return parse_time(value)
    except InvalidRecord:
        return None


def _latest_entry(conn: Connection, shop_id: int, shopify_id: str, kind: str, before: int | None = None) -> Any:
    """The newest error-log entry of this shop's findings of ``kind`` for the order (of findings up to ``before``)."""
    stmt = (select(E.c.id, E.c.status, E.c.payload,
                   E.c.record_id)
            .join(F, F.c.id == E.c.record_id).join(R, R.c.id == F.c.reconciliation_id)
            .where(E.c.record_type == RECORD_TYPE, R.c.shop_id == shop_id,
                   F.c.order_shopify_id == shopify_id, F.c.kind == kind))
    if before is not None:
        stmt = stmt.where(F.c.id <= before)
    return conn.execute(stmt.order_by(E.c.id.desc()).limit(1)).first()


def _log_error(conn: Connection, shop: Shop, reconciliation_id: int, finding_id: int, p: _Pending) -> int | None:
    """One error-log entry per order still wrong: reuse the open one, skip one dismissed with the same diff."""
    assert p.error is not None and p.payload is not None
    f = p.finding
    existing = _latest_entry(conn, shop.id, f.order_shopify_id, f.kind)
    record_id = finding_id
    if existing is not None:
        if existing.status in ("open", "retrying"):
            record_id = int(existing.record_id)
        elif existing.status == "dismissed" and _payload_diff(existing.payload) == f.diff:
            return None  # a person already looked at exactly this and dismissed it
    now = utcnow()
    text = f"reconciliation {reconciliation_id}: {p.error}"
    payload = {"reconciliation_id": reconciliation_id, "finding_id": finding_id,
               "order": {"shopify_id": f.order_shopify_id, "name": f.order_name}} | p.payload
    return error_log.record(conn, error_log.Failure(
        record_type=RECORD_TYPE, record_id=record_id, shop_id=shop.id, topic=TOPIC, source="reconcile",
        kind="mismatch", error=text, field=next(iter(f.diff), None),
        payload=orjson.dumps(payload, default=str).decode(),
        attempts=({"at": now.isoformat(), "kind": f.kind, "error": text, "reconciliation_id": reconciliation_id},)))


def _payload_diff(payload: str) -> Any:
    try:
        return orjson.loads(payload).get("diff")
    except (orjson.JSONDecodeError, AttributeError):
        return None


def _resolve_retried(conn: Connection, shop_id: int, in_step: set[str]) -> int:
    """Entries a person retried whose order is now in step with Shopify: resolved."""
    if not in_step:
        return 0
    rows = conn.execute(select(E.c.record_id, F.c.order_shopify_id)
                        .join(F, F.c.id == E.c.record_id).join(R, R.c.id == F.c.reconciliation_id)
                        .where(E.c.record_type == RECORD_TYPE,
                               E.c.status == "retrying", R.c.shop_id == shop_id)).all()
    done = 0
    for r in rows:
        if r.order_shopify_id in in_step:
            error_log.resolve(conn, RECORD_TYPE, int(r.record_id))
            done += 1
    return done


def _shop_for(hub: Hub, shop_domain: str) -> Shop:
    with hub.db.read() as conn:
        shop = by_domain(conn, shop_domain)
    if shop is None:
        raise LookupError(f"no shop {shop_domain.strip().lower()}; add it with `orderhub shop add DOMAIN ...`")
    if shop.status == "uninstalled":
        raise ValueError(f"shop {shop.domain} uninstalled the app; add it again before reconciling")
    return shop


def reconcile(hub: Hub, shop_domain: str, since: datetime, *, actor: str, reingest: bool = True,
              client: AdminClient | None = None,
              unacknowledged_after: timedelta = UNACKNOWLEDGED_AFTER, progress: Progress = NOWHERE) -> Report:
    """Compare the shop's orders updated since ``since`` with Shopify and with subscribers; store the report.

    Raises LookupError (no such shop), ValueError (since in the future, no access token, uninstalled)
    and the Shopify client's errors; a run that fails part-way keeps its row, with the error in the summary.
    """
    since = check_since(since)
    shop = _shop_for(hub, shop_domain)
    own_client = client is None
    client = client or admin_client(shop)
    started = utcnow()
    with hub.db.write() as conn:
        rid = int(conn.execute(insert(R).values(shop_id=shop.id, since=since, started_at=started, summary="{}",
                                                actor=actor[:100]).returning(R.c.id)).scalar_one())
    log.info("reconciliation_started", reconciliation_id=rid, shop=shop.domain, since=since.isoformat())
    run = _Run(hub, shop, since, client, reingest, progress)
    try:
        run.scan_shopify()
        run.scan_extras()
        run.scan_unacknowledged(unacknowledged_after)
    except Exception as exc:
        summary = run.stats | {"error": f"{type(exc).__name__}: {exc}"[:2000]}
        with hub.db.write() as conn:
            conn.execute(update(R).where(R.c.id == rid).values(summary=orjson.dumps(summary).decode(),
                                                               finished_at=utcnow()))
        log.warning("reconciliation_failed", reconciliation_id=rid, shop=shop.domain, error=summary["error"])
        raise
    finally:
        if own_client:
            client.client.close()
    findings = []
    with hub.db.write() as conn:
        for p in run.pending:
            fid = int(conn.execute(insert(F).values(
                reconciliation_id=rid, order_shopify_id=p.finding.order_shopify_id, kind=p.finding.kind,
                diff=orjson.dumps(p.finding.diff, default=str).decode(), action=p.finding.action)
                .returning(F.c.id)).scalar_one())
            finding = replace(p.finding, id=fid)
            if p.error is not None:
                error_id = _log_error(conn, shop, rid, fid, p)
                if error_id is None:
                    finding = replace(finding, action="reported")
                    conn.execute(update(F).where(F.c.id == fid).values(action="reported"))
                finding = replace(finding, error_id=error_id)
            findings.append(finding)
        summary: dict[str, Any] = {k: sum(1 for f in findings if f.kind == k) for k in KINDS}
        summary |= run.stats | {"in_step": len(run.in_step)}
        summary["reingested"] = sum(1 for f in findings if f.action == "reingested")
        summary["error_logged"] = sum(1 for f in findings if f.action == "error_logged")
        summary["resolved"] = _resolve_retried(conn, shop.id, run.in_step)
        finished = utcnow()
        conn.execute(update(R).where(R.c.id == rid).values(summary=orjson.dumps(summary).decode(),
                                                           finished_at=finished))
    log.info("reconciliation_finished", reconciliation_id=rid, shop=shop.domain,
             **{k: v for k, v in summary.items() if isinstance(v, int)})
    return Report(id=rid, shop=shop.domain, since=since, started_at=started, finished_at=finished, actor=actor[:100],
                  summary=summary, findings=tuple(findings))


# -- reading reports --------------------------------------------------------------------------------

def _report(row: Any, findings: Iterable[Finding] = ()) -> Report:
    return Report(id=int(row.id), shop=row.shop, since=row.since, started_at=row.started_at,
                  finished_at=row.finished_at, actor=row.actor, summary=orjson.loads(row.summary),
                  findings=tuple(findings))


def _reports_query() -> Any:
    return select(R, shops.c.domain.label("shop")).join(shops, shops.c.id == R.c.shop_id)


def list_reports(conn: Connection, *, shop: str | None = None, limit: int = 50, offset: int = 0) -> list[Report]:
    """Newest first, without their findings."""
    stmt = _reports_query()
    if shop:
        stmt = stmt.where(shops.c.domain == shop.strip().lower())
    return [_report(r) for r in conn.execute(stmt.order_by(R.c.id.desc()).limit(limit).offset(offset))]


def count_reports(conn: Connection, *, shop: str | None = None) -> int:
    stmt = select(func.count()).select_from(R.join(shops, shops.c.id == R.c.shop_id))
    if shop:
        stmt = stmt.where(shops.c.domain == shop.strip().lower())
    return int(conn.execute(stmt).scalar_one())


def get_report(conn: Connection, reconciliation_id: int) -> Report | None:
    """A report with its findings; order names from orderhub where the diff does not carry them."""
    row = conn.execute(_reports_query().where(R.c.id == reconciliation_id)).first()
    if row is None:
        return None
    names = {r.shopify_id: r.name for r in conn.execute(select(orders.c.shopify_id, orders.c.name).where(
        orders.c.shop_id == row.shop_id,
        orders.c.shopify_id.in_(select(F.c.order_shopify_id).where(F.c.reconciliation_id == reconciliation_id))))}
    findings = []
    for f in conn.execute(select(F).where(F.c.reconciliation_id == reconciliation_id).order_by(F.c.id)):
        diff = orjson.loads(f.diff)
        name = names.get(f.order_shopify_id)
        if name is None and isinstance(diff.get("name"), list):
            name = next((n for n in diff["name"] if n), None)
        error_id = None
        if f.action == "error_logged":
            entry = _latest_entry(conn, row.shop_id, f.order_shopify_id, f.kind, before=f.id)
            error_id = None if entry is None else int(entry.id)
        findings.append(Finding(f.order_shopify_id, f.kind, diff, f.action, order_name=name, id=int(f.id),
                                error_id=error_id))
    return _report(row, findings)


# -- error-log review -------------------------------------------------------------------------------

def retry_finding(db: Database, finding_id: int, *, client: AdminClient | None = None) -> None:
    """Re-poll the finding's order from Shopify and put it in the inbox (deduplicated like any poll).

    For the error log's *retry* of a ``reconciliation`` entry (``record_id`` is the finding id).
    Call it outside an open write transaction: it asks Shopify over HTTP and writes the inbox
    in its own transaction. A later reconciliation that finds the order in step resolves a
    retried entry.

    Raises LookupError when there is no such finding, and :class:`RetryRefused` (a ValueError)
    when a retry cannot help: the finding is about outbound deliveries, Shopify does not have
    the order, or the version Shopify has is the one orderhub already applied (re-ingesting
    it changes nothing). Shopify's client errors (AuthError, ShopifyError) pass through.
    """
    with db.read() as conn:
        row = conn.execute(select(F.c.order_shopify_id, F.c.kind, R.c.shop_id).join(R, R.c.id == F.c.reconciliation_id)
                           .where(F.c.id == finding_id)).first()
        shop = None if row is None else by_id(conn, row.shop_id)
    if row is None or shop is None:
        raise LookupError(f"no reconciliation finding {finding_id}")
    order_id = row.order_shopify_id
    if row.kind == "unacknowledged":
        raise RetryRefused(f"finding {finding_id} is about outbound webhook deliveries of order {order_id}; retry "
                           "those deliveries in the error log (record type subscription) instead")
    own_client = client is None
    client = client or admin_client(shop)
    try:
        payload = fetch_order(client, order_id)
    finally:
        if own_client:
            client.client.close()
    if payload is None:
        raise RetryRefused(f"Shopify ({shop.domain}) does not have order {order_id}, so there is nothing to "
                           "re-ingest; deal with the order in orderhub, then dismiss this entry")
    entry = inbox_entry(shop.id, payload)
    if insert_entries(db, [entry])[0]:
        log.info("reconciliation_retry_queued", finding_id=finding_id, order=order_id, shop=shop.domain)
        return
    with db.read() as conn:
        waiting = conn.execute(select(inbox.c.id, inbox.c.status).where(
            inbox.c.shop_id == shop.id, inbox.c.identity == entry.identity)).first()
    if waiting is not None and waiting.status in ("pending", "processing"):
        return  # that version is already on its way
    where = "" if waiting is None else f" (inbox record {waiting.id}, {waiting.status})"
    hint = ("retry the inbox record's own error-log entry" if waiting is not None and waiting.status == "failed"
            else "re-ingesting it changes nothing: correct the order in orderhub, or dismiss this entry")
    raise RetryRefused(f"Shopify's current version of order {payload.get('name') or ''} (Shopify id {order_id}, "
                       f"updated_at {payload.get('updated_at')}) is already in orderhub's inbox{where}; {hint}")
