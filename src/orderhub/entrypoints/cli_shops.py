"""``orderhub shop``: the Shopify stores orderhub receives from (add, list, show, set, source-channel,
stock-location, subscribe).

Each shop talks to Shopify through one Admin API version. ``shop list`` and ``shop set`` warn
when that version leaves Shopify's support within 60 days (or has left it), naming the date and
the version to move to; ``shop set DOMAIN --api-version V`` moves it.
"""

from __future__ import annotations

import re

import click

from orderhub.adapters.shopify import api_versions
from orderhub.adapters.store import shops, source_channels
from orderhub.bootstrap import Hub
from orderhub.entrypoints import cli_shop_stock
from orderhub.entrypoints.cli_secrets import secret_option
from orderhub.entrypoints.cli_support import JSON_HELP, print_json, read_only_hub, table, writing_hub
from orderhub.services import shop_versions


def _version(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """A version Shopify answers as itself today: supported, the release candidate or unstable."""
    if value is None:
        return None
    day = shop_versions.today()
    try:
        version = api_versions.parse(value)
        served = api_versions.served_version(version, day)
    except api_versions.InvalidVersion as exc:
        raise click.BadParameter(str(exc)) from None
    if served != version:
        raise click.BadParameter(
            f"{version} is no longer supported by Shopify (support ended {api_versions.support_ends(version)}; "
            f"Shopify would answer it as {served}). Supported today: {', '.join(api_versions.supported(day))}")
    return version


def _warn(found: list[shop_versions.VersionState]) -> None:
    for state in found:
        if state.needs_attention:
            click.secho(f"warning: {state.message}", fg="yellow", err=True)


def _shop(hub: Hub, domain: str) -> shops.Shop:
    with hub.db.read() as conn:
        found = shops.by_domain(conn, domain)
    if found is None:
        raise click.ClickException(f"no shop {domain}; add it with `orderhub shop add {domain} --secret ...`")
    return found


def register(main: click.Group) -> None:
    newest = api_versions.newest_stable(shop_versions.today())

    @main.group()
    def shop() -> None:
        """Shops orderhub receives from."""

    cli_shop_stock.register(shop)

    @shop.command("add")
    @click.argument("domain")
    @secret_option("secret", required=True, help="The app's API secret (signs webhooks). Never printed.")
    @click.option("--admin-url", default=None, help="Admin API base URL (default https://DOMAIN).")
    @secret_option("access-token", required=False, help="Admin API access token. Never printed.")
    @click.option("--api-version", default=None, callback=_version,
                  help=f"Admin API version (default: the newest stable one, today {newest}).")
    @writing_hub
    def shop_add(hub: Hub, domain: str, secret: str, admin_url: str | None, access_token: str | None,
                 api_version: str | None) -> None:
        """Add a shop by its DOMAIN, e.g. my-store.myshopify.com (or update its credentials)."""
        if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,250}", domain.strip().lower()):
            raise click.BadParameter(f"{domain!r} is not a shop domain (e.g. my-store.myshopify.com)")
        with hub.db.write() as conn:
            added = shops.add(conn, domain, secret, admin_url, access_token, api_version)
        click.echo(f"shop {added.domain} ready (id {added.id}, API version {added.api_version}); "
                   "secret stored, not shown")
        _warn([shop_versions.state_of(added, shop_versions.today())])

    @shop.command("list")
    @click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
    @read_only_hub
    def shop_list(hub: Hub, as_json: bool) -> None:
        """List shops (secrets are never shown), with where each one's API version stands."""
        with hub.db.read() as conn:
            rows = shops.all_shops(conn)
        day = shop_versions.today()
        states = {s.shop: s for s in shop_versions.states(rows, day)}
        data = []
        for s in rows:
            state = states.get(s.domain)
            data.append({"id": s.id, "domain": s.domain, "status": s.status, "api_version": s.api_version,
                         "api_version_state": state.state if state else None,
                         "api_version_support_ends": state.support_ends.isoformat() if state and state.support_ends
                         else None,
                         "api_version_warning": state.message if state and state.needs_attention else None,
                         "admin_url": s.admin_url, "access_token": "set" if s.access_token else "not set"})
        if as_json:
            print_json(data)
            return
        table("Shops", ["id", "domain", "status", "api version", "version state", "support ends", "admin url",
                        "access token"],
              [[d["id"], d["domain"], d["status"], d["api_version"], d["api_version_state"] or "",
                d["api_version_support_ends"] or "", d["admin_url"], d["access_token"]] for d in data])
        _warn(list(states.values()))

    @shop.command("set")
    @click.argument("domain")
    @click.option("--api-version", required=True, callback=_version,
                  help=f"The Admin API version to use from now on (e.g. {newest}, the newest stable one).")
    @writing_hub
    def shop_set(hub: Hub, domain: str, api_version: str) -> None:
        """Change a shop's (DOMAIN) settings: its Shopify Admin API version."""
        with hub.db.write() as conn:
            changed = shops.set_api_version(conn, domain, api_version)
        if changed is None:
            raise click.ClickException(f"no shop {domain}; add it with `orderhub shop add {domain} --secret ...`")
        state = shop_versions.state_of(changed, shop_versions.today())
        ends = f", supported until {state.support_ends}" if state.support_ends else ""
        click.echo(f"shop {changed.domain} now uses Shopify API version {changed.api_version}{ends}")
        _warn([state])

    @shop.command("show")
    @click.argument("domain")
    @click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
    @read_only_hub
    def shop_show(hub: Hub, domain: str, as_json: bool) -> None:
        """Show one shop (DOMAIN): its API version, and the channels its own source names are mapped to."""
        found = _shop(hub, domain)
        with hub.db.read() as conn:
            mapping = source_channels.of_shop(conn, found.domain)
        data = {"id": found.id, "domain": found.domain, "status": found.status, "api_version": found.api_version,
                "admin_url": found.admin_url, "access_token": "set" if found.access_token else "not set",
                "source_channels": mapping}
        if as_json:
            print_json(data)
            return
        for key in ("id", "domain", "status", "api_version", "admin_url", "access_token"):
            click.echo(f"{key.replace('_', ' ')}: {data[key] if data[key] is not None else ''}")
        if not mapping:
            click.echo("source channels: none mapped (pos is pos; web, iphone, android, shopify_draft_order "
                       "and unmapped sources are online)")
            return
        table("Source channels", ["source name", "channel"], [[k, v] for k, v in mapping.items()])

    @shop.command("source-channel")
    @click.argument("domain")
    @click.argument("source")
    @click.argument("channel", required=False)
    @click.option("--remove", is_flag=True, help="Forget the channel of SOURCE (its orders are online again).")
    @writing_hub
    def shop_source_channel(hub: Hub, domain: str, source: str, channel: str | None, remove: bool) -> None:
        """Orders of shop DOMAIN whose Shopify source_name is SOURCE are sold through CHANNEL.

        SOURCE is the key Shopify gives a sales channel app's orders in the shop (the app's id, or a handle
        of it), as the order page shows it; CHANNEL is a code such as instagram, facebook, tiktok or one of
        your own. The mapping applies to orders read from now on; orders stored already keep their channel.
        """
        if remove == (channel is not None):
            raise click.UsageError("give either a CHANNEL for SOURCE or --remove, e.g. "
                                   f"`orderhub shop source-channel {domain} {source} instagram`")
        with hub.db.write() as conn:
            try:
                mapping = source_channels.set_channel(conn, domain, source, None if remove else channel)
            except (LookupError, ValueError) as exc:
                raise click.ClickException(str(exc)) from None
        if remove:
            click.echo(f"shop {domain.strip().lower()}: orders with source name {source.strip()} are no longer mapped "
                       f"({len(mapping)} source name(s) still mapped)")
        else:
            click.echo(f"shop {domain.strip().lower()}: orders with source name {source.strip()} are sold through "
                       f"{mapping[source.strip()]}, from the next order read")

    @shop.command("subscribe")
    @click.argument("domain")
    @click.option("--address", required=True, help="Public URL of orderhub's /webhooks/shopify.")
    @click.option("--topic", "topics", multiple=True, help="Topic to subscribe (default: all supported).")
    @writing_hub
    def shop_subscribe(hub: Hub, domain: str, address: str, topics: tuple[str, ...]) -> None:
        """Subscribe a shop's (DOMAIN) webhooks to orderhub through the Admin API."""
        from orderhub.adapters.shopify import subscriptions
        from orderhub.adapters.shopify.webhooks import SUPPORTED_TOPICS
        from orderhub.services.jobs.import_orders import admin_client

        found = _shop(hub, domain)
        try:
            client = admin_client(found)
        except ValueError as exc:  # no access token, or a version Shopify does not know
            raise click.ClickException(str(exc)) from None
        for topic in topics or sorted(t for t in SUPPORTED_TOPICS if "redact" not in t and "data_request" not in t):
            result = subscriptions.subscribe(client, topic, address)  # Shopify's failures: one line (cli_errors)
            click.echo(f"{topic:32} {result['status']}")
