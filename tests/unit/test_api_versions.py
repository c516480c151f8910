"""The Shopify API version rule: releases, support windows, fall-forward, feature predicates."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from orderhub.adapters.shopify import api_versions as v

TODAY = date(2026, 12, 7)


def test_supported_versions_on_a_day() -> None:
    assert v.newest_stable(TODAY) == "2026-10"
    assert v.supported(TODAY) == ("2026-01", "2026-04", "2026-07", "2026-10")
    assert v.release_candidate(TODAY) == "2027-01"
    assert v.oldest_supported(TODAY) == "2026-01"


@pytest.mark.parametrize("day, newest, oldest", [
    (date(2027, 1, 1), "2027-01", "2026-04"),  # a release day: the new version in, the oldest out
    (date(2026, 12, 31), "2026-10", "2026-01"),
    (date(2026, 3, 31), "2026-01", "2025-04"),
    (date(2026, 4, 1), "2026-04", "2025-07"),
])
def test_quarter_boundaries(day: date, newest: str, oldest: str) -> None:
    assert v.newest_stable(day) == newest
    assert v.oldest_supported(day) == oldest
    assert len(v.supported(day)) == 4


def test_every_supported_version_is_released_and_within_its_year() -> None:
    day = date(2025, 1, 1)
    while day < date(2028, 1, 1):
        for version in v.supported(day):
            assert v.released(version) <= day < v.support_ends(version)  # type: ignore[operator]
        day += timedelta(days=17)


def test_support_ends_and_days_left() -> None:
    assert v.support_ends("2026-01") == date(2027, 1, 1)
    assert v.days_left("2026-01", TODAY) == 25
    assert v.days_left("2025-10", TODAY) == -67
    assert v.support_ends("unstable") is None and v.days_left("unstable", TODAY) is None


def test_fall_forward() -> None:
    assert v.served_version("2025-10", TODAY) == "2026-01"
    assert v.served_version("2024-01", TODAY) == "2026-01"
    assert v.served_version("2026-04", TODAY) == "2026-04"
    assert v.served_version("2027-01", TODAY) == "2027-01"  # the release candidate
    assert v.served_version("unstable", TODAY) == "unstable"
    with pytest.raises(v.InvalidVersion, match="not released yet"):
        v.served_version("2027-04", TODAY)


@pytest.mark.parametrize("text", ["2026-05", "2026-4", "26-04", "2026-13", "", "latest", "2026-04-01", "2018-10",
                                  "２０２６-04", "2026-04\n1"])
def test_malformed_versions_are_refused(text: str) -> None:
    assert not v.is_valid(text)
    with pytest.raises(v.InvalidVersion):
        v.parse(text)


def test_valid_versions() -> None:
    assert v.parse(" 2026-04 ") == "2026-04"
    assert v.parse("UNSTABLE") == "unstable"
    assert v.is_valid("2019-04")


def test_standing_names_the_date_and_the_version_to_move_to() -> None:
    ending = v.standing("2026-01", TODAY)
    assert (ending.state, ending.days_left, ending.move_to) == (v.ENDING, 25, "2026-10")
    text = ending.advice("alpha.myshopify.com")
    assert "alpha.myshopify.com" in text and "2026-01" in text and "2027-01-01" in text and "2026-10" in text
    gone = v.standing("2025-07", TODAY)
    assert gone.state == v.UNSUPPORTED and gone.served_by == "2026-01"
    assert "2026-01" in gone.advice("a") and "2026-07-01" in gone.advice("a")
    assert v.standing("2026-10", TODAY).state == v.SUPPORTED and not v.standing("2026-10", TODAY).needs_attention
    assert v.standing("2026-04", TODAY).state == v.SUPPORTED  # 115 days left
    assert v.standing("unstable", TODAY).state == v.PREVIEW
    assert v.standing("2027-01", TODAY).state == v.PREVIEW
    # exactly WARN_DAYS before the end is a warning, one day more is not
    assert v.standing("2026-04", date(2027, 2, 1)).state == v.ENDING  # 59 days
    assert v.standing("2026-04", v.support_ends("2026-04") - timedelta(days=60)).state == v.ENDING  # type: ignore[operator]
    assert v.standing("2026-04", v.support_ends("2026-04") - timedelta(days=61)).state == v.SUPPORTED  # type: ignore[operator]


def test_feature_predicates() -> None:
    assert not v.has("inventory_change_from_required", "2026-01")
    assert v.has("inventory_change_from_required", "2026-04")
    assert v.has("inventory_change_from_required", "unstable")
    assert v.has("idempotent_directive", "2026-01") and not v.has("idempotent_directive", "2025-10")
    assert not v.has("bulk_group_objects", "2025-04") and v.has("bulk_group_objects", "2025-07")
    assert v.has("bulk_operations_query", "2026-01") and not v.has("bulk_operations_query", "2025-10")
    assert v.has("webhook_uri", "2025-10") and not v.has("webhook_uri", "2025-07")
    assert v.has("order_cancel_refund_method", "2025-07") and not v.has("order_cancel_refund_method", "2025-04")
    for feature in v.FEATURES.values():
        assert v.is_valid(feature.since) and feature.source.startswith("https://shopify.dev/")


def test_customer_selection_and_reading_either_shape() -> None:
    assert "defaultEmailAddress { emailAddress }" in v.customer_selection("2026-01")
    assert " email " in v.customer_selection("2025-01") and "defaultEmailAddress" not in v.customer_selection("2025-01")
    current = {"id": "gid://shopify/Customer/1", "defaultEmailAddress": {"emailAddress": "a@example.com"},
               "defaultPhoneNumber": None}
    assert v.customer_contact(current) == ("a@example.com", None)
    assert v.customer_contact({"email": "b@example.com", "phone": "+491"}) == ("b@example.com", "+491")
    assert v.customer_contact(None) == (None, None)
