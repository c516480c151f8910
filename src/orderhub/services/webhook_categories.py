"""Shopify webhook subscriptions per job category: subscribe, unsubscribe, report, repair.

Each category of the job manager names the Shopify topics its real-time flow needs
(``CATEGORIES[...].topics``). orderhub keeps a record of what it subscribed, per shop,
category and topic, in ``job_state`` (job ``check-webhooks``): the subscription's id, its
callback URL, when it was made and when it was last seen at Shopify. The record tells a
subscription Shopify removed (after its deliveries kept failing) from one never made, so
``check-webhooks`` can re-create it and back-fill the gap with the category's batch job.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import orjson
from sqlalchemy import Connection, delete, func, select

from orderhub.adapters.shopify import subscriptions as shopify_subscriptions
from orderhub.adapters.shopify.graphql import AdminClient, AuthError, ShopifyError
from orderhub.adapters.store import job_store
from orderhub.adapters.store.db import upsert
from orderhub.adapters.store.schema import inbox, job_state
from orderhub.adapters.store.shops import Shop
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.domain.jobs import CATEGORIES, category
from orderhub.services.jobs import registry
from orderhub.services.jobs.import_orders import admin_client
from orderhub.services.jobs.manager import JobBusy, JobManager

RECORD_JOB = "check-webhooks"  # the job_state namespace of the records
SUBSCRIBED, MISSING, OTHER_ADDRESS = "subscribed", "missing", "other-address"
# The batch job that backs up each category's webhooks (orders: new orders and every change since).
BACKFILL_JOBS: dict[str, str] = {"orders": "import-order-updates", "products": "sync-products",
                                 "inventory": "sync-inventory-from-shopify"}
# Shopify retries a failing webhook for about 4 hours before it removes the subscription: no webhook
# lost to a removal was first sent longer than this before the removal.
SHOPIFY_RETRY_WINDOW = timedelta(hours=4)
INBOUND_SOURCES = ("webhook", "eventbridge")

Log = Callable[[str], None]


@dataclass(frozen=True)
class Record:
    """What orderhub subscribed for one topic of one category of a shop."""

    category: str
    topic: str
    subscription_id: str | None
    callback_url: str
    subscribed_at: datetime
    last_seen_at: datetime

    def to_json(self) -> str:
        return orjson.dumps(asdict(self)).decode()

    @classmethod
    def from_json(cls, text: str) -> Record:
        data = orjson.loads(text)
        return cls(category=data["category"], topic=data["topic"], subscription_id=data.get("subscription_id"),
                   callback_url=data["callback_url"], subscribed_at=datetime.fromisoformat(data["subscribed_at"]),
                   last_seen_at=datetime.fromisoformat(data["last_seen_at"]))


@dataclass(frozen=True)
class TopicState:
    """One topic of a category as Shopify has it, compared with orderhub's address."""

    topic: str
    state: str  # subscribed | missing | other-address
    subscription_id: str | None = None
    callback_url: str | None = None
    other_addresses: tuple[str, ...] = ()  # the app's subscriptions of this topic to other URLs
    recorded: bool = False  # orderhub subscribed it (and has not unsubscribed it since)
    last_seen_at: datetime | None = None
    note: str = ""
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["other_addresses"] = list(self.other_addresses)
        out["last_seen_at"] = self.last_seen_at.isoformat() if self.last_seen_at else None
        return out


class WebhookError(ValueError):
    """A request about a category's webhooks that cannot be done as asked."""


def topics_of(code: str) -> tuple[str, ...]:
    """The category's Shopify topics; refuses unknown categories and those without topics."""
    try:
        topics = category(code).topics
    except ValueError as exc:
        raise WebhookError(str(exc)) from None
    if not topics:
        with_topics = ", ".join(c.code for c in CATEGORIES if c.topics)
        raise WebhookError(f"category {code} has no Shopify webhook topics; categories with topics: {with_topics}")
    return topics


def check_address(address: str | None) -> str:
    """The callback URL orderhub receives webhooks at (its ``/webhooks/shopify``), checked."""
    text = (address or "").strip()
    if not text:
        raise WebhookError("an address is required to subscribe: the public URL of orderhub's /webhooks/shopify, "
                           "e.g. https://hub.example.com/webhooks/shopify")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in text):
        raise WebhookError(f"address {text[:200]!r} is not an http(s) URL; use the public URL of orderhub's "
                           "/webhooks/shopify, e.g. https://hub.example.com/webhooks/shopify")
    return text


def _same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.rstrip("/") == b.rstrip("/")


# -- orderhub's record ---------------------------------------------------------------------------------

def _key(code: str, topic: str) -> str:
    return f"webhook:{code}:{topic}"


def records(conn: Connection, shop_id: int, code: str | None = None) -> list[Record]:
    """orderhub's records for the shop (one category, or all)."""
    prefix = "webhook:" if code is None else f"webhook:{code}:"
    rows = conn.execute(select(job_state.c.value).where(
        job_state.c.job == RECORD_JOB, job_state.c.shop_id == shop_id, job_state.c.key.startswith(prefix))
        .order_by(job_state.c.key))
    return [Record.from_json(r.value) for r in rows]


def _save(conn: Connection, shop_id: int, record: Record) -> None:
    upsert(conn, job_state, dict(job=RECORD_JOB, shop_id=shop_id, key=_key(record.category, record.topic),
                                 value=record.to_json()), keys=("job", "shop_id", "key"), update=("value",))


def _drop(conn: Connection, shop_id: int, code: str, topic: str) -> None:
    conn.execute(delete(job_state).where(job_state.c.job == RECORD_JOB, job_state.c.shop_id == shop_id,
                                         job_state.c.key == _key(code, topic)))


# -- Shopify -------------------------------------------------------------------------------------------

@contextmanager
def _admin(shop: Shop, client: AdminClient | None) -> Iterator[AdminClient]:
    """The shop's Admin API client (closed afterwards unless the caller passed its own)."""
    if client is not None:
        yield client
        return
    if shop.status == "uninstalled":
        raise WebhookError(f"shop {shop.domain} uninstalled the app; add it again before managing its webhooks")

    made = admin_client(shop)
    try:
        yield made
    finally:
        made.client.close()


def _by_topic(found: Sequence[dict[str, Any]], topics: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    return {t: [s for s in found if s["topic"] == t] for t in topics}


def classify(topic: str, found: Sequence[dict[str, Any]], reference: str | None,
             record: Record | None) -> TopicState:
    """The state of ``topic`` given the app's subscriptions of it at Shopify (``found``) and the address
    orderhub expects (``reference``: none known means any subscription of the topic counts)."""
    mine = [s for s in found if reference is None or _same(s["callback_url"], reference)]
    others = tuple(s["callback_url"] or "" for s in found if s not in mine)
    seen = record.last_seen_at if record else None
    if mine:
        return TopicState(topic, SUBSCRIBED, mine[0]["id"], mine[0]["callback_url"], others, record is not None,
                          seen)
    if others:
        return TopicState(topic, OTHER_ADDRESS, found[0]["id"], found[0]["callback_url"], others,
                          record is not None, seen, note=f"not subscribed to {reference}")
    note = (f"removed at Shopify (orderhub subscribed it {record.subscribed_at:%Y-%m-%d %H:%M} UTC, last seen "
            f"{record.last_seen_at:%Y-%m-%d %H:%M} UTC)" if record else "never subscribed")
    return TopicState(topic, MISSING, recorded=record is not None, last_seen_at=seen, note=note)


def _reference(address: str | None, record: Record | None, recs: Sequence[Record]) -> str | None:
    if address:
        return address
    if record is not None:
        return record.callback_url
    return recs[0].callback_url if recs else None


def state(hub: Hub, shop: Shop, code: str, *, address: str | None = None,
          client: AdminClient | None = None) -> list[TopicState]:
    """Each topic of the category at Shopify: subscribed, missing or subscribed to another address.

    Compared with ``address`` if given, else with the address orderhub subscribed it to. Topics seen
    subscribed have their record's ``last_seen_at`` moved on."""
    topics = topics_of(code)
    reference_address = check_address(address) if address else None
    with _admin(shop, client) as admin:
        found = _by_topic(shopify_subscriptions.list_subscriptions(admin), topics)
    now = utcnow()
    with hub.db.write() as conn:
        recs = {r.topic: r for r in records(conn, shop.id, code)}
        out = []
        for topic in topics:
            record = recs.get(topic)
            if record is not None:  # still at Shopify where orderhub subscribed it: seen now
                present = next((s for s in found[topic] if _same(s["callback_url"], record.callback_url)), None)
                if present is not None:
                    record = _seen(conn, shop.id, record, str(present["id"]), now)
            out.append(classify(topic, found[topic], _reference(reference_address, record, list(recs.values())),
                                record))
    return out


def _seen(conn: Connection, shop_id: int, record: Record, subscription_id: str | None, now: datetime) -> Record:
    moved = Record(record.category, record.topic, subscription_id or record.subscription_id, record.callback_url,
                   record.subscribed_at, now)
    _save(conn, shop_id, moved)
    return moved


def _create(admin: AdminClient, topic: str, address: str) -> str:
    """Subscribe ``topic`` to ``address``; the subscription's id (also when it existed already)."""
    result = shopify_subscriptions.subscribe(admin, topic, address)
    if result.get("id"):
        return str(result["id"])
    for s in shopify_subscriptions.list_subscriptions(admin):
        if s["topic"] == topic and _same(s["callback_url"], address):
            return str(s["id"])
    raise ShopifyError(f"subscribing {topic}: Shopify said it was subscribed already but does not list it")


def subscribe(hub: Hub, shop: Shop, code: str, address: str, *, client: AdminClient | None = None
              ) -> list[TopicState]:
    """Subscribe every topic of the category to ``address`` (those subscribed there already are kept)
    and record them. A topic Shopify refuses is reported with its error; the others go ahead."""
    return _subscribe(hub, shop, [(code, topic) for topic in topics_of(code)], address, client)


def category_of(topic: str) -> str:
    """The job category a Shopify topic is recorded under: the category that names it, else the one
    naming a topic of the same resource (orders/updated: orders; its batch job backs it up), else misc."""
    resource = topic.split("/", 1)[0]
    named = next((c.code for c in CATEGORIES if topic in c.topics), None)
    same_resource = next((c.code for c in CATEGORIES if any(t.split("/", 1)[0] == resource for t in c.topics)), None)
    return named or same_resource or "misc"


def subscribe_topics(hub: Hub, shop: Shop, topics: Sequence[str], address: str, *,
                     client: AdminClient | None = None) -> list[TopicState]:
    """Subscribe these topics to ``address`` and record each under its category (:func:`category_of`),
    so the dashboard lists them and ``check-webhooks`` re-creates them if Shopify removes them."""
    return _subscribe(hub, shop, [(category_of(topic), topic) for topic in topics], address, client)


def _subscribe(hub: Hub, shop: Shop, wanted: Sequence[tuple[str, str]], address: str,
               client: AdminClient | None) -> list[TopicState]:
    address = check_address(address)
    topics = [topic for _code, topic in wanted]
    now = utcnow()
    out: list[TopicState] = []
    with _admin(shop, client) as admin:
        found = _by_topic(shopify_subscriptions.list_subscriptions(admin), topics)
        for code, topic in wanted:
            current = classify(topic, found[topic], address, None)
            try:
                sub_id = current.subscription_id if current.state == SUBSCRIBED else _create(admin, topic, address)
            except AuthError:
                raise
            except ShopifyError as exc:
                out.append(TopicState(topic, MISSING, other_addresses=current.other_addresses,
                                      note="Shopify refused the subscription", error=f"{topic}: {exc}"))
                continue
            record = Record(code, topic, sub_id, address, now, now)
            with hub.db.write() as conn:
                _save(conn, shop.id, record)
            out.append(TopicState(topic, SUBSCRIBED, sub_id, address, current.other_addresses, True, now))
    return out


def unsubscribe(hub: Hub, shop: Shop, code: str, *, client: AdminClient | None = None) -> list[TopicState]:
    """Delete the app's subscriptions of the category's topics (whatever their address) and orderhub's
    records of them, so ``check-webhooks`` no longer re-creates them."""
    topics = topics_of(code)
    out: list[TopicState] = []
    with _admin(shop, client) as admin:
        found = _by_topic(shopify_subscriptions.list_subscriptions(admin), topics)
        for topic in topics:
            errors = []
            for s in found[topic]:
                try:
                    shopify_subscriptions.unsubscribe(admin, s["id"])
                except AuthError:
                    raise
                except ShopifyError as exc:
                    errors.append(f"{topic}: deleting subscription {s['id']}: {exc}")
            if errors:
                left = tuple(s["callback_url"] or "" for s in found[topic])
                out.append(TopicState(topic, OTHER_ADDRESS if left else MISSING, other_addresses=left,
                                      recorded=True, error="; ".join(errors)))
                continue
            with hub.db.write() as conn:
                _drop(conn, shop.id, code, topic)
            out.append(TopicState(topic, MISSING, note="unsubscribed"))
    return out


# -- check-webhooks --------------------------------------------------------------------------------------

@dataclass
class CheckReport:
    """What a check of a shop's recorded subscriptions found and did."""

    checked: int = 0
    present: list[str] = field(default_factory=list)
    recreated: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    backfill: list[dict[str, Any]] = field(default_factory=list)
    not_backfilled: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def last_webhook_at(conn: Connection, shop_id: int, topics: Sequence[str]) -> datetime | None:
    """When orderhub last received a webhook (or EventBridge event) of these topics from the shop."""
    return conn.execute(select(func.max(inbox.c.received_at)).where(
        inbox.c.shop_id == shop_id, inbox.c.topic.in_(list(topics)), inbox.c.source.in_(INBOUND_SOURCES))).scalar()


def backfill_start(removed: Sequence[Record], last_webhook: datetime | None, buffer: timedelta) -> datetime:
    """Where the back-fill of removed subscriptions starts, less ``buffer``: the last webhook of their
    topics orderhub received, unless a later moment is known to come before every lost webhook.

    A webhook lost to a removal failed at every attempt until Shopify removed the subscription, so it
    was first sent after the subscription was made, and within Shopify's retry window before the
    removal, which came after the subscription was last seen. Without any webhook received, the start
    is therefore the later of "made" and "last seen less the retry window" (never later than the last
    sighting); with webhooks arriving, it is the last one."""
    made = min(r.subscribed_at for r in removed)
    seen = min(r.last_seen_at for r in removed)
    bounds = [made, seen - SHOPIFY_RETRY_WINDOW] + ([last_webhook] if last_webhook else [])
    return max(bounds) - buffer


def check(hub: Hub, shop: Shop, *, categories: Sequence[str] = (), address: str | None = None,
          buffer: timedelta = timedelta(minutes=10), run_backfill: bool = False, parent_run_id: int | None = None,
          log: Log = lambda _m: None, client: AdminClient | None = None) -> CheckReport:
    """Re-create the recorded subscriptions Shopify no longer has (at ``address``, or where each was),
    then back-fill each category's gap with its batch job."""
    address = check_address(address) if address else None
    for code in categories:
        topics_of(code)
    report = CheckReport()
    with hub.db.read() as conn:
        recs = [r for r in records(conn, shop.id) if not categories or r.category in categories]
    if not recs:
        log(f"no webhook subscriptions recorded for {shop.domain}"
            + (f" in {', '.join(categories)}" if categories else "")
            + "; subscribe a category with `orderhub jobs webhooks CATEGORY --shop DOMAIN --subscribe --address URL`")
        return report
    now = utcnow()
    removed: dict[str, list[tuple[Record, Record]]] = {}  # category -> (as recorded, as re-created)
    seen: list[tuple[Record, str]] = []
    with _admin(shop, client) as admin:
        found = shopify_subscriptions.list_subscriptions(admin)
        for rec in recs:
            report.checked += 1
            present = next((s for s in found if s["topic"] == rec.topic and _same(s["callback_url"],
                                                                                  rec.callback_url)), None)
            if present is not None:
                report.present.append(rec.topic)
                seen.append((rec, str(present["id"])))
                continue
            target = address or rec.callback_url
            log(f"{rec.category}: {rec.topic} is no longer subscribed at Shopify (subscribed "
                f"{rec.subscribed_at.isoformat(timespec='seconds')}, last seen "
                f"{rec.last_seen_at.isoformat(timespec='seconds')}); re-creating it for {target}")
            try:
                sub_id = _create(admin, rec.topic, target)
            except AuthError:
                raise
            except ShopifyError as exc:
                report.failed[rec.topic] = str(exc)
                log(f"{rec.category}: re-creating {rec.topic} failed: {exc}")
                continue
            report.recreated.append(rec.topic)
            removed.setdefault(rec.category, []).append((rec, Record(rec.category, rec.topic, sub_id, target, now,
                                                                     now)))
    with hub.db.write() as conn:
        for rec, sub_id in seen:
            _seen(conn, shop.id, rec, sub_id, now)
    for code, pairs in removed.items():
        _backfill(hub, shop, code, pairs, buffer, run_backfill, parent_run_id, report, log)
    return report


def _backfill_job(code: str) -> str | None:
    """The registered batch job that backs up the category's webhooks, if it has one yet."""
    job = BACKFILL_JOBS.get(code)
    if job is None:
        return None
    try:
        registry.get(job)
    except LookupError:
        return None
    return job


def _takes_since(job: str) -> bool:
    return any(p.name == "since" for p in registry.get(job).definition.params)


def _backfill(hub: Hub, shop: Shop, code: str, pairs: list[tuple[Record, Record]], buffer: timedelta,
              run_now: bool, parent_run_id: int | None, report: CheckReport, log: Log) -> None:
    """Record the re-created subscriptions and, in the same transaction, queue the back-fill of what the
    removed ones missed (or run it here): a failure in between leaves the old records, so the next
    check back-fills from the same start."""
    gone, made = [old for old, _new in pairs], [new for _old, new in pairs]
    topics = [r.topic for r in gone]
    with hub.db.read() as conn:
        last = last_webhook_at(conn, shop.id, topics)
    since = backfill_start(gone, last, buffer)
    job = _backfill_job(code)
    entry: dict[str, Any] = {"category": code, "job": job, "topics": topics, "since": since.isoformat(),
                             "last_webhook_at": last.isoformat() if last else None}
    params = {"since": since.isoformat()} if job and _takes_since(job) else {}  # a full sync needs no window
    with hub.db.write() as conn:
        for record in made:
            _save(conn, shop.id, record)
        if job is not None and not run_now:
            run_id = job_store.queue(conn, job=job, shop_id=shop.id, params=orjson.dumps(params).decode(),
                                     trigger="backfill", available_at=utcnow(), parent_run_id=parent_run_id)
            entry |= {"run_id": run_id, "status": "queued"}
    if job is None:
        del entry["job"]
        report.not_backfilled.append(entry)
        log(f"{code}: no batch job backs up these webhooks yet, so the gap since {since.isoformat()} "
            f"({', '.join(topics)}) is not back-filled")
        return
    if run_now:
        try:
            result = JobManager(hub).run_now(job, shop, params, trigger="backfill")
        except JobBusy as exc:  # it runs already (for its watermark): queue the back-fill behind it
            with hub.db.write() as conn:
                run_id = job_store.queue(conn, job=job, shop_id=shop.id, params=orjson.dumps(params).decode(),
                                         trigger="backfill", available_at=utcnow(), parent_run_id=parent_run_id)
            entry |= {"run_id": run_id, "status": "queued"}
            log(f"{code}: {job} is running (run {exc.running_run}); queued back-fill run {run_id} from "
                f"{since.isoformat()} behind it")
        else:
            entry |= {"run_id": result.run_id, "status": result.status, "stats": result.stats}
            log(f"{code}: back-fill run {result.run_id} of {job} from {since.isoformat()} {result.status}"
                + (f": {result.error}" if result.error else ""))
    else:
        log(f"{code}: queued back-fill run {entry['run_id']} of {job} from {since.isoformat()}")
    report.backfill.append(entry)
