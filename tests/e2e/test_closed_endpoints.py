"""/metrics and the API documentation need a credential unless configured open; answers over TLS carry HSTS."""

from __future__ import annotations

import httpx
import pytest

from orderhub.adapters.store import tokens
from orderhub.bootstrap import Hub, build
from orderhub.config import Settings
from orderhub.entrypoints.http.app import create_app
from orderhub.services.console import accounts
from orderhub.testing.server import ServerThread
from tests.e2e.test_console_http import PASSWORD, sign_in


def test_metrics_and_docs_need_a_token_or_a_console_sign_in(hub: Hub, hub_server: ServerThread) -> None:
    with hub.db.write() as conn:
        token = tokens.create(conn, "prometheus", role="viewer")
    accounts.add_user(hub.db, "vera", PASSWORD, "viewer")
    with httpx.Client(base_url=hub_server.url) as anonymous:
        for path in ("/metrics", "/openapi.json", "/api/docs"):
            refused = anonymous.get(path)
            assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer", path
        assert anonymous.get("/healthz").status_code == 200  # the load balancer's check stays open
    with httpx.Client(base_url=hub_server.url, headers={"Authorization": f"Bearer {token}"}) as api:
        assert "orderhub_inbox_depth" in api.get("/metrics").text
        assert "/api/orders" in api.get("/openapi.json").json()["paths"]
    with sign_in(hub_server.url, "vera") as console:  # the browsable docs load the document with the session
        assert "swagger-ui" in console.get("/api/docs").text
        assert console.get("/openapi.json").status_code == 200


def test_they_answer_anyone_when_opened(sqlite_url: str) -> None:
    opened = build(Settings(database_url=sqlite_url, open_endpoints=frozenset({"metrics", "docs"})))
    try:
        with ServerThread(create_app(opened)) as server, httpx.Client(base_url=server.url) as anonymous:
            assert anonymous.get("/metrics").status_code == 200
            assert anonymous.get("/openapi.json").status_code == 200
    finally:
        opened.close()


@pytest.mark.parametrize("trusted, proto, hsts", [(("127.0.0.1",), "https", True), (("127.0.0.1",), "http", False),
                                                  ((), "https", False)])
def test_hsts_when_the_request_came_over_tls(sqlite_url: str, trusted: tuple[str, ...], proto: str,
                                            hsts: bool) -> None:
    # A proxy on this machine terminates TLS and says so; only a trusted proxy is believed.
    behind = build(Settings(database_url=sqlite_url, trusted_proxies=trusted))
    try:
        with ServerThread(create_app(behind)) as server:
            answer = httpx.get(f"{server.url}/healthz", headers={"X-Forwarded-Proto": proto})
    finally:
        behind.close()
    assert ("strict-transport-security" in answer.headers) is hsts
    if hsts:
        assert answer.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
