"""Linking identities to profiles, and the merges, unmerges and splits a person makes (domain/customers.py says
the rules). A batch of identities is linked with a fixed number of statements: read the batch and the identities
that share its keys, plan, then write the new profiles, the moved identities and the merges.

Every merge records what moved (identities and consent records), so an unmerge puts exactly those back; orders
point at identities, so they follow without being touched. A merge never deletes a profile: the merged one is
kept, marked ``merged_into``.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, bindparam, delete, insert, or_, select, update

from orderhub.adapters.store.schema import (
    customer_consents,
    customer_match_rules,
    customer_merges,
    customer_profiles,
    customer_separations,
    customers,
    shops,
)
from orderhub.clock import utcnow
from orderhub.domain import customers as rules_of
from orderhub.domain.customers import DEFAULT_RULES, FALLBACK_RULE, KEYS, Keys, Link, Node, plan_links
from orderhub.domain.model import Customer

RULES_ACTOR = "rules"


class LinkError(Exception):
    """A merge, unmerge or split that cannot be made as asked; the message says why."""


# -- rules -------------------------------------------------------------------------------------------------------


# The rules and the accounts' kinds, per database: every stored order's buyer is keyed by them, and they change by
# hand, rarely. A rule changed in another process is seen within RULES_TTL seconds (set_rule in this process at
# once); identities stored meanwhile are keyed again by `orderhub customer relink`, as after every rule change.
RULES_TTL = 5.0
_held: weakref.WeakKeyDictionary[Engine, dict[str, Any]] = weakref.WeakKeyDictionary()


def _cache(conn: Connection) -> dict[str, Any]:
    return _held.setdefault(conn.engine, {"kinds": {}, "rules": None, "until": 0.0})


def rules(conn: Connection) -> dict[str, frozenset[str]]:
    """The keys each channel kind links by: the defaults, as the retailer changed them."""
    out = {kind: set(keys) for kind, keys in DEFAULT_RULES.items()}
    for r in conn.execute(select(customer_match_rules)):
        held = out.setdefault(r.kind, set(FALLBACK_RULE))
        (held.add if r.enabled else held.discard)(r.key)
    return {kind: frozenset(keys) for kind, keys in out.items()}


def rule_for(table: dict[str, frozenset[str]], kind: str) -> frozenset[str]:
    return table.get(kind, FALLBACK_RULE)


def set_rule(conn: Connection, kind: str, key: str, enabled: bool, actor: str) -> None:
    if key not in KEYS:
        raise LinkError(f"unknown key {key!r}: one of {', '.join(KEYS)}")
    _cache(conn)["until"] = 0.0
    now = utcnow()
    done = conn.execute(update(customer_match_rules).where(
        customer_match_rules.c.kind == kind, customer_match_rules.c.key == key).values(
        enabled=enabled, updated_by=actor, updated_at=now)).rowcount
    if not done:
        conn.execute(insert(customer_match_rules).values(kind=kind, key=key, enabled=enabled, updated_by=actor,
                                                         updated_at=now))


def account_rules(conn: Connection, account_ids: Iterable[int]) -> dict[int, frozenset[str]]:
    """The rule of each account's channel kind (read at most every RULES_TTL seconds; an account's kind never
    changes)."""
    ids = set(account_ids)
    if not ids:
        return {}
    held = _cache(conn)
    now = time.monotonic()
    if held["rules"] is None or now >= held["until"]:
        held["rules"], held["until"] = rules(conn), now + RULES_TTL
        held["kinds"] = {}  # read again with the rules: an account removed and its id taken by another kind
    kinds: dict[int, str] = held["kinds"]
    missing = sorted(ids - kinds.keys())
    if missing:
        found = conn.execute(select(shops.c.id, shops.c.kind).where(shops.c.id.in_(missing)))
        kinds.update((r.id, r.kind) for r in found)
    return {i: rule_for(held["rules"], kinds[i]) for i in ids if i in kinds}


def key_values(keys: Keys) -> dict[str, str | None]:
    return {"email_key": keys.email, "phone_key": keys.phone, "loyalty_key": keys.loyalty}


KEY_COLUMNS = ("email_key", "phone_key", "loyalty_key")


# -- linking -----------------------------------------------------------------------------------------------------


@dataclass
class LinkReport:
    linked: int = 0  # identities given a profile
    new_profiles: int = 0
    merges: list[int] = field(default_factory=list)  # merge ids made by rules
    keyed: int = 0  # identities whose keys were worked out again (rekey)


def _node(r: Any) -> Node:
    return Node(r.id, r.profile_id, Keys(r.email_key, r.phone_key, r.loyalty_key))


_COLS = (customers.c.id, customers.c.profile_id, customers.c.email_key, customers.c.phone_key,
         customers.c.loyalty_key)
# Built once: linking runs for every batch the processor stores, and its lists of values expand at execution.
_BATCH = select(*_COLS).where(customers.c.id.in_(bindparam("ids", expanding=True)), customers.c.redacted_at.is_(None))
_KNOWN = select(*_COLS).where(
    or_(customers.c.email_key.in_(bindparam("email", expanding=True)),
        customers.c.phone_key.in_(bindparam("phone", expanding=True)),
        customers.c.loyalty_key.in_(bindparam("loyalty", expanding=True))),
    customers.c.profile_id.is_not(None), customers.c.id.not_in(bindparam("ids", expanding=True)))


def link(conn: Connection, identity_ids: Collection[int]) -> LinkReport:
    """Link these identities to profiles by their keys: to the profile of identities they share a key with (merging
    profiles the keys join), else to a new one."""
    report = LinkReport()
    ids = sorted(set(identity_ids))
    if ids:
        _apply(conn, _plan(conn, [_node(r) for r in conn.execute(_BATCH, {"ids": ids})]), report)
    return report


def assign(conn: Connection, nodes: Collection[Node]) -> tuple[dict[int, tuple[int, str]], LinkReport]:
    """Link ``nodes``: identities as their caller is about to write them, those not stored yet under negative ids.
    The stored ones are moved to their profiles here; for each one not stored yet, the profile it is to be stored
    with and the key that linked it (new profiles made, profiles merged, as linking needs)."""
    report = LinkReport()
    return (_apply(conn, _plan(conn, list(nodes)), report) if nodes else {}), report


def _plan(conn: Connection, batch: list[Node]) -> list[Link]:
    if not batch:
        return []
    stored = [n.identity for n in batch if n.identity > 0]
    wanted = {k: sorted({v for n in batch if (v := getattr(n.keys, k)) is not None}) for k in KEYS}
    known = [] if not any(wanted.values()) else [_node(r) for r in conn.execute(_KNOWN, wanted | {"ids": stored})]
    plan = plan_links(batch, known, frozenset())
    merging = sorted({p for link in plan for p in (link.profile, *link.absorbed) if link.absorbed and p is not None})
    if merging:  # only then can a pair a person kept apart matter (rarely: most batches merge nothing)
        separated = _separated(conn, merging)
        if separated:
            plan = plan_links(batch, known, separated)
    return plan


_MOVE = update(customers).where(customers.c.id == bindparam("p_identity")).values(
    profile_id=bindparam("p_id"), linked_by=bindparam("p_rule"))
_TOUCH = update(customer_profiles).where(customer_profiles.c.id.in_(bindparam("ids", expanding=True))).values(
    updated_at=bindparam("now"))


def _separated(conn: Connection, profiles: list[int]) -> frozenset[tuple[int, int]]:
    s = customer_separations.c
    return frozenset((r.low_id, r.high_id) for r in conn.execute(
        select(s.low_id, s.high_id).where(s.low_id.in_(profiles), s.high_id.in_(profiles))))


def _apply(conn: Connection, plan: list[Link], report: LinkReport) -> dict[int, tuple[int, str]]:
    """Make the plan's new profiles and merges, move its stored identities; the (profile, key) of each identity not
    stored yet (negative ids), for its caller to store it with."""
    if not plan:
        return {}
    now = utcnow()
    new = [link for link in plan if link.profile is None]
    made_now: set[int] = set()
    if new:
        # New profiles are alike, so which id goes to which group does not matter: one statement for all of them
        # (asking for the rows' order would make it one INSERT per profile on SQLite).
        made = conn.execute(insert(customer_profiles).returning(customer_profiles.c.id),
                            [{"created_at": now, "updated_at": now} for _ in new]).scalars().all()
        fresh = iter(made)  # ``new`` is in the plan's order
        plan = [Link(next(fresh), link.identities) if link.profile is None else link for link in plan]
        made_now.update(made)
        report.new_profiles += len(new)
    for link in plan:
        for absorbed in link.absorbed:
            report.merges.append(merge(conn, link.profile or 0, absorbed, actor=RULES_ACTOR, rule=link.rule,
                                       reason=f"the same {link.rule} as an identity of profile {link.profile}"))
    moves = [{"p_id": link.profile, "p_rule": rule, "p_identity": identity}
             for link in plan for identity, rule in link.identities if identity > 0]
    if moves:
        conn.execute(_MOVE, moves)
    pending = {identity: (int(link.profile or 0), rule) for link in plan for identity, rule in link.identities
               if identity < 0}
    report.linked += len(moves) + len(pending)
    touched = sorted({link.profile for link in plan if link.profile is not None and link.profile not in made_now})
    if touched:  # profiles that gained identities (a new profile was made at this time)
        conn.execute(_TOUCH, {"ids": touched, "now": now})
    return pending


def link_unlinked(conn: Connection, limit: int = 500) -> LinkReport:
    """Link up to ``limit`` identities that have no profile yet (those stored before profiles existed)."""
    ids = list(conn.execute(select(customers.c.id).where(customers.c.profile_id.is_(None))
                            .order_by(customers.c.id).limit(limit)).scalars())
    return link(conn, ids)


def rekey(conn: Connection, after_id: int, limit: int, region: str | None = None) -> tuple[int, LinkReport]:
    """Work out the keys of up to ``limit`` identities after ``after_id`` again under today's rules, and link them
    (after the rules changed). Returns the last id seen (0 when done) and what linking did."""
    rows = conn.execute(select(customers).where(customers.c.id > after_id, customers.c.redacted_at.is_(None))
                        .order_by(customers.c.id).limit(limit)).all()
    if not rows:
        return 0, LinkReport()
    by_account = account_rules(conn, (r.shop_id for r in rows))
    changes = []
    for r in rows:
        keys = rules_of.keys_of(Customer(r.shopify_id, r.email, r.first_name, r.last_name, r.phone),
                                region=region, rule=by_account.get(r.shop_id, FALLBACK_RULE),
                                loyalty=r.loyalty_key)
        values = key_values(keys)
        if any(values[c] != getattr(r, c) for c in KEY_COLUMNS):
            changes.append({"p_identity": r.id, **{f"p_{c}": values[c] for c in KEY_COLUMNS}})
    if changes:
        conn.execute(update(customers).where(customers.c.id == bindparam("p_identity")).values(
            **{c: bindparam(f"p_{c}") for c in KEY_COLUMNS}), changes)
    report = link(conn, [r.id for r in rows])
    report.keyed = len(rows)
    return rows[-1].id, report


# -- merge, unmerge, split ---------------------------------------------------------------------------------------


def live(conn: Connection, profile_id: int) -> int | None:
    """The profile ``profile_id`` stands for now: itself, or the one it was merged into (followed to the end)."""
    seen: set[int] = set()
    current: int | None = profile_id
    while current is not None and current not in seen:
        seen.add(current)
        row = conn.execute(select(customer_profiles.c.id, customer_profiles.c.merged_into)
                           .where(customer_profiles.c.id == current)).first()
        if row is None:
            return None
        if row.merged_into is None:
            return row.id
        current = row.merged_into
    return None


def merge(conn: Connection, kept: int, merged: int, *, actor: str, reason: str | None = None,
          rule: str | None = None) -> int:
    """Merge profile ``merged`` into ``kept``: its identities and consent records move, it is kept as merged.
    Returns the merge's id. Raises LinkError when either is not a live profile or they are one."""
    now = utcnow()
    p = customer_profiles.c
    found = {r.id: r for r in conn.execute(select(p.id, p.merged_into, p.erased_at).where(p.id.in_((kept, merged))))}
    for pid in (kept, merged):
        if pid not in found:
            raise LinkError(f"no customer profile {pid}")
        if found[pid].merged_into is not None:
            raise LinkError(f"customer profile {pid} was merged into profile {found[pid].merged_into}: merge that one")
        if found[pid].erased_at is not None:
            raise LinkError(f"customer profile {pid} was erased")
    if kept == merged:
        raise LinkError(f"customer profile {kept} cannot be merged into itself")
    identities = sorted(conn.execute(select(customers.c.id).where(customers.c.profile_id == merged)).scalars())
    consents = sorted(conn.execute(select(customer_consents.c.id).where(
        customer_consents.c.profile_id == merged)).scalars())
    conn.execute(update(customers).where(customers.c.profile_id == merged).values(
        profile_id=kept, linked_by="merge"))
    conn.execute(update(customer_consents).where(customer_consents.c.profile_id == merged).values(profile_id=kept))
    conn.execute(update(customer_profiles).where(p.id == merged).values(merged_into=kept, updated_at=now))
    conn.execute(update(customer_profiles).where(p.id == kept).values(updated_at=now))
    if rule is None:  # a person said they are one: what kept them apart no longer does
        low, high = sorted((kept, merged))
        conn.execute(delete(customer_separations).where(customer_separations.c.low_id == low,
                                                        customer_separations.c.high_id == high))
    return conn.execute(insert(customer_merges).values(
        kept_id=kept, merged_id=merged, moved=orjson.dumps({"identities": identities, "consents": consents}).decode(),
        rule=rule, actor=actor, reason=reason, created_at=now).returning(customer_merges.c.id)).scalar_one()


def unmerge(conn: Connection, merge_id: int, *, actor: str, reason: str | None = None) -> int:
    """Undo a merge: the identities and consent records it moved go back to the merged profile (from wherever
    later merges took them), which is live again and kept apart from the other from now on. Returns the
    merged profile's id."""
    m = conn.execute(select(customer_merges).where(customer_merges.c.id == merge_id)).first()
    if m is None:
        raise LinkError(f"no customer merge {merge_id}")
    if m.undone_at is not None:
        raise LinkError(f"customer merge {merge_id} was undone already, by {m.undone_by}")
    later = conn.execute(select(customer_merges.c.id).where(
        customer_merges.c.merged_id == m.merged_id, customer_merges.c.id > m.id,
        customer_merges.c.undone_at.is_(None))).first()
    if later is not None:
        raise LinkError(f"profile {m.merged_id} was merged again since (merge {later.id}): undo that first")
    profile = conn.execute(select(customer_profiles.c.erased_at).where(
        customer_profiles.c.id == m.merged_id)).first()
    if profile is not None and profile.erased_at is not None:
        raise LinkError(f"customer profile {m.merged_id} was erased")
    moved = orjson.loads(m.moved)
    now = utcnow()
    # Only what is still where the merge put it (the kept profile, or the one that was merged into since): an
    # identity another unmerge took back already stays where it is.
    holder = live(conn, m.kept_id)
    if moved["identities"]:
        conn.execute(update(customers).where(customers.c.id.in_(moved["identities"]),
                                             customers.c.profile_id == holder).values(
            profile_id=m.merged_id, linked_by="unmerge"))
    if moved["consents"]:
        conn.execute(update(customer_consents).where(customer_consents.c.id.in_(moved["consents"]),
                                                     customer_consents.c.profile_id == holder).values(
            profile_id=m.merged_id))
    conn.execute(update(customer_profiles).where(customer_profiles.c.id == m.merged_id).values(
        merged_into=None, updated_at=now))
    conn.execute(update(customer_merges).where(customer_merges.c.id == merge_id).values(
        undone_at=now, undone_by=actor, undo_reason=reason))
    keep_apart(conn, m.kept_id, m.merged_id, actor)
    return int(m.merged_id)


def keep_apart(conn: Connection, a: int, b: int, actor: str) -> None:
    low, high = sorted((a, b))
    s = customer_separations.c
    if conn.execute(select(s.low_id).where(s.low_id == low, s.high_id == high)).first() is None:
        conn.execute(insert(customer_separations).values(low_id=low, high_id=high, actor=actor, created_at=utcnow()))


def split(conn: Connection, identity_id: int, *, actor: str) -> int:
    """Take one identity out of its profile into a new one, kept apart from the old (its orders go with it).
    Returns the new profile's id."""
    row = conn.execute(select(customers.c.profile_id).where(customers.c.id == identity_id)).first()
    if row is None:
        raise LinkError(f"no customer identity {identity_id}")
    if row.profile_id is not None and conn.execute(select(customers.c.id).where(
            customers.c.profile_id == row.profile_id, customers.c.id != identity_id)).first() is None:
        raise LinkError(f"identity {identity_id} is the only identity of profile {row.profile_id}")
    now = utcnow()
    new = conn.execute(insert(customer_profiles).values(created_at=now, updated_at=now)
                       .returning(customer_profiles.c.id)).scalar_one()
    conn.execute(update(customers).where(customers.c.id == identity_id).values(profile_id=new, linked_by="split"))
    conn.execute(update(customer_consents).where(customer_consents.c.identity_id == identity_id).values(
        profile_id=new))
    if row.profile_id is not None:
        keep_apart(conn, row.profile_id, new, actor)
    return int(new)


def identities_of(conn: Connection, profile_id: int) -> list[Any]:
    return conn.execute(select(customers, shops.c.domain.label("account"), shops.c.kind.label("account_kind"))
                        .join(shops, shops.c.id == customers.c.shop_id)
                        .where(customers.c.profile_id == profile_id).order_by(customers.c.id)).all()


def merges_of(conn: Connection, profile_id: int) -> list[Any]:
    m = customer_merges.c
    return conn.execute(select(customer_merges).where(or_(m.kept_id == profile_id, m.merged_id == profile_id))
                        .order_by(m.id)).all()


def find(conn: Connection, *, email: str | None = None, phone: str | None = None, loyalty: str | None = None,
         region: str | None = None) -> list[int]:
    """Profiles with an identity of exactly this e-mail address, phone number or loyalty id (by the keys' indexes,
    whatever the rules: a person looking up someone is not linking)."""
    conditions = []
    if email:
        value = email.strip().lower()
        conditions.append(customers.c.email_key == value)
    if phone:
        key = rules_of.phone_key(phone, region)
        if key:
            conditions.append(customers.c.phone_key == key)
    if loyalty:
        conditions.append(customers.c.loyalty_key == loyalty.strip())
    if not conditions:
        return []
    found = conn.execute(select(customers.c.profile_id).where(or_(*conditions), customers.c.profile_id.is_not(None))
                         .distinct().limit(100)).scalars()
    return sorted({int(p) for p in found})

