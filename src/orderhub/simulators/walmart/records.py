"""What sellers did through the API, kept for tests to check: one entry per applied operation.

Kinds: ``acknowledgement``, ``shipment``, ``cancellation``, ``refund``, ``inventory`` (each with
the seller's client id, the simulated time in epoch ms and the details), plus
``channel_event`` for lifecycle changes made through the control API.
"""

from __future__ import annotations

import copy
import threading
from typing import Any


class Operations:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[dict[str, Any]] = []

    def record(self, kind: str, seller: str, at: int, **details: Any) -> None:
        with self._lock:
            self._entries.append({"seq": len(self._entries) + 1, "kind": kind, "seller": seller, "at": at,
                                  **copy.deepcopy(details)})

    def list(self, kind: str | None = None, seller: str | None = None,
             purchase_order_id: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [copy.deepcopy(e) for e in self._entries
                    if (kind is None or e["kind"] == kind) and (seller is None or e["seller"] == seller)
                    and (purchase_order_id is None or e.get("purchaseOrderId") == purchase_order_id)]

    def reset(self) -> None:
        with self._lock:
            self._entries.clear()
