"""The worker's first step on a batch: the content identity of the Shopify webhooks the door stored unread.

The door keeps the raw body and answers (``entrypoints/http/shopify_door.py``); here the body is
parsed once, its identity derived (the same order version by webhook, EventBridge or poll is one
record: ``adapters/shopify/webhooks.identity``), and a record whose identity another record already
holds is a repeat: it is finished as ``duplicate`` and leaves the batch. The unique key on
``(shop_id, identity)`` decides between two workers that derive the same identity at once: the
second one's batch leaves those records for a later batch, which then sees the first one's.

A fixed number of statements per batch: one read of the identities already held (per shop among them), one
update that sets the new ones, one that finishes the repeats.

Most repeats carry the very bytes of a body seen shortly before (Shopify sends ``orders/create``,
``orders/paid`` and ``orders/updated`` with one version of the order), so the identity of each body
read is remembered by its digest for a while: a repeat is then known without parsing it. Only a
record found to be new is parsed.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import orjson
import structlog
from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.exc import IntegrityError

from orderhub.adapters.shopify.webhooks import ORDER_TOPICS, identity
from orderhub.adapters.store import inbox as inbox_store
from orderhub.adapters.store.db import Database, each_shop
from orderhub.adapters.store.inbox import InboxEntry
from orderhub.adapters.store.schema import inbox
from orderhub.metrics import INBOX_PROCESSED

log = structlog.get_logger(__name__)

UNREAD = object()  # the ``parsed`` of a record whose body was not parsed here


def parsed_payload(row: Any) -> Any:
    """The body this step already parsed, or ``UNREAD``."""
    return getattr(row, "parsed", UNREAD)


# Built once: each batch runs them (building a statement costs more than running it).
_HELD = select(inbox.c.identity).where(inbox.c.shop_id == bindparam("shop"),
                                       inbox.c.identity.in_(bindparam("ids", expanding=True)))
_NAME = update(inbox).where(inbox.c.id == bindparam("record")).values(identity=bindparam("named"))


class SeenBodies:
    """The identities of the last ``size`` bodies read, by the digest of the body and the kind of its topic (the
    order topics share one; every other topic is its own): an identity is a function of those alone."""

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._identities: OrderedDict[tuple[str, bytes], str] = OrderedDict()

    @staticmethod
    def key(row: Any) -> tuple[str, bytes]:
        body = row.payload
        return ("order" if row.topic in ORDER_TOPICS else row.topic,
                hashlib.sha256(body.encode() if isinstance(body, str) else body).digest())

    def get(self, key: tuple[str, bytes]) -> str | None:
        return self._identities.get(key)

    def add(self, key: tuple[str, bytes], named: str) -> None:
        self._identities[key] = named
        if len(self._identities) > self.size:
            self._identities.popitem(last=False)


_BY_DELIVERY = ("body:", "webhook:")  # identities of a body without an id and version of its own
SEEN = SeenBodies()  # one per process: worker threads share it (each step is atomic under the GIL)


def _parsed(row: Any) -> Any:
    try:
        return orjson.loads(row.payload)
    except orjson.JSONDecodeError:
        return None  # known by its body's digest; the processor reports what is wrong with it


def identify(conn: Connection, rows: Sequence[Any], seen: SeenBodies | None = None) -> list[Any]:
    """The batch with every record's identity: records without one get theirs (as namespaces carrying
    the parsed body as ``parsed``, when it was read); repeats are finished and left out."""
    unread = [r for r in rows if r.identity is None]
    if not unread:
        return list(rows)
    seen = seen or SEEN
    derived: dict[int, SimpleNamespace] = {}
    for row in unread:
        key = seen.key(row)
        named = seen.get(key)
        payload: Any = None
        if named is None:
            payload = _parsed(row)
            named = identity(row.topic, payload, row.webhook_id, row.payload)
            if not named.startswith(_BY_DELIVERY):  # those name the topic too: not shared by the order topics
                seen.add(key, named)
        fields = row._asdict()
        fields.update(identity=named, parsed=payload if payload is not None else UNREAD)
        derived[row.id] = SimpleNamespace(**fields)
    held = {(shop, r.identity) for shop, r in each_shop(conn, _HELD, ((r.shop_id, r.identity)
                                                                      for r in derived.values()))}
    fresh: list[SimpleNamespace] = []
    repeats: list[SimpleNamespace] = []
    for row in rows:  # in the order they arrived: the first record of an identity is the one kept
        if row.identity is not None:
            held.add((row.shop_id, row.identity))
            continue
        named = derived[row.id]
        if (named.shop_id, named.identity) in held:
            repeats.append(named)
        else:
            held.add((named.shop_id, named.identity))
            fresh.append(named)  # one known by its digest is parsed by the processor (``parsed`` UNREAD)
    savepoint = conn.begin_nested()
    try:
        if fresh:
            conn.execute(_NAME, [{"record": r.id, "named": r.identity} for r in fresh])
    except IntegrityError:  # another worker holds one of them, not yet committed: a later batch will see it
        savepoint.rollback()
        log.info("inbox_identity_taken_meanwhile", records=len(fresh))
        return [r for r in rows if r.identity is not None]
    savepoint.commit()
    if repeats:
        inbox_store.finish_many(conn, [r.id for r in repeats], status="done", outcome="duplicate")
        for r in repeats:
            INBOX_PROCESSED.labels(r.topic, "duplicate").inc()
    kept = {r.id for r in repeats}
    return [derived.get(r.id, r) for r in rows if r.id not in kept]


def settle(db: Database, shop_id: int, *, batch: int = 500) -> None:
    """Derive the identity of every webhook of this shop still waiting for one, before a batch poll stores
    what it read: the poll then knows which orders the inbox already holds, as it would had the worker
    already taken them. Records another worker holds are left to it."""
    while True:
        with db.write() as conn:
            rows = inbox_store.claim_unread(conn, shop_id, limit=batch)
            if rows:
                identify(conn, rows)
        if len(rows) < batch:
            return


def store_polled(db: Database, shop_id: int, entries: Sequence[InboxEntry]) -> list[bool]:
    """Store records a batch poll of this Shopify shop read (``inbox.insert_entries``: True for each one new),
    once the shop's webhooks waiting for their identity have it, so a version a webhook brought first is
    reported as held, not as new."""
    if not entries:
        return []
    settle(db, shop_id)
    return inbox_store.insert_entries(db, entries)
