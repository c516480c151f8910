"""orderhub's client for a card payment gateway (the simulator in :mod:`orderhub.simulators.payments`).

A call ends in one of three ways, and the placement workflow treats them differently:

- a definite yes: an :class:`Authorization`;
- a definite no: :class:`PaymentDeclined` (the card was refused) or :class:`PaymentRejected`
  (the gateway refused the request itself); trying again would give the same answer, so it is never retried;
- no answer: :class:`PaymentUnavailable`: the gateway could not be reached or kept failing
  for ``max_attempts`` attempts. The same call with the same idempotency key may be made
  again later; the gateway will not authorise twice.

Inside one call the client retries timeouts, connection errors, 5xx, 409 (an earlier attempt
with the same key is still running) and 429 (after ``Retry-After``, up to ``max_retry_after``
seconds), with exponential backoff and jitter. Every attempt of a call sends the same
``Idempotency-Key``, which is what makes retrying a payment safe. The API key is sent only
as a header: it never appears in errors, logs or ``repr``.

Synchronous on purpose: workflow steps run in worker threads and processes.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

import httpx
import structlog

from orderhub.domain import money

log = structlog.get_logger(__name__)

RETRYABLE_STATUSES = frozenset({408, 500, 502, 503, 504})


@dataclass(frozen=True)
class Authorization:
    """A hold on the customer's card, as the gateway last reported it."""

    id: str
    status: str  # authorized | declined | voided | captured
    amount: Decimal
    currency: str
    reference: str
    amount_captured: Decimal = Decimal(0)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Authorization:
        return cls(id=str(body["id"]), status=str(body["status"]), amount=Decimal(str(body["amount"])),
                   currency=str(body["currency"]), reference=str(body["reference"]),
                   amount_captured=Decimal(str(body.get("amount_captured") or 0)))


# -- errors -----------------------------------------------------------------------------------------

def _about(reference: str | None, authorization_id: str | None) -> str:
    if authorization_id and reference:
        return f"authorization {authorization_id} (reference {reference!r})"
    if authorization_id:
        return f"authorization {authorization_id}"
    return f"reference {reference!r}" if reference else "the gateway request"


class PaymentError(Exception):
    """Anything that went wrong with a gateway call; says which reference or authorization it was about."""

    def __init__(self, message: str, *, reference: str | None = None, authorization_id: str | None = None,
                 request_id: str | None = None) -> None:
        if request_id:
            message = f"{message} (gateway request {request_id})"
        super().__init__(message)
        self.reference = reference
        self.authorization_id = authorization_id
        self.request_id = request_id


class PaymentDeclined(PaymentError):
    """The card was refused: a definite no, never retried. ``authorization_id`` is the declined authorization."""

    def __init__(self, code: str, decline_code: str | None, message: str, *, reference: str | None = None,
                 authorization_id: str | None = None, request_id: str | None = None) -> None:
        self.code = code
        self.decline_code = decline_code
        self.message = message
        super().__init__(f"{_about(reference, authorization_id)} was declined ({decline_code or code}): {message} "
                         "Retrying will not help; the customer needs another payment method.",
                         reference=reference, authorization_id=authorization_id, request_id=request_id)


class PaymentRejected(PaymentError):
    """The gateway refused the request itself (400, 404, ...): a definite no, never retried."""

    def __init__(self, code: str, message: str, *, status: int = 400, param: str | None = None,
                 reference: str | None = None, authorization_id: str | None = None,
                 request_id: str | None = None) -> None:
        self.code = code
        self.message = message
        self.status = status
        self.param = param
        detail = f"{status} {code}" + (f", parameter {param!r}" if param else "")
        super().__init__(f"the gateway rejected the request for {_about(reference, authorization_id)} ({detail}): "
                         f"{message}", reference=reference, authorization_id=authorization_id, request_id=request_id)


class PaymentUnavailable(PaymentError):
    """No definite answer: retry later with the same idempotency key. ``retry_after`` is the gateway's hint."""

    def __init__(self, message: str, *, reference: str | None = None, authorization_id: str | None = None,
                 attempts: int = 0, retry_after: float | None = None, request_id: str | None = None) -> None:
        self.attempts = attempts
        self.retry_after = retry_after
        super().__init__(message, reference=reference, authorization_id=authorization_id, request_id=request_id)


class PaymentAuthenticationFailed(PaymentUnavailable):
    """The gateway refused orderhub's API key (401). Not retried here; unusable until a person fixes the key."""


# -- the client -------------------------------------------------------------------------------------

@dataclass
class _Call:
    """One logical call: what it is about, for errors and logs."""

    method: str
    path: str
    json: dict[str, Any] | None = None
    idempotency_key: str | None = None
    reference: str | None = None
    authorization_id: str | None = None

    @property
    def about(self) -> str:
        return _about(self.reference, self.authorization_id)


class _Retry(Exception):
    """An attempt without a definite answer; ``wait`` is the least time to wait before the next one."""

    def __init__(self, problem: str, wait: float = 0.0, request_id: str | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.wait = wait
        self.request_id = request_id


def _retry_after(value: str | None) -> float | None:
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: rare for APIs; fall back to backoff
    return seconds if seconds is not None and seconds >= 0 else None


def _amount_text(amount: Decimal, currency: str | None = None) -> str:
    """Exact decimal text: in ``currency``'s decimals when it is known (``23.80``, never the ``23.8000``
    a NUMERIC column gives back), else as it is."""
    if isinstance(amount, bool) or not isinstance(amount, (Decimal, int)):
        raise TypeError(f"amount must be a Decimal (never a float), not {type(amount).__name__}")
    return money.show(amount, currency) if currency else format(Decimal(amount), "f")


class PaymentGateway:
    """A synchronous client of the gateway's ``/v1/authorizations`` API at ``base_url``."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 5.0, max_attempts: int = 3,
                 backoff: float = 0.25, max_backoff: float = 5.0, max_retry_after: float = 10.0,
                 client: httpx.Client | None = None, sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {max_attempts}")
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self._own_client = client is None
        self._client = client or httpx.Client(timeout=timeout)
        self._sleep = sleep
        self._rng = rng or random.Random()

    def __repr__(self) -> str:
        return f"PaymentGateway(base_url={self.base_url!r}, timeout={self.timeout}, max_attempts={self.max_attempts})"

    def close(self) -> None:
        if self._own_client:
            self._client.close()

    def __enter__(self) -> PaymentGateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- operations ---------------------------------------------------------------------------------

    def authorize(self, reference: str, amount: Decimal, currency: str, idempotency_key: str, *,
                  metadata: dict[str, str] | None = None) -> Authorization:
        """Hold ``amount`` on the customer's card for ``reference`` (an order id or name)."""
        body: dict[str, Any] = {"amount": _amount_text(amount, currency), "currency": currency,
                                "reference": reference}
        if metadata:
            body["metadata"] = metadata
        return self._authorization(_Call("POST", "/v1/authorizations", body, _key(idempotency_key),
                                         reference=reference))

    def void(self, authorization_id: str, idempotency_key: str) -> Authorization:
        """Release the hold (the compensation of :meth:`authorize`); voiding twice is fine."""
        return self._authorization(_Call("POST", f"/v1/authorizations/{quote(authorization_id, safe='')}/void", {},
                                         _key(idempotency_key), authorization_id=authorization_id))

    def capture(self, authorization_id: str, idempotency_key: str, amount: Decimal | None = None) -> Authorization:
        """Take the held money: all of it, or ``amount`` (no more than was authorized)."""
        body = {} if amount is None else {"amount": _amount_text(amount)}
        return self._authorization(_Call("POST", f"/v1/authorizations/{quote(authorization_id, safe='')}/capture",
                                         body, _key(idempotency_key), authorization_id=authorization_id))

    def get(self, authorization_id: str) -> Authorization:
        return self._authorization(_Call("GET", f"/v1/authorizations/{quote(authorization_id, safe='')}",
                                         authorization_id=authorization_id))

    def find(self, reference: str) -> list[Authorization]:
        """The authorizations made for ``reference``, newest first (up to 100): to reconcile after a crash."""
        call = _Call("GET", f"/v1/authorizations?{httpx.QueryParams(reference=reference, limit=100)}",
                     reference=reference)
        return [Authorization.from_json(item) for item in self._request(call)["data"]]

    # -- attempts -----------------------------------------------------------------------------------

    def _authorization(self, call: _Call) -> Authorization:
        body = self._request(call)
        try:
            return Authorization.from_json(body)
        except (KeyError, TypeError, InvalidOperation) as exc:
            raise PaymentError(f"the gateway's answer about {call.about} is not an authorization "
                               f"(missing or bad {exc}); check the gateway URL {self.base_url}",
                               reference=call.reference, authorization_id=call.authorization_id) from None

    def _request(self, call: _Call) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self._api_key}"}
        if call.idempotency_key is not None:
            headers["Idempotency-Key"] = call.idempotency_key
        last: _Retry | None = None
        for attempt in range(1, self.max_attempts + 1):
            try:
                return self._attempt(call, headers)
            except _Retry as retry:
                last = retry
            log.warning("payment gateway attempt failed", about=call.about, attempt=attempt,
                        max_attempts=self.max_attempts, problem=last.problem, request_id=last.request_id)
            if attempt < self.max_attempts:
                self._sleep(max(self._backoff(attempt), last.wait))
        assert last is not None
        again = (f"retry later with the same idempotency key ({call.idempotency_key}); the gateway will not "
                 "charge twice" if call.idempotency_key else "retry later")
        raise PaymentUnavailable(f"the payment gateway gave no definite answer about {call.about} after "
                                 f"{self.max_attempts} attempt(s); last: {last.problem}. Nothing was lost: {again}.",
                                 reference=call.reference, authorization_id=call.authorization_id,
                                 attempts=self.max_attempts, retry_after=last.wait or None,
                                 request_id=last.request_id)

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with equal jitter: half the delay fixed, half random."""
        delay = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        return delay / 2 + self._rng.uniform(0, delay / 2)

    def _attempt(self, call: _Call, headers: dict[str, str]) -> dict[str, Any]:
        try:
            response = self._client.request(call.method, self.base_url + call.path, json=call.json,
                                            headers=headers, timeout=self.timeout)
        except httpx.TimeoutException:
            raise _Retry(f"no answer within {self.timeout:g} s") from None
        except httpx.TransportError as exc:
            raise _Retry(self._scrub(f"could not reach {self.base_url} ({type(exc).__name__}: {exc})")) from None
        return self._answer(call, response)

    def _answer(self, call: _Call, response: httpx.Response) -> dict[str, Any]:
        """The body of a success; raises the definite errors, or :class:`_Retry` for the rest."""
        status, rid = response.status_code, response.headers.get("request-id")
        try:
            body = response.json()
        except ValueError:
            body = None
        body = body if isinstance(body, dict) else {}
        error = body.get("error") if isinstance(body.get("error"), dict) else {}
        message = self._scrub(str(error.get("message") or response.reason_phrase or f"HTTP {status}"))
        code = str(error.get("code") or error.get("type") or f"http_{status}")
        where = {"reference": call.reference, "authorization_id": call.authorization_id, "request_id": rid}
        if 200 <= status < 300:
            if not body:
                raise _Retry(f"an unreadable {status} answer", request_id=rid)
            return body
        if status == 402:
            declined = error.get("authorization") if isinstance(error.get("authorization"), dict) else {}
            raise PaymentDeclined(code, error.get("decline_code"), message, reference=call.reference,
                                  authorization_id=declined.get("id") or call.authorization_id, request_id=rid)
        if status == 401:
            raise PaymentAuthenticationFailed(
                f"the payment gateway refused orderhub's API key while handling {call.about} ({code}: {message}); "
                "set the right key (ORDERHUB_PAYMENT_GATEWAY_KEY) and retry", **where)
        if status == 429:
            wait = _retry_after(response.headers.get("retry-after"))
            if wait is not None and wait > self.max_retry_after:
                raise PaymentUnavailable(
                    f"the payment gateway is rate limiting orderhub while handling {call.about} and asks to wait "
                    f"{wait:g} s, more than the {self.max_retry_after:g} s a call may wait; retry later",
                    retry_after=wait, attempts=1, **where)
            raise _Retry(f"rate limited (429): {message}", wait or 0.0, rid)
        if status == 409 and error.get("type") == "idempotency_error":
            raise _Retry(f"an earlier attempt is still in progress (409): {message}", request_id=rid)
        if status in RETRYABLE_STATUSES or status >= 500:
            raise _Retry(f"gateway error {status} {code}: {message}", request_id=rid)
        raise PaymentRejected(code, message, status=status, param=error.get("param"), **where)

    def _scrub(self, text: str) -> str:
        """The text without the API key, should anything ever echo it."""
        return text.replace(self._api_key, "[api key]") if len(self._api_key) >= 6 else text


def _key(idempotency_key: str) -> str:
    if not idempotency_key or not idempotency_key.strip():
        raise ValueError("every payment call needs an idempotency key, so that retrying it is safe")
    return idempotency_key
