"""Planning rules read from retailers' files: thresholds, purchase orders, variances, fulfilment history.

Pure, no I/O: which inventory threshold applies to a product in a channel, what a
purchase order still brings, whether an inventory variance makes sense, and which
open order units a line of a fulfilment-history file stands for.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# -- thresholds -------------------------------------------------------------------------------------------

# Selector kinds, most specific first: a SKU's own threshold beats its category's, which beats its tags'.
SELECTOR_KINDS: tuple[str, ...] = ("sku", "category", "tag")
MAX_SELECTOR_LENGTH = 255


@dataclass(frozen=True)
class ThresholdRule:
    """Hold back ``threshold`` units of every product the selector matches from one channel."""

    kind: str  # sku | category | tag
    value: str  # as normalised by :func:`selector_value`
    channel: str
    threshold: int


@dataclass(frozen=True)
class AppliedThreshold:
    """The threshold a channel holds back of one product, and the selector it comes from
    (kind ``channel`` with no value: the channel's own default)."""

    threshold: int
    kind: str
    value: str | None = None

    @property
    def reason(self) -> str:
        return "channel default" if self.value is None else f"{self.kind} {self.value}"


def selector_value(kind: str, value: str) -> str:
    """The stored form of a selector: SKUs exactly as given, tags and categories case-insensitive
    (Shopify treats ``Sale`` and ``sale`` as one tag), so they are kept in lower case."""
    if kind not in SELECTOR_KINDS:
        raise ValueError(f"selector must be one of {', '.join(SELECTOR_KINDS)} (got {kind!r})")
    text = value.strip()
    if not text:
        raise ValueError(f"a {kind} selector needs a value")
    if len(text) > MAX_SELECTOR_LENGTH:
        raise ValueError(f"a {kind} selector is at most {MAX_SELECTOR_LENGTH} characters (got {len(text)})")
    return text if kind == "sku" else text.casefold()


def product_tags(text: str | None) -> frozenset[str]:
    """A product's tags as stored (``"Sale, Summer 🌞"``), in selector form."""
    return frozenset(t.strip().casefold() for t in (text or "").split(",") if t.strip())


class ThresholdBook:
    """Thresholds indexed by channel and selector, so that looking one product up costs no more
    than its number of tags (an export looks up every SKU of the catalogue in every channel)."""

    def __init__(self, rules: Iterable[ThresholdRule]) -> None:
        self._by: dict[tuple[str, str, str], int] = {(r.channel, r.kind, r.value): r.threshold for r in rules}

    def applicable(self, channel: str, *, sku: str, category: str | None, tags: Iterable[str],
                   default: int) -> AppliedThreshold:
        """The most specific selector wins (SKU, then category, then tag); among several matching
        tags the highest threshold (of equal ones, the first tag by name). None matches: ``default``."""
        found = self._by.get((channel, "sku", sku))
        if found is not None:
            return AppliedThreshold(found, "sku", sku)
        cat = category.strip().casefold() if category and category.strip() else None
        found = self._by.get((channel, "category", cat)) if cat else None
        if found is not None:
            return AppliedThreshold(found, "category", cat)
        best: AppliedThreshold | None = None
        for tag in sorted({t.casefold() for t in tags}):
            found = self._by.get((channel, "tag", tag))
            if found is not None and (best is None or found > best.threshold):
                best = AppliedThreshold(found, "tag", tag)
        return best or AppliedThreshold(default, "channel")


def applicable_threshold(rules: Iterable[ThresholdRule], channel: str, *, sku: str, category: str | None,
                         tags: Iterable[str], default: int) -> AppliedThreshold:
    """The threshold ``channel`` holds back of one product (see :meth:`ThresholdBook.applicable`)."""
    return ThresholdBook(rules).applicable(channel, sku=sku, category=category, tags=tags, default=default)


# -- purchase orders ------------------------------------------------------------------------------------

PO_STATUSES: tuple[str, ...] = ("open", "received", "cancelled")


def open_quantity(quantity: int, received: int) -> int:
    """What a purchase-order line still brings (a line received in full, or over, brings nothing)."""
    return max(0, quantity - received)


# -- inventory variances ----------------------------------------------------------------------------------

VARIANCE_REASONS: tuple[str, ...] = ("damaged", "cycle_count", "received", "adjusted")


def variance_problem(reason: str, delta: int | None, count: int | None) -> tuple[str, str] | None:
    """Why a variance cannot apply, as (column, message), or None when it can.

    A variance is a signed change (``quantity``) or an absolute count, never both; damaged
    goods only lower on hand and received goods only raise it.
    """
    if reason not in VARIANCE_REASONS:
        return "reason", f"must be one of {', '.join(VARIANCE_REASONS)} (got {reason!r})"
    if (delta is None) == (count is None):
        return "quantity", "give either quantity (a signed change) or count (what was counted), not both or none"
    if delta is not None:
        if delta == 0:
            return "quantity", "a change of 0 changes nothing"
        if reason == "damaged" and delta > 0:
            return "quantity", f"a damaged variance lowers on hand: use a negative quantity (got {delta})"
        if reason == "received" and delta < 0:
            return "quantity", f"received goods raise on hand: use a positive quantity (got {delta})"
    if count is not None and count < 0:
        return "count", f"a count cannot be negative (got {count})"
    return None


# -- fulfilment history ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class OpenUnit:
    """A unit of the line a history row names, open at the row's facility."""

    id: int
    status: str  # brokered | picked | packed
    shipment_id: int | None = None


@dataclass(frozen=True)
class PackedShipment:
    """A packed shipment holding some of those units: its label, and every unit packed in it."""

    id: int
    tracking_number: str | None
    unit_ids: frozenset[int]


@dataclass(frozen=True)
class ShipPlan:
    """How to ship ``needed`` units: pick these, pack these (picked and just picked) into a new
    shipment, and ship these already packed shipments whole."""

    pick: tuple[int, ...] = ()
    pack: tuple[int, ...] = ()
    ship_packed: tuple[int, ...] = ()


class CannotPlan(ValueError):
    pass


def plan_shipment(units: Sequence[OpenUnit], shipments: Sequence[PackedShipment], needed: int,
                  tracking_number: str) -> ShipPlan:
    """Which open units a row's ``needed`` shipped units are, and what to do with them.

    A packed shipment already labelled with the row's tracking number is that parcel: it ships
    whole (other lines packed in it ship with it; the file's rows for them then find them shipped).
    Then units not packed yet (picked before brokered), then other packed shipments that hold only
    units of this line. A shipment is never split: that would ship what the file did not name.
    """
    if needed <= 0:
        return ShipPlan()
    mine = {u.id for u in units}
    left = needed
    ship: list[int] = []
    by_tracking = sorted((s for s in shipments if s.tracking_number == tracking_number and s.unit_ids & mine),
                         key=lambda s: s.id)
    for s in by_tracking:
        count = len(s.unit_ids & mine)
        if count > left:
            raise CannotPlan(f"shipment {s.id} with tracking number {tracking_number} holds {count} unit(s) of "
                             f"this line, more than the {left} the file still names")
        ship.append(s.id)
        left -= count
    loose = sorted((u for u in units if u.status in ("picked", "brokered")),
                   key=lambda u: (u.status != "picked", u.id))[:left]
    left -= len(loose)
    others = sorted((s for s in shipments if s.id not in ship and s.unit_ids and s.unit_ids <= mine),
                    key=lambda s: (len(s.unit_ids), s.id))
    for s in others:
        if left and len(s.unit_ids) <= left:
            ship.append(s.id)
            left -= len(s.unit_ids)
    if left:
        if len(units) < needed:
            raise CannotPlan(f"{needed} unit(s) to ship but only {len(units)} open at this facility")
        raise CannotPlan(f"the open units are packed in shipments with other lines or more units than the file "
                         f"names ({', '.join(str(s.id) for s in shipments)}); ship them with `orderhub orders ship`")
    return ShipPlan(pick=tuple(u.id for u in loose if u.status == "brokered"), pack=tuple(u.id for u in loose),
                    ship_packed=tuple(ship))
