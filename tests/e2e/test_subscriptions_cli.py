"""Outbound webhook subscriptions through the `orderhub` command: add, list, deliveries, disable, error retry."""

from __future__ import annotations

import re
from collections.abc import Iterator

import click
import orjson
import pytest
from click.testing import CliRunner
from starlette.applications import Starlette
from starlette.routing import Route

from orderhub.entrypoints import cli_subscriptions
from orderhub.entrypoints.cli import main
from orderhub.services.notify import Notifier
from orderhub.testing.server import ServerThread
from tests.integration.test_outbound_webhooks import Receiver, emit, msg, settle

# The maintainer registers the commands on `main`; here they go on a group of their own, with `errors`.
root = click.Group("orderhub", commands={"errors": main.commands["errors"]})
cli_subscriptions.register(root)


def cli(db_url: str, *args: str) -> str:
    result = CliRunner().invoke(root, [*args, "--db", db_url], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def cli_fails(db_url: str, *args: str) -> str:
    result = CliRunner().invoke(root, [*args, "--db", db_url])
    assert result.exit_code != 0
    return result.output


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    with ServerThread(Starlette(routes=[Route("/hooks/{name}", r.hook, methods=["POST"])])) as server:
        r.base_url = server.url
        yield r


@pytest.fixture
def notifier(hub) -> Iterator[Notifier]:  # type: ignore[no-untyped-def]
    n = Notifier(hub.db, worker="cli-test", limiter=hub.limiter, backoff_base=0.01, backoff_max=0.02)
    yield n
    n.close()


def add(db_url: str, receiver: Receiver, name: str, *args: str) -> tuple[int, str]:
    out = cli(db_url, "subscription", "add", receiver.url(name), *args)
    secret = re.search(r"whsec_[A-Za-z0-9+/=]+", out)
    sub_id = re.search(r"subscription (\d+) →", out)
    assert secret and sub_id, out
    receiver.secrets[name] = secret.group(0)
    return int(sub_id.group(1)), secret.group(0)


def test_the_secret_is_printed_once_and_masked_in_lists(hub, db_url, receiver):  # type: ignore[no-untyped-def]
    out = cli(db_url, "subscription", "add", receiver.url("erp"), "--events", "order.*, inventory.changed",
              "--rate", "5", "--max-attempts", "3", "--timeout", "2", "--description", "ERP 🏭")
    secret = re.search(r"whsec_[A-Za-z0-9+/=]+", out)
    assert secret and out.count(secret.group(0)) == 1 and "shown only now" in out
    assert "order.*, inventory.changed at 5/s, 3 attempts" in out

    listed = cli(db_url, "subscription", "list")
    assert secret.group(0) not in listed and "whsec_…" in listed and "ERP 🏭" in listed
    as_json = cli(db_url, "subscription", "list", "--json")
    assert secret.group(0) not in as_json
    (sub,) = orjson.loads(as_json)
    assert (sub["events"], sub["secret"], sub["rate_per_second"], sub["max_attempts"], sub["timeout_seconds"],
            sub["enabled"]) == ("order.*,inventory.changed", "whsec_…", 5.0, 3, 2.0, True)

    assert "use http:// or https://" in cli_fails(db_url, "subscription", "add", "ftp://erp.example/hook",
                                                  "--events", "*")
    assert "event pattern" in cli_fails(db_url, "subscription", "add", receiver.url("x"), "--events", "order created")
    assert "at least one event pattern" in cli_fails(db_url, "subscription", "add", receiver.url("x"),
                                                     "--events", " , ")
    assert "more than 0" in cli_fails(db_url, "subscription", "add", receiver.url("x"), "--events", "*",
                                      "--rate", "0")
    assert "no subscription 99" in cli_fails(db_url, "subscription", "disable", "99")


def test_deliveries_log_and_disable(hub, db_url, receiver, notifier):  # type: ignore[no-untyped-def]
    erp, _ = add(db_url, receiver, "erp", "--events", "order.*")
    stock, _ = add(db_url, receiver, "stock", "--events", "inventory.changed")
    created, changed = emit(hub, ("order.created", {"id": 7, "name": "#1007 🦋"}, "order:7"),
                            ("inventory.changed", {"sku": "SKU-1"}, "sku:SKU-1"))
    settle(hub, notifier)
    assert sorted(receiver.ids()) == sorted([msg(created), msg(changed)])

    log = orjson.loads(cli(db_url, "subscription", "deliveries", "--json"))
    assert {(d["subscription_id"], d["outbox_id"], d["event_type"], d["status"], d["attempts"], d["last_status"])
            for d in log} == {(erp, created, "order.created", "delivered", 1, 200),
                              (stock, changed, "inventory.changed", "delivered", 1, 200)}
    assert all(d["delivered_at"] for d in log)
    only_order = orjson.loads(cli(db_url, "subscription", "deliveries", "--order", "7", "--json"))
    assert [d["outbox_id"] for d in only_order] == [created]
    only_stock = orjson.loads(cli(db_url, "subscription", "deliveries", "--subscription", str(stock), "--json"))
    assert [d["outbox_id"] for d in only_stock] == [changed]
    assert orjson.loads(cli(db_url, "subscription", "deliveries", "--status", "failed", "--json")) == []
    table = cli(db_url, "subscription", "deliveries")
    assert "order.created" in table and "delivered" in table

    assert "disabled" in cli(db_url, "subscription", "disable", str(erp))
    assert [s["enabled"] for s in orjson.loads(cli(db_url, "subscription", "list", "--json"))] == [False, True]
    emit(hub, ("order.shipped", {"id": 7}, "order:7"))
    settle(hub, notifier)
    assert len(orjson.loads(cli(db_url, "subscription", "deliveries", "--subscription", str(erp), "--json"))) == 1
    assert "enabled" in cli(db_url, "subscription", "enable", str(erp))


def test_a_failed_delivery_is_retried_from_the_error_log(hub, db_url, receiver, notifier):  # type: ignore[no-untyped-def]
    sub_id, _ = add(db_url, receiver, "crm", "--events", "*", "--max-attempts", "1")
    first, second = emit(hub, ("order.created", {"id": 3}, "order:3"), ("order.approved", {"id": 3}, "order:3"))
    receiver.plan[msg(first)] = [503]
    settle(hub, notifier)
    failed = orjson.loads(cli(db_url, "subscription", "deliveries", "--status", "failed", "--json"))
    assert [(d["outbox_id"], d["last_status"]) for d in failed] == [(first, 503)]
    assert "HTTP 503" in failed[0]["last_error"]
    pending = orjson.loads(cli(db_url, "subscription", "deliveries", "--status", "pending", "--json"))
    assert [d["outbox_id"] for d in pending] == [second]  # held behind the failed one

    errors = orjson.loads(cli(db_url, "errors", "list", "--json", "--kind", "retries_exhausted"))
    (entry,) = errors["errors"]
    assert entry["record_type"] == "subscription" and entry["record_id"] == failed[0]["id"]
    assert f"subscription {sub_id}" in entry["error"] and "orderhub errors retry" in entry["error"]
    assert f"error {entry['id']}: retrying" in cli(db_url, "errors", "retry", str(entry["id"]))
    settle(hub, notifier)
    assert receiver.ids(status=None) == [msg(first), msg(first), msg(second)]
    assert orjson.loads(cli(db_url, "errors", "list", "--json"))["errors"][0]["status"] == "resolved"


def test_loopback_and_private_addresses_are_refused_unless_named(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from orderhub.entrypoints.cli import main

    monkeypatch.delenv("ORDERHUB_OUTBOUND_ALLOWED_HOSTS")
    db = f"sqlite:///{tmp_path / 'guard.db'}"
    runner = CliRunner()
    assert runner.invoke(main, ["migrate", "--db", db]).exit_code == 0
    for args in (["subscription", "add", "http://127.0.0.1:6379/", "--events", "order.*"],
                 ["destination", "add", "erp", "--url", "http://169.254.169.254/latest/", "--secret", "s"]):
        refused = runner.invoke(main, [*args, "--db", db])
        assert refused.exit_code == 2 and "address: orderhub sends events only to public addresses" in refused.output
    monkeypatch.setenv("ORDERHUB_OUTBOUND_ALLOWED_HOSTS", "127.0.0.1")
    allowed = runner.invoke(main, ["subscription", "add", "http://127.0.0.1:6379/", "--events", "order.*",
                                   "--db", db])
    assert allowed.exit_code == 0, allowed.output
