"""The worker's loops for what goes out to the channels: the latest stock of every listing, and the operations
owed on their orders (shipments, cancellations). Both run in every `orderhub worker` and `orderhub serve`."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from orderhub.adapters import channels
from orderhub.adapters.store import accounts
from orderhub.bootstrap import Hub
from orderhub.domain.channels import ChannelUnavailable, StockChannel, StockUpdate
from orderhub.services.channel_ops import send_once
from orderhub.services.stock_push import push_once

Step = Callable[[], tuple[int, float]]
IDLE_SECONDS = 1.0  # how long a loop with nothing to send waits before it looks again
RETRY_UNAVAILABLE_SECONDS = 300.0  # an account whose stock cannot be sent is looked at again after this


class _Unavailable:
    """An account whose stock cannot be sent now (its kind takes none, or its channel cannot be built)."""

    def __init__(self, why: str) -> None:
        self.why = why

    def push_stock(self, updates: Sequence[StockUpdate]) -> dict[tuple[str, str], str]:
        raise ChannelUnavailable(self.why, retry_after=RETRY_UNAVAILABLE_SECONDS)


def stock_channel_for(hub: Hub) -> Callable[[accounts.Account], StockChannel]:
    """Each account's stock channel, by its kind (adapters/channels.py)."""

    def channel_for(account: accounts.Account) -> StockChannel:
        factory = channels.stock_channel(account.kind)
        if factory is None:
            return _Unavailable(f"orderhub sends {account.kind} accounts no stock")
        try:
            return factory(account, hub)
        except (ValueError, KeyError) as exc:  # a setting or secret missing, an endpoint not allowed
            return _Unavailable(f"{account.kind} account {account.name}: {exc}")

    return channel_for


def worker_steps(hub: Hub) -> list[tuple[str, Step]]:
    channel_for = stock_channel_for(hub)

    def push_stock() -> tuple[int, float]:
        report = push_once(hub.db, channel_for, backoff_base=hub.settings.backoff_base_seconds,
                           backoff_max=hub.settings.backoff_max_seconds)
        done = report.sent + report.refused + report.superseded + len(report.unavailable)
        return done, 0.0 if done else IDLE_SECONDS

    def send_operations() -> tuple[int, float]:
        report = send_once(hub)
        done = report.done + report.later + len(report.refused)
        return done, 0.0 if done else IDLE_SECONDS

    return [("stock-pusher", push_stock), ("channel-operations", send_operations)]
