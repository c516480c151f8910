"""``orderhub user``: the web console's users (add, list, password, role, disable, enable)."""

from __future__ import annotations

import sys
from collections.abc import Callable

import click

from orderhub.adapters.store import console_users
from orderhub.bootstrap import Hub
from orderhub.entrypoints.cli_support import JSON_HELP, print_json, read_only_hub, table, utc_time, writing_hub
from orderhub.services.console import accounts
from orderhub.services.console.accounts import AccountError

ROLE = click.Choice(accounts.ROLES)


def _password(from_stdin: bool) -> str:
    """The password from the first line of standard input, or asked for twice (not echoed)."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


def _do(action: Callable[[], object]) -> None:
    """Run an account change; a refusal is the command's error message."""
    try:
        action()
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None


def register(main: click.Group) -> None:
    @main.group()
    def user() -> None:
        """Users of the web console (admin, operator, viewer)."""

    @user.command("add")
    @click.argument("username")
    @click.option("--role", type=ROLE, default="viewer", show_default=True,
                  help="viewer reads; operator also acts on orders, jobs and errors; admin also configures.")
    @click.option("--password-stdin", is_flag=True, help="Read the password from standard input's first line.")
    @writing_hub
    def user_add(hub: Hub, username: str, role: str, password_stdin: bool) -> None:
        """Add a user (USERNAME) who signs in to the console with a password (at least 12 characters)."""
        password = _password(password_stdin)
        _do(lambda: accounts.add_user(hub.db, username, password, role))
        click.echo(f"added {accounts.check_username(username)} ({role})")

    @user.command("list")
    @click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
    @read_only_hub
    def user_list(hub: Hub, as_json: bool) -> None:
        """Every user, with role, state and last sign-in."""
        with hub.db.read() as conn:
            rows = console_users.all_users(conn)
        if as_json:
            print_json([{"username": r.username, "role": r.role, "disabled_at": r.disabled_at,
                         "last_sign_in_at": r.last_sign_in_at, "created_at": r.created_at} for r in rows])
            return
        table("Console users", ["username", "role", "state", "last sign-in (UTC)", "added (UTC)"], [
            [r.username, r.role, "disabled" if r.disabled_at else "active",
             utc_time(r.last_sign_in_at) or "never", utc_time(r.created_at)] for r in rows])

    @user.command("password")
    @click.argument("username")
    @click.option("--password-stdin", is_flag=True, help="Read the password from standard input's first line.")
    @writing_hub
    def user_password(hub: Hub, username: str, password_stdin: bool) -> None:
        """Set a new password for USERNAME (the user is signed out everywhere)."""
        password = _password(password_stdin)
        _do(lambda: accounts.set_password(hub.db, username, password))
        click.echo(f"password of {username} changed; its sessions ended")

    @user.command("role")
    @click.argument("username")
    @click.argument("role", type=ROLE)
    @writing_hub
    def user_role(hub: Hub, username: str, role: str) -> None:
        """Give a user (USERNAME) another ROLE."""
        _do(lambda: accounts.set_role(hub.db, username, role))
        click.echo(f"{username} is now {role}")

    @user.command("disable")
    @click.argument("username")
    @writing_hub
    def user_disable(hub: Hub, username: str) -> None:
        """Stop a user (USERNAME) signing in, and sign them out everywhere."""
        _do(lambda: accounts.set_disabled(hub.db, username, True))
        click.echo(f"{username} disabled; its sessions ended")

    @user.command("enable")
    @click.argument("username")
    @writing_hub
    def user_enable(hub: Hub, username: str) -> None:
        """Let a disabled user (USERNAME) sign in again."""
        _do(lambda: accounts.set_disabled(hub.db, username, False))
        click.echo(f"{username} enabled")
