"""The ``/v1`` API: authorise, void, capture, retrieve and list authorizations.

Every request is checked in this order: API key (401), rate limit (429), JSON
body (400), idempotency key (replay, 400 or 409), parameters (400), then the
behaviour rules decide the outcome. Answers that come from an executed request
(201/200, and 402 declines) are saved under the request's ``Idempotency-Key``;
error answers save nothing, so a retry with the same key runs afresh.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
import structlog
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from orderhub.simulators.payments import params
from orderhub.simulators.payments.errors import ApiError, invalid
from orderhub.simulators.payments.gateway import DECLINE_MESSAGES, Gateway
from orderhub.simulators.payments.idempotency import Saved, Scope
from orderhub.simulators.payments.responses import json_response, request_id
from orderhub.simulators.payments.rules import Rule

log = structlog.get_logger(__name__)
MAX_LIST_LIMIT = 100


@dataclass
class Answer:
    """An executed request's answer; ``hold`` seconds pass between saving it and sending it (timeout rule)."""

    status: int
    body: dict[str, Any]
    hold: float = 0.0


Operation = Callable[[Request, dict[str, Any]], Awaitable[Answer]]


def _json_object(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise invalid(None, f"The request body is not valid JSON: {exc}", code="body_invalid") from None
    if not isinstance(body, dict):
        raise invalid(None, "The request body must be a JSON object.", code="body_invalid")
    return body


def _fingerprint(body: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


async def _slow(rule: Rule | None) -> None:
    """Slow processing before the outcome (not for timeout rules, which hold the answer afterwards)."""
    if rule is not None and rule.outcome != "timeout" and rule.delay_seconds > 0:
        await asyncio.sleep(rule.delay_seconds)


def _fail_if_error(rule: Rule | None) -> None:
    if rule is not None and rule.outcome == "error":
        raise ApiError(rule.status, "api_error", "An error occurred on the gateway while processing the request "
                       "(simulated). Nothing was done; retry with the same Idempotency-Key.", code="api_error")


def _hold(rule: Rule | None) -> float:
    return rule.delay_seconds if rule is not None and rule.outcome == "timeout" else 0.0


class PaymentsApi:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    def routes(self) -> list[Route]:
        return [
            Route("/v1/authorizations", self._post(self.authorize), methods=["POST"]),
            Route("/v1/authorizations", self._get(self.list_authorizations), methods=["GET"]),
            Route("/v1/authorizations/{id}", self._get(self.retrieve), methods=["GET"]),
            Route("/v1/authorizations/{id}/void", self._post(self.void), methods=["POST"]),
            Route("/v1/authorizations/{id}/capture", self._post(self.capture), methods=["POST"]),
        ]

    # -- the request pipeline -----------------------------------------------------------------------

    def _post(self, operation: Operation) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            key = request.headers.get("idempotency-key")
            entry = {"method": "POST", "path": request.url.path, "idempotency_key": key,
                     "request_id": request_id(request), "replayed": False}
            claim: tuple[Scope, Saved] | None = None  # set while this request owns its idempotency key
            try:
                digest = self._admit(request)
                body = _json_object(await request.body())
                if key is not None:
                    scope: Scope = (digest, "POST", request.url.path, key)
                    saved = self.gateway.idempotency.claim(scope, _fingerprint(body))
                    if not saved.finished:
                        claim = (scope, saved)
                    else:
                        assert saved.status is not None and saved.body is not None
                        self.gateway.log_request(dict(entry, status=saved.status, replayed=True))
                        return json_response(saved.body, saved.status, {
                            "Idempotent-Replayed": "true", "Original-Request": saved.request_id or "",
                            "Idempotency-Key": key})
                answer = await operation(request, body)
            except ApiError as exc:
                if claim is not None:
                    self.gateway.idempotency.release(*claim)
                return self._error(exc, entry)
            except BaseException:
                if claim is not None:
                    self.gateway.idempotency.release(*claim)
                raise
            if claim is not None:
                self.gateway.idempotency.save(*claim, answer.status, answer.body, entry["request_id"] or "")
            self.gateway.log_request(dict(entry, status=answer.status))
            if answer.hold > 0:
                await asyncio.sleep(answer.hold)
            return json_response(answer.body, answer.status, {"Idempotency-Key": key} if key is not None else None)

        return self._guarded(endpoint)

    def _get(self, read: Callable[[Request], dict[str, Any]]) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            entry = {"method": "GET", "path": request.url.path, "idempotency_key": None,
                     "request_id": request_id(request), "replayed": False}
            try:
                self._admit(request)
                answer = read(request)
            except ApiError as exc:
                return self._error(exc, entry)
            self.gateway.log_request(dict(entry, status=200))
            return json_response(answer)

        return self._guarded(endpoint)

    def _guarded(self, endpoint: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        """A bug in the simulator still answers in the gateway's error shape (500 ``api_error``)."""

        async def guarded(request: Request) -> Response:
            try:
                return await endpoint(request)
            except Exception:
                log.exception("payments simulator failed", path=request.url.path)
                return json_response(ApiError(500, "api_error", "An unexpected error occurred in the simulator.",
                                              code="api_error").body(), 500)

        return guarded

    def _admit(self, request: Request) -> str:
        digest = self.gateway.authenticate(request.headers.get("authorization"))
        self.gateway.admit(digest)
        return digest

    def _error(self, exc: ApiError, entry: dict[str, Any]) -> Response:
        self.gateway.log_request(dict(entry, status=exc.status, error=exc.code or exc.type))
        return json_response(exc.body(), exc.status, exc.headers)

    # -- operations ---------------------------------------------------------------------------------

    async def authorize(self, request: Request, body: dict[str, Any]) -> Answer:
        wanted = params.authorize(body)
        rule = self.gateway.decide("authorize", wanted.reference, wanted.amount)
        await _slow(rule)
        _fail_if_error(rule)
        if rule is not None and rule.outcome == "decline":
            decline: str | None = rule.decline_code
        elif rule is not None and rule.outcome == "approve":
            decline = None
        else:
            decline = self.gateway.built_in_decline(wanted.amount)
        record = self.gateway.authorize(wanted, decline)
        if decline is None:
            return Answer(201, record, _hold(rule))
        error = ApiError(402, "card_error", DECLINE_MESSAGES.get(decline, "Your card was declined."),
                         code="card_declined", decline_code=decline, authorization=record)
        return Answer(402, error.body(), _hold(rule))

    def _rule_for(self, operation: str, authorization_id: str) -> Rule | None:
        record = self.gateway.get(authorization_id)
        return self.gateway.decide(operation, record["reference"], Decimal(record["amount"]))

    async def void(self, request: Request, body: dict[str, Any]) -> Answer:
        params.nothing(body)
        authorization_id = request.path_params["id"]
        rule = self._rule_for("void", authorization_id)
        await _slow(rule)
        _fail_if_error(rule)
        return Answer(200, self.gateway.void(authorization_id), _hold(rule))

    async def capture(self, request: Request, body: dict[str, Any]) -> Answer:
        authorization_id = request.path_params["id"]
        amount = params.capture_amount(body, self.gateway.get(authorization_id)["currency"])
        rule = self._rule_for("capture", authorization_id)
        await _slow(rule)
        _fail_if_error(rule)
        return Answer(200, self.gateway.capture(authorization_id, amount), _hold(rule))

    def retrieve(self, request: Request) -> dict[str, Any]:
        return self.gateway.get(request.path_params["id"])

    def list_authorizations(self, request: Request) -> dict[str, Any]:
        query = request.query_params
        unknown = sorted(set(query) - {"reference", "limit", "starting_after"})
        if unknown:
            raise invalid(unknown[0], f"Received unknown parameter: {unknown[0]}.", code="parameter_unknown")
        raw_limit = query.get("limit", "10")
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIST_LIMIT:
            raise invalid("limit", f"Invalid limit: {raw_limit!r}; it must be a whole number from 1 to "
                                   f"{MAX_LIST_LIMIT}.")
        page, has_more = self.gateway.find(query.get("reference"), int(raw_limit), query.get("starting_after"))
        return {"object": "list", "url": "/v1/authorizations", "has_more": has_more, "data": page}
