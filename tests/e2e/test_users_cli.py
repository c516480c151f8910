"""`orderhub user ...` end to end."""

from __future__ import annotations

from click.testing import CliRunner, Result

from orderhub.bootstrap import Hub
from orderhub.entrypoints.cli import main
from orderhub.services.console import accounts
from tests.e2e.test_jobs_cli_api import cli, cli_fails


def _with_password(url: str, password: str, *args: str) -> Result:
    return CliRunner().invoke(main, [*args, "--password-stdin", "--db", url], input=password + "\n")


def test_the_user_commands(hub: Hub) -> None:
    url = hub.settings.database_url
    added = _with_password(url, "correct horse battery", "user", "add", "Zoë 🌸", "--role", "operator")
    assert added.exit_code == 0 and added.stdout == "added Zoë 🌸 (operator)\n"
    assert accounts.sign_in(hub.db, "zoë 🌸", "correct horse battery", ip="127.0.0.1", user_agent=None,
                            idle=accounts.THROTTLE_WINDOW).role == "operator"
    listed = cli(url, "user", "list")
    assert "Zoë 🌸" in listed and "operator" in listed and "active" in listed
    short = _with_password(url, "short", "user", "add", "bob")
    assert short.exit_code != 0 and "at least 12 characters" in short.output
    assert "exists already" in _with_password(url, "correct horse battery", "user", "add", "ZOË 🌸").output
    assert cli(url, "user", "role", "Zoë 🌸", "admin") == "Zoë 🌸 is now admin\n"
    assert "ended" in _with_password(url, "another fine password", "user", "password", "zoë 🌸").stdout
    assert "disabled" in cli(url, "user", "disable", "zoë 🌸")
    assert "disabled" in cli(url, "user", "list")
    assert "no user 'nobody'" in cli_fails(url, "user", "enable", "nobody")
    assert "'root' is not one of 'admin', 'operator', 'viewer'" in cli_fails(url, "user", "role", "zoë 🌸", "root")
