"""The records of bench/customers.py's processor run: Shopify order webhooks and Walmart orders of a population of
people, as the channels send them, deterministic for a seed.

The mix (of N records, in the order they reach the inbox):

* ``new``: ``orders/create`` of a new Shopify customer (customer object with id, e-mail and, for half of them, a
  phone; the billing address always carries the phone);
* ``repeat``: ``orders/create`` of a customer seen before (same customer id, a new order);
* ``guest``: ``orders/create`` of a guest checkout: no customer object, the e-mail only (no phone anywhere); two
  in five are people who bought before under their customer account (they link by e-mail);
* ``update``: ``orders/updated`` of an order created at least 150 records before (later ``updated_at``, fulfilled,
  tags changed), as Shopify sends it when the order changes;
* ``walmart``: a Walmart order (topic ``walmart/order``) with the buyer's phone on its shipping info: half of them
  people who also buy on Shopify (they link by phone, US numbers), half new.

Shapes. Shopify: the REST order of the ``orders/*`` webhooks (bench/payloads.py's body, which follows
shopify.dev's REST Admin ``Order`` resource) with its ``customer`` object as that resource documents it (id,
email, phone, first_name, last_name, state, verified_email, tags, currency, email_marketing_consent,
sms_marketing_consent, default_address, admin_graphql_api_id, created_at, updated_at). The resource says an
order "might not have a customer and apps should not depend on the existence of a customer object": guest
checkouts here have none. Walmart: orders made by orderhub's Walmart simulator (simulators/walmart/generator.py,
checked against Walmart's Orders API samples), with the phone and name set to the bench's person.
"""

from __future__ import annotations

import dataclasses
import random
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import payloads

from orderhub.adapters.shopify.webhooks import identity as shopify_identity
from orderhub.adapters.store.inbox import InboxEntry
from orderhub.adapters.walmart.channel import ORDER_TOPIC as WALMART_TOPIC
from orderhub.adapters.walmart.channel import identity as walmart_identity
from orderhub.domain.customers import phone_key
from orderhub.simulators.walmart.generator import OrderGenerator

TAG = 11  # order ids of this bench never collide with the other benches'
WALMART_ACCOUNT = "bench-walmart"
MIX = (("new", 0.40), ("repeat", 0.20), ("guest", 0.15), ("update", 0.15), ("walmart", 0.10))
UPDATE_GAP = 150  # an update comes this many records or more after its order: another batch, as in production

_FIRST = ("Zoë", "Jürgen", "Søren", "美咲", "Олег", "Siobhán", "Nguyễn", "Amara", "Luis", "Chloé", "Mateo", "Aiko",
          "Fatima", "Noah", "Ingrid", "Ravi")
_LAST = ("Ångström", "Groß", "Kierkegård", "佐藤", "Иванов", "Ó Briain", "Thị Hồng", "Okafor", "García", "Lefèvre",
         "Rossi", "Tanaka", "Haddad", "Smith", "Berg", "Patel")
_DOMAINS = ("example.com", "example.de", "example.jp", "example.fr", "mail.example.org", "example.co.uk")
# (written as a customer types it, country); every number made is checked to be a valid one
_PHONES = (("+1 415-{a}{b}{c}-{d}{e}{f}{g}", "US"), ("+1 212-{a}{b}{c}-{d}{e}{f}{g}", "US"),
           ("+1 312-{a}{b}{c}-{d}{e}{f}{g}", "US"), ("+49 151 {a}{b}{c}{d}{e}{f}{g}{h}", "DE"),
           ("+81 90-{a}{b}{c}{d}-{e}{f}{g}{h}", "JP"), ("+33 6 {a}{b} {c}{d} {e}{f} {g}{h}", "FR"))


@dataclass
class Person:
    number: int
    first: str
    last: str
    email: str
    phone: str  # as written, with its country code
    country: str
    customer_id: int | None = None  # the Shopify customer, once they have an account
    orders: list[int] = field(default_factory=list)  # their Shopify orders' record numbers


@dataclass
class Workload:
    entries: list[tuple[str, InboxEntry]]  # (account: "shopify" | "walmart", the inbox record unbound)
    counts: dict[str, int]
    people: int  # the people the records name: the profiles linking should make of them
    shopify_orders: int  # distinct orders stored at the end
    walmart_orders: int


def _phone(rng: random.Random, us_only: bool) -> tuple[str, str]:
    while True:
        template, country = rng.choice(_PHONES[:3] if us_only else _PHONES)
        digits = {k: rng.randint(2 if k == "a" else 0, 9) for k in "abcdefgh"}
        written = template.format(**digits)
        if phone_key(written) is not None:
            return written, country


def _person(rng: random.Random, number: int, us_only: bool = False) -> Person:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    phone, country = _phone(rng, us_only or rng.random() < 0.6)
    email = f"p{number}.{rng.getrandbits(24):06x}@{rng.choice(_DOMAINS)}"
    if rng.random() < 0.2:  # customers type their address as they like: the key is case-insensitive
        email = email.capitalize()
    return Person(number, first, last, email, phone, country)


def _customer(person: Person, order: dict[str, Any], with_phone: bool) -> dict[str, Any]:
    cid = person.customer_id
    address = dict(order["billing_address"], id=cid + 1, customer_id=cid, default=True) if cid else None
    return {
        "id": cid, "email": person.email, "created_at": order["created_at"], "updated_at": order["updated_at"],
        "first_name": person.first, "last_name": person.last, "state": "enabled", "note": None,
        "verified_email": True, "multipass_identifier": None, "tax_exempt": False,
        "phone": person.phone if with_phone else None, "tags": "", "currency": order["currency"],
        "email_marketing_consent": {"state": "subscribed" if order["buyer_accepts_marketing"] else "not_subscribed",
                                    "opt_in_level": "single_opt_in", "consent_updated_at": None},
        "sms_marketing_consent": None, "tax_exemptions": [],
        "admin_graphql_api_id": f"gid://shopify/Customer/{cid}", "default_address": address,
    }


def _shopify_order(k: int, person: Person, *, guest: bool, customer_phone: bool) -> dict[str, Any]:
    order = payloads.order_payload(TAG, k)
    order["email"] = order["contact_email"] = person.email
    for key in ("billing_address", "shipping_address"):
        order[key] = dict(order[key], first_name=person.first, last_name=person.last,
                          name=f"{person.first} {person.last}", phone=None if guest else person.phone)
    order["billing_address"]["country_code"] = person.country
    if guest:
        order.pop("customer")
    else:
        order["customer"] = _customer(person, order, customer_phone)
    return order


def _updated(order: dict[str, Any]) -> dict[str, Any]:
    """The order as ``orders/updated`` carries it a day later: fulfilled, its tags changed."""
    later = order["updated_at"].replace("2026-11-23", "2026-11-24")
    out = dict(order, updated_at=later, fulfillment_status="fulfilled", tags=(order["tags"] + ", shipped").strip(", "))
    if "customer" in out:
        out["customer"] = dict(out["customer"], updated_at=later)
    return out


def _walmart_order(gen: OrderGenerator, person: Person, now_ms: int) -> dict[str, Any]:
    order = gen.order("bench-seller", now_ms, "plain").render()
    digits = "".join(c for c in person.phone if c.isdigit())[-10:]  # Walmart's phone: 10 digits, no country code
    order["shippingInfo"] = dict(order["shippingInfo"], phone=digits)
    order["shippingInfo"]["postalAddress"] = dict(order["shippingInfo"]["postalAddress"],
                                                  name=f"{person.first} {person.last}")
    return order


def _entry(topic: str, payload: dict[str, Any], k: int) -> tuple[str, InboxEntry]:
    body = orjson.dumps(payload).decode()
    if topic == WALMART_TOPIC:
        return "walmart", InboxEntry(shop_id=0, source="poll", topic=topic, identity=walmart_identity(payload),
                                     payload=body)
    wid = payloads.webhook_id(TAG, k)
    return "shopify", InboxEntry(shop_id=0, source="webhook", topic=topic,
                                 identity=shopify_identity(topic, payload, wid), payload=body, webhook_id=wid,
                                 event_id=payloads.webhook_id(TAG + 0x8000, k), api_version=payloads.API_VERSION)


def build(n: int, seed: int = 7) -> Workload:
    """``n`` records of the mix above."""
    rng = random.Random(seed)
    gen = OrderGenerator(seed)
    people: list[Person] = []
    with_account: list[Person] = []
    created: deque[tuple[int, dict[str, Any]]] = deque()  # (record number, the order as created), oldest first
    entries: list[tuple[str, InboxEntry]] = []
    counts = dict.fromkeys((kind for kind, _ in MIX), 0)
    kinds, weights = zip(*MIX, strict=True)
    walmart = 0
    for k in range(n):
        kind = rng.choices(kinds, weights)[0]
        if kind == "repeat" and not with_account:
            kind = "new"
        if kind == "update" and not (created and created[0][0] < k - UPDATE_GAP):
            kind = "new"
        if kind in ("new", "repeat"):
            if kind == "new":
                person = _person(rng, len(people))
                people.append(person)
                person.customer_id = payloads.ORDER_ID_BASE + TAG * payloads.ORDER_ID_SPAN + 9_000_000_000 + k * 4
                with_account.append(person)
            else:
                person = rng.choice(with_account)
            order = _shopify_order(k, person, guest=False, customer_phone=person.number % 2 == 0)
            created.append((k, order))
            entries.append(_entry("orders/create", order, k))
        elif kind == "guest":
            if with_account and rng.random() < 0.4:
                person = rng.choice(with_account)
            else:
                person = _person(rng, len(people))
                people.append(person)
            order = _shopify_order(k, person, guest=True, customer_phone=False)
            created.append((k, order))
            entries.append(_entry("orders/create", order, k))
        elif kind == "update":
            _, order = created.popleft()  # each order is updated once at most
            entries.append(_entry("orders/updated", _updated(order), k))
        else:
            us = [p for p in with_account[-2000:] if p.country == "US"]
            if us and rng.random() < 0.5:
                person = rng.choice(us)
            else:
                person = _person(rng, len(people), us_only=True)
                person.country = "US"
                people.append(person)
            entries.append(_entry(WALMART_TOPIC, _walmart_order(gen, person, 1_795_000_000_000 + k * 1000), k))
            walmart += 1
        counts[kind] += 1
    shopify_orders = counts["new"] + counts["repeat"] + counts["guest"]
    return Workload(entries, counts, len(people), shopify_orders, walmart)


def bound(workload: Workload, shopify_id: int, walmart_id: int) -> Iterator[InboxEntry]:
    """The records with their accounts' ids."""
    for account, e in workload.entries:
        yield dataclasses.replace(e, shop_id=shopify_id if account == "shopify" else walmart_id)
