"""The worker's loops for what goes out to the channels: the latest stock of every listing, and the operations
owed on their orders (shipments, cancellations). Both run in every `orderhub worker` and `orderhub serve`.

Both work each account in a thread of its own (:class:`AccountThreads`): a channel's bulk feed takes minutes to
be processed (Amazon's, Walmart's), and the other accounts must not wait for it.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence

import structlog
from sqlalchemy import Connection

from orderhub.adapters import channels
from orderhub.adapters.store import accounts, channel_operations, channel_stock
from orderhub.bootstrap import Hub
from orderhub.domain.channels import ChannelUnavailable, StockChannel, StockUpdate
from orderhub.services.channel_ops import send_once
from orderhub.services.stock_push import push_once

log = structlog.get_logger(__name__)

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


class AccountThreads:
    """A worker loop's step that works each account with something due in a thread of its own (at most one at a
    time per account in this process; other processes are kept off the same rows by the claims' leases), so
    an account waiting for its channel holds up no other account. Subclasses say what is due and the work."""

    name = "account"

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._running: set[int] = set()
        self._finished: queue.Queue[tuple[int, bool]] = queue.Queue()
        self._failures: dict[int, int] = {}
        self._resting: dict[int, float] = {}  # account id -> time.monotonic() its next round may start

    def due(self, conn: Connection) -> list[int]:
        raise NotImplementedError

    def work(self, account_id: int) -> None:
        raise NotImplementedError

    def _run(self, account_id: int) -> None:
        ok = False
        try:
            self.work(account_id)
            ok = True
        except Exception as exc:  # a database blip: this account rests a moment, the others go on
            log.error(f"{self.name}_failed", account_id=account_id, error=f"{type(exc).__name__}: {exc}")
        finally:
            self._finished.put((account_id, ok))

    def _reap(self, block: bool) -> int:
        reaped = 0
        while True:
            try:
                account_id, ok = self._finished.get(block=block and not reaped, timeout=IDLE_SECONDS)
            except queue.Empty:
                return reaped
            self._running.discard(account_id)
            reaped += 1
            if not ok:
                failures = self._failures[account_id] = self._failures.get(account_id, 0) + 1
                self._resting[account_id] = time.monotonic() + min(30.0, 0.5 * 2 ** min(failures, 6))
            else:
                self._failures.pop(account_id, None)
                self._resting.pop(account_id, None)

    def step(self) -> tuple[int, float]:
        """Start a round for every account with something due and none in flight. Returns (rounds started or
        finished, how long to wait before the next step)."""
        done = self._reap(block=False)
        with self.hub.db.read() as conn:
            due = self.due(conn)
        now = time.monotonic()
        for account_id in due:
            if account_id in self._running or self._resting.get(account_id, 0.0) > now:
                continue
            self._running.add(account_id)
            threading.Thread(target=self._run, args=(account_id,), name=f"{self.name}-{account_id}",
                             daemon=True).start()
            done += 1
        if not done and self._running:
            done = self._reap(block=True)  # wake when a round ends, to start that account's next one
        return done, 0.0 if done else IDLE_SECONDS


class StockPusher(AccountThreads):
    """The stock-pusher loop: each account's latest values, pushed in a thread of its own (a channel's bulk
    feed takes minutes to be processed, and the other accounts' stock must not wait for it)."""

    name = "stock_push"

    def __init__(self, hub: Hub, channel_for: Callable[[accounts.Account], StockChannel] | None = None) -> None:
        super().__init__(hub)
        self.channel_for = channel_for or stock_channel_for(hub)

    def due(self, conn: Connection) -> list[int]:
        return channel_stock.due_accounts(conn)

    def work(self, account_id: int) -> None:
        push_once(self.hub.db, self.channel_for, account_ids=[account_id],
                  backoff_base=self.hub.settings.backoff_base_seconds,
                  backoff_max=self.hub.settings.backoff_max_seconds)


class OperationsSender(AccountThreads):
    """The channel-operations loop: each account's shipments, cancellations and refunds sent in a thread of
    its own (an Amazon order feed waits minutes for Amazon; TikTok's cancellations must not wait for it)."""

    name = "channel_operations"

    def due(self, conn: Connection) -> list[int]:
        return channel_operations.due_accounts(conn)

    def work(self, account_id: int) -> None:
        send_once(self.hub, account_ids=[account_id])


def worker_steps(hub: Hub) -> list[tuple[str, Step]]:
    return [("stock-pusher", StockPusher(hub).step), ("channel-operations", OperationsSender(hub).step)]
