"""The whole `orderhub` command tree: every command and option described, `--json` on every command that
lists or shows, and tables a person can read at 80 columns."""

from __future__ import annotations

import io
from collections.abc import Iterator

import click
import orjson
import pytest
from click.testing import CliRunner
from rich.console import Console
from sqlalchemy import insert, select

from orderhub.adapters.store.schema import customers, orders, reconciliations
from orderhub.bootstrap import Hub
from orderhub.clock import utcnow
from orderhub.entrypoints import cli_support
from orderhub.entrypoints.cli import main
from tests.integration.test_processor import put
from tests.stores_support import add_store, enrol
from tests.support import BIG_ID, SHOP, add_shop, drain, order_payload

# Commands that list or show records, by name: each takes --json.
LISTING = {"list", "show", "status", "schedules", "history", "log", "deliveries", "ledger"}
# Its record takes a whole invoicing scene to make: tests/integration/invoicing/test_pipeline.py reads its --json.
NEEDS_A_SCENE = {("invoicing", "show")}


def commands(group: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command under ``group`` with its path, nested groups and the simulators included."""
    yield path, group
    if isinstance(group, click.Group):
        for name, sub in sorted(group.commands.items()):
            yield from commands(sub, (*path, name))


def test_every_command_option_and_argument_is_described() -> None:
    missing = []
    for path, cmd in commands(main):
        where = "orderhub " + " ".join(path)
        if cmd.hidden:
            continue
        if not (cmd.help or "").strip():
            missing.append(f"{where}: no description")
        for param in cmd.params:
            if isinstance(param, click.Option) and not param.hidden and not (param.help or "").strip():
                missing.append(f"{where} {param.opts[0]}: no help")
            # An argument is described in its command's text, by the name its usage line shows.
            if isinstance(param, click.Argument) and param.human_readable_name not in (cmd.help or ""):
                missing.append(f"{where} {param.human_readable_name}: not named in the command's description")
    assert missing == []
    assert len(list(commands(main))) > 80  # the walk reached the nested groups and the simulators
    assert ("simulate", "retailpro") in dict(commands(main))


def test_every_listing_command_takes_json() -> None:
    lacking = [" ".join(path) for path, cmd in commands(main)
               if path and path[-1] in LISTING and not any(p.name == "as_json" for p in cmd.params)]
    assert lacking == []


@pytest.fixture
def sample(hub: Hub) -> dict[str, str]:
    """A database with one of each record the show commands take, and the argument naming it."""
    url = hub.settings.database_url
    shop = add_shop(hub)
    put(hub, "orders/create", order_payload(BIG_ID), shop_id=shop.id)
    put(hub, "orders/create", order_payload(BIG_ID + 1, currency="XXQ"), shop_id=shop.id)
    drain(hub)
    errors = orjson.loads(_ok(url, "errors", "list", "--json"))["errors"]
    order = orjson.loads(_ok(url, "orders", "list", "--json"))[0]
    run = orjson.loads(_ok(url, "jobs", "run", "approve-orders", "--json"))
    with hub.db.write() as conn:
        reconciliation = conn.execute(insert(reconciliations).values(
            shop_id=shop.id, since=utcnow(), started_at=utcnow(), actor="test").returning(reconciliations.c.id)
        ).scalar_one()
    _ok(url, "token", "create", "--name", "ops")
    store_id = add_store(hub)
    device = enrol(hub, store_id)
    return {"entry_id": str(errors[0]["id"]), "ref": order["name"], "sku": "SKU-1", "name": "approve-orders",
            "run_id": str(run["run_id"]), "order_id": str(order["id"]), "reconciliation_id": str(reconciliation),
            "subscription_id": "1", "shop": SHOP, "account": SHOP, "domain": SHOP, "store_code": "BOS01",
            "device_ref": str(device.id), "profile_id": str(_profile_of(hub, order["id"]))}


def _profile_of(hub: Hub, order_id: int) -> int:
    with hub.db.read() as conn:
        return int(conn.execute(select(customers.c.profile_id).join(orders, orders.c.customer_id == customers.c.id)
                                .where(orders.c.id == order_id)).scalar_one())


def _ok(url: str, *args: str) -> str:
    result = CliRunner().invoke(main, [*args, "--db", url], catch_exceptions=False)
    assert result.exit_code == 0, (args, result.output)
    return result.output


def test_json_of_every_listing_command_parses(hub: Hub, sample: dict[str, str]) -> None:
    url = hub.settings.database_url
    ran = []
    for path, cmd in commands(main):
        if not any(p.name == "as_json" for p in cmd.params) or not path or path[-1] not in LISTING \
                or path in NEEDS_A_SCENE:
            continue
        args = [*path]
        for param in cmd.params:
            if isinstance(param, click.Argument) and param.required:
                assert param.name in sample, f"orderhub {' '.join(path)}: give the sample a {param.name}"
                args.append(sample[param.name])
        orjson.loads(_ok(url, *args, "--json"))
        ran.append(" ".join(path))
    assert {"routing show", "token list", "user list", "jobs schedules", "errors show"} <= set(ran)


def _columns(lines: list[str], starts: list[int]) -> list[str]:
    """The text of each column over ``lines``, its pieces joined without the spaces wrapping put in."""
    ends = [*starts[1:], None]
    return ["".join(line[a:b].strip() if b else line[a:].strip() for line in lines).replace(" ", "")
            for a, b in zip(starts, ends, strict=True)]


def test_tables_show_every_header_and_value_at_80_columns(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    url = hub.settings.database_url
    _ok(url, "shop", "add", "a-rather-long-shop-name-for-tables.myshopify.com", "--secret", "s",
        "--access-token", "t", "--admin-url", "https://a-rather-long-shop-name-for-tables.myshopify.com/admin")
    [shop] = orjson.loads(_ok(url, "shop", "list", "--json"))
    out = io.StringIO()
    monkeypatch.setattr(cli_support, "console", Console(width=80, file=out))
    _ok(url, "shop", "list")
    lines = out.getvalue().splitlines()
    assert max(map(len, lines)) <= 80
    headers = ["id", "domain", "status", "api version", "version state", "support ends", "admin url",
               "access token"]
    values = [str(shop["id"]), shop["domain"], shop["status"], shop["api_version"], shop["api_version_state"],
              shop["api_version_support_ends"], shop["admin_url"], shop["access_token"]]
    widths = cli_support.column_widths(headers, [values], 80)
    assert widths is not None  # too wide as it is: this is the case that wraps
    starts = [sum(widths[:i]) + 2 * i for i in range(len(widths))]
    rule = next(i for i, line in enumerate(lines) if set(line.strip()) == {"─"})
    assert _columns(lines[1:rule], starts) == [h.replace(" ", "") for h in headers]
    assert _columns(lines[rule + 1:], starts) == [v.replace(" ", "") for v in values]
    shown = out.getvalue()  # short values stay whole; the long address folds
    assert all(v in shown for v in values if len(v) <= cli_support.WHOLE_WORD)


def test_booleans_read_yes_or_no(hub: Hub) -> None:
    url = hub.settings.database_url
    add_shop(hub)
    _ok(url, "jobs", "schedule", "approve-orders", "--every", "hourly")
    shown = _ok(url, "jobs", "schedules")
    assert "yes" in shown and "True" not in shown
    assert "True" not in _ok(url, "destination", "list") and "None" not in _ok(url, "destination", "list")
