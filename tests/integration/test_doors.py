"""Bounded doors over real HTTP: refusals from headers, slow bodies, the shared body budget."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import replace

import httpx
import orjson
import pytest

from orderhub.adapters.store import tokens
from orderhub.bootstrap import Hub, build
from orderhub.config import Settings
from orderhub.testing.server import ServerThread
from tests.support import SHOP, add_shop, order_payload, webhook_headers

BUDGET = 64 * 1024


@pytest.fixture
def tight(settings: Settings) -> Iterator[tuple[Hub, ServerThread]]:
    """A hub whose bodies must come fast (0.5 s plus 1 MB/s) and share a 64 KiB budget."""
    from orderhub.entrypoints.http.app import create_app

    hub = build(replace(settings, body_timeout_seconds=0.5, body_min_bytes_per_second=1_000_000,
                        max_body_bytes_in_flight=BUDGET, max_request_bytes=16 * 1024))
    add_shop(hub)
    with ServerThread(create_app(hub)) as server:
        yield hub, server
    hub.close()


def _head(path: str, headers: dict[str, str], length: int) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {length}",
             *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _open(server: ServerThread, head: bytes, body: bytes = b"") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(head + body)
    return sock


def _answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of the response, read until the server closes the connection."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    sock.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode().split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
    return int(status_line.split()[1]), headers, body


def _signed(topic: str = "orders/create", **kw: str) -> tuple[bytes, dict[str, str]]:
    body = orjson.dumps(order_payload())
    return body, webhook_headers(topic, body, **kw)


def test_slow_body_gets_408_and_the_connection_closes(tight) -> None:  # type: ignore[no-untyped-def]
    _, server = tight
    body, headers = _signed()
    sock = _open(server, _head("/webhooks/shopify", headers, len(body)), body[:10])
    status, answer_headers, text = _answer(sock)  # nothing more is sent: the deadline passes
    assert status == 408
    assert answer_headers["connection"] == "close"
    assert "did not arrive in time" in orjson.loads(text)["error"]


def test_slow_form_or_api_body_gets_408_too(tight) -> None:  # type: ignore[no-untyped-def]
    _, server = tight
    sock = _open(server, _head("/api/errors/retry", {"Authorization": "Bearer x"}, 1000), b"{")
    assert _answer(sock)[0] == 408
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    sock = _open(server, _head("/console/sign-in", form, 1000), b"user=")
    assert _answer(sock)[0] == 408


def test_declared_length_over_the_cap_is_413_before_the_body(tight) -> None:  # type: ignore[no-untyped-def]
    hub, server = tight
    _, headers = _signed()
    sock = _open(server, _head("/webhooks/shopify", headers, hub.settings.max_webhook_bytes + 1))
    status, _, text = _answer(sock)  # answered with no byte of the body sent
    assert status == 413
    assert "exceeds the limit" in orjson.loads(text)["error"]
    sock = _open(server, _head("/api/errors/retry", {"Authorization": "Bearer x"}, 16 * 1024 + 1))
    assert _answer(sock)[0] == 413


def test_unknown_shop_and_bad_signature_get_the_same_401(tight) -> None:  # type: ignore[no-untyped-def]
    _, server = tight
    body, unknown = _signed(shop="other.myshopify.com")
    # The unknown shop is refused from its headers: the body is never sent.
    unknown_answer = _answer(_open(server, _head("/webhooks/shopify", unknown, len(body))))
    body, wrong = _signed(secret="not-the-secret")
    with httpx.Client() as client:
        bad = client.post(f"{server.url}/webhooks/shopify", content=body, headers=wrong)
    assert (unknown_answer[0], bad.status_code) == (401, 401)
    assert orjson.loads(unknown_answer[2]) == bad.json()
    assert SHOP not in bad.text and "other.myshopify.com" not in bad.text
    hub, _ = tight
    with hub.db.write() as conn:
        token = tokens.create(conn, "prometheus", role="viewer")
    with httpx.Client() as client:  # one metrics outcome for both, too
        metrics = client.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {token}"}).text
    assert 'outcome="not_authenticated",topic="orders/create"' in metrics


def test_non_json_webhook_415_and_api_without_token_401_before_the_body(tight) -> None:  # type: ignore[no-untyped-def]
    _, server = tight
    body, headers = _signed()
    headers["Content-Type"] = "text/plain"
    assert _answer(_open(server, _head("/webhooks/shopify", headers, len(body))))[0] == 415
    status, answer_headers, _ = _answer(_open(server, _head("/api/errors/retry", {}, 10)))
    assert status == 401
    assert answer_headers["www-authenticate"] == "Bearer"


def test_exhausted_budget_gets_503_with_retry_after_while_healthz_answers(settings: Settings) -> None:
    from orderhub.entrypoints.http.app import create_app

    hub = build(replace(settings, body_timeout_seconds=30, max_body_bytes_in_flight=BUDGET))
    add_shop(hub)
    try:
        with ServerThread(create_app(hub)) as server:
            body, headers = _signed()
            # Holds the whole budget: it declares BUDGET bytes and sends a few.
            holder = _open(server, _head("/webhooks/shopify", headers, BUDGET), body[:10])
            with httpx.Client() as client:
                for _ in range(50):  # until the server has taken the holder's share
                    busy = client.post(f"{server.url}/webhooks/shopify", content=body, headers=headers)
                    if busy.status_code == 503:
                        break
                    time.sleep(0.05)
                assert busy.status_code == 503, busy.text
                assert busy.headers["retry-after"].isdigit()
                assert client.get(f"{server.url}/healthz").status_code == 200
                holder.close()  # its share comes back once the server sees it gone
                for _ in range(50):
                    ok = client.post(f"{server.url}/webhooks/shopify", content=body, headers=headers)
                    if ok.status_code == 200:
                        break
                    time.sleep(0.05)
                assert ok.status_code == 200, ok.text
    finally:
        hub.close()


def test_a_head_that_never_ends_gets_408_under_serve_options(settings: Settings) -> None:
    from orderhub.entrypoints.http.app import create_app
    from orderhub.entrypoints.http.serving import server_options

    hub = build(replace(settings, head_timeout_seconds=0.3))
    try:
        with ServerThread(create_app(hub), **server_options(hub.settings)) as server:
            silent = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            partial = _open(server, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            assert _answer(silent)[0] == 408
            assert _answer(partial)[0] == 408
            with httpx.Client() as client:  # a whole head in time is served as always
                assert client.get(f"{server.url}/healthz").status_code == 200
    finally:
        hub.close()


def test_any_other_address_with_a_body_is_bounded_too(tight) -> None:  # type: ignore[no-untyped-def]
    _, server = tight
    assert _answer(_open(server, _head("/webhooks/other", {}, 1000), b"x"))[0] == 408
    assert _answer(_open(server, _head("/webhooks/other", {}, 16 * 1024 + 1)))[0] == 413
