"""Idempotency keys as Stripe documents them: the first result for a key is saved and replayed.

A key is scoped to one API key and one endpoint (method and path). While a
request with the key runs, another with the same key gets 409; once it has a
saved result, a retry with the same parameters gets that status and body again
(the endpoint marks it ``Idempotent-Replayed: true``), and one with different
parameters gets 400. A request that fails before it starts executing (bad
parameters, an injected error) saves nothing, so its key can be used again.
Saved results are forgotten after ``ttl`` seconds (24 hours, as on Stripe).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from orderhub.simulators.payments.errors import ApiError

MAX_KEY_LENGTH = 255
DEFAULT_TTL = 24 * 3600.0
Scope = tuple[str, str, str, str]  # (API key digest, method, path, idempotency key)


@dataclass
class Saved:
    """A key's state: its parameters' fingerprint and, once finished, the answer to replay."""

    fingerprint: str
    at: float
    status: int | None = None
    body: dict[str, Any] | None = None
    request_id: str | None = None

    @property
    def finished(self) -> bool:
        return self.status is not None


class IdempotencyStore:
    def __init__(self, ttl: float = DEFAULT_TTL, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[Scope, Saved] = {}

    def claim(self, scope: Scope, fingerprint: str) -> Saved:
        """The key's entry: a finished one is the answer to replay; an unfinished one is new and now the
        caller's, who must :meth:`save` or :meth:`release` it.

        Raises a 400 when the key was used with other parameters, and a 409 while
        another request with it is still running.
        """
        key = scope[3]
        if not key or len(key) > MAX_KEY_LENGTH:
            raise ApiError(400, "idempotency_error", f"Idempotency-Key must have 1 to {MAX_KEY_LENGTH} characters.",
                           code="idempotency_key_invalid")
        with self._lock:
            self._prune()
            entry = self._entries.get(scope)
            if entry is None:
                entry = self._entries[scope] = Saved(fingerprint, self._clock())
                return entry
            if entry.fingerprint != fingerprint:
                raise ApiError(400, "idempotency_error",
                               "Keys for idempotent requests can only be used with the same parameters they were "
                               f"first used with. Try using a key other than '{key}' if you meant to execute a "
                               "different request.", code="idempotency_key_in_use")
            if not entry.finished:
                raise ApiError(409, "idempotency_error",
                               f"There is currently another in-progress request using the Idempotency-Key '{key}'. "
                               "Retry this request later.", code="idempotency_key_in_progress")
            return entry

    def save(self, scope: Scope, claimed: Saved, status: int, body: dict[str, Any], request_id: str) -> None:
        """Keep the answer for replay (unless the store was cleared since the claim)."""
        with self._lock:
            if self._entries.get(scope) is claimed:
                claimed.status, claimed.body, claimed.request_id, claimed.at = status, body, request_id, self._clock()

    def release(self, scope: Scope, claimed: Saved) -> None:
        """Give up a claim: the request saved nothing and its key may be used again."""
        with self._lock:
            if self._entries.get(scope) is claimed and not claimed.finished:
                del self._entries[scope]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def _prune(self) -> None:
        oldest = self._clock() - self.ttl
        for scope in [s for s, e in self._entries.items() if e.finished and e.at < oldest]:
            del self._entries[scope]
