"""`orderhub channel`: sales channels (`set`) and channel accounts of every kind (`add`, `list`, `show`,
`disable`, `enable`), their secrets stored encrypted and never shown."""

from __future__ import annotations

import orjson
from click.testing import CliRunner
from sqlalchemy import select

from orderhub.adapters.store import accounts, shops
from orderhub.adapters.store.schema import shops as shops_table
from orderhub.bootstrap import Hub
from orderhub.entrypoints.cli import main

AMAZON = ["channel", "add", "amazon", "Amazon-US", "--marketplace-id", "ATVPDKIKX0DER", "--seller-id", "A2SELLER",
          "--client-id", "amzn1.application-oa2-client.1", "--client-secret", "lwa-secret-🦋",
          "--refresh-token", "Atzr|refresh-token-value", "--endpoint", "http://127.0.0.1:9/sp"]


def _cli(db_url: str, *args: str, ok: bool = True) -> str:
    result = CliRunner().invoke(main, [*args, "--db", db_url])
    assert (result.exit_code == 0) is ok, result.output
    return result.output


def test_an_account_is_added_listed_shown_disabled_and_enabled_without_showing_its_secrets(
        hub: Hub, db_url: str) -> None:
    added = _cli(db_url, *AMAZON)
    assert "amazon account amazon-us" in added and "client_secret, refresh_token" in added
    with hub.db.write() as conn:
        shops.add(conn, "demo.myshopify.com", "shpss_secret")
    listed = _cli(db_url, "channel", "list")
    assert "amazon-us" in listed and "demo.myshopify.com" in listed and "online" in listed
    shown = orjson.loads(_cli(db_url, "channel", "show", "amazon-us", "--json"))
    assert shown["kind"] == "amazon" and shown["settings"]["marketplace_id"] == "ATVPDKIKX0DER"
    assert shown["settings"]["lwa_endpoint"] == "https://api.amazon.com/auth/o2/token"  # the default: the real one
    assert shown["credentials"] == ["client_secret", "refresh_token"]
    for output in (added, listed, orjson.dumps(shown).decode(), _cli(db_url, "channel", "list", "--json"),
                   _cli(db_url, "channel", "show", "amazon-us")):
        assert "lwa-secret" not in output and "Atzr|refresh" not in output and "shpss_secret" not in output
    assert _cli(db_url, "channel", "disable", "amazon-us") == "amazon account amazon-us: disabled\n"
    assert _cli(db_url, "channel", "enable", "amazon-us") == "amazon account amazon-us: active\n"
    with hub.db.read() as conn:
        raw = conn.execute(select(shops_table.c.credentials).where(shops_table.c.domain == "amazon-us")).scalar_one()
        account = accounts.get(conn, "amazon-us")
        assert shops.by_domain(conn, "amazon-us") is None  # not a Shopify shop: Shopify's jobs never see it
    assert "lwa-secret" not in raw and "refresh-token-value" not in raw  # encrypted at rest
    assert account is not None and account.credentials == {"client_secret": "lwa-secret-🦋",
                                                           "refresh_token": "Atzr|refresh-token-value"}
    assert "lwa-secret" not in repr(account)


def test_names_are_one_account_s_and_mistakes_are_one_line(hub: Hub, db_url: str) -> None:
    with hub.db.write() as conn:
        shops.add(conn, "taken.myshopify.com", "shpss_secret")
    refused = _cli(db_url, "channel", "add", "walmart", "taken.myshopify.com", "--client-id", "c",
                   "--client-secret", "s", ok=False)
    assert "taken.myshopify.com is the name of a shopify account already" in refused
    assert "no channel account nowhere" in _cli(db_url, "channel", "disable", "nowhere", ok=False)
    assert "no sales channel stores" in _cli(db_url, "channel", "add", "walmart", "walmart-us", "--client-id", "c",
                                             "--client-secret", "s", "--sales-channel", "stores", ok=False)
    missing = _cli(db_url, "channel", "add", "tiktok", "tiktok-uk", "--app-key", "k", ok=False)
    assert "Missing option '--app-secret'" in missing


def test_a_sales_channel_is_set_under_channel_set(db_url: str) -> None:
    assert _cli(db_url, "channel", "set", "online", "--threshold", "2") == \
        "channel online: threshold 2, groups all facilities; 0 listing(s) to send a new quantity\n"
    assert _cli(db_url, "channel", "set", "social", "--last-units", "3") == (
        "channel social: threshold 0, groups all facilities, the last 3 unit(s) of every SKU kept for it; "
        "0 listing(s) to send a new quantity\n")
    added = _cli(db_url, "channel", "add", "tiktok", "tiktok-uk", "--app-key", "k", "--app-secret", "s",
                 "--access-token", "t", "--shop-cipher", "GCP_x", "--sales-channel", "online")
    assert "sells through online" in added
