"""What orderhub does to a TikTok shop's orders: ship, cancel lines, answer buyers' cancellation requests, refund
returns.

Lines are orderhub's (translate.line_groups: a line is the units of one SKU and price, under its first
unit's id); TikTok works on units and ships whole packages, so each operation reads the order first and
picks the units. Every operation is idempotent by reading TikTok's state, so doing one twice, or again
after an answer was lost on the way, is harmless:

- ``confirm_shipment`` ships each package holding the shipped units, unless TikTok shows it shipped
  already with the same tracking number; a package that holds other, unshipped units too is refused
  (TikTok ships packages, not units).
- ``cancel_lines``: a notice's quantity is how many units of the line are not to ship in all; units TikTok
  shows cancelled already count, so only the rest are cancelled.
- ``approve_cancellation`` / ``reject_cancellation``: a request already approved (or rejected) is done.
- ``refund``: a seller-initiated ``REFUND`` (Create Return) of the returned units, for the return's amount,
  under TikTok's ``idempotency_key`` (orderhub's reference of the return): sent again, TikTok answers the
  first request's return and refunds nothing twice.

A write is sent once at a time: when its answer does not come (a timeout, a 5xx, a broken answer), the
order is read again before it is sent again, so work TikTok did behind a lost answer is not done twice.

TikTok has no acknowledgement of orders: ``acknowledge`` does nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from orderhub.adapters.tiktok import api, translate
from orderhub.adapters.tiktok.client import TikTokAuthError, TikTokClient, TikTokRefused, TikTokUnavailable
from orderhub.domain.channels import (
    CANCEL_REASONS,
    REFUND_REASONS,
    CancelNotice,
    ChannelRefused,
    ChannelUnavailable,
    RefundNotice,
    ShipmentNotice,
)

# orderhub's reasons as TikTok's seller cancellation reason names (TikTok lists the names a shop may use
# per region; these are the seller-side ones for orders awaiting shipment).
TIKTOK_CANCEL_REASONS = {
    "out_of_stock": "seller_cancel_reason_out_of_stock",
    "customer_request": "seller_cancel_reason_buyer_request",
    "fraud": "seller_cancel_reason_suspected_fraud",
    "address": "seller_cancel_reason_address_not_deliverable",
    "other": "seller_cancel_reason_other",
}
assert set(TIKTOK_CANCEL_REASONS) == set(CANCEL_REASONS)
# orderhub's refund reasons as the reason names of a seller's Create Return. TikTok lists the names a shop may
# use per order line (Get Aftersale Eligibility, available_reason_names); these follow the seller reason
# names above and are to be checked against that list for a shop's region.
TIKTOK_REFUND_REASONS = {"returned": "seller_refund_reason_buyer_returned_item",
                         "damaged": "seller_refund_reason_item_damaged"}
assert set(TIKTOK_REFUND_REASONS) == set(REFUND_REASONS)
RETURN_CLOSED = ("REFUND_OR_RETURN_REQUEST_REJECT", "RETURN_OR_REFUND_REQUEST_CANCEL")
DEFAULT_REJECT_REASON = "seller_reject_apply_product_has_been_packed"
CANCEL_DONE = ("CANCELLATION_REQUEST_SUCCESS", "CANCELLATION_REQUEST_COMPLETE")


def should_approve(has_picked_units: bool) -> bool:
    """A buyer's cancellation request is approved while nothing of the order has been picked: the goods are
    still on the shelf, so cancelling costs nothing. Once a unit is picked it is rejected (the parcel is on
    its way out), and the buyer can return it."""
    return not has_picked_units


class TikTokOrders:
    def __init__(self, client: TikTokClient) -> None:
        self.client = client

    def _order(self, order_ref: str) -> dict[str, Any]:
        found = api.order_details(self.client, [order_ref])
        if not found:
            raise ChannelRefused(f"TikTok account {self.client.account.name}: order {order_ref} does not exist in "
                                 "this shop")
        return found[0]

    def acknowledge(self, order_ref: str) -> None:
        """TikTok has no acknowledgement: an order is the seller's once it is AWAITING_SHIPMENT."""

    def confirm_shipment(self, notice: ShipmentNotice) -> None:
        with _as_channel_errors():
            self._confirm_shipment(notice)

    def _confirm_shipment(self, notice: ShipmentNotice) -> None:
        payload = self._order(notice.order_ref)
        groups = translate.line_groups(payload)
        chosen: list[translate.Unit] = []
        for line_id, quantity in notice.lines:
            units = self._line(notice.order_ref, groups, line_id)
            live = [u for u in units if u.status != "CANCELLED"]
            if quantity > len(live):
                raise ChannelRefused(f"TikTok order {notice.order_ref} line {line_id} has {len(live)} unit(s) to "
                                     f"ship, not {quantity}")
            # Units shipped with this tracking number first (a repeat), then those waiting in a package.
            live.sort(key=lambda u: (u.tracking != notice.tracking, u.tracking is not None))
            chosen += live[:quantity]
        packages = {u.package_id for u in chosen}
        if None in packages:
            raise ChannelRefused(f"TikTok order {notice.order_ref} has units in no package yet (the order is "
                                 f"{payload.get('status')}); ship it once TikTok releases it")
        all_units = [u for units in groups.values() for u in units]
        provider: str | None = None
        for package in sorted(p for p in packages if p):
            inside = [u for u in all_units if u.package_id == package and u.status != "CANCELLED"]
            shipped = [u for u in inside if u.tracking]
            if shipped:
                if notice.tracking and all(u.tracking == notice.tracking for u in shipped):
                    continue  # shipped already, by this shipment
                raise ChannelRefused(f"TikTok order {notice.order_ref} package {package} shipped already with "
                                     f"tracking {shipped[0].tracking}")
            left_out = [u.id for u in inside if u not in chosen]
            if left_out:
                raise ChannelRefused(f"TikTok order {notice.order_ref} package {package} also holds unit(s) "
                                     f"{', '.join(left_out)} that this shipment leaves out; TikTok ships whole "
                                     "packages")
            if notice.tracking and provider is None:
                provider = self._provider(str(payload.get("warehouse_id") or ""), notice.carrier)
            self._write(lambda attempts, package=package, provider=provider: api.ship_package(
                self.client, package, tracking=notice.tracking, provider_id=provider, attempts=attempts),
                lambda package=package: self._shipped(notice.order_ref, package, notice.tracking))

    def _shipped(self, order_ref: str, package: str, tracking: str | None) -> bool:
        units = [u for units in translate.line_groups(self._order(order_ref)).values() for u in units
                 if u.package_id == package and u.status != "CANCELLED"]
        return bool(units) and all(u.tracking and (tracking is None or u.tracking == tracking) for u in units)

    def _provider(self, warehouse_id: str, carrier: str) -> str:
        providers = api.shipping_providers(self.client, warehouse_id)
        wanted = carrier.strip().casefold()
        for p in providers:
            if str(p.get("name", "")).casefold() == wanted or str(p.get("id")) == carrier.strip():
                return str(p["id"])
        names = ", ".join(str(p.get("name")) for p in providers)
        raise ChannelRefused(f"TikTok account {self.client.account.name}: carrier {carrier!r} is not a shipping "
                             f"provider of warehouse {warehouse_id} (TikTok offers {names})")

    def _line(self, order_ref: str, groups: dict[str, list[translate.Unit]], line_id: str) -> list[translate.Unit]:
        units = groups.get(line_id)
        if units is None:  # a unit's own id names its line too
            units = next((g for g in groups.values() if any(u.id == line_id for u in g)), None)
        if units is None:
            raise ChannelRefused(f"TikTok order {order_ref} has no line {line_id}")
        return units

    def cancel_lines(self, notice: CancelNotice) -> None:
        with _as_channel_errors():
            reason = TIKTOK_CANCEL_REASONS.get(notice.reason)
            if reason is None:
                raise ChannelRefused(f"cancel reason {notice.reason!r} is not one of {', '.join(CANCEL_REASONS)}")
            payload = self._order(notice.order_ref)
            if payload.get("status") == "CANCELLED":
                return
            groups = translate.line_groups(payload)
            chosen: list[str] = []
            for line_id, quantity in notice.lines:
                units = self._line(notice.order_ref, groups, line_id)
                cancelled = [u for u in units if u.status == "CANCELLED"]
                waiting = [u for u in units if u.status != "CANCELLED" and not u.tracking]
                more = quantity - len(cancelled)
                if more > len(waiting):
                    raise ChannelRefused(f"TikTok order {notice.order_ref} line {line_id} has {len(waiting)} "
                                         f"unshipped unit(s) left to cancel, not {more}")
                chosen += [u.id for u in waiting[:max(0, more)]]
            if chosen:
                self._write(lambda attempts: api.cancel_order(self.client, notice.order_ref, reason, chosen,
                                                              attempts=attempts),
                            lambda: self._cancelled(notice.order_ref, chosen))

    def _cancelled(self, order_ref: str, unit_ids: list[str]) -> bool:
        units = {u.id: u for g in translate.line_groups(self._order(order_ref)).values() for u in g}
        return all(units[i].status == "CANCELLED" for i in unit_ids if i in units)

    def refund(self, notice: RefundNotice) -> None:
        with _as_channel_errors():
            reason = TIKTOK_REFUND_REASONS.get(notice.reason)
            if reason is None:
                raise ChannelRefused(f"refund reason {notice.reason!r} is not one of {', '.join(REFUND_REASONS)}")
            payload = self._order(notice.order_ref)
            groups = translate.line_groups(payload)
            in_returns = {str(item.get("order_line_item_id"))
                          for r in api.order_returns(self.client, notice.order_ref)
                          if r.get("return_status") not in RETURN_CLOSED for item in r.get("return_line_items") or []}
            chosen: list[str] = []
            for line_id, quantity in notice.lines:
                shipped = [u for u in self._line(notice.order_ref, groups, line_id)
                           if u.status != "CANCELLED" and u.tracking]
                if quantity > len(shipped):
                    raise ChannelRefused(f"TikTok order {notice.order_ref} line {line_id} has {len(shipped)} shipped "
                                         f"unit(s), not {quantity} to refund")
                # Units in no return first; when too few are left, this is a repeat TikTok answers by its key
                # (or TikTok refuses it, naming the unit already returned).
                shipped.sort(key=lambda u: u.id in in_returns)
                chosen += [u.id for u in shipped[:quantity]]
            api.create_return(self.client, {
                "order_id": notice.order_ref, "return_type": "REFUND", "return_reason": reason,
                "order_line_item_ids": chosen, "refund_total": str(notice.amount), "currency": notice.currency,
            }, idempotency_key=notice.reference)

    def approve_cancellation(self, order_ref: str, cancel_id: str) -> None:
        with _as_channel_errors():
            self._write(lambda attempts: api.approve_cancellation(self.client, cancel_id, attempts=attempts),
                        lambda: self._cancel_status(order_ref, cancel_id) in CANCEL_DONE)

    def reject_cancellation(self, order_ref: str, cancel_id: str, reason: str = DEFAULT_REJECT_REASON,
                            comment: str | None = None) -> None:
        with _as_channel_errors():
            self._write(lambda attempts: api.reject_cancellation(self.client, cancel_id, reason, comment,
                                                                 attempts=attempts),
                        lambda: self._cancel_status(order_ref, cancel_id) == "CANCELLATION_REQUEST_CANCEL")

    def _write(self, send: Callable[[int], None], done: Callable[[], bool]) -> None:
        """Send a write one attempt at a time; after a refusal or a lost answer, TikTok's state decides
        whether it is done (a repeat, or work done behind a lost answer) before it is sent again."""
        for attempt in range(1, self.client.max_attempts + 1):
            try:
                send(1)
                return
            except TikTokRefused:
                if done():
                    return
                raise
            except TikTokUnavailable as exc:
                if done():
                    return
                if attempt == self.client.max_attempts or exc.status == 429:
                    raise

    def _cancel_status(self, order_ref: str, cancel_id: str) -> str | None:
        found = api.cancellation(self.client, order_ref, cancel_id)
        return None if found is None else str(found.get("cancel_status"))


class _as_channel_errors:
    """TikTok's errors as the pipeline's: refused for good, or try again later."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> bool:
        if isinstance(exc, TikTokUnavailable):
            raise ChannelUnavailable(str(exc), retry_after=exc.retry_after) from None
        if isinstance(exc, TikTokAuthError):
            raise ChannelUnavailable(str(exc)) from None
        if isinstance(exc, TikTokRefused):
            raise ChannelRefused(str(exc)) from None
        return False


as_channel_errors = _as_channel_errors  # for callers that read TikTok through api.py directly
