"""Shopify Admin API versions: which exist, which Shopify supports on a given day, and since which
version each feature orderhub relies on exists.

Pure: no I/O and no clock. Every question about "now" takes the day as an argument, so the
client, the simulator and the tests can each decide what today is.

The rule (https://shopify.dev/docs/api/usage/versioning): a stable version is released every
quarter, on the first day of January, April, July and October, and named after that month
("2026-04"); each is supported for at least 12 months. A request to a version no longer
supported is served by the oldest supported stable version ("falls forward"), and the response
header ``X-Shopify-API-Version`` names the version that served it. The next quarter's version
is available as a release candidate before its release; ``unstable`` changes at any time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

UNSTABLE = "unstable"
RELEASE_MONTHS = (1, 4, 7, 10)
SUPPORT_MONTHS = 12  # https://shopify.dev/docs/api/usage/versioning#release-schedule
WARN_DAYS = 60  # orderhub warns this long before a shop's version leaves support
FIRST_STABLE = "2019-04"  # https://shopify.dev/changelog/introducing-admin-api-versioning-and-developer-preview
VERSION_HEADER = "X-Shopify-API-Version"
DEPRECATION_HEADER = "X-Shopify-API-Deprecated-Reason"  # https://shopify.dev/changelog/graphql-return-actual-deprecation-reasons

_FORMAT = re.compile(r"([0-9]{4})-([0-9]{2})", re.ASCII)


class InvalidVersion(ValueError):
    """Not a Shopify API version name (the text says which names are)."""


def parse(text: str) -> str:
    """``text`` as a version name ("2026-04" or "unstable"); raises :class:`InvalidVersion` saying why not."""
    value = (text or "").strip().lower()
    if value == UNSTABLE:
        return value
    match = _FORMAT.fullmatch(value)
    if match is None:
        raise InvalidVersion(f"{text!r} is not a Shopify API version: use YYYY-MM with a quarter's first month "
                             f"(e.g. 2026-04) or {UNSTABLE!r}")
    if int(match.group(2)) not in RELEASE_MONTHS:
        raise InvalidVersion(f"{text!r} is not a Shopify API version: versions are released in January, April, "
                             f"July and October only (YYYY-01, -04, -07 or -10)")
    if value < FIRST_STABLE:
        raise InvalidVersion(f"{text!r} is not a Shopify API version: the first one is {FIRST_STABLE}")
    return value


def is_valid(text: str) -> bool:
    try:
        parse(text)
    except InvalidVersion:
        return False
    return True


def _name(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def released(version: str) -> date:
    """The day a stable version was (or will be) released."""
    name = parse(version)
    if name == UNSTABLE:
        raise InvalidVersion("unstable is never released; it changes at any time")
    return date(int(name[:4]), int(name[5:]), 1)


def support_ends(version: str) -> date | None:
    """The first day Shopify no longer supports ``version`` (None for unstable, which is never supported)."""
    if parse(version) == UNSTABLE:
        return None
    start = released(version)
    return date(start.year + SUPPORT_MONTHS // 12, start.month, 1)


def newest_stable(today: date) -> str:
    """The newest stable version released on or before ``today``."""
    month = max(m for m in RELEASE_MONTHS if m <= today.month)
    return _name(today.year, month)


def release_candidate(today: date) -> str:
    """The next quarter's version, available as a release candidate before it is released."""
    year, month = today.year, newest_stable(today)[5:]
    following = int(month) + 3
    return _name(year + 1, 1) if following > 12 else _name(year, following)


def supported(today: date) -> tuple[str, ...]:
    """The stable versions Shopify supports on ``today``, oldest first."""
    newest = newest_stable(today)
    year, month = int(newest[:4]), int(newest[5:])
    found = []
    for _ in range(SUPPORT_MONTHS // 3):
        found.append(_name(year, month))
        month -= 3
        if month < 1:
            year, month = year - 1, month + 12
    return tuple(reversed(found))


def oldest_supported(today: date) -> str:
    return supported(today)[0]


def days_left(version: str, today: date) -> int | None:
    """Days until ``version`` leaves support (0 or less once it has); None for unstable."""
    ends = support_ends(version)
    return None if ends is None else (ends - today).days


def served_version(requested: str, today: date) -> str:
    """The version Shopify answers a request to ``requested`` with on ``today`` (its fall-forward).

    A supported version, the release candidate and ``unstable`` serve themselves; an older one is
    served by the oldest supported version. A version later than the release candidate does not
    exist yet: :class:`InvalidVersion`.
    """
    name = parse(requested)
    if name == UNSTABLE:
        return name
    if name > release_candidate(today):
        raise InvalidVersion(f"{requested!r} is not released yet (the newest is {newest_stable(today)}, "
                             f"the release candidate {release_candidate(today)})")
    return max(name, oldest_supported(today))


def newer(a: str, b: str) -> bool:
    """Whether version ``a`` is at least ``b`` (``unstable`` is newer than every stable version)."""
    a, b = parse(a), parse(b)
    if a == UNSTABLE:
        return True
    return b != UNSTABLE and a >= b


# -- a version's standing on a day ------------------------------------------------------------------

SUPPORTED, ENDING, UNSUPPORTED, PREVIEW = "supported", "ending", "unsupported", "preview"


@dataclass(frozen=True)
class Standing:
    """Where ``version`` stands on ``today``, and what to do about it."""

    version: str
    state: str  # supported | ending (within WARN_DAYS) | unsupported | preview (release candidate, unstable)
    support_ends: date | None
    days_left: int | None
    served_by: str  # the version Shopify answers with
    move_to: str  # the newest stable version

    @property
    def needs_attention(self) -> bool:
        return self.state in (ENDING, UNSUPPORTED, PREVIEW)

    def advice(self, shop: str) -> str:
        """One sentence for a person: the shop, its version, when support ends, what to move to."""
        command = f"`orderhub shop set {shop} --api-version {self.move_to}`"
        if self.state == UNSUPPORTED:
            return (f"shop {shop} uses Shopify API version {self.version}, whose support ended on "
                    f"{self.support_ends}; Shopify answers it with {self.served_by}. Move to {self.move_to}: {command}")
        if self.state == ENDING:
            return (f"shop {shop} uses Shopify API version {self.version}, whose support ends on {self.support_ends} "
                    f"(in {self.days_left} days). Move to {self.move_to}: {command}")
        if self.state == PREVIEW:
            return (f"shop {shop} uses Shopify API version {self.version}, which is not a supported stable version "
                    f"and may change without notice. Move to {self.move_to}: {command}")
        return f"shop {shop} uses Shopify API version {self.version}, supported until {self.support_ends}"


def standing(version: str, today: date) -> Standing:
    name = parse(version)
    newest = newest_stable(today)
    if name == UNSTABLE or name > newest:
        return Standing(name, PREVIEW, support_ends(name), days_left(name, today), served_version(name, today), newest)
    left = days_left(name, today)
    assert left is not None
    state = UNSUPPORTED if left <= 0 else ENDING if left <= WARN_DAYS else SUPPORTED
    return Standing(name, state, support_ends(name), left, served_version(name, today), newest)


# -- features: since which version ----------------------------------------------------------------

@dataclass(frozen=True)
class Feature:
    since: str
    source: str


FEATURES: dict[str, Feature] = {
    # Customer.defaultEmailAddress / defaultPhoneNumber; Customer.email and phone deprecated for them.
    "customer_default_contact": Feature("2025-04", "https://shopify.dev/changelog/adding-defaultemailaddress-field-to-customer"),
    # orderCancel(refundMethod:); orderCancel(refund:) deprecated for it.
    "order_cancel_refund_method": Feature("2025-07", "https://shopify.dev/changelog/ordercancel-mutation-now-supports-refunds-to-store-credit"),
    # bulkOperationRunQuery(groupObjects:) (default true; false from 2026-01).
    "bulk_group_objects": Feature("2025-07", "https://shopify.dev/changelog/optional-groupobjects-argument-in-bulk-operations-mutations-that-offers-faster-and-more-reliable-job-execution"),
    # WebhookSubscriptionInput.uri and WebhookSubscription.uri; callbackUrl and endpoint deprecated.
    "webhook_uri": Feature("2025-10", "https://shopify.dev/changelog/consolidate-webhook-graphql-surfaces"),
    # bulkOperations (connection) and bulkOperation(id:); currentBulkOperation deprecated.
    "bulk_operations_query": Feature("2026-01", "https://shopify.dev/changelog/new-queries-for-bulk-operations"),
    # groupObjects defaults to false.
    "bulk_ungrouped_by_default": Feature("2026-01", "https://shopify.dev/changelog/bulk-operations-group-objects-default-changed-to-false"),
    # InventoryQuantityInput.changeFromQuantity; compareQuantity and ignoreCompareQuantity deprecated.
    "inventory_change_from_quantity": Feature("2026-01", "https://shopify.dev/changelog/compare-and-swap-redesign-for-inventory-set-quantities"),
    # @idempotent(key:) on inventory mutations (optional).
    "idempotent_directive": Feature("2026-01", "https://shopify.dev/changelog/adding-idempotency-for-inventory-adjustments-and-refund-mutations"),
    # changeFromQuantity mandatory on every quantity; compareQuantity and ignoreCompareQuantity removed.
    "inventory_change_from_required": Feature("2026-04", "https://shopify.dev/changelog/finalizing-compare-and-swap-redesign-for-inventory-set-quantities"),
    # @idempotent(key:) mandatory on inventory mutations (an error at run time without it).
    "idempotency_required": Feature("2026-04", "https://shopify.dev/changelog/making-idempotency-mandatory-for-inventory-adjustments-and-refund-mutations"),
}


def has(feature: str, version: str) -> bool:
    """Whether ``version`` has ``feature`` (a key of :data:`FEATURES`)."""
    return newer(version, FEATURES[feature].since)


# -- what the other modules ask --------------------------------------------------------------------

_CUSTOMER_CURRENT = "id firstName lastName defaultEmailAddress { emailAddress } defaultPhoneNumber { phoneNumber }"
_CUSTOMER_LEGACY = "id email firstName lastName phone"


def customer_selection(version: str) -> str:
    """The fields of ``Customer`` to select for a customer's id, names, email and phone on ``version``.

    From 2025-04 the current ``defaultEmailAddress { emailAddress }`` and ``defaultPhoneNumber
    { phoneNumber }`` (``email`` and ``phone`` are deprecated); before, ``email`` and ``phone``.
    Read the answer with :func:`customer_contact`.
    """
    return _CUSTOMER_CURRENT if has("customer_default_contact", version) else _CUSTOMER_LEGACY


def customer_contact(node: dict[str, Any] | None) -> tuple[str | None, str | None]:
    """(email, phone) of a ``Customer`` selected with :func:`customer_selection` on any version."""
    if not node:
        return None, None
    email = (node.get("defaultEmailAddress") or {}).get("emailAddress") if "defaultEmailAddress" in node \
        else node.get("email")
    phone = (node.get("defaultPhoneNumber") or {}).get("phoneNumber") if "defaultPhoneNumber" in node \
        else node.get("phone")
    return email, phone
