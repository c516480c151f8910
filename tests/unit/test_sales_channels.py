"""The channel of an order, from what its platform says (pure rules)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from orderhub.domain.model import Order
from orderhub.domain.sales_channels import ChannelInformation, check_code, check_source, classify, is_guess, mapped
from orderhub.services.source_channels import with_mapping

META = ChannelInformation(app_title="Facebook & Instagram", channel_name="Facebook & Instagram")


@pytest.mark.parametrize(("source", "info", "expected"), [
    ("pos", None, "pos"), ("POS", None, "pos"), (" pos ", None, "pos"),
    ("web", None, "online"), ("iphone", None, "online"), ("android", None, "online"),
    ("shopify_draft_order", None, "online"), (None, None, "online"), ("", None, "online"),
    ("2329312", None, "online"),  # an app's id: only the shop's mapping can name it
    ("2329312", dataclasses.replace(META, sub_channel_name="Instagram Shopping"), "instagram"),
    ("2329312", dataclasses.replace(META, sub_channel_name="Facebook Shops"), "facebook"),
    ("2329312", META, "facebook"),  # the app alone names both: the first named
    ("2329312", ChannelInformation(handle="instagram-shopping"), "instagram"),
    ("4383523", ChannelInformation(app_title="TikTok"), "tiktok"),
    ("4383523", ChannelInformation(app_title="TikTok", sub_channel_name="TikTok Live"), "tiktok"),
    ("web", ChannelInformation(app_title="Online Store"), "online"),
    ("pos", ChannelInformation(app_title="Point of Sale"), "pos"),
    ("123", ChannelInformation(app_title="Instagrammar Tools"), "online"),  # a word, not a part of one
    ("123", ChannelInformation(app_title="Bikinstagram"), "online"),
])
def test_built_in_recognition(source: str | None, info: ChannelInformation | None, expected: str) -> None:
    assert classify(source, info) == expected


def _order(**changes: object) -> Order:
    at = datetime(2026, 11, 23, tzinfo=UTC)
    return Order(shopify_id="1", currency="EUR", created_at=at, updated_at=at, subtotal_price=Decimal(0),
                 total_discounts=Decimal(0), total_tax=Decimal(0), total_shipping=Decimal(0),
                 total_price=Decimal(0), items=(), **changes)  # type: ignore[arg-type]


def test_an_order_works_out_its_channel_unless_it_is_given_and_a_mapping_wins() -> None:
    assert _order(source_name="pos").channel == "pos"
    assert _order(source_name="amazon", channel="amazon").channel == "amazon"  # a marketplace's translator
    sold = _order(source_name="2329312")
    assert sold.channel == "online"
    assert with_mapping(sold, {"2329312": "instagram"}).channel == "instagram"
    assert with_mapping(sold, {"web": "instagram"}) is sold
    assert with_mapping(_order(source_name="pos"), {"pos": "store"}).channel == "store"  # the operator's word
    assert mapped(" 2329312 ", {"2329312": "x"}) == "x" and mapped("2329312", {}) is None
    assert mapped("ABC", {"abc": "x"}) is None  # Shopify's handles are case-sensitive


def test_codes_and_source_names_are_checked() -> None:
    assert check_code(" Instagram ") == "instagram" and check_code("b2b_wholesale-eu") == "b2b_wholesale-eu"
    for bad in ("", "-x", "has space", "x" * 33, "émoji"):
        with pytest.raises(ValueError, match="is not a channel code"):
            check_code(bad)
    assert check_source(" 2329312 ") == "2329312" and check_source("Instagram-Shops") == "Instagram-Shops"
    for bad in ("", "two words", "x" * 65):
        with pytest.raises(ValueError, match="is not a source name"):
            check_source(bad)


def test_only_online_for_a_source_nothing_names_is_a_guess() -> None:
    assert is_guess("online", "2329312", None) and is_guess("online", None, None)
    assert not is_guess("online", "web", None) and not is_guess("online", "shopify_draft_order", None)
    assert not is_guess("online", "2329312", ChannelInformation(app_title="Online Store"))
    assert not is_guess("instagram", "2329312", None) and not is_guess("pos", "pos", None)
