"""The gateway's state: authorizations, behaviour rules, idempotency keys, rate limits, a request log.

Everything is in memory and guarded by one lock, so the ASGI app, the control
API and test code in other threads may use it at once. Methods hand out copies.
All API keys belong to one account (they see the same authorizations);
idempotency keys and rate limits are per API key.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import secrets
import string
import threading
import time
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from orderhub.simulators.payments.defaults import DEFAULT_API_KEY, DEFAULT_RATE
from orderhub.simulators.payments.errors import ApiError, invalid, missing, unexpected_state
from orderhub.simulators.payments.idempotency import IdempotencyStore
from orderhub.simulators.payments.money import fmt
from orderhub.simulators.payments.params import AuthorizeParams
from orderhub.simulators.payments.ratelimit import TokenBuckets
from orderhub.simulators.payments.rules import Rule, magic_decline

_ALPHABET = string.ascii_letters + string.digits
DECLINE_MESSAGES = {
    "insufficient_funds": "Your card has insufficient funds.",
    "expired_card": "Your card has expired.",
    "incorrect_cvc": "Your card's security code is incorrect.",
    "lost_card": "Your card was declined.",
    "stolen_card": "Your card was declined.",
}


def new_id(prefix: str, length: int = 24) -> str:
    """A random id such as ``auth_1a2B3c...`` (base62, like Stripe's)."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def key_digest(api_key: str) -> str:
    """What the gateway keeps instead of an API key (for scoping idempotency keys and rate limits)."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:32]


class Gateway:
    """A card gateway's memory; keyword settings are those of ``POST /_sim/config``."""

    def __init__(self, api_keys: str | Iterable[str] = DEFAULT_API_KEY, *, magic_amounts: bool = True,
                 rate_limit: float = DEFAULT_RATE, burst: float | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        keys = [api_keys] if isinstance(api_keys, str) else list(api_keys)
        if not keys or not all(keys):
            raise ValueError("the gateway needs at least one non-empty API key")
        self._digests = [key_digest(k) for k in keys]
        self.magic_amounts = magic_amounts
        self.limits = TokenBuckets(rate_limit, burst)
        self.idempotency = IdempotencyStore()
        self._clock = clock
        self._lock = threading.Lock()
        self._authorizations: dict[str, dict[str, Any]] = {}
        self._rules: list[Rule] = []
        self._requests: list[dict[str, Any]] = []

    # -- access -------------------------------------------------------------------------------------

    def authenticate(self, authorization_header: str | None) -> str:
        """The API key's digest, or a 401 when the ``Authorization: Bearer`` key is missing or wrong."""
        scheme, _, key = (authorization_header or "").partition(" ")
        digest = key_digest(key.strip()) if scheme.lower() == "bearer" and key.strip() else ""
        if not any(hmac.compare_digest(digest, known) for known in self._digests):
            message = ("You did not provide an API key. Send it as 'Authorization: Bearer <api key>'."
                       if not digest else "Invalid API key provided.")
            raise ApiError(401, "authentication_error", message, code="invalid_api_key")
        return digest

    def admit(self, digest: str) -> None:
        """Take one request from the API key's bucket, or raise a 429 with ``Retry-After``."""
        wait = self.limits.take(digest)
        if wait is not None:
            raise ApiError(429, "rate_limit_error", f"Too many requests hit the API too quickly. Retry after "
                           f"{wait} second(s) with exponential backoff.", code="rate_limit",
                           headers={"Retry-After": str(wait)})

    # -- rules --------------------------------------------------------------------------------------

    def add_rule(self, rule: Rule) -> int:
        """Append a rule; returns how many rules there now are."""
        with self._lock:
            self._rules.append(rule)
            return len(self._rules)

    def clear_rules(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.describe() for rule in self._rules]

    def decide(self, operation: str, reference: str, amount: Decimal) -> Rule | None:
        """The first rule that matches and has uses left, with one use taken; None when none does."""
        with self._lock:
            for rule in self._rules:
                if not rule.exhausted and rule.matches(operation, reference, amount):
                    rule.used += 1
                    return copy.copy(rule)
        return None

    def built_in_decline(self, amount: Decimal) -> str | None:
        """The decline code of the built-in test amounts, when ``magic_amounts`` is on."""
        return magic_decline(amount) if self.magic_amounts else None

    # -- authorizations -----------------------------------------------------------------------------

    def authorize(self, params: AuthorizeParams, decline_code: str | None = None) -> dict[str, Any]:
        """Store a new authorization: ``authorized``, or ``declined`` with ``decline_code``."""
        record = {"id": new_id("auth_"), "object": "authorization",
                  "status": "declined" if decline_code else "authorized",
                  "amount": fmt(params.amount, params.currency), "amount_captured": fmt(Decimal(0), params.currency),
                  "currency": params.currency, "reference": params.reference, "metadata": dict(params.metadata),
                  "decline_code": decline_code, "created": int(self._clock()), "livemode": False}
        with self._lock:
            self._authorizations[record["id"]] = record
            return copy.deepcopy(record)

    def _live(self, authorization_id: str) -> dict[str, Any]:
        try:
            return self._authorizations[authorization_id]
        except KeyError:
            raise missing("authorization", authorization_id) from None

    def get(self, authorization_id: str) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._live(authorization_id))

    def void(self, authorization_id: str) -> dict[str, Any]:
        """Release the hold; voiding a voided authorization changes nothing (and is not an error)."""
        with self._lock:
            record = self._live(authorization_id)
            if record["status"] not in ("authorized", "voided"):
                raise unexpected_state(record, "voided")
            record["status"] = "voided"
            return copy.deepcopy(record)

    def capture(self, authorization_id: str, amount: Decimal | None = None) -> dict[str, Any]:
        """Take the money: all of it, or ``amount`` (no more than was authorized)."""
        with self._lock:
            record = self._live(authorization_id)
            if record["status"] != "authorized":
                raise unexpected_state(record, "captured")
            authorized = Decimal(record["amount"])
            if amount is not None and amount > authorized:
                raise invalid("amount", f"Invalid amount: {amount} is more than the {record['amount']} "
                                        f"{record['currency']} authorized.", code="amount_too_large")
            record["status"] = "captured"
            record["amount_captured"] = fmt(authorized if amount is None else amount, record["currency"])
            return copy.deepcopy(record)

    def find(self, reference: str | None = None, limit: int = 10,
              starting_after: str | None = None) -> tuple[list[dict[str, Any]], bool]:
        """Newest first, optionally only one reference's; returns (page, has_more)."""
        with self._lock:
            found = [r for r in reversed(self._authorizations.values())
                     if reference is None or r["reference"] == reference]
            if starting_after is not None:
                ids = [r["id"] for r in found]
                if starting_after not in ids:
                    raise invalid("starting_after", f"No such authorization in this list: '{starting_after}'")
                found = found[ids.index(starting_after) + 1:]
            return copy.deepcopy(found[:limit]), len(found) > limit

    def authorizations(self) -> list[dict[str, Any]]:
        """Every stored authorization, oldest first (for assertions)."""
        with self._lock:
            return copy.deepcopy(list(self._authorizations.values()))

    # -- request log and settings -------------------------------------------------------------------

    def log_request(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._requests.append(dict(entry, seq=len(self._requests) + 1))

    def requests(self) -> list[dict[str, Any]]:
        """Every ``/v1`` request answered so far: method, path, status, idempotency key, replayed, request id."""
        with self._lock:
            return copy.deepcopy(self._requests)

    def reset(self) -> None:
        """Forget authorizations, rules, idempotency keys, the request log and used rate (settings stay)."""
        with self._lock:
            self._authorizations.clear()
            self._rules.clear()
            self._requests.clear()
        self.idempotency.clear()
        self.limits.clear()

    def configure(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply ``{"magic_amounts", "rate_limit", "burst"}``; returns the settings as they now are."""
        unknown = sorted(set(changes) - {"magic_amounts", "rate_limit", "burst"})
        if unknown:
            raise invalid(unknown[0], f"unknown setting {unknown[0]!r}; expected magic_amounts, rate_limit, burst")
        if "magic_amounts" in changes:
            if not isinstance(changes["magic_amounts"], bool):
                raise invalid("magic_amounts", "magic_amounts must be true or false")
            self.magic_amounts = changes["magic_amounts"]
        if "rate_limit" in changes or "burst" in changes:
            rate, burst = changes.get("rate_limit", self.limits.rate), changes.get("burst")
            try:
                self.limits.configure(float(rate), None if burst is None else float(burst))
            except (TypeError, ValueError) as exc:
                raise invalid("rate_limit", str(exc)) from None
        return self.settings()

    def settings(self) -> dict[str, Any]:
        return {"magic_amounts": self.magic_amounts, "rate_limit": self.limits.rate, "burst": self.limits.burst}
