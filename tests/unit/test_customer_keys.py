"""The keys that link a person's identities, and the linking plan: pure rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderhub.domain.customers import (
    ConsentChange,
    ConsentRecord,
    Keys,
    Node,
    current,
    effective,
    email_key,
    guest_of,
    identity_of,
    keys_of,
    phone_key,
    plan_links,
)
from orderhub.domain.model import Address, Customer, Order

T0 = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize(("given_email", "key"), [
    ("  Zoë.Müller@Example.COM ", "zoë.müller@example.com"),
    ("a.b@example.com", "a.b@example.com"),  # dots are kept: a.b and ab may be two people
    ("ab+news@example.com", "ab+news@example.com"),  # tags too: the provider decides what they mean
    ("0f3a@marketplace.amazon.de", None),  # Amazon's relay address, per buyer and seller
    ("04BB1243498A43E9ADC8F1C9EAB622DC@relay.walmart.com", None),
    ("v2abc@scs.tiktokw.us", None),
    ("no-at-sign.example.com", None),
    ("two words@example.com", None),
    ("x@localhost", None),
    ("", None),
    (None, None),
])
def test_email_key(given_email: str | None, key: str | None) -> None:
    assert email_key(given_email) == key


@pytest.mark.parametrize(("number", "region", "key"), [
    ("+49 151 23456789", None, "+4915123456789"),
    ("0151 23456789", "DE", "+4915123456789"),
    ("(415) 555-2671", "US", "+14155552671"),
    ("+1 415-555-2671", "DE", "+14155552671"),  # its own country code wins
    ("0151 23456789", None, None),  # no country: cannot be read
    ("+1 206-555-0100 ext. 12345", None, None),  # Amazon's masked phone: an extension is no person's number
    ("12", "US", None),
    ("(+1)213****23", "US", None),  # TikTok's masked phone
    ("📞 call me", "US", None),
])
def test_phone_key(number: str, region: str | None, key: str | None) -> None:
    assert phone_key(number, region) == key


def test_keys_follow_the_kinds_rule() -> None:
    person = Customer("42", email="ANA@example.com", phone="+34 612 345 678", loyalty_id=" L-77 ")
    assert keys_of(person, region=None, rule=frozenset({"email", "phone", "loyalty"})) == Keys(
        "ana@example.com", "+34612345678", "L-77")
    assert keys_of(person, region=None, rule=frozenset({"phone"})) == Keys(None, "+34612345678", None)
    assert keys_of(Customer("loyalty:L-9"), region=None, rule=frozenset({"loyalty"})).loyalty == "L-9"


def _order(**kw: object) -> Order:
    base = dict(shopify_id="1", currency="EUR", created_at=T0, updated_at=T0, subtotal_price=Decimal("1"),
                total_discounts=Decimal("0"), total_tax=Decimal("0"), total_shipping=Decimal("0"),
                total_price=Decimal("1"), items=())
    return Order(**(base | kw))  # type: ignore[arg-type]


def test_a_guest_is_named_by_a_digest_not_by_their_address() -> None:
    billing = Address(first_name="Ana", last_name="Lima", phone="612 345 678", country_code="ES")
    guest = guest_of(_order(email="Ana@Example.com", billing_address=billing))
    assert guest is not None and guest.shopify_id.startswith("guest:")
    assert "ana" not in guest.shopify_id.lower() and guest.email == "Ana@Example.com"
    assert guest_of(_order(email="ana@example.com")).shopify_id == guest.shopify_id  # type: ignore[union-attr]
    by_phone = guest_of(_order(billing_address=billing))
    assert by_phone is not None and by_phone.phone == "612 345 678"
    assert guest_of(_order()) is None
    assert guest_of(_order(email="x@relay.walmart.com")) is None  # a relay address names nobody
    customer = Customer("7")
    assert identity_of(_order(email="a@example.com", customer=customer)) is customer


def test_identities_sharing_a_key_join_the_oldest_profile_and_merge_the_others() -> None:
    known = [Node(1, 10, Keys(email="a@x.io")), Node(2, 20, Keys(phone="+34612345678"))]
    batch = [Node(3, None, Keys(email="a@x.io", phone="+34612345678"))]
    [link] = plan_links(batch, known, frozenset())
    assert link.profile == 10 and link.absorbed == (20,) and link.identities == ((3, "email"),)


def test_profiles_kept_apart_are_not_merged_by_a_shared_key() -> None:
    known = [Node(1, 10, Keys(email="a@x.io")), Node(2, 20, Keys(phone="+34612345678"))]
    batch = [Node(3, None, Keys(email="a@x.io", phone="+34612345678"))]
    [link] = plan_links(batch, known, frozenset({(10, 20)}))
    assert link.profile == 10 and link.absorbed == ()  # its e-mail: more specific than the phone
    # an identity linked already stays where a person put it
    assert plan_links([Node(2, 20, Keys(phone="+34612345678", email="a@x.io"))], known[:1], frozenset({(10, 20)})
                      ) == []


def test_a_new_identity_with_no_match_gets_a_new_profile() -> None:
    [link] = plan_links([Node(5, None, Keys(email="new@x.io")), Node(6, None, Keys(email="new@x.io"))], [],
                        frozenset())
    assert link.profile is None and link.identities == ((5, "email"), (6, "email"))
    [alone] = plan_links([Node(7, None, Keys())], [], frozenset())
    assert alone.identities == ((7, "new"),)


keys = st.builds(Keys, email=st.sampled_from([None, "a@x.io", "b@x.io"]),
                 phone=st.sampled_from([None, "+34612345678", "+4915123456789"]),
                 loyalty=st.sampled_from([None, "L1", "L2"]))


@given(st.lists(keys, min_size=1, max_size=8), st.lists(keys, max_size=8))
def test_linking_puts_every_batch_identity_on_one_profile_of_its_group(batch_keys: list[Keys],
                                                                      known_keys: list[Keys]) -> None:
    known = [Node(100 + i, 1000 + i, k) for i, k in enumerate(known_keys)]
    batch = [Node(i, None, k) for i, k in enumerate(batch_keys)]
    plan = plan_links(batch, known, frozenset())
    placed = [i for link in plan for i, _ in link.identities]
    assert sorted(placed) == sorted(n.identity for n in batch)  # each exactly once
    for link in plan:  # identities that share a key with a known one end on a profile of that group
        for i, _ in link.identities:
            sharing = [n.profile for n in known if set(n.keys.items()) & set(batch[i].keys.items())]
            if sharing:
                assert link.profile is not None and link.profile <= min(sharing)


def test_consent_in_force_is_the_newest_change_for_the_account_or_everywhere() -> None:
    history = [ConsentRecord(1, "email_marketing", "*", "granted", T0),
               ConsentRecord(2, "email_marketing", "shop-a", "withdrawn", T0 + timedelta(hours=1)),
               ConsentRecord(3, "sms_marketing", "*", "pending", T0)]
    assert effective(history, "email_marketing", "shop-a") == "withdrawn"
    assert effective(history, "email_marketing", "shop-b") == "granted"
    assert effective(history, "personalisation", "shop-a") == "not_given"
    later = [*history, ConsentRecord(4, "email_marketing", "*", "granted", T0 + timedelta(hours=2))]
    assert effective(later, "email_marketing", "shop-a") == "granted"
    assert current(later)[("email_marketing", "*")].id == 4


def test_a_consent_change_names_a_known_purpose_and_state() -> None:
    with pytest.raises(ValueError, match="unknown purpose"):
        ConsentChange("newsletter", "granted", T0, "api")
    with pytest.raises(ValueError, match="unknown consent state"):
        ConsentChange("email_marketing", "yes", T0, "api")
