"""``orderhub jobs webhooks CATEGORY``: a category's Shopify webhook subscriptions for a shop.

Prints each topic's state (subscribed, missing, other-address); ``--subscribe --address URL``
subscribes the category's topics, ``--unsubscribe`` removes them (and orderhub's record of them,
so ``check-webhooks`` stops re-creating them).
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

import click

from orderhub.adapters.shopify.graphql import ShopifyError
from orderhub.adapters.store import shops
from orderhub.bootstrap import Hub
from orderhub.domain.jobs import CATEGORY_CODES
from orderhub.entrypoints.cli_support import JSON_HELP, print_json, table, writing_hub
from orderhub.services import webhook_categories
from orderhub.services.webhook_categories import TopicState


def _local(value: datetime | None) -> str:
    return "" if value is None else value.astimezone().strftime("%Y-%m-%d %H:%M %Z")


def _short_id(subscription_id: str | None) -> str:
    """``gid://shopify/WebhookSubscription/123`` -> ``123`` (``--json`` has the whole id)."""
    return (subscription_id or "").rsplit("/", 1)[-1]


def _row(s: TopicState) -> list[Any]:
    where = s.callback_url or ""
    if s.other_addresses and s.state == webhook_categories.SUBSCRIBED:
        where += f" (also {', '.join(s.other_addresses)})"
    detail = "; ".join(x for x in (where, s.error or s.note) if x)
    return [s.topic, s.state, _short_id(s.subscription_id), _local(s.last_seen_at), detail]


def register(main: click.Group) -> None:
    jobs = main.commands.get("jobs")
    if not isinstance(jobs, click.Group):
        raise RuntimeError("register the jobs commands (cli_jobs) before cli_webhooks")

    @jobs.command("webhooks")
    @click.argument("code", metavar="CATEGORY", type=click.Choice(sorted(CATEGORY_CODES)))
    @click.option("--shop", "domain", required=True, help="The shop (its Admin API token is used).")
    @click.option("--subscribe", "do_subscribe", is_flag=True, help="Subscribe the category's topics.")
    @click.option("--unsubscribe", "do_unsubscribe", is_flag=True, help="Remove the category's subscriptions.")
    @click.option("--address", default=None,
                  help="Public URL of orderhub's /webhooks/shopify (required with --subscribe; otherwise the "
                       "address to compare with).")
    @click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
    @writing_hub
    def jobs_webhooks(hub: Hub, code: str, domain: str, do_subscribe: bool, do_unsubscribe: bool,
                      address: str | None, as_json: bool) -> None:
        """A CATEGORY's Shopify webhook subscriptions for a shop: their state, or subscribe / unsubscribe them."""
        if do_subscribe and do_unsubscribe:
            raise click.UsageError("use --subscribe or --unsubscribe, not both")
        if do_subscribe and not address:
            raise click.UsageError("--subscribe needs --address, the public URL of orderhub's /webhooks/shopify "
                                   "(e.g. https://hub.example.com/webhooks/shopify)")
        if do_unsubscribe and address:
            raise click.UsageError("--unsubscribe removes the category's subscriptions whatever their address; "
                                   "leave out --address")
        with hub.db.read() as conn:
            shop = shops.by_domain(conn, domain)
        if shop is None:
            raise click.ClickException(f"no shop {domain}; add it with `orderhub shop add {domain} --secret ...`")
        action = "subscribe" if do_subscribe else "unsubscribe" if do_unsubscribe else "state"
        try:
            if do_subscribe:
                assert address is not None
                states = webhook_categories.subscribe(hub, shop, code, address)
            elif do_unsubscribe:
                states = webhook_categories.unsubscribe(hub, shop, code)
            else:
                states = webhook_categories.state(hub, shop, code, address=address)
        except (ValueError, ShopifyError) as exc:
            raise click.ClickException(f"{code} webhooks of {shop.domain}: {exc}") from None
        errors = [s.error for s in states if s.error]
        if as_json:
            print_json({"shop": shop.domain, "category": code, "action": action,
                        "topics": [s.as_dict() for s in states]})
        else:
            table(f"{code} webhooks of {shop.domain}", ["topic", "state", "id", "last seen", "callback / note"],
                  [_row(s) for s in states])
        if errors:
            click.echo("some topics failed:\n  " + "\n  ".join(errors), err=True)
            sys.exit(1)
