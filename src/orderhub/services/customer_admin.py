"""What a person does to customer profiles, from the console, the API or the CLI alike: merge two profiles, undo
a merge, split an identity off, set a consent, change which keys link a channel kind's identities and link
again after. Each refusal is one of three kinds, so every door answers it the same way: the record is not there
(NotFound), the record's state does not allow it (Conflict), or the request itself is wrong (Invalid)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection, select

from orderhub.adapters import channels
from orderhub.adapters.store import customer_links
from orderhub.adapters.store.customer_links import LinkError
from orderhub.adapters.store.schema import customer_merges, customer_profiles, customers, shops
from orderhub.clock import utcnow
from orderhub.domain.customers import EVERYWHERE, KEYS, ConsentChange
from orderhub.services import consent

MAX_REASON = 500


class NotFound(LookupError):
    """No such profile, merge or identity."""


class Conflict(ValueError):
    """The profile, merge or identity is in a state that does not allow it (merged, erased, undone already)."""


class Invalid(ValueError):
    """The request names something that cannot be (a profile merged into itself, an unknown purpose)."""


def profile_state(conn: Connection, profile_id: int) -> tuple[int, int]:
    """(the profile asked for, the live profile it stands for now). Raises NotFound or Conflict (erased)."""
    live = customer_links.live(conn, profile_id)
    if live is None:
        raise NotFound(f"no customer profile {profile_id}; find one with `orderhub customer search`")
    erased = conn.execute(select(customer_profiles.c.erased_at).where(customer_profiles.c.id == live)).scalar()
    if erased is not None:
        raise Conflict(f"customer profile {live} was erased on {erased:%Y-%m-%d}: nothing of it can change")
    return profile_id, live


def merge(conn: Connection, kept: int, merged: int, *, actor: str, reason: str | None = None) -> int:
    """Merge profile ``merged`` into ``kept`` (a person's decision: it also lifts a keep-apart). The merge's id."""
    if kept == merged:
        raise Invalid(f"customer profile {kept} cannot be merged into itself: name two profiles")
    for pid in (kept, merged):
        if customer_links.live(conn, pid) is None:
            raise NotFound(f"no customer profile {pid}; find one with `orderhub customer search`")
    try:
        return customer_links.merge(conn, kept, merged, actor=actor, reason=_reason(reason))
    except LinkError as exc:
        raise Conflict(str(exc)) from None


def unmerge(conn: Connection, merge_id: int, *, actor: str, reason: str | None = None) -> tuple[int, int]:
    """Undo a merge; (the profile kept, the profile brought back)."""
    row = conn.execute(select(customer_merges.c.kept_id).where(customer_merges.c.id == merge_id)).first()
    if row is None:
        raise NotFound(f"no customer merge {merge_id}; a profile's page lists its merges")
    try:
        return int(row.kept_id), customer_links.unmerge(conn, merge_id, actor=actor, reason=_reason(reason))
    except LinkError as exc:
        raise Conflict(str(exc)) from None


def split(conn: Connection, identity_id: int, *, actor: str) -> tuple[int | None, int]:
    """Take an identity out of its profile into a new one; (the profile it was in, the new profile)."""
    before = conn.execute(select(customers.c.profile_id).where(customers.c.id == identity_id)).first()
    if before is None:
        raise NotFound(f"no customer identity {identity_id}; a profile's page lists its identities")
    try:
        return before.profile_id, customer_links.split(conn, identity_id, actor=actor)
    except LinkError as exc:
        raise Conflict(str(exc)) from None


@dataclass
class ConsentSet:
    profile_id: int  # the live profile the consent was recorded on
    asked_for: int
    recorded: bool  # False: this very change was recorded already
    sent_to: list[str] = field(default_factory=list)


def set_consent(conn: Connection, profile_id: int, purpose: str, state: str, *, scope: str = EVERYWHERE,
                source: str, actor: str, note: str | None = None) -> ConsentSet:
    """Record a person's choice for one purpose (every channel, or one account by its name) as told to
    ``actor``; it is owed to the channels that keep that preference."""
    asked, live = profile_state(conn, profile_id)
    scope = (scope or EVERYWHERE).strip()
    if scope != EVERYWHERE and conn.execute(select(shops.c.id).where(shops.c.domain == scope.lower())).first() is None:
        raise Invalid(f"no account {scope!r} to scope the consent to: give an account's name "
                      "(`orderhub channel list`, `orderhub shop list`) or * for every channel")
    try:
        change = ConsentChange(purpose=purpose, state=state, occurred_at=utcnow(), source=source,
                               scope=scope if scope == EVERYWHERE else scope.lower(), actor=actor,
                               note=_reason(note))
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    done = consent.record(conn, live, change)
    return ConsentSet(live, asked, done.consent_id is not None, done.sent_to)


def _reason(text: str | None) -> str | None:
    text = (text or "").strip()
    return text[:MAX_REASON] or None


# -- rules -------------------------------------------------------------------------------------------------------


def set_rule(conn: Connection, kind: str, keys: Iterable[str], *, actor: str) -> frozenset[str]:
    """Let the identities of channel ``kind`` link by exactly ``keys``; the keys it links by now. Identities stored
    already keep their keys until they are worked out again (`orderhub customer relink`)."""
    if kind not in channels.KINDS:
        raise Invalid(f"unknown channel kind {kind!r}: one of {', '.join(channels.KINDS)}")
    wanted = {k.strip().lower() for k in keys if k.strip()}
    unknown = sorted(wanted - set(KEYS))
    if unknown:
        raise Invalid(f"unknown key {unknown[0]!r}: one of {', '.join(KEYS)}")
    for key in KEYS:
        customer_links.set_rule(conn, kind, key, key in wanted, actor)
    return customer_links.rules(conn)[kind]


def rules_table(conn: Connection) -> dict[str, list[str]]:
    """Every channel kind and the keys it links by, in the order a conflict is settled by."""
    table = customer_links.rules(conn)
    return {kind: [k for k in KEYS if k in customer_links.rule_for(table, kind)]
            for kind in sorted(set(channels.KINDS) | set(table))}
