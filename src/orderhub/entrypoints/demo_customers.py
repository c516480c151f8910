"""The demo's customer act: one person across the web shop and a store, their consent travelling between them, and
their request to be forgotten.

A customer of the simulated Shopify store subscribes to its e-mails there (Shopify's consent webhook reaches
orderhub); they then buy at the store's till with their loyalty card and the same e-mail address, and say no
to e-mails at the counter. orderhub links both to one profile, keeps both answers with where they came from,
and sends the newer one to Shopify (``customerEmailMarketingConsentUpdate``); Shopify's echo changes nothing.
Then the person asks to be forgotten: orderhub exports what it holds, erases them, asks Shopify to erase its
customer (``customerRequestDataErasure``), and their e-mail address is found nowhere in the database.
"""

from __future__ import annotations

import io
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import String, Text, func, or_, select

from orderhub.adapters.store import customer_links, customer_views, pos_devices
from orderhub.adapters.store.schema import (
    customer_consents,
    customers,
    facilities,
    inbox,
    metadata,
    orders,
    shops,
)
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.domain import money
from orderhub.entrypoints import demo_channels
from orderhub.services import channel_ops
from orderhub.services.privacy.erase import erase_person
from orderhub.services.privacy.export import export_with_manifest
from orderhub.simulators.pos.sales import CURRENCY

LOYALTY = "LOY-00042"
ACTOR = "demo"


@dataclass
class CustomerOutcome:
    """What the act showed, for the summary and the exit status."""

    profile: int | None = None
    identities: int = 0  # of the profile, before the erasure
    channels: list[str] = field(default_factory=list)  # sales channels the person bought through
    consent_sources: list[str] = field(default_factory=list)  # where the consent changes came from, in order
    shopify_state: str | None = None  # the person's e-mail consent in Shopify, after orderhub's update
    echo_changed: bool = True  # Shopify's echo of orderhub's update added to the history
    exported: int = 0  # files in the export archive
    mentions: int = -1  # rows anywhere in the database holding the e-mail address, after the erasure
    shopify_asked: bool = False  # Shopify was asked to erase its customer

    @property
    def ok(self) -> bool:
        return (self.identities >= 2 and self.consent_sources == ["shopify", "pos"]
                and self.shopify_state == "unsubscribed" and not self.echo_changed and self.exported > 0
                and self.mentions == 0 and self.shopify_asked)


def _process(hub: Hub, until: object, timeout: float = 20.0) -> bool:
    """Run the processor until ``until()`` holds (webhooks arrive from the simulator's sender thread)."""
    processor = hub.processor()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        processor.run_once()
        if until():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def _history(hub: Hub, profile: int) -> list[str]:
    with hub.db.read() as conn:
        live = customer_links.live(conn, profile) or profile
        return list(conn.execute(select(customer_consents.c.source).where(customer_consents.c.profile_id == live)
                                 .order_by(customer_consents.c.occurred_at, customer_consents.c.id)).scalars())


def _consent_webhooks(hub: Hub) -> int:
    """Shopify's e-mail consent webhooks processed so far."""
    with hub.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(inbox).where(
            inbox.c.topic == "customers_email_marketing_consent/update", inbox.c.status == "done")).scalar_one())


def _person(hub: Hub, shop: str) -> tuple[int, str, str] | None:
    """The shop's customer with an e-mail address and the most orders: (identity's profile, Shopify id, e-mail)."""
    with hub.db.read() as conn:
        row = conn.execute(
            select(customers.c.profile_id, customers.c.shopify_id, customers.c.email)
            .join(shops, shops.c.id == customers.c.shop_id).join(orders, orders.c.customer_id == customers.c.id)
            .where(shops.c.domain == shop, customers.c.email_key.is_not(None),
                   ~customers.c.shopify_id.startswith("guest:"))
            .group_by(customers.c.id, customers.c.profile_id, customers.c.shopify_id, customers.c.email)
            .order_by(func.count(orders.c.id).desc(), customers.c.id).limit(1)).first()
    return None if row is None else (int(row.profile_id), str(row.shopify_id), str(row.email))


def _sell(hub: Hub, hub_url: str, store: str, email: str) -> str:
    """One sale at the store's second till, to the loyalty member, who says no to e-mails; its status."""
    with hub.db.write() as conn:
        facility_id = int(conn.execute(select(facilities.c.id).where(facilities.c.code == store)).scalar_one())
        code, _expires = pos_devices.new_code(conn, facility_id, actor=ACTOR)
    item = next(i for i in demo_channels.items() if i.sku == demo_channels.LISTED[0])
    with httpx.Client(base_url=hub_url, timeout=30) as client:
        credential = client.post("/api/pos/enrol", json={"code": code, "name": "till-2", "version": "demo"}
                                 ).raise_for_status().json()["credential"]
        sale = {"id": str(uuid.uuid4()), "sequence": 1, "device_time": utcnow().isoformat(), "currency": CURRENCY,
                "lines": [{"sku": item.sku, "quantity": 1, "unit_price": str(Decimal(item.price))}],
                "tenders": [{"kind": "card", "amount": str(Decimal(item.price))}],
                "customer": {"loyalty_id": LOYALTY, "email": email, "marketing": {"email_marketing": False}}}
        answer = client.post("/api/pos/sales", json={"device": {}, "sales": [sale]},
                             headers={"authorization": f"Bearer {credential}"}).raise_for_status().json()
    return str(answer["results"][0]["status"])


def _mentions(hub: Hub, needle: str) -> int:
    """Rows of any table with a text column holding ``needle`` (any case)."""
    found = 0
    with hub.db.read() as conn:
        for table in metadata.sorted_tables:
            text = [c for c in table.columns  # a decorated type (the inbox's raw bodies) by what it stores
                    if isinstance(getattr(c.type, "impl_instance", c.type), String | Text)]
            if text:
                found += conn.execute(select(func.count()).select_from(table).where(
                    or_(*(func.lower(c).contains(needle.lower()) for c in text)))).scalar_one()
    return found


def run_customer(hub: Hub, console: Console, *, hub_url: str, sim_url: str, shop: str, store: str
                 ) -> CustomerOutcome:
    """The act, numbered step 11."""
    outcome = CustomerOutcome()
    console.print(f"[bold]11.[/bold] One customer across channels: a Shopify customer subscribes to e-mails, buys at "
                  f"{store} with a loyalty card and says no to e-mails there; then asks to be forgotten ...")
    found = _person(hub, shop)
    if found is None:
        console.print("    Skipped: no Shopify customer with an e-mail address has an order")
        return outcome
    profile, ref, email = found
    outcome.profile = profile
    control = httpx.Client(base_url=sim_url, timeout=30)
    try:
        control.post(f"/_sim/customers/{ref}/consent", json={"shop": shop, "channel": "email",
                                                            "state": "subscribed"}).raise_for_status()
        _process(hub, lambda: len(_history(hub, profile)) >= 1)
        status = _sell(hub, hub_url, store, email)
        with hub.db.read() as conn:
            summary = customer_views.summary(conn, profile)
            worth = customer_views.lifetime_value(conn, profile)
        outcome.identities = len(summary.identities) if summary else 0
        outcome.channels = [v.channel for v in worth]
        outcome.consent_sources = _history(hub, profile)
        console.print(f"    Shopify customer {ref}: e-mails subscribed in the shop; at {store}'s till-2 the sale is "
                      f"{status}, the loyalty card {LOYALTY} and the same address join profile {profile}",
                      highlight=False)
        channel_ops.send_once(hub)  # orderhub's update of Shopify's consent: customerEmailMarketingConsentUpdate
        seen = control.get(f"/_sim/customers/{ref}", params={"shop": shop}).raise_for_status().json()["customer"]
        outcome.shopify_state = str(seen["email_marketing_consent"]["state"])
        before = len(outcome.consent_sources)
        # Shopify's webhook about the change orderhub made (its echo): the second consent webhook, processed
        _process(hub, lambda: _consent_webhooks(hub) >= 2)
        outcome.echo_changed = _consent_webhooks(hub) < 2 or len(_history(hub, profile)) != before
        _show(console, summary, worth, outcome)
        archive, _manifest = export_with_manifest(hub, profile, actor=ACTOR, via="cli")
        outcome.exported = len(zipfile.ZipFile(io.BytesIO(archive)).namelist())
        report = erase_person(hub, profile, actor=ACTOR, reason="the customer asked to be forgotten", via="cli")
        channel_ops.send_once(hub)  # customerRequestDataErasure
        seen = control.get(f"/_sim/customers/{ref}", params={"shop": shop}).raise_for_status().json()["customer"]
        outcome.shopify_asked = seen.get("data_erasure_requested_at") is not None
        outcome.mentions = _mentions(hub, email)
        console.print(f"    asked to be forgotten: exported {outcome.exported} files, then "
                      f"erased {sum(report.rows.values())} values in {len(report.rows)} tables under pseudonym "
                      f"{report.pseudonym}; Shopify asked to erase its customer: "
                      f"{'yes' if outcome.shopify_asked else 'no'}; the e-mail address is now in "
                      f"{outcome.mentions} row(s) of orderhub's database", highlight=False)
    finally:
        control.close()
    return outcome


def _show(console: Console, summary: customer_views.Summary | None, worth: list[customer_views.Value],
          outcome: CustomerOutcome) -> None:
    table = Table(title=f"Profile {outcome.profile}", title_justify="left")
    for column in ("identity", "channel account", "linked by"):
        table.add_column(column)
    for i in summary.identities if summary else []:
        table.add_row(i.channel_ref, i.account, i.linked_by or "")
    console.print(table)
    for v in worth:
        console.print(f"    {v.channel}: {v.orders} order(s), {money.show(v.net, v.currency)} "
                      f"{v.currency}", highlight=False)
    echo = "added a change" if outcome.echo_changed else "changed nothing"
    console.print(f"    e-mail consent: {' → '.join(outcome.consent_sources)}; Shopify now shows "
                  f"{outcome.shopify_state}; Shopify's echo {echo}", highlight=False)
