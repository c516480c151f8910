"""``orderhub token``: bearer tokens for /api and /webhooks/eventbridge (create, list, revoke).

A token's name is unique, so ``token revoke NAME`` means one token; its id works as well.
"""

from __future__ import annotations

import click

from orderhub.adapters.store import tokens
from orderhub.bootstrap import Hub
from orderhub.entrypoints.cli_support import print_json, read_only_hub, table, utc_time, writing_hub


def register(main: click.Group) -> None:
    @main.group()
    def token() -> None:
        """Bearer tokens for /api and /webhooks/eventbridge."""

    @token.command("create")
    @click.option("--name", default="admin", show_default=True,
                  help="A name of its own (who or what uses it); `token revoke NAME` takes it.")
    @click.option("--scope", "scopes", multiple=True, type=click.Choice(tokens.SCOPES), default=("api",),
                  show_default=True, help="Where it may be used: the admin API, the EventBridge receiver; repeatable.")
    @click.option("--role", type=click.Choice(tokens.ROLES), default="admin", show_default=True,
                  help="viewer reads; operator also works orders, inventory and the error log; admin configures.")
    @writing_hub
    def token_create(hub: Hub, name: str, scopes: tuple[str, ...], role: str) -> None:
        """Create a token. It is printed once; only its hash is kept."""
        try:
            with hub.db.write() as conn:
                value = tokens.create(conn, name, scopes, role=role)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(value)

    @token.command("list")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
    @read_only_hub
    def token_list(hub: Hub, as_json: bool) -> None:
        """Every token (never its value): id, name, scopes, role, and when it was created and revoked."""
        with hub.db.read() as conn:
            rows = tokens.list_tokens(conn)
        if as_json:
            print_json([r | {k: r[k] and r[k].isoformat() for k in ("created_at", "revoked_at")} for r in rows])
            return
        table("Tokens", ["id", "name", "scopes", "role", "created (UTC)", "revoked (UTC)"],
              [[r["id"], r["name"], r["scopes"].replace(",", ", "), r["role"], utc_time(r["created_at"]),
                utc_time(r["revoked_at"])] for r in rows])

    @token.command("revoke")
    @click.argument("ref", metavar="ID_OR_NAME")
    @writing_hub
    def token_revoke(hub: Hub, ref: str) -> None:
        """Revoke one token, by its id or its name (ID_OR_NAME); it is refused from its next request on."""
        try:
            with hub.db.write() as conn:
                done = tokens.revoke(conn, ref)
        except (LookupError, ValueError) as exc:
            raise click.ClickException(str(exc).strip("'\"")) from None
        click.echo(f"revoked token {done['id']} ({done['name']}, {done['role']})")
