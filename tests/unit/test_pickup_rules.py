"""Pickup in store, pure parts: the verification code, its dates, the Shopify pickup choice, the e-mails."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from orderhub.adapters.fields import Fields
from orderhub.adapters.shopify import pickup as shopify_pickup
from orderhub.domain import pickup, pickup_mail
from orderhub.domain.errors import InvalidRecord

FIXTURE = Path(__file__).parents[1] / "fixtures" / "shopify" / "pickup_order.json"


def test_codes_are_random_from_the_unambiguous_alphabet_and_only_their_hash_matches() -> None:
    codes = {pickup.new_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(c) == pickup.CODE_LENGTH and set(c) <= set(pickup.ALPHABET) for c in codes)
    code = codes.pop()
    salt, digest = pickup.hash_code(code)
    assert code not in digest and pickup.code_matches(code, salt, digest)
    assert pickup.code_matches(f" {code[:4].lower()}-{code[4:]} ", salt, digest)  # as a person types it
    assert not pickup.code_matches(codes.pop(), salt, digest)
    assert not pickup.code_matches("A" * 10_000, salt, digest)  # refused before hashing
    assert pickup.hash_code(code)[1] != digest  # a fresh salt each time


def test_collect_by_and_the_reminder_a_day_before() -> None:
    ready = datetime(2026, 1, 1, 10, tzinfo=UTC)
    until = pickup.collect_by(ready, 7)
    assert until == ready + timedelta(days=7)
    assert pickup.reminder_cutoff(until - timedelta(hours=23)) > until
    assert pickup.reminder_cutoff(until - timedelta(days=2)) < until
    with pytest.raises(pickup.PickupError):
        pickup.collect_by(ready, 0)
    assert pickup.is_overdue("ready", until, until) and not pickup.is_overdue("collected", until, until)


def test_the_shopify_pickup_choice_is_read_from_the_pick_up_fulfillment_order() -> None:
    sample = json.loads(FIXTURE.read_text(encoding="utf-8"))
    assert shopify_pickup.location(Fields(sample["rest"]["payload"])) == ("65432109876", "BOS01")
    assert shopify_pickup.location(Fields(sample["graphql"]["payload"])) == ("65432109876", "BOS01")
    delivered = {"fulfillment_orders": [{"delivery_method": {"method_type": "shipping"}, "assigned_location_id": 1}]}
    assert shopify_pickup.location(Fields(delivered)) == (None, None)
    assert shopify_pickup.location(Fields({})) == (None, None)
    with pytest.raises(InvalidRecord):
        shopify_pickup.location(Fields({"fulfillment_orders": [{"delivery_method": {"method_type": "pick_up"}}]}))


@pytest.mark.parametrize("language", ["en", "fr", "de", "es", "ja"])
def test_every_language_has_every_mail_and_escapes_what_it_is_given(language: str) -> None:
    assert language in pickup_mail.languages()
    for kind in pickup_mail.KINDS:
        mail = pickup_mail.render(kind, language, customer="Zoë 😀 <script>x</script>", order="#1001",
                                  store="Boston & Co", address="1 Main St", collect_by="2026-01-08 10:00",
                                  code="ACD34679" if kind == "ready" else None)
        assert "#1001" in mail.subject and "\n" not in mail.subject
        assert "Zoë 😀 <script>" in mail.text and "2026-01-08 10:00" in mail.text
        assert "<script>" not in mail.html and "Zoë 😀 &lt;script&gt;" in mail.html and "Boston &amp; Co" in mail.html
        assert ("ACD34679" in mail.text) == (kind == "ready")
        assert "$" not in mail.text  # every placeholder filled


def test_the_language_is_the_customers_then_the_stores_then_english() -> None:
    assert pickup_mail.language_for("fr-CA", "DE") == "fr"
    assert pickup_mail.language_for("pt-BR", "JP") == "ja"
    assert pickup_mail.language_for(None, "ES") == "es"
    assert pickup_mail.language_for("xx", None) == "en"
