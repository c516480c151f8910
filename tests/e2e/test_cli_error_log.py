"""The error-log workflow through the `orderhub` command: list, show, fix the payload, retry, dismiss."""

from __future__ import annotations

import getpass

import orjson
from click.testing import CliRunner

from orderhub.entrypoints.cli import main
from tests.integration.test_processor import put
from tests.support import BIG_ID, SHOP, add_shop, drain, order_payload


def cli(db_url: str, *args: str) -> str:
    result = CliRunner().invoke(main, [*args, "--db", db_url], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def cli_fails(db_url: str, *args: str) -> str:
    result = CliRunner().invoke(main, [*args, "--db", db_url])
    assert result.exit_code != 0
    return result.output


def test_fix_payload_and_retry_then_dismiss(hub, db_url, tmp_path):  # type: ignore[no-untyped-def]
    shop = add_shop(hub)
    bad = order_payload(BIG_ID, currency="XXQ")
    put(hub, "orders/create", bad, shop_id=shop.id)
    put(hub, "orders/create", order_payload(BIG_ID + 50, line_items=[]), shop_id=shop.id)
    drain(hub)

    listed = orjson.loads(cli(db_url, "errors", "list", "--json", "--shop", SHOP))
    assert listed["total"] == 2
    by_field = {e["field"]: e for e in listed["errors"]}
    currency_entry = by_field["currency"]["id"]
    assert "unknown currency 'XXQ'" in by_field["currency"]["error"]

    shown = cli(db_url, "errors", "show", str(currency_entry))
    assert "validation" in shown and '"currency": "XXQ"' in shown

    fixed = tmp_path / "fixed.json"
    fixed.write_text(orjson.dumps(bad | {"currency": "EUR"}).decode(), encoding="utf-8")
    assert "retrying with the new payload" in cli(db_url, "errors", "retry", str(currency_entry),
                                                   "--payload", str(fixed))
    drain(hub)
    entry = orjson.loads(cli(db_url, "errors", "show", str(currency_entry), "--json"))
    assert entry["status"] == "resolved"
    order = orjson.loads(cli(db_url, "orders", "show", str(BIG_ID), "--shop", SHOP, "--json"))
    assert order["currency"] == "EUR"

    other = by_field["line_items"]["id"]
    assert "no error-log entry 99999" in cli_fails(db_url, "errors", "retry", "99999")
    refused = cli_fails(db_url, "errors", "dismiss", str(other), "--reason", "not me", "--by", "ops@example")
    assert "--by is not accepted" in refused and "recorded as the login running this command" in refused
    assert orjson.loads(cli(db_url, "errors", "show", str(other), "--json"))["status"] == "open"
    cli(db_url, "errors", "dismiss", str(other), "--reason", "test order, no items 🧪")
    entry = orjson.loads(cli(db_url, "errors", "show", str(other), "--json"))
    assert (entry["status"], entry["dismissed_by"], entry["dismissed_reason"]) == (
        "dismissed", getpass.getuser(), "test order, no items 🧪")
    assert "only open entries can be retried" in cli_fails(db_url, "errors", "retry", str(other))


def test_bulk_retry_by_filter(hub, db_url):  # type: ignore[no-untyped-def]
    shop = add_shop(hub)
    for i in range(3):
        put(hub, "orders/create", order_payload(BIG_ID + 10 * i, currency="XXQ"), shop_id=shop.id)
    drain(hub)
    assert "retrying 3 entries" in cli(db_url, "errors", "retry", "--all-matching", "--kind", "validation")
    drain(hub)  # still invalid: back in the log, with a second attempt recorded
    entries = orjson.loads(cli(db_url, "errors", "list", "--json", "--status", "open"))
    assert entries["total"] == 3
    entry = orjson.loads(cli(db_url, "errors", "show", str(entries["errors"][0]["id"]), "--json"))
    assert len(entry["attempts"]) == 2


def test_shop_list_never_prints_secrets(hub, db_url):  # type: ignore[no-untyped-def]
    out = cli(db_url, "shop", "add", "Secret-Store.myshopify.com", "--secret", "very-secret-value",
              "--access-token", "shpat_secret_token")
    assert "very-secret-value" not in out
    listed = cli(db_url, "shop", "list", "--json")
    assert "very-secret-value" not in listed and "shpat_secret_token" not in listed
    assert orjson.loads(listed)[0]["domain"] == "secret-store.myshopify.com"
    assert orjson.loads(listed)[0]["access_token"] == "set"
