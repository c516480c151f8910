"""``orderhub channel``: sales channels (what each may sell: ATP threshold, facility groups) and the channel
accounts orders come from (Amazon, Walmart, TikTok Shop; Shopify shops are `orderhub shop`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import click

from orderhub.adapters.channels import ACCOUNT_FIELDS, TITLES, AccountField, account_values
from orderhub.adapters.store import accounts, channel_stock
from orderhub.adapters.store import facilities as facility_store
from orderhub.bootstrap import Hub
from orderhub.domain.channels import ChannelRefused, ChannelUnavailable
from orderhub.entrypoints.cli_oms import cli_actor, domain_problems
from orderhub.entrypoints.cli_support import JSON_HELP, cell, print_json, read_only_hub, table, writing_hub
from orderhub.services.channel_listings import list_by_hand, unlist_by_hand
from orderhub.services.jobs import tiktok_cancellations


@click.group("channel")
def channel() -> None:
    """Sales channels and the channel accounts (Amazon, Walmart, TikTok Shop) orders come from."""


@channel.command("set")
@click.argument("code")
@click.option("--name", default=None, help="Its name.")
@click.option("--threshold", type=click.IntRange(min=0), default=None, help="Units held back from this channel.")
@click.option("--groups", default=None, help="Comma-separated facility groups it sells from ('' for all).")
@click.option("--last-units", type=click.IntRange(min=0), default=None,
              help="Offer the last N units of every SKU on this channel only: every other channel shows N fewer "
                   "(0: none kept).")
@writing_hub
def channel_set(hub: Hub, code: str, name: str | None, threshold: int | None, groups: str | None,
                last_units: int | None) -> None:
    """Create or change a sales channel (CODE, e.g. online): its ATP threshold, facility groups and the last units
    kept for it. Every listing's quantity is worked out again at once."""
    with domain_problems(), hub.db.write() as conn:
        facility_store.set_channel(conn, code, name=name, threshold=threshold, last_units=last_units,
                                   groups=tuple(g for g in groups.split(",") if g) if groups is not None else None)
        changed = channel_stock.refresh_all(conn)
        ch = facility_store.get_channel(conn, code)
    assert ch is not None
    kept = f", the last {ch.last_units} unit(s) of every SKU kept for it" if ch.last_units else ""
    click.echo(f"channel {ch.code}: threshold {ch.threshold}, groups {', '.join(ch.groups) or 'all facilities'}"
               f"{kept}; {changed} listing(s) to send a new quantity")


@channel.group("add")
def channel_add() -> None:
    """Add a channel account, or change one's settings and secrets (Shopify shops: `orderhub shop add`)."""


def _option(f: AccountField) -> Any:
    flag = "--" + f.name.replace("_", "-")
    if f.required:
        return click.option(flag, f.name, required=True, help=f.help)
    return click.option(flag, f.name, default=f.default, show_default=True, help=f.help)


def _add_command(kind: str, fields: tuple[AccountField, ...]) -> None:
    def add(hub: Hub, name: str, sales_channel: str | None, **values: str) -> None:
        with domain_problems(), hub.db.write() as conn:
            settings, secrets = account_values(kind, values)
            if sales_channel and facility_store.get_channel(conn, sales_channel) is None:
                raise LookupError(f"no sales channel {sales_channel}; create it with `orderhub channel set "
                                  f"{sales_channel}`")
            account = accounts.add(conn, kind, name, settings, secrets, sales_channel=sales_channel)
        click.echo(f"{kind} account {account.name} (id {account.id}): {account.status}, sells through "
                   f"{account.sales_channel or 'online'}; secrets stored encrypted: {', '.join(sorted(secrets))}")

    title = TITLES[kind]
    add.__doc__ = (f"Add {'an' if title[0] in 'AEIOU' else 'a'} {title} account NAME (e.g. {kind}-us), or change its "
                   "settings and secrets.")
    command: Any = writing_hub(add)
    command = click.option("--sales-channel", default=None,
                           help="Sales channel it sells through (its ATP); default online.")(command)
    for f in reversed(fields):
        command = _option(f)(command)
    command = click.argument("name")(command)
    channel_add.command(kind)(command)


for _kind, _fields in ACCOUNT_FIELDS.items():
    _add_command(_kind, _fields)


@channel.command("list")
@click.option("--kind", type=click.Choice(["shopify", *ACCOUNT_FIELDS]), default=None, help="Only this kind.")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@read_only_hub
def channel_list(hub: Hub, kind: str | None, as_json: bool) -> None:
    """Every channel account: kind, name, status and the sales channel it sells through (no secrets)."""
    with hub.db.read() as conn:
        found = accounts.all_accounts(conn, kind)
    if as_json:
        print_json([a.public() for a in found])
        return
    table("Channel accounts", ["id", "kind", "name", "status", "sells through"],
          [[a.id, a.kind, a.name, a.status, a.sales_channel or "online"] for a in found])


@channel.command("show")
@click.argument("account")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@read_only_hub
def channel_show(hub: Hub, account: str, as_json: bool) -> None:
    """One channel ACCOUNT (by name): its settings and which secrets are set (never their values)."""
    with hub.db.read() as conn:
        found = accounts.get(conn, account, secrets=False)
    if found is None:
        raise click.ClickException(f"no channel account {account}; `orderhub channel list` shows them")
    if as_json:
        print_json(found.public())
        return
    click.echo(f"{found.kind} account {found.name} (id {found.id}): {found.status}, sells through "
               f"{found.sales_channel or 'online'}")
    for key, value in sorted(found.settings.items()):
        click.echo(f"  {key}: {value}")
    click.echo(f"  secrets set: {', '.join(sorted(found.credentials)) or 'none'}")


def _status_command(name: str, status: str, doc: str) -> None:
    @channel.command(name)
    @click.argument("account")
    @writing_hub
    def change(hub: Hub, account: str) -> None:
        with domain_problems(), hub.db.write() as conn:
            found = accounts.set_status(conn, account, status)
        click.echo(f"{found.kind} account {found.name}: {found.status}")

    change.help = doc


_status_command("disable", "disabled", "Stop reading orders from and sending to a channel ACCOUNT (by name).")
_status_command("enable", "active", "Work with a disabled channel ACCOUNT (by name) again.")


# -- listings: which SKUs an account sells, and what orderhub sends it ----------------------------------------

@channel.command("listings")
@click.argument("account")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@read_only_hub
def channel_listings(hub: Hub, account: str, as_json: bool) -> None:
    """What orderhub sends a channel ACCOUNT: each SKU it lists, the quantity wanted, the one the channel took,
    whether the latest is still to send, and the channel's last error."""
    with hub.db.read() as conn:
        found = accounts.get(conn, account, secrets=False)
        if found is None:
            raise click.ClickException(f"no channel account {account}; `orderhub channel list` shows them")
        rows = channel_stock.listed(conn, found.id)
    if as_json:
        print_json({"account": found.name, "kind": found.kind, "listings": rows})
        return
    if not rows:
        click.echo(f"{found.kind} account {found.name} lists no SKU; `orderhub channel list-sku {found.name} SKU` or "
                   "the sync-channel-listings job lists them")
        return
    table(f"Listings of {found.name} ({found.kind})", ["SKU", "location", "channel ref", "wanted", "sent", "pending",
                                                      "last error"],
          [[r["sku"], r["location"], r["channel_ref"], r["wanted"], r["sent"], r["pending"], r["last_error"]]
           for r in rows], drop_empty=("location", "channel ref", "last error"))


def _refs(given: tuple[str, ...]) -> dict[str, str]:
    refs = {}
    for pair in given:
        sku, sep, ref = pair.partition("=")
        if not sep or not sku.strip() or not ref.strip():
            raise click.BadParameter(f"{pair!r} is not SKU=ID", param_hint="--ref")
        refs[sku.strip()] = ref.strip()
    return refs


@channel.command("list-sku")
@click.argument("account")
@click.argument("skus", nargs=-1, required=True)
@click.option("--location", default="", help="The channel's warehouse or ship node ('' : the account as a whole).")
@click.option("--ref", "refs", multiple=True, metavar="SKU=ID",
              help="The channel's own id of a SKU's listing (TikTok Shop: PRODUCT_ID:SKU_ID); repeat for more.")
@writing_hub
def channel_list_sku(hub: Hub, account: str, skus: tuple[str, ...], location: str, refs: tuple[str, ...]) -> None:
    """List SKUS on a channel ACCOUNT: from now on orderhub sends it their stock (each SKU must be one orderhub
    knows)."""
    with domain_problems(), hub.db.write() as conn:
        found, new = list_by_hand(conn, account, list(skus), location=location, refs=_refs(refs))
        pending = channel_stock.pending_count(conn, found.id)
    click.echo(f"{found.kind} account {found.name}: {new} SKU(s) newly listed{' at ' + location if location else ''}"
               f", {len(set(skus)) - new} listed already; {pending} value(s) to send")


@channel.command("unlist-sku")
@click.argument("account")
@click.argument("skus", nargs=-1, required=True)
@click.option("--location", default=None, help="Only the listing at this location (default: every location).")
@writing_hub
def channel_unlist_sku(hub: Hub, account: str, skus: tuple[str, ...], location: str | None) -> None:
    """Stop sending the stock of SKUS to a channel ACCOUNT (the channel keeps showing its last quantity)."""
    with domain_problems(), hub.db.write() as conn:
        found, gone = unlist_by_hand(conn, account, list(skus), location=location)
    click.echo(f"{found.kind} account {found.name}: {gone} listing(s) removed; orderhub sends them no more stock")


# -- TikTok Shop: buyers' cancellation requests ------------------------------------------------------------------

@channel.command("cancellation-rule")
@click.argument("account")
@click.argument("rule", type=click.Choice(tiktok_cancellations.RULES))
@writing_hub
def channel_cancellation_rule(hub: Hub, account: str, rule: str) -> None:
    """Set the RULE by which a TikTok Shop ACCOUNT answers buyers' cancellation requests: approve-unpicked
    (approve while nothing of the order is picked, packed or shipped, else reject) or manual (a person
    decides)."""
    with domain_problems(), hub.db.write() as conn:
        found = accounts.get(conn, account, secrets=False)
        if found is None or found.kind != "tiktok":
            raise LookupError(f"no TikTok account {account}; `orderhub channel list --kind tiktok` shows them")
        changed = accounts.update_settings(conn, found.name, {"cancellation_rule": rule})
    click.echo(f"tiktok account {changed.name}: buyers' cancellation requests are "
               + ("decided by a person (`orderhub channel cancellations` lists them)" if rule == "manual" else
                  "approved while nothing of the order is picked, else rejected"))


@contextmanager
def _tiktok_problems() -> Iterator[None]:
    """TikTok's answers as one clear line, like the domain's errors."""
    try:
        with domain_problems():
            yield
    except ChannelUnavailable as exc:
        raise click.ClickException(f"{exc}; nothing was decided, try again later") from None
    except ChannelRefused as exc:
        raise click.ClickException(f"TikTok refused: {exc}") from None


@channel.command("cancellations")
@click.argument("account")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@writing_hub
def channel_cancellations(hub: Hub, account: str, as_json: bool) -> None:
    """The buyers' cancellation requests a TikTok Shop ACCOUNT has pending: each request, its order, the buyer's
    reason, when it was made, and what the account's rule would do with it."""
    with _tiktok_problems():
        found = tiktok_cancellations.list_pending(hub, account)
    if as_json:
        print_json(found)
        return
    rule = found["rule"]
    if not found["requests"]:
        click.echo(f"tiktok account {found['account']} has no pending cancellation request (rule: {rule})")
        return
    # A block per request, not a table: two 18-digit ids and the reasons leave a table no room at 80 columns.
    click.echo(f"Pending cancellation requests of {found['account']} (rule: {rule})")
    for r in found["requests"]:
        when = cell(datetime.fromisoformat(r["requested_at"])) if r["requested_at"] else "unknown time"
        click.echo(f"{r['request']}  order {r['order']}  requested {when}")
        click.echo(f"  reason: {r['reason'] or '-'}")
        click.echo(f"  the rule would: {r['rule_would']} ({r['why']})")
    if found["more"]:
        click.echo(f"more than {len(found['requests'])} requests are pending; the oldest are shown")


@channel.command("cancellation")
@click.argument("account")
@click.argument("request")
@click.argument("decision", type=click.Choice(tiktok_cancellations.DECISIONS))
@click.option("--reason", default=None,
              help="Why (on the order's timeline). A rejection sends it to TikTok as the seller's comment, or as "
                   "the reject reason when it is one of TikTok's names (seller_reject_...).")
@writing_hub
def channel_cancellation(hub: Hub, account: str, request: str, decision: str, reason: str | None) -> None:
    """Answer a buyer's cancellation REQUEST on a TikTok Shop ACCOUNT with a DECISION, approve or reject (an
    approval cancels the order at TikTok; orderhub then cancels its units and releases their stock)."""
    with _tiktok_problems():
        done = tiktok_cancellations.decide_by_hand(hub, account, request, decision, actor=cli_actor(), reason=reason)
    said = f" ({done['reject_reason']})" if done["reject_reason"] else ""
    click.echo(f"tiktok account {done['account']}: cancellation request {done['request']} of order {done['order']} "
               f"{tiktok_cancellations.DONE[decision]}{said}")


def register(main: click.Group) -> None:
    main.add_command(channel)
