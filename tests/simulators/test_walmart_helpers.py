"""Shared set-up for the Walmart simulator tests: one server per module, two sellers, a small client.

Imported by the ``test_walmart_*`` modules (it holds no tests itself).
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from orderhub.simulators.walmart.server import start_in_thread
from orderhub.simulators.walmart.simulator import Simulator, account

SELLER_A = account("alpha-client", "alpha-secret", "Alpha Goods", "100009")
SELLER_B = account("beta-client", "beta-secret", "Beta Store", "100010")
SERVICE_HEADERS = {"WM_SVC.NAME": "Walmart Marketplace", "Accept": "application/json"}


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


class WalmartClient:
    """Plain HTTP against the simulator, the way Walmart's reference describes each call."""

    def __init__(self, sim: Simulator, http: httpx.Client) -> None:
        self.sim = sim
        self.http = http
        self.tokens: dict[str, str] = {}

    def token_response(self, client_id: str, secret: str, *, accept: str = "application/json",
                       headers: dict[str, str] | None = None, grant: str = "client_credentials") -> httpx.Response:
        base = {"WM_SVC.NAME": "Walmart Marketplace", "WM_QOS.CORRELATION_ID": str(uuid.uuid4()),
                "Authorization": basic(client_id, secret), "Accept": accept}
        return self.http.post("/v3/token", data={"grant_type": grant}, headers={**base, **(headers or {})})

    def token(self, seller=SELLER_A) -> str:  # noqa: ANN001 - an Account
        if seller.client_id not in self.tokens:
            response = self.token_response(seller.client_id, seller.client_secret)
            assert response.status_code == 200, response.text
            self.tokens[seller.client_id] = response.json()["access_token"]
        return self.tokens[seller.client_id]

    def headers(self, seller=SELLER_A, **extra: str) -> dict[str, str]:  # noqa: ANN001
        return {**SERVICE_HEADERS, "WM_QOS.CORRELATION_ID": str(uuid.uuid4()),
                "WM_SEC.ACCESS_TOKEN": self.token(seller), **extra}

    def call(self, method: str, path: str, *, seller=SELLER_A, **kwargs: Any) -> httpx.Response:  # noqa: ANN001
        headers = {**self.headers(seller), **kwargs.pop("headers", {})}
        return self.http.request(method, path, headers=headers, **kwargs)

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.call(method, path, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()

    def control(self, method: str, path: str, body: Any = None, expect: int | None = None, **params: str) -> Any:
        response = self.http.request(method, f"/_sim{path}", json=body, params=params or None)
        if expect is not None:
            assert response.status_code == expect, response.text
        else:
            assert response.is_success, response.text
        return response.json()

    def place(self, lines: list[dict[str, Any]], seller=SELLER_A, **order: Any) -> str:  # noqa: ANN001
        body = {"seller": seller.client_id, "order": {"lines": lines, **order}}
        return str(self.control("POST", "/orders", body, expect=201)["purchaseOrderIds"][0])

    def shipment(self, lines: list[tuple[str, int]], carrier: str = "UPS", tracking: str = "1Z999AA10123456784",
                 **line_extra: Any) -> dict[str, Any]:
        return {"orderShipment": {"orderLines": {"orderLine": [
            {"lineNumber": number, "sellerOrderId": "OH-1", **line_extra, "orderLineStatuses": {"orderLineStatus": [
                {"status": "Shipped", "statusQuantity": {"unitOfMeasurement": "EACH", "amount": str(qty)},
                 "trackingInfo": {"shipDateTime": self.sim.clock.now_ms(), "carrierName": {"carrier": carrier},
                                  "methodCode": "Standard", "trackingNumber": tracking,
                                  "trackingURL": f"https://www.ups.com/track?tracknum={tracking}"}}]}}
            for number, qty in lines]}}}

    @staticmethod
    def cancellation(lines: list[tuple[str, int]], reason: str = "SELLER_CANCEL_OUT_OF_STOCK") -> dict[str, Any]:
        return {"orderCancellation": {"orderLines": {"orderLine": [
            {"lineNumber": number, "orderLineStatuses": {"orderLineStatus": [
                {"status": "Cancelled", "cancellationReason": reason,
                 "statusQuantity": {"unitOfMeasurement": "EACH", "amount": str(qty)}}]}}
            for number, qty in lines]}}}

    @staticmethod
    def refund(po: str, line: str, amount: str, reason: str = "CustomerChangedMind") -> dict[str, Any]:
        return {"orderRefund": {"purchaseOrderId": po, "orderLines": {"orderLine": [
            {"lineNumber": line, "isFullRefund": False, "refunds": {"refund": [
                {"refundComments": "Kundin möchte 🦋 zurückgeben", "refundCharges": {"refundCharge": [
                    {"refundReason": reason, "charge": {"chargeType": "PRODUCT", "chargeName": "Item Price",
                                                        "chargeAmount": {"currency": "USD", "amount": float(amount)}}}
                ]}}]}}]}}}


@pytest.fixture(scope="module")
def walmart_server() -> Iterator[tuple[Simulator, str]]:
    sim, url, stop = start_in_thread([SELLER_A, SELLER_B], seed=7)
    yield sim, url
    stop()


@pytest.fixture
def wm(walmart_server: tuple[Simulator, str]) -> Iterator[WalmartClient]:
    """The module's simulator, emptied, with a client for it."""
    sim, url = walmart_server
    sim.reset()
    with httpx.Client(base_url=url, timeout=10) as http:
        yield WalmartClient(sim, http)
