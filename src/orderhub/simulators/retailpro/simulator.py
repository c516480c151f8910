"""One simulated Retail Pro server: its sessions, its data, its faults and the log of requests it answered."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from orderhub.simulators.retailpro.auth import Sessions
from orderhub.simulators.retailpro.defaults import (
    DEFAULT_PASSWORD,
    DEFAULT_SESSION_IDLE_SECONDS,
    DEFAULT_USER,
    DEFAULT_WORKSTATION,
)
from orderhub.simulators.retailpro.faults import Faults
from orderhub.simulators.retailpro.store import Store


class Simulator:
    """Everything the app and the control API share; ``reset`` empties it but keeps users and workstations."""

    def __init__(self, users: dict[str, str] | None = None, workstations: Iterable[str] = (DEFAULT_WORKSTATION,),
                 *, session_idle_seconds: float = DEFAULT_SESSION_IDLE_SECONDS, allow_negative: bool = True,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.sessions = Sessions(users or {DEFAULT_USER: DEFAULT_PASSWORD}, workstations,
                                 idle_seconds=session_idle_seconds, clock=clock)
        self.store = Store(allow_negative=allow_negative)
        self.faults = Faults()
        self._lock = threading.Lock()
        self._requests: list[dict[str, Any]] = []

    def log_request(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._requests.append(dict(entry, seq=len(self._requests) + 1))

    def requests(self) -> list[dict[str, Any]]:
        """Every service request answered so far (method, path, query without the password, status, error codes,
        injected fault), oldest first."""
        with self._lock:
            return copy.deepcopy(self._requests)

    def settings(self) -> dict[str, Any]:
        latency = self.faults.latency
        return {"session_idle_seconds": self.sessions.idle_seconds,
                "allow_negative_inventory": self.store.allow_negative,
                "latency": {"fixed": latency.fixed, "jitter": latency.jitter, "path": latency.path},
                "users": self.sessions.users(), "workstations": self.sessions.workstations()}

    def reset(self) -> None:
        """Forget stores, stock, documents, sessions, faults and the request log."""
        self.store.reset()
        self.faults.reset()
        self.sessions.reset()
        with self._lock:
            self._requests.clear()
