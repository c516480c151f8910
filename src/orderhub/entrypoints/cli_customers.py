"""``orderhub customer``: one profile per person across every channel. Find a profile by an exact e-mail address,
phone number or loyalty id, read it (identities, orders, lifetime value, consent, merges, who read it), merge two
profiles and undo a merge, split an identity off, set a consent, and set which keys link each channel kind's
identities. Every read of a person's data here is kept in the profile's access log, like the console's and the
API's."""

from __future__ import annotations

from typing import Any

import click

from orderhub.adapters.store import customer_access, customer_views
from orderhub.bootstrap import Hub
from orderhub.domain.customers import EVERYWHERE, KEYS, PURPOSES, STATES
from orderhub.entrypoints import cli_customer_privacy
from orderhub.entrypoints.cli_oms import cli_actor, domain_problems
from orderhub.entrypoints.cli_support import (
    JSON_HELP,
    console,
    iso_time,
    print_json,
    read_only_hub,
    table,
    writing_hub,
)
from orderhub.services import customer_admin, customer_linking

json_option = click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
reason_option = click.option("--reason", default=None, help="Why, for the audit trail (500 characters at most).")
MAX_ID = 2**63 - 1
ProfileId = click.IntRange(1, MAX_ID)


@click.group("customer")
def customer() -> None:
    """Customer profiles: one per person across every channel, linked by e-mail, phone and loyalty id."""


@customer.command("search")
@click.option("--email", default=None, help="The e-mail address, exactly (any case).")
@click.option("--phone", default=None, help="The phone number, written any way (+49 151 2345 6789, 0151...).")
@click.option("--region", default=None, help="The country a phone without its country code is from (DE, US).")
@click.option("--loyalty", default=None, help="The loyalty id, exactly.")
@json_option
@read_only_hub
def search(hub: Hub, email: str | None, phone: str | None, region: str | None, loyalty: str | None,
           as_json: bool) -> None:
    """Profiles with an identity of exactly this e-mail address, phone number or loyalty id (names are not
    searched: find an order by name with `orderhub orders list`, then its customer)."""
    with domain_problems():
        customer_views.check_search(email, phone, loyalty, region)
    with hub.db.read() as conn:
        found = customer_views.search(conn, email=email, phone=phone, loyalty=loyalty, region=region)
    if found:
        with hub.db.write() as conn:
            customer_access.record(conn, (s.id for s in found), cli_actor(), "cli", "search",
                                   _searched_by(email, phone, loyalty))
    if as_json:
        print_json([s.public() for s in found])
        return
    if not found:
        click.echo("no customer profile has that " + _searched_by(email, phone, loyalty).removeprefix("by "))
        return
    table("Customer profiles", ["profile", "name", "identities", "accounts"],
          [[s.id, s.name, len(s.identities), ", ".join(s.accounts)] for s in found])


def _searched_by(email: str | None, phone: str | None, loyalty: str | None) -> str:
    return "by " + " or ".join(k for k, v in (("e-mail", email), ("phone", phone), ("loyalty id", loyalty)) if v)


@customer.command("show")
@click.argument("profile_id", type=ProfileId)
@click.option("--orders", "orders_limit", type=click.IntRange(1, customer_views.MAX_ORDERS), default=20,
              show_default=True, help="Show at most this many of the newest orders.")
@click.option("--access", is_flag=True, help="Also show who read the profile's data, newest first.")
@json_option
@read_only_hub
def show(hub: Hub, profile_id: int, orders_limit: int, access: bool, as_json: bool) -> None:
    """Customer profile PROFILE_ID: its identities on every channel, orders, lifetime value, consent and merges.
    A profile merged into another shows that one."""
    with hub.db.read() as conn:
        live = customer_views.live(conn, profile_id)
        found = None if live is None else customer_views.profile(conn, live, orders_limit=orders_limit)
    if live is None or found is None:
        raise click.ClickException(f"no customer profile {profile_id}; find one with `orderhub customer search`")
    with hub.db.write() as conn:  # the person's data is shown: kept in the access log (this read included)
        customer_access.record(conn, [live], cli_actor(), "cli", "profile", f"orderhub customer show {profile_id}")
        log = customer_access.of_profiles(conn, [live, *found.merged_in]) if access else []
    if as_json:
        print_json(found.public() | {"asked_for": profile_id, "merged_into": live if live != profile_id else None}
                   | ({"access": [_access(r) for r in log]} if access else {}))
        return
    _print_profile(found, profile_id, log if access else None)


def _access(r: Any) -> dict[str, Any]:
    return {"at": r.at.isoformat(), "profile_id": r.profile_id, "actor": r.actor, "via": r.via, "what": r.what,
            "detail": r.detail}


def _print_profile(p: customer_views.Profile, asked: int, log: list[Any] | None) -> None:
    s = p.summary
    if asked != s.id:
        click.echo(f"customer profile {asked} was merged into profile {s.id}; showing {s.id}")
    click.echo(f"customer profile {s.id}: {s.name or '(no name)'}"
               + (f" - erased {s.erased_at:%Y-%m-%d}" if s.erased_at else ""))
    click.echo(f"privacy: export or erase with `orderhub customer export {s.id}` / `orderhub customer erase {s.id}`")
    table("Identities", ["id", "account", "kind", "name", "e-mail", "phone", "loyalty", "linked by"],
          [[i.id, i.account, i.kind, i.name, i.email, i.phone, i.loyalty,
            i.linked_by + (" (deleted there)" if i.deleted_at else "") if i.linked_by else ""]
           for i in s.identities], drop_empty=("loyalty", "phone", "e-mail"))
    table(f"Orders (newest {len(p.orders)} of {p.orders_total})",
          ["order", "id", "account", "channel", "date", "status", "total"],
          [[o.name, o.id, o.account, o.channel, o.created_at, o.status, f"{o.public()['total']} {o.currency}"]
           for o in p.orders])
    table("Lifetime value",
          ["channel", "currency", "orders", "cancelled", "gross", "refunded", "net"],
          [[v["channel"], v["currency"], v["orders"], v["cancelled_orders"], v["gross"], v["refunded"], v["net"]]
           for v in (x.public() for x in p.value)])
    c = p.consent.public()
    if not c["history"]:
        click.echo("consent: none recorded (not given, for every purpose)")
    else:
        _print_consent(c)
    _print_merges_and_log(p, log)


def _print_consent(c: dict[str, Any]) -> None:
    table("Consent in force", ["purpose", "scope", "state", "since", "source", "by"],
          [[r["purpose"], r["scope"], r["state"], iso_time(r["occurred_at"]), _source(r), r["actor"]]
           for r in c["in_force"]], drop_empty=("by",))
    table("Consent history", ["id", "when", "purpose", "scope", "state", "source", "by", "note"],
          [[r["id"], iso_time(r["occurred_at"]), r["purpose"], r["scope"], r["state"], _source(r), r["actor"],
            r["note"]] for r in c["history"]], drop_empty=("by", "note"))


def _print_merges_and_log(p: customer_views.Profile, log: list[Any] | None) -> None:
    if p.merges:
        table("Merges", ["merge", "kept", "merged", "by", "why", "when", "undone"],
              [[m["id"], m["kept_id"], m["merged_id"], m["by"], m["reason"], iso_time(m["created_at"]),
                f"{iso_time(m['undone_at'])} by {m['undone_by']}" if m["undone_at"] else ""] for m in p.merges],
              drop_empty=("why", "undone"))
    if log is not None:
        table("Who read this profile's data", ["when", "who", "via", "what", "detail"],
              [[r.at, r.actor, r.via, r.what, r.detail] for r in log], drop_empty=("detail",))


def _source(r: dict[str, Any]) -> str:
    return r["source"] + (f" ({r['source_account']})" if r["source_account"] else "")


@customer.command("merge")
@click.argument("kept", type=ProfileId)
@click.argument("merged", type=ProfileId)
@reason_option
@writing_hub
def merge(hub: Hub, kept: int, merged: int, reason: str | None) -> None:
    """Merge profile MERGED into profile KEPT: its identities (and their orders) and consent move to KEPT. Undo
    it with `orderhub customer unmerge`."""
    with domain_problems(), hub.db.write() as conn:
        merge_id = customer_admin.merge(conn, kept, merged, actor=cli_actor(), reason=reason)
    click.echo(f"profile {merged} merged into profile {kept} (merge {merge_id}; undo with "
               f"`orderhub customer unmerge {merge_id}`)")


@customer.command("unmerge")
@click.argument("merge_id", type=ProfileId)
@reason_option
@writing_hub
def unmerge(hub: Hub, merge_id: int, reason: str | None) -> None:
    """Undo merge MERGE_ID: the identities and consent it moved go back to the merged profile, which the rules
    keep apart from the other from now on."""
    with domain_problems(), hub.db.write() as conn:
        kept, back = customer_admin.unmerge(conn, merge_id, actor=cli_actor(), reason=reason)
    click.echo(f"merge {merge_id} undone: profile {back} is apart from profile {kept} again")


@customer.command("split")
@click.argument("identity_id", type=ProfileId)
@writing_hub
def split(hub: Hub, identity_id: int) -> None:
    """Take identity IDENTITY_ID (and its orders) out of its profile into a new profile, kept apart from the old
    one (`orderhub customer show` lists a profile's identities)."""
    with domain_problems(), hub.db.write() as conn:
        old, new = customer_admin.split(conn, identity_id, actor=cli_actor())
    click.echo(f"identity {identity_id} is profile {new} now" + (f", apart from profile {old}" if old else ""))


@customer.command("consent")
@click.argument("profile_id", type=ProfileId)
@click.argument("purpose", type=click.Choice(PURPOSES))
@click.argument("state", type=click.Choice(STATES))
@click.option("--scope", default=EVERYWHERE, show_default=True,
              help="Where it applies: * for every channel, or one account's name.")
@click.option("--note", default=None, help="How the person said so (a call, a letter), for the history.")
@writing_hub
def consent(hub: Hub, profile_id: int, purpose: str, state: str, scope: str, note: str | None) -> None:
    """Set the consent of profile PROFILE_ID to PURPOSE to STATE, as the person told you; the channels that keep
    that preference are told."""
    with domain_problems(), hub.db.write() as conn:
        done = customer_admin.set_consent(conn, profile_id, purpose, state, scope=scope, source="cli",
                                          actor=cli_actor(), note=note)
    where = "every channel" if scope == EVERYWHERE else scope
    said = f"profile {done.profile_id}: {purpose} {state} on {where}"
    if not done.recorded:
        click.echo(f"{said} was recorded already; nothing changed")
        return
    told = ", ".join(done.sent_to) if done.sent_to else "no channel (none of the person's accounts keeps it there)"
    click.echo(f"{said}; to be sent to {told}")


@customer.command("rules")
@click.argument("kind", required=False)
@click.option("--keys", default=None, help="Set KIND to link by exactly these keys, comma-separated "
              f"({', '.join(KEYS)}); an empty value links by none.")
@json_option
@writing_hub
def rules(hub: Hub, kind: str | None, keys: str | None, as_json: bool) -> None:
    """Which keys link the identities of each channel KIND (all kinds without --keys). Changing them applies to
    identities stored from now on; `orderhub customer relink` works out those stored already again."""
    if keys is not None and kind is None:
        raise click.UsageError("name the channel KIND whose keys --keys sets")
    with domain_problems(), hub.db.write() as conn:
        if keys is not None and kind is not None:
            customer_admin.set_rule(conn, kind, keys.split(","), actor=cli_actor())
        shown = customer_admin.rules_table(conn)
    if kind is not None and kind not in shown:
        raise click.ClickException(f"unknown channel kind {kind!r}: one of {', '.join(sorted(shown))}")
    if kind is not None:
        shown = {kind: shown[kind]}
    if as_json:
        print_json(shown)
        return
    table("Keys that link identities", ["kind", *KEYS], [[k, *("yes" if key in v else "no" for key in KEYS)]
                                                          for k, v in shown.items()])
    if keys is not None:
        click.echo("identities stored already keep their keys: run `orderhub customer relink` to link them again")


@customer.command("relink")
@click.option("--batch", type=click.IntRange(1, customer_linking.MAX_BATCH), default=customer_linking.BATCH,
              show_default=True, help="Identities per transaction.")
@click.option("--region", default=None, help="The country of phone numbers stored without their country code.")
@writing_hub
def relink(hub: Hub, batch: int, region: str | None) -> None:
    """Work out every identity's keys again under the rules as they are now, and link it: profiles the new keys
    join are merged (except those a person kept apart). Safe to stop and run again."""
    def progress(t: customer_linking.Totals) -> None:
        if t.batches % 20 == 0:
            console.print(f"{t.identities} identities so far", highlight=False)

    totals = customer_linking.relink(hub.db, batch=batch, region=region, check=progress)
    click.echo(f"{totals.identities} identities worked out again: {totals.linked} linked, {totals.new_profiles} "
               f"new profiles, {totals.merges} merges")


# A person's export and erasure (privacy requests) have a module of their own.
for _command in cli_customer_privacy.COMMANDS:
    customer.add_command(_command)


def register(main: click.Group) -> None:
    main.add_command(customer)
