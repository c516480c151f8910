"""Values an outsider or an operator can send get a 4xx or a clear error-log entry, never a 500:
times past what UTC can hold, times without an offset, and payloads nested hundreds of levels deep."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from orderhub.adapters.store import error_log, tokens
from orderhub.bootstrap import Hub
from orderhub.testing.server import ServerThread
from tests.e2e.test_console_errors import logged, users
from tests.e2e.test_console_http import sign_in
from tests.support import add_shop, drain, order_payload, webhook_headers

BEYOND_UTC = "9999-12-31T23:59:59-12:00"  # a valid ISO 8601 time whose UTC instant Python cannot hold


def _api(hub: Hub, base: str) -> httpx.Client:
    with hub.db.write() as conn:
        token = tokens.create(conn, "ops")
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"})


def _deep_order(levels: int) -> bytes:
    """An order without lines (so it is parked) with a note attribute nested ``levels`` deep, as JSON text:
    deeper than orjson writes, so built by hand."""
    head = orjson.dumps(order_payload(line_items=[]))[:-1]
    return head + b', "note_attributes": [{"name": "x", "value": ' + b'{"deeper": ' * levels + \
        '"🦋"'.encode() + b"}" * levels + b"}]}"


def _parked_once(hub: Hub, base: str, body: bytes, times: int = 1) -> Any:
    """Post the signed body ``times`` (Shopify's redeliveries), process it, and return its one entry."""
    for _ in range(times):
        answer = httpx.post(f"{base}/webhooks/shopify", content=body, headers=webhook_headers("orders/create", body))
        assert answer.status_code == 200
    drain(hub)
    with hub.db.read() as conn:
        [entry] = error_log.list_entries(conn, error_log.ErrorFilter())
    return entry


def test_a_triggered_at_beyond_utc_is_a_400_and_a_signed_body_with_one_parks_once(hub: Hub,
                                                                                 hub_server: ServerThread) -> None:
    add_shop(hub)
    body = orjson.dumps(order_payload())
    headers = webhook_headers("orders/create", body) | {"X-Shopify-Triggered-At": BEYOND_UTC}
    answer = httpx.post(f"{hub_server.url}/webhooks/shopify", content=body, headers=headers)
    assert answer.status_code == 400 and "X-Shopify-Triggered-At" in answer.text
    entry = _parked_once(hub, hub_server.url, orjson.dumps(order_payload(updated_at=BEYOND_UTC)), times=3)
    assert entry.kind == "validation" and entry.field == "updated_at" and "out of range" in entry.error


@pytest.mark.parametrize("since, status", [("2026-11-23T10:00:00", 200), ("2026-11-23", 200),
                                           ("2026-11-23T10:00:00+02:00", 200), (BEYOND_UTC, 422),
                                           ("yesterday", 422)])
def test_error_log_filters_take_any_time_an_operator_types(hub: Hub, hub_server: ServerThread, since: str,
                                                           status: int) -> None:
    with _api(hub, hub_server.url) as api:
        assert api.get("/api/errors", params={"since": since, "until": since}).status_code == status
        assert api.post("/api/errors/retry", params={"since": since}).status_code == status


@pytest.mark.parametrize("levels", [300, 1000])
def test_a_deeply_nested_payload_stays_readable_in_the_api_and_the_console(hub: Hub, hub_server: ServerThread,
                                                                         levels: int) -> None:
    users(hub)
    add_shop(hub)
    body = _deep_order(levels)
    entry = _parked_once(hub, hub_server.url, body)
    assert entry.field == "line_items"
    with _api(hub, hub_server.url) as api:
        shown = api.get(f"/api/errors/{entry.id}")
        assert shown.status_code == 200
        detail = shown.json()
        assert detail["payload_nesting"] == levels + 3 and detail["payload"] == body.decode()  # as it arrived
    with sign_in(hub_server.url, "olga") as console:
        page = console.get(f"/errors/{entry.id}")
        assert page.status_code == 200 and f"nests {levels + 3} levels deep" in page.text
        assert console.get(f"/errors/{entry.id}/edit").status_code == 200


def test_a_shallow_payload_is_still_an_object_in_the_api(hub: Hub, hub_server: ServerThread) -> None:
    [entry] = logged(hub, order_payload(line_items=[]))
    with _api(hub, hub_server.url) as api:
        detail = api.get(f"/api/errors/{entry.id}").json()
    assert detail["payload"]["line_items"] == [] and "payload_nesting" not in detail
