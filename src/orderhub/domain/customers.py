"""One customer across every channel: the keys that link a channel's identity of a person to a profile, and the
person's marketing consent as a history with provenance. Pure, no I/O.

An *identity* is how one channel account knows a person: a Shopify customer of one shop, a marketplace buyer of
one seller account, a loyalty member at one store's POS, a guest who checked out with an e-mail address. A
*profile* is the person: identities are linked to one profile by deterministic rules only (docs/explanation/
customers.md):

- the same e-mail address, normalised (case, surrounding space; nothing else: ``a.b@x`` and ``ab@x`` may be two
  people);
- the same phone number, as E.164 (parsed with Google's libphonenumber rules; an extension - Amazon masks buyers'
  phones with one - is no key);
- the same loyalty id.

A key links only where the retailer's rules let the identity's channel kind use it. A marketplace's buyer
e-mail is a relay address the marketplace forwards, not the person's: it never links, whatever the rules say.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

import phonenumbers

from orderhub.domain.model import Address, Customer, Order

KEYS = ("loyalty", "email", "phone")  # in the order a conflict is settled by (the most specific first)

# The keys each channel kind links by until the retailer says otherwise (`orderhub customer rules`). A
# marketplace's shipping phone is the buyer's own but shared by households more often than an e-mail address is.
DEFAULT_RULES: Mapping[str, frozenset[str]] = {
    "shopify": frozenset({"email", "phone"}),
    "pos": frozenset({"loyalty", "email", "phone"}),
    "amazon": frozenset({"phone"}),
    "walmart": frozenset({"phone"}),
    "tiktok": frozenset({"phone"}),
}
FALLBACK_RULE = frozenset({"email", "phone", "loyalty"})

# Marketplaces' relay addresses: mail to them reaches the buyer through the marketplace, but the address is the
# marketplace's, per buyer and seller. Shopify orders imported from marketplaces carry them too.
RELAY_DOMAINS = (
    "marketplace.amazon.", "relay.walmart.com", "scs.tiktokw.", "privaterelay.appleid.com",
)
MAX_EMAIL = 320
MAX_LOYALTY = 100

_SPACE = re.compile(r"\s")
GUEST_PREFIX = "guest:"
LOYALTY_PREFIX = "loyalty:"
ERASED_PREFIX = "erased:"  # an erased identity's id, once it gave up the channel's (adapters/store/identities.py)


def email_key(email: str | None) -> str | None:
    """The e-mail address as a key: trimmed and lower-cased, None when it is no address or a relay's."""
    if not email:
        return None
    value = email.strip().lower()
    local, at, domain = value.rpartition("@")
    if not at or not local or "." not in domain or len(value) > MAX_EMAIL or _SPACE.search(value):
        return None
    if is_relay(value):
        return None
    return value


def is_relay(email: str) -> bool:
    domain = email.rpartition("@")[2].lower()
    return any(domain.startswith(r) or domain == r.rstrip(".") for r in RELAY_DOMAINS)


def phone_key(phone: str | None, region: str | None = None) -> str | None:
    """The phone number in E.164 (+4915123456789), None when it is not a valid number, has an extension or, given
    without its country code, no region says which country's it is."""
    if not phone or len(phone) > 64:
        return None
    return _phone_key(phone, (region or "").upper() or None)


@functools.lru_cache(maxsize=65536)  # parsing is the dearest part of keying a buyer; returning buyers repeat it
def _phone_key(phone: str, region: str | None) -> str | None:
    try:
        parsed = phonenumbers.parse(phone, region)
    except phonenumbers.NumberParseException:
        return None
    if parsed.extension or not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def loyalty_key(loyalty: str | None) -> str | None:
    value = (loyalty or "").strip()
    return value[:MAX_LOYALTY] or None


@dataclass(frozen=True)
class Keys:
    """What links an identity, as the rules of its channel kind allow."""

    email: str | None = None
    phone: str | None = None
    loyalty: str | None = None

    def items(self) -> list[tuple[str, str]]:
        return [(k, v) for k in KEYS if (v := getattr(self, k)) is not None]


def keys_of(customer: Customer, *, region: str | None, rule: frozenset[str], loyalty: str | None = None,
            phone: str | None = None) -> Keys:
    """The keys of one identity under its kind's rule (``rule``: the keys it may link by); ``phone``: the number to
    key by when the person record has none (the order's billing phone)."""
    loyalty = loyalty or customer.loyalty_id
    if loyalty is None and customer.shopify_id.startswith(LOYALTY_PREFIX):
        loyalty = customer.shopify_id[len(LOYALTY_PREFIX):]
    return Keys(email=email_key(customer.email) if "email" in rule else None,
                phone=phone_key(customer.phone or phone, region) if "phone" in rule else None,
                loyalty=loyalty_key(loyalty) if "loyalty" in rule else None)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def guest_of(order: Order) -> Customer | None:
    """The identity of a guest checkout: the order's e-mail address (or, without one, its billing phone), named
    by a digest so the identity's id never spells the address out. None when the order names nobody."""
    billing = order.billing_address or order.shipping_address
    name = billing.first_name if billing else None, billing.last_name if billing else None
    key = email_key(order.email)
    if key is not None:
        return Customer(shopify_id=GUEST_PREFIX + _digest(key), email=order.email, first_name=name[0],
                        last_name=name[1], phone=billing.phone if billing else None)
    phone = phone_key(billing.phone if billing else None, billing.country_code if billing else None)
    if phone is not None:
        return Customer(shopify_id=GUEST_PREFIX + _digest(phone), first_name=name[0], last_name=name[1],
                        phone=billing.phone if billing else None)
    return None


def identity_of(order: Order) -> Customer | None:
    """Who placed the order, as its channel knows them: its customer, or the guest who checked out."""
    return order.customer if order.customer is not None else guest_of(order)


def without_personal_data(order: Order) -> Order:
    """The order with nothing that names or reaches its buyer: no customer, e-mail, note or street; of its
    addresses only the region stays (what tax and reports need)."""
    def region(a: Address | None) -> Address | None:
        return None if a is None else Address(country=a.country, country_code=a.country_code, province=a.province,
                                               province_code=a.province_code)
    return dataclasses.replace(order, customer=None, email=None, note=None,
                               shipping_address=region(order.shipping_address),
                               billing_address=region(order.billing_address))


def region_of(order: Order, default: str | None = None) -> str | None:
    """The country a phone number written without its country code is read in: the order's billing country."""
    for address in (order.billing_address, order.shipping_address):
        if address is not None and address.country_code:
            return address.country_code
    return default


# -- linking -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """An identity as linking sees it: its id, its profile (None: not linked yet) and its keys."""

    identity: int
    profile: int | None
    keys: Keys


@dataclass(frozen=True)
class Link:
    """What linking decided for one group of identities that share keys."""

    profile: int | None  # None: a new profile
    identities: tuple[tuple[int, str], ...]  # identities to (re)link to it, each with the key that linked it
    absorbed: tuple[int, ...] = ()  # other profiles merged into it, by the rule in ``rule``
    rule: str | None = None  # the key that joined the group ("email", ...), for the audit trail


def plan_links(batch: Iterable[Node], known: Iterable[Node], separated: frozenset[tuple[int, int]]) -> list[Link]:
    """Group the batch's identities with the known ones that share a key, and say which profile each group is.

    One group with no profile yet gets a new one; with one, that one; with several, the oldest (lowest id) keeps
    the others' identities - unless a person kept two of them apart (``separated``, pairs low-high), when each
    batch identity joins the profile of its most specific matching key and nothing merges.
    """
    nodes = {n.identity: n for n in known} | {n.identity: n for n in batch}
    batch_ids = [n.identity for n in batch]
    parent = {i: i for i in nodes}

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_key: dict[tuple[str, str], int] = {}
    holders: dict[tuple[str, str], int] = {}  # identities holding each key: all of them end in one group
    joined_by: dict[int, str] = {}
    for n in sorted(nodes.values(), key=lambda n: n.identity):
        for key in n.keys.items():
            holders[key] = holders.get(key, 0) + 1
            other = by_key.setdefault(key, n.identity)
            a, b = find(other), find(n.identity)
            if a != b:
                parent[max(a, b)] = min(a, b)
                joined_by.setdefault(min(a, b), key[0])
    groups: dict[int, list[int]] = {}
    for i in nodes:
        groups.setdefault(find(i), []).append(i)
    mine_by_root: dict[int, set[int]] = {}
    for i in batch_ids:
        mine_by_root.setdefault(find(i), set()).add(i)
    links: list[Link] = []
    for root, members in groups.items():
        mine = mine_by_root.get(root)
        if not mine:
            continue
        profiles = sorted({p for i in members if (p := nodes[i].profile) is not None})
        if not profiles:
            links.append(Link(None, tuple((i, _shared_key(nodes[i], holders) or "new") for i in sorted(mine))))
            continue
        if len(profiles) == 1 or not any((a, b) in separated for a in profiles for b in profiles if a < b):
            keep, rest = profiles[0], tuple(profiles[1:])
            moving = tuple((i, _shared_key(nodes[i], holders) or "new")
                           for i in sorted(mine) if nodes[i].profile is None)
            if moving or rest:
                links.append(Link(keep, moving, rest, joined_by.get(root) if rest else None))
            continue
        links.extend(_kept_apart(sorted(mine), nodes))
    return links


def _shared_key(node: Node, holders: dict[tuple[str, str], int]) -> str | None:
    """The most specific key ``node`` shares with another identity (of its group: sharing a key joins it)."""
    for key in node.keys.items():
        if holders[key] > 1:
            return key[0]
    return None


def _kept_apart(mine: list[int], nodes: dict[int, Node]) -> list[Link]:
    """Profiles a person kept apart share a key with an identity: a new identity joins the profile of its most
    specific key (loyalty, then e-mail, then phone); identities linked already stay; no profile merges."""
    out: list[Link] = []
    for i in sorted(set(mine)):
        node = nodes[i]
        if node.profile is not None:
            continue
        choice: Link = Link(None, ((i, "new"),))
        for kind, value in node.keys.items():
            owners = sorted(n.profile for n in nodes.values()
                            if n.profile is not None and (kind, value) in n.keys.items())
            if owners:
                choice = Link(owners[0], ((i, kind),))
                break
        out.append(choice)
    return out


# -- consent -----------------------------------------------------------------------------------------------------

PURPOSES = ("email_marketing", "sms_marketing", "personalisation", "third_party_sharing")
STATES = ("granted", "pending", "withdrawn", "not_given")
EVERYWHERE = "*"


@dataclass(frozen=True)
class ConsentChange:
    """A person's choice for one purpose, where it applies (``scope``: an account's name, or ``*`` for every
    channel), and where it came from: the source (shopify, pos, console, api, cli, import) and who."""

    purpose: str
    state: str
    occurred_at: datetime
    source: str
    scope: str = EVERYWHERE
    actor: str | None = None
    opt_in_level: str | None = None  # Shopify's single_opt_in | confirmed_opt_in | unknown
    note: str | None = None

    def __post_init__(self) -> None:
        if self.purpose not in PURPOSES:
            raise ValueError(f"unknown purpose {self.purpose!r}: one of {', '.join(PURPOSES)}")
        if self.state not in STATES:
            raise ValueError(f"unknown consent state {self.state!r}: one of {', '.join(STATES)}")


@dataclass(frozen=True)
class ConsentRecord:
    """One change as kept in the history (its id orders changes made at the same instant)."""

    id: int
    purpose: str
    scope: str
    state: str
    occurred_at: datetime


def effective(history: Iterable[ConsentRecord], purpose: str, account: str) -> str:
    """The person's consent to ``purpose`` on the account named ``account``: the newest change made for it or for
    every channel; ``not_given`` when there is none."""
    best: ConsentRecord | None = None
    for r in history:
        if r.purpose == purpose and r.scope in (EVERYWHERE, account):
            if best is None or (r.occurred_at, r.id) > (best.occurred_at, best.id):
                best = r
    return best.state if best is not None else "not_given"


def current(history: Iterable[ConsentRecord]) -> dict[tuple[str, str], ConsentRecord]:
    """The newest change per (purpose, scope)."""
    out: dict[tuple[str, str], ConsentRecord] = {}
    for r in history:
        held = out.get((r.purpose, r.scope))
        if held is None or (r.occurred_at, r.id) > (held.occurred_at, held.id):
            out[(r.purpose, r.scope)] = r
    return out


@dataclass(frozen=True)
class CustomerUpdate:
    """A channel's news of one of its customers (Shopify's customers/create, customers/update, consent updates):
    what it holds of the person and their consent as it stands there; or that it deleted the customer."""

    customer: Customer
    updated_at: datetime
    region: str | None = None  # the country of the customer's default address (phones without country code)
    consents: tuple[ConsentChange, ...] = ()
    deleted: bool = False
    # Says only part of what the channel holds (a consent webhook: the id and the address or phone): a customer
    # known already keeps every detail; one not known yet is stored with what it says, for any record to replace.
    partial: bool = False
