"""CLI for outbound webhook subscriptions: ``orderhub subscription add|list|enable|disable|deliveries``.

Registered on the main ``orderhub`` group by :func:`register`.
"""

from __future__ import annotations

import click

from orderhub.adapters.outbound import OutboundPolicy
from orderhub.adapters.store import subscriptions as subscription_store
from orderhub.bootstrap import Hub
from orderhub.entrypoints.cli_support import JSON_HELP, iso_time, read_only_hub, writing_hub
from orderhub.entrypoints.cli_support import print_json as _print_json
from orderhub.entrypoints.cli_support import table as _table


@click.group()
def subscription() -> None:
    """Outbound webhooks: ERP, CRM and fulfilment systems that receive orderhub's events."""


@subscription.command("add")
@click.argument("url")
@click.option("--events", required=True,
              help="Comma-separated event types or patterns, e.g. 'order.*,inventory.changed' or '*'.")
@click.option("--rate", "rate_per_second", type=float, default=None,
              help=f"Most events per second to this subscriber, all workers together "
                   f"(default {subscription_store.DEFAULTS['rate_per_second']:g}).")
@click.option("--max-attempts", type=int, default=None,
              help=f"Attempts before a delivery goes to the error log "
                   f"(default {subscription_store.DEFAULTS['max_attempts']}).")
@click.option("--timeout", "timeout_seconds", type=float, default=None,
              help=f"Seconds to wait for the subscriber (default {subscription_store.DEFAULTS['timeout_seconds']:g}).")
@click.option("--description", default=None, help="What this subscriber is (shown in lists).")
@writing_hub
def subscription_add(hub: Hub, url: str, events: str, rate_per_second: float | None, max_attempts: int | None,
                     timeout_seconds: float | None, description: str | None) -> None:
    """Send events matching --events to URL, signed as Standard Webhooks. Prints the signing secret once."""
    try:
        OutboundPolicy.from_env().check(url)
        with hub.db.write() as conn:
            sub = subscription_store.add(conn, url, events, rate_per_second=rate_per_second,
                                         max_attempts=max_attempts, timeout_seconds=timeout_seconds,
                                         description=description)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    click.echo(f"subscription {sub.id} → {sub.url} for {', '.join(sub.patterns)} at {sub.rate_per_second:g}/s, "
               f"{sub.max_attempts} attempts")
    click.echo(f"signing secret (shown only now; give it to the subscriber to verify webhook-signature):\n"
               f"{sub.secret}")


@subscription.command("list")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@read_only_hub
def subscription_list(hub: Hub, as_json: bool) -> None:
    """List subscriptions (secrets masked)."""
    with hub.db.read() as conn:
        data = [s.public() for s in subscription_store.all_subscriptions(conn)]
    if as_json:
        _print_json(data)
        return
    _table("Subscriptions", ["id", "on", "events", "rate/s", "secret", "url / description"],
           [[d["id"], "yes" if d["enabled"] else "no", d["events"].replace(",", ", "), f"{d['rate_per_second']:g}",
             d["secret"], d["url"] + (f"\n{d['description']}" if d["description"] else "")] for d in data])


def _set_enabled(hub: Hub, subscription_id: int, enabled: bool) -> None:
    try:
        with hub.db.write() as conn:
            sub = subscription_store.set_enabled(conn, subscription_id, enabled)
    except LookupError as exc:
        raise click.ClickException(str(exc).strip("'\"")) from None
    click.echo(f"subscription {sub.id} → {sub.url}: " + (
        "enabled" if enabled else "disabled (new events are not queued for it; queued ones wait until enabled)"))


@subscription.command("disable")
@click.argument("subscription_id", type=int)
@writing_hub
def subscription_disable(hub: Hub, subscription_id: int) -> None:
    """Stop sending to a subscriber (SUBSCRIPTION_ID); events from now on are not queued for it."""
    _set_enabled(hub, subscription_id, False)


@subscription.command("enable")
@click.argument("subscription_id", type=int)
@writing_hub
def subscription_enable(hub: Hub, subscription_id: int) -> None:
    """Resume sending to a subscriber (SUBSCRIPTION_ID)."""
    _set_enabled(hub, subscription_id, True)


@subscription.command("deliveries")
@click.option("--subscription", "subscription_id", type=int, default=None, help="Only this subscription.")
@click.option("--status", type=click.Choice(subscription_store.DELIVERY_STATUSES), default=None,
              help="Only deliveries in this status.")
@click.option("--order", "order_id", type=int, default=None, help="Only events of this order (orderhub id).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000),
              help="Show at most this many deliveries.")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@read_only_hub
def subscription_deliveries(hub: Hub, subscription_id: int | None, status: str | None, order_id: int | None,
                            limit: int, as_json: bool) -> None:
    """The delivery log, newest first: event, status, attempts and the subscriber's last answer."""
    flt = subscription_store.DeliveryFilter(subscription_id=subscription_id, status=status, order_id=order_id)
    with hub.db.read() as conn:
        rows = subscription_store.deliveries(conn, flt, limit=limit)
    if as_json:
        _print_json(rows)
        return
    _table("Deliveries", ["id", "sub", "event", "status", "tries", "code", "delivered (UTC)", "last error"],
           [[r["id"], r["subscription_id"], f"{r['outbox_id']} {r['event_type']}", r["status"], r["attempts"],
             r["last_status"], iso_time(r["delivered_at"]), r["last_error"]] for r in rows])


def register(main: click.Group) -> None:
    main.add_command(subscription)
