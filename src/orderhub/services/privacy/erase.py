"""Erasing a person: everything orderhub holds on them, wherever it is (services/privacy/locate.py), in one
database transaction, after the files on the SFTP server were rewritten without them (so that a failure there
leaves the database as it was, and the request can be made again).

What the law requires stays, pseudonymised: the orders (amounts, dates, numbers), their invoices and the calls
that made them, with the person's name replaced by a pseudonym (``P-`` and random hex, kept in
``customer_profiles.pseudonym``: nothing derives it from the person) and every other personal value emptied.
The profile is marked erased; its identities are redacted and never link again; the consent history stays as
states, without the person. Every channel that has an API for its customers is asked to erase them too (a
channel operation ``erase``); for the others the report says what the retailer does by hand.

Nothing personal is logged: the log line names the profile, the pseudonym and counts.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson
import structlog
from sqlalchemy import Connection, select, update

from orderhub.adapters import channels
from orderhub.adapters.store import channel_operations, customer_access
from orderhub.adapters.store.db import upsert
from orderhub.adapters.store.schema import customer_profiles, privacy_requests
from orderhub.clock import utcnow
from orderhub.domain.customers import GUEST_PREFIX, LOYALTY_PREFIX
from orderhub.services.privacy import remote_files
from orderhub.services.privacy.locate import Located, Scope, locate
from orderhub.services.privacy.redact import redact
from orderhub.services.privacy.scrub import REDACTED

if TYPE_CHECKING:
    from orderhub.bootstrap import Hub

log = structlog.get_logger(__name__)

OPERATION = "erase"
# What the retailer does for a channel kind that has no API to erase a customer with.
BY_HAND = {
    "amazon": "Amazon keeps its buyers' data: ask Amazon to delete this buyer's data through Seller Central",
    "walmart": "Walmart keeps its customers' data: ask Walmart through Seller Center (Partner Support)",
    "tiktok": "TikTok Shop keeps its buyers' data: ask TikTok Shop through Seller Center",
    "pos": "the store's POS may still hold the loyalty member: delete them there",
}
KEPT = ("orders: amounts, taxes, dates, numbers and where they were taxed (city, province, country), the name "
        "replaced by the pseudonym",
        "invoices and the calls that made them (order_invoices, invoice_transfers, invoice_calls), pseudonymised",
        "the consent history: purposes, states and dates, without the person's data")


class PrivacyError(Exception):
    """A request that cannot be made as asked; the message says why and what to do."""


@dataclass
class ErasureReport:
    """What an erasure did: rows changed per table, files rewritten, channels asked, what was kept and why."""

    scope: str  # person | customers/redact | shop/redact | retention
    profile_id: int | None
    pseudonym: str | None
    erased_at: datetime
    identities: int = 0
    orders: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    found_by_content: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)  # SFTP files rewritten
    sftp: dict[str, Any] = field(default_factory=dict)
    channels: list[dict[str, Any]] = field(default_factory=list)
    kept: list[str] = field(default_factory=lambda: list(KEPT))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["erased_at"] = self.erased_at.isoformat()
        return out


def has_customer_api(kind: str) -> bool:
    """Whether orderhub can ask the kind's channel to erase a customer (it has a customer channel, or keeps
    customers' marketing preferences, which the same API serves)."""
    return channels.customer_channel(kind) is not None or bool(channels.consent_purposes(kind))


def new_pseudonym() -> str:
    return "P-" + secrets.token_hex(8)


def _channels(conn: Connection, located: Located) -> list[dict[str, Any]]:
    """Ask each channel with an API to erase its customer; say what to do for the others."""
    out: list[dict[str, Any]] = []
    for i in located.identities:
        kind = i.account_kind
        told = {"account": i.account, "kind": kind, "identity": i.id, "asked": False}
        if not has_customer_api(kind):
            how = BY_HAND.get(kind, f"{kind} has no API orderhub can ask: ask the channel by hand")
        elif i.deleted_at is not None:
            how = "the channel deleted this customer already"
        elif i.shopify_id.startswith((GUEST_PREFIX, LOYALTY_PREFIX)):
            how = "a guest checkout: the channel has no customer record to erase"
        else:
            channel_operations.enqueue(conn, i.shop_id, None, OPERATION, f"erase:{i.id}",
                                       {"customer_ref": i.shopify_id}, customer_id=i.id)
            told["asked"], how = True, "channel operation erase (sent by the channel-operations sender)"
        out.append(told | {"how": how})
    return out


def record(conn: Connection, kind: str, *, actor: str, result: dict[str, Any], profile_id: int | None = None,
           shop_id: int | None = None, customer_ref: str | None = None, inbox_id: int | None = None) -> int:
    values = dict(shop_id=shop_id, kind=kind, customer_shopify_id=customer_ref, inbox_id=inbox_id,
                  profile_id=profile_id, actor=actor, result=orjson.dumps(result, default=str).decode(),
                  created_at=utcnow())
    # A channel's request applied again (a retry) is one record of it, by its inbox record; orderhub's own
    # requests (no inbox record) are each one.
    return int(upsert(conn, privacy_requests, values, keys=("inbox_id",),
                      update=tuple(k for k in values if k != "inbox_id"), returning=("id",)).scalar_one())


def require_profile(conn: Connection, profile_id: int) -> Any:
    row = conn.execute(select(customer_profiles).where(customer_profiles.c.id == profile_id)).first()
    if row is None:
        raise LookupError(f"no customer profile {profile_id}: find the person with `orderhub customer search`")
    if row.merged_into is not None:
        raise PrivacyError(f"customer profile {profile_id} was merged into profile {row.merged_into}: "
                           f"ask for profile {row.merged_into}, which holds everything of the person")
    if row.erased_at is not None:
        raise PrivacyError(f"customer profile {profile_id} was erased already, at {row.erased_at.isoformat()} "
                           f"(pseudonym {row.pseudonym})")
    return row


def erase_person(hub: Hub, profile_id: int, *, actor: str, reason: str | None = None,
                 via: str = "cli") -> ErasureReport:
    """Erase the person of ``profile_id`` everywhere orderhub holds them. Raises LookupError (no such profile)
    or PrivacyError (merged, or erased already)."""
    pseudonym = new_pseudonym()
    with hub.db.read() as conn:
        require_profile(conn, profile_id)
        linked = locate(conn, Scope(profile_id=profile_id, search=False), name_replacement=pseudonym)
        folders = remote_files.folders(conn)
    # Files first: should the server fail, nothing is erased yet and the request can simply be made again.
    found = remote_files.search(hub, folders, linked.person, linked.linked["orders"])
    if found.error is not None:
        raise PrivacyError(f"the SFTP server could not be searched ({found.error}); nothing was erased: "
                           "make the request again when it answers")
    rewritten = remote_files.rewrite(hub, found.hits, linked.person, linked.linked["orders"]) if found.hits else []
    now = utcnow()
    with hub.db.write() as conn:
        require_profile(conn, profile_id)
        located = locate(conn, Scope(profile_id=profile_id), name_replacement=pseudonym)
        changed = redact(conn, located, now)
        conn.execute(update(customer_profiles).where(customer_profiles.c.id.in_(located.profiles)).values(
            erased_at=now, pseudonym=pseudonym, updated_at=now))
        report = ErasureReport(
            "person", profile_id, pseudonym, now, identities=len(located.identities), orders=len(located.orders),
            rows=changed, found_by_content={t: len(k) for t, k in located.found.items()}, files=rewritten,
            sftp={"configured": found.configured, "folders": found.folders, "files_read": found.files_read,
                  "truncated": found.truncated},
            channels=_channels(conn, located))
        result = report.to_dict() | {"reason": reason}
        record(conn, "erase", actor=actor, result=result, profile_id=profile_id)
        customer_access.record(conn, [profile_id], actor, via, "erase")
    log.info("customer_erased", profile_id=profile_id, pseudonym=pseudonym, identities=report.identities,
             orders=report.orders, rows=sum(changed.values()), files=len(rewritten))
    return report


def erase_scoped(conn: Connection, scope: Scope, *, kind: str, now: datetime | None = None,
                 name_replacement: str = REDACTED) -> ErasureReport:
    """A channel's request (``customers/redact``, ``shop/redact``) or the retention purge, in the caller's
    transaction: the identities and orders of ``scope`` lose their personal data (names: ``[redacted]``, or the
    profile's pseudonym in the records the law keeps when it has one); their profile is not erased (the person
    may still be a customer elsewhere). Files on SFTP are the caller's (remote_files.rewrite)."""
    now = now or utcnow()
    located = locate(conn, scope, name_replacement=name_replacement)
    changed = redact(conn, located, now)
    return ErasureReport(kind, None, None, now, identities=len(located.identities), orders=len(located.orders),
                         rows=changed, found_by_content={t: len(k) for t, k in located.found.items()},
                         kept=list(KEPT[:2]))


@dataclass(frozen=True)
class Who:
    """Whom a request is about, as a person confirming it must see them: name, e-mail, how much is held."""

    profile_id: int
    name: str
    email: str | None
    identities: int
    orders: int

    def confirms(self, answer: str | None) -> bool:
        """Whether ``answer`` names this person: their profile id, or their name (case and spacing aside)."""
        given = " ".join((answer or "").split()).casefold()
        return bool(given) and given in {str(self.profile_id), " ".join(self.name.split()).casefold()}


def who(conn: Connection, profile_id: int) -> Who:
    """The person of ``profile_id`` (raises as :func:`require_profile` does)."""
    require_profile(conn, profile_id)
    located = locate(conn, Scope(profile_id=profile_id, search=False))
    names = [" ".join(p for p in (i.first_name, i.last_name) if p) for i in located.identities]
    emails = [i.email for i in located.identities if i.email]
    name = next((n for n in names if n), None) or (emails[0] if emails else f"profile {profile_id}")
    return Who(profile_id, name, emails[0] if emails else None, len(located.identities), len(located.orders))
