"""`orderhub shop set DOMAIN --api-version V` and the version warnings of `shop list` and `shop set`."""

from __future__ import annotations

import orjson
import pytest
from click.testing import CliRunner, Result

from orderhub.adapters.shopify import api_versions
from orderhub.entrypoints.cli import main
from orderhub.services import shop_versions
from tests.versions import NEWEST, SUPPORTED, TEST_DAY

SHOP = "cli-versions.myshopify.com"


@pytest.fixture(autouse=True)
def on_test_day(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shop_versions, "today", lambda: TEST_DAY)


def invoke(db_url: str, *args: str) -> Result:
    return CliRunner().invoke(main, [*args, "--db", db_url])


def test_set_moves_the_shop_and_warns_before_support_ends(hub, db_url) -> None:  # type: ignore[no-untyped-def]
    added = invoke(db_url, "shop", "add", SHOP, "--secret", "s3cret", "--api-version", NEWEST)
    assert added.exit_code == 0 and f"API version {NEWEST}" in added.output and "warning" not in added.output

    ending = SUPPORTED[0]
    ends = api_versions.support_ends(ending)
    moved = invoke(db_url, "shop", "set", SHOP, "--api-version", ending)
    assert moved.exit_code == 0, moved.output
    assert f"shop {SHOP} now uses Shopify API version {ending}, supported until {ends}" in moved.stdout
    assert f"warning: shop {SHOP} uses Shopify API version {ending}, whose support ends on {ends}" in moved.stderr
    assert f"Move to {NEWEST}" in moved.stderr

    listed = invoke(db_url, "shop", "list")
    assert listed.exit_code == 0 and ending in listed.stdout and "ending" in listed.stdout
    assert f"support ends on {ends}" in listed.stderr and f"--api-version {NEWEST}" in listed.stderr
    [row] = orjson.loads(invoke(db_url, "shop", "list", "--json").stdout)
    assert (row["api_version"], row["api_version_state"], row["api_version_support_ends"]) == (
        ending, "ending", str(ends))
    assert SHOP in row["api_version_warning"] and NEWEST in row["api_version_warning"]

    back = invoke(db_url, "shop", "set", SHOP, "--api-version", NEWEST)
    assert back.exit_code == 0 and back.stderr == ""
    [row] = orjson.loads(invoke(db_url, "shop", "list", "--json").stdout)
    assert row["api_version_state"] == "supported" and row["api_version_warning"] is None


@pytest.mark.parametrize("version, says", [
    ("2026-05", "versions are released in January, April, July and October only"),
    ("26-04", "is not a Shopify API version: use YYYY-MM"),
    ("latest", "is not a Shopify API version"),
    ("2025-10", f"2025-10 is no longer supported by Shopify (support ended 2026-10-01; Shopify would answer it as "
                f"{SUPPORTED[0]}). Supported today: {', '.join(SUPPORTED)}"),
    ("2030-01", "is not released yet"),
])
def test_set_refuses_a_malformed_unsupported_or_unreleased_version(  # type: ignore[no-untyped-def]
        hub, db_url, version, says) -> None:
    assert invoke(db_url, "shop", "add", SHOP, "--secret", "s3cret").exit_code == 0
    refused = invoke(db_url, "shop", "set", SHOP, "--api-version", version)
    assert refused.exit_code == 2 and says in " ".join(refused.output.split())
    refused_add = invoke(db_url, "shop", "add", "other.myshopify.com", "--secret", "s", "--api-version", version)
    assert refused_add.exit_code == 2


def test_set_needs_a_known_shop(hub, db_url) -> None:  # type: ignore[no-untyped-def]
    missing = invoke(db_url, "shop", "set", "nobody.myshopify.com", "--api-version", NEWEST)
    assert missing.exit_code == 1 and "no shop nobody.myshopify.com; add it with" in missing.output


def test_the_release_candidate_and_unstable_are_accepted_with_a_warning(  # type: ignore[no-untyped-def]
        hub, db_url) -> None:
    assert invoke(db_url, "shop", "add", SHOP, "--secret", "s3cret").exit_code == 0
    for version in (api_versions.release_candidate(TEST_DAY), "unstable"):
        moved = invoke(db_url, "shop", "set", SHOP, "--api-version", version)
        assert moved.exit_code == 0 and "not a supported stable version" in moved.stderr
