"""The webhooks a Shopify shop sends about its orders over their life, in the order they arrive.

The bodies and topics come from orderhub's Shopify simulator (``orderhub.simulators.shopify``, checked
against Shopify's own samples and REST resources), driven in this process with its webhooks captured
instead of delivered: each change fires what Shopify fires for it, e.g. ``orders/paid`` then
``orders/updated`` with the same snapshot, or ``refunds/create`` then ``orders/updated``.

What happens to each order (the shares are per order; time is counted in orders arrived, so "5-200"
means between the 5th and the 200th order placed after it):

=====================  =======================================  =========  =====================================
change                 how often                                when       webhooks (simulator = Shopify)
=====================  =======================================  =========  =====================================
placed                 every order                              0          orders/create, orders/updated
paid                   those placed pending or authorized       1-30       orders/paid, orders/updated
                       (3 in 10: the simulator's generator)
note or tags changed   1 in 4 (staff, or a tagging app)         0-10       orders/updated
cancelled and refunded 3 in 100, before fulfilment              5-200      refunds/create (if paid),
                       (``orderCancel`` with refund, restock)              orders/cancelled, orders/updated
fulfilled              9 in 10 of the others                    50-600     orders/fulfilled, orders/updated
one line refunded      1 in 10 of the fulfilled (a return)      +100-1500  refunds/create, orders/updated
=====================  =======================================  =========  =====================================

Why these: orderhub subscribes a shop to every order topic (``orderhub shop subscribe``), so each change
arrives twice, once under its own topic and once as ``orders/updated``; the door stores both, and the
worker derives each one's content identity (``order:ID@updated_at``) and finishes the second of an
order version as a duplicate, so one record per change is applied, plus each refund. About 3 in 10
card payments are authorised first and captured later (the generator's share), apps and staff tag or
annotate a quarter of the orders, a few percent are cancelled, nearly every order ships within a day or
two, and about a tenth of shipped orders come back (apparel sees more, other goods less). Times are
compressed (a real return comes days later) but keep the order of events: a batch mixes new orders with
changes to orders placed a little and a long while before, as a busy shop's inbox does. The first and
last stretches of a run are richer in new orders and in late changes respectively; the whole has the
mix above.
"""

from __future__ import annotations

import heapq
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson

from orderhub.adapters.shopify.webhooks import identity
from orderhub.adapters.store import inbox
from orderhub.simulators.shopify import actions
from orderhub.simulators.shopify.simulator import Simulator

SHOP = "bench-mixed.myshopify.com"
SECRET = "bench-mixed-secret"
API_VERSION = "2025-10"

SHARE_TOUCHED = 0.25
SHARE_CANCELLED = 0.03
SHARE_FULFILLED = 0.90
SHARE_RETURNED = 0.10
DELAY = {"pay": (1, 30), "touch": (0, 10), "cancel": (5, 200), "fulfill": (50, 600), "refund": (100, 1500)}
_TAGS = (["vip"], ["gift", "priority"], ["wholesale"], ["risk:low"], ["first-order", "newsletter"])


@dataclass
class Webhook:
    topic: str
    body: bytes
    webhook_id: str
    event_id: str
    identity: str


@dataclass
class Workload:
    orders: int
    webhooks: list[Webhook] = field(default_factory=list)
    changes: Counter[str] = field(default_factory=Counter)  # change -> how many were made
    final: dict[str, dict[str, Any]] = field(default_factory=dict)  # order id -> the simulator's last version
    refunds: Counter[str] = field(default_factory=Counter)  # order id -> refunds made

    @property
    def topics(self) -> Counter[str]:
        return Counter(w.topic for w in self.webhooks)

    def records(self) -> list[Webhook]:
        """What the inbox keeps: one record per identity, the first to arrive."""
        seen: set[str] = set()
        out = []
        for w in self.webhooks:
            if w.identity not in seen:
                seen.add(w.identity)
                out.append(w)
        return out

    def entries(self, shop_id: int) -> list[inbox.InboxEntry]:
        """Every webhook as the door stores it: the raw body, no identity yet (the worker derives it and finishes
        the second of an identity as a duplicate)."""
        return [inbox.InboxEntry(shop_id=shop_id, source="webhook", topic=w.topic, identity=None,
                                 payload=w.body.decode(), webhook_id=w.webhook_id, event_id=w.event_id,
                                 api_version=API_VERSION) for w in self.webhooks]


def make(n: int, seed: int = 20261207) -> Workload:
    """The webhooks of ``n`` orders' lives, in arrival order."""
    rng = random.Random(seed)
    sim = Simulator(seed=seed)
    shop = sim.add_shop(SHOP, SECRET, "bench-token", currency="EUR", utc_offset="+01:00", taxes_included=True)
    out = Workload(n)
    captured: list[tuple[str, dict[str, Any]]] = []

    def emit(_shop: Any, events: list[tuple[str, Any]], *, needs_subscription: bool = True) -> None:
        captured.extend(events)

    sim.emit = emit  # type: ignore[method-assign]  # kept here instead of delivered
    agenda: list[tuple[float, int, str, int]] = []  # (time, tie, change, order number or id)
    tie = 0

    def later(now: float, change: str, subject: int) -> None:
        nonlocal tie
        low, high = DELAY[change]
        tie += 1
        heapq.heappush(agenda, (now + rng.uniform(low, high), tie, change, subject))

    for k in range(n):
        tie += 1
        heapq.heappush(agenda, (float(k), tie, "place", k))
    while agenda:
        now, _tie, change, subject = heapq.heappop(agenda)
        try:
            if change == "place":
                (order_id,), _bad = sim.place_orders(SHOP, 1)
                order = shop.orders[order_id]
                if order["financial_status"] in ("pending", "authorized"):
                    later(now, "pay", order_id)
                if rng.random() < SHARE_TOUCHED:
                    later(now, "touch", order_id)
                if rng.random() < SHARE_CANCELLED:
                    later(now, "cancel", order_id)
                elif rng.random() < SHARE_FULFILLED:
                    later(now, "fulfill", order_id)
            elif change == "touch":
                params: dict[str, Any] = ({"tags": rng.choice(_TAGS)} if rng.random() < 0.6
                                          else {"note": "Bitte nicht klingeln 🔕"})
                sim.change_order(subject, "update", params, SHOP)
            elif change == "cancel":
                order = shop.orders[subject]
                sim.emit(shop, actions.cancel_order(sim.store, shop, order, reason="customer", refund=True,
                                                    restock=True))
            elif change == "fulfill":
                sim.change_order(subject, "fulfill", {}, SHOP)
                if rng.random() < SHARE_RETURNED:
                    later(now, "refund", subject)
            elif change == "refund":
                sim.change_order(subject, "refund", {"quantity": 1, "restock": True}, SHOP)
            else:
                sim.change_order(subject, change, {}, SHOP)
        except actions.ActionError:
            continue  # e.g. paying an order cancelled meanwhile: Shopify would refuse it too
        out.changes[change] += 1
    for i, (topic, payload) in enumerate(captured):
        wid = f"c0ffee00-0000-4000-8000-{i:012x}"
        out.webhooks.append(Webhook(topic, orjson.dumps(payload), wid, f"e0e0e0e0-0000-4000-8000-{i:012x}",
                                    identity(topic, payload, wid)))
        if topic == "refunds/create":
            out.refunds[str(payload["order_id"])] += 1
    out.final = {str(oid): order for oid, order in shop.orders.items()}
    return out
