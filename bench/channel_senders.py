"""The two designs' senders for bench/channels.py, each run in a process of its own.

* :func:`orderhub_pusher`: orderhub's stock pusher, as ``orderhub worker`` runs it (the worker's loop
  around the ``stock-pusher`` step); the ``orderhub-singles`` variant gives the same pusher adapters whose
  feed thresholds are out of reach.
* :func:`naive_sender`: each sale's new value to every channel at once, one single-SKU call at a time per
  channel, through the same adapters; only a channel's 429 makes it wait.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from pathlib import Path
from typing import Any

from orderhub.adapters.store import accounts
from orderhub.bootstrap import build
from orderhub.config import Settings


def hub_settings(url: str, work: Path) -> Settings:
    return Settings(database_url=url, secret_key_file=str(work / "bench.keys"))


def _quiet(log_path: str) -> None:
    """Send a child's output (the hub's structured log) to a file."""
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)


def singles_only(channel_for: Any) -> Any:
    """The ``orderhub-singles`` variant: the same adapters with their feed thresholds out of reach, so every
    round goes by single calls (still coalesced, still within each channel's limits)."""
    from orderhub.adapters.amazon.stock import AmazonStock
    from orderhub.adapters.walmart.inventory import WalmartStock

    def wrapped(account: Any) -> Any:
        channel = channel_for(account)
        if isinstance(channel, AmazonStock):
            channel.feed_threshold = 10**9
        if isinstance(channel, WalmartStock):
            channel.bulk_threshold = 10**9
        return channel

    return wrapped


def orderhub_pusher(url: str, work: str, design: str, stop: Any, ready: Any) -> None:
    """The stock pusher as ``orderhub worker`` runs it: the worker's loop around its stock-pusher step."""
    _quiet(os.path.join(work, f"{design}-pusher.log"))
    from orderhub.entrypoints.worker import _loop
    from orderhub.services import channel_loops

    hub = build(hub_settings(url, Path(work)))
    if design == "orderhub":
        step = dict(channel_loops.worker_steps(hub))["stock-pusher"]
    else:
        step = channel_loops.StockPusher(hub, singles_only(channel_loops.stock_channel_for(hub))).step
    halt = threading.Event()
    thread = threading.Thread(target=_loop, args=("stock-pusher", step, halt), daemon=True)
    thread.start()
    ready.set()
    stop.wait()
    halt.set()
    thread.join(timeout=5)  # a feed being waited for is abandoned: the run is over
    os._exit(0)


# -- the naive design -------------------------------------------------------------------------------------

class PauseOnlyLimiter:
    """The adapters' limiter interface without buckets: every call goes at once; only a channel's 429 makes
    the next one wait (the time it gives, or the one the client works out)."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def take(self, name: str, want: int, *, rate: float, burst: float) -> tuple[int, float]:
        with self._lock:
            left = self._until.get(name, 0.0) - time.monotonic()
        return (0, left) if left > 0 else (want, 0.0)

    def pause(self, name: str, seconds: float, *, burst: float) -> None:
        with self._lock:
            self._until[name] = max(self._until.get(name, 0.0), time.monotonic() + seconds)

    def give_back(self, name: str, count: int, *, burst: float) -> None:
        pass


def _naive_channel(account: Any, limiter: PauseOnlyLimiter) -> Any:
    if account.kind == "amazon":
        from orderhub.adapters.amazon.client import SpApiClient
        from orderhub.adapters.amazon.stock import AmazonStock

        return AmazonStock(SpApiClient(account, limiter))  # type: ignore[arg-type]
    if account.kind == "walmart":
        from orderhub.adapters.walmart.client import for_account
        from orderhub.adapters.walmart.inventory import WalmartStock

        return WalmartStock(for_account(account, limiter))  # type: ignore[arg-type]
    from orderhub.adapters.tiktok.client import TikTokClient
    from orderhub.adapters.tiktok.stock import TikTokStock

    return TikTokStock(TikTokClient(account, limiter=limiter))  # type: ignore[arg-type]


def naive_sender(url: str, work: str, account_ids: dict[str, int], refs: dict[str, str], sales: Any, stop: Any,
                 ready: Any, out: Any) -> None:
    """One thread per channel; each sale's new value goes to every channel, one single-SKU call at a time."""
    _quiet(os.path.join(work, "naive-sender.log"))
    from orderhub.domain.channels import ChannelUnavailable, StockUpdate

    hub = build(hub_settings(url, Path(work)))
    with hub.db.read() as conn:
        found = {kind: accounts.by_id(conn, account_id) for kind, account_id in account_ids.items()}
    hub.close()
    halt = threading.Event()
    queues: dict[str, queue.Queue[tuple[str, int] | None]] = {kind: queue.Queue() for kind in found}
    refused: dict[str, int] = dict.fromkeys(found, 0)

    def send(kind: str) -> None:
        stock = _naive_channel(found[kind], PauseOnlyLimiter())
        while not halt.is_set():
            item = queues[kind].get()
            if item is None:
                return
            sku, quantity = item
            update_ = StockUpdate(sku, "", quantity, refs.get(sku) if kind == "tiktok" else None)
            while not halt.is_set():
                try:
                    refused[kind] += len(stock.push_stock([update_]))
                    break
                except ChannelUnavailable as exc:
                    halt.wait(exc.retry_after if exc.retry_after is not None else 1.0)

    threads = [threading.Thread(target=send, args=(kind,), daemon=True) for kind in found]
    for t in threads:
        t.start()
    ready.set()
    while True:
        try:
            item = sales.get(timeout=0.5)
        except queue.Empty:
            if stop.is_set():
                break
            continue
        for q in queues.values():
            q.put(item)
    halt.set()
    for q in queues.values():
        q.put(None)
    out.put({"refused": refused})
    out.close()
    out.join_thread()  # the answer is through before the process ends under its threads
    os._exit(0)
