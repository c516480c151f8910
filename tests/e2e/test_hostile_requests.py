"""Every route of the server, documented or not (webhooks, API, console, downloads), against generated
hostile paths, query strings, headers and bodies: nothing answers 5xx and the server stays alive."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderhub.adapters.store import tokens
from orderhub.bootstrap import Hub, build
from orderhub.config import Settings
from orderhub.entrypoints.http.app import create_app
from orderhub.testing.server import ServerThread
from tests.support import SECRET, SHOP, add_shop

HOSTILE = ["", "0", "-1", "1", "2147483648", "99999999999999999999999", "1e999", "NaN", "-0.00", "🦋", "%00",
           "\u202e", "a" * 300, "../../etc/passwd", "<script>", "'; drop table orders; --", "9999-12-31T23:59:59-12:00",
           "0001-01-01T00:00:00+01:00", "2026-11-23", "2026-11-23T10:00:00", "yesterday", "true", "[]", "{}",
           "#1001", "gid://shopify/Order/1", SHOP]
TEXT = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=40))
QUERY_KEYS = ["since", "until", "limit", "offset", "q", "status", "shop", "kind", "topic", "page", "after",
              "before", "next", "sku", "channel", "payment_status", "created_from", "created_to", "nofield",
              "payloads", "facility", "category"]


def _deep(levels: int) -> bytes:
    return b'{"a":' * levels + b"1" + b"}" * levels


BODIES = st.one_of(
    st.binary(max_size=300),
    st.sampled_from([b"", b"{}", b"[]", b"null", b'{"id": 1e999}', b'{"id": 99999999999999999999999999}',
                     b'{"id": "\\u0000"}', _deep(300), _deep(2000), b'{"line_items": "none"}',
                     b'{"payload": {"a": [' + b"[" * 500 + b"]" * 500 + b"]}}",
                     b"username=admin&password=x&csrf=y", '{"note": "🦋\u202e"}'.encode()]),
    st.dictionaries(st.sampled_from(QUERY_KEYS + ["id", "updated_at", "created_at", "reason", "by", "payload",
                                                  "url", "events", "quantity"]), TEXT, max_size=4).map(
        lambda d: __import__("orjson").dumps(d)))


def _flat(routes: Any) -> Iterator[tuple[str, str]]:
    for route in routes:
        inner = getattr(route, "original_router", None)  # an included router (its routes carry full paths)
        if inner is not None:
            yield from _flat(inner.routes)
            continue
        path = getattr(route, "path", None)
        for method in sorted(getattr(route, "methods", None) or ()):
            if path and method not in ("HEAD", "OPTIONS") and not path.startswith("/static"):
                yield method, path


def _routes() -> list[tuple[str, str]]:
    return sorted(set(_flat(create_app(build(Settings(database_url="sqlite://"))).routes)))


ROUTES = _routes()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Any) -> Iterator[tuple[str, str]]:
    db = tmp_path_factory.mktemp("hostile") / "hostile.db"
    shutil.copy(sqlite_template, db)
    hub: Hub = build(Settings(database_url=f"sqlite:///{db}", sqlite_synchronous="NORMAL"))
    add_shop(hub)
    with hub.db.write() as conn:
        token = tokens.create(conn, "fuzz", ("api", "eventbridge"), role="admin")
    with ServerThread(create_app(hub)) as running:
        yield running.url, token
    hub.close()


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(route=st.sampled_from(ROUTES), segment=TEXT, query=st.dictionaries(st.sampled_from(QUERY_KEYS), TEXT,
                                                                        max_size=3),
       body=BODIES, authorised=st.booleans(),
       extra=st.dictionaries(st.sampled_from(["X-Shopify-Topic", "X-Shopify-Hmac-Sha256", "X-Shopify-Triggered-At",
                                              "X-Shopify-Webhook-Id", "X-Shopify-API-Version", "Content-Type",
                                              "Cookie", "X-Forwarded-Proto", "HX-Request", "Origin"]),
                             st.sampled_from(HOSTILE), max_size=4))
def test_no_route_answers_5xx_to_hostile_requests(server: tuple[str, str], route: tuple[str, str], segment: str,
                                                  query: dict[str, str], body: bytes, authorised: bool,
                                                  extra: dict[str, str]) -> None:
    base, token = server
    method, template = route
    path = re.sub(r"\{[^}]+\}", lambda _: quote(segment, safe="") or "x", template)
    headers: dict[str, bytes] = {"X-Shopify-Shop-Domain": SHOP.encode(),
                                 **{k: v.encode("utf-8") for k, v in extra.items()}}  # raw bytes, as an attacker
    if authorised:
        headers["Authorization"] = f"Bearer {token}".encode()
    try:
        answer = httpx.request(method, base + path, params=query, content=body, headers=headers, timeout=60)
    except httpx.InvalidURL:
        return  # not a request a client can send
    assert answer.status_code < 500, (method, path, query, answer.status_code, answer.text[:300])
    assert SECRET not in answer.text  # no answer shows a secret


def test_the_server_is_alive_after_the_hostile_requests(server: tuple[str, str]) -> None:
    base, _ = server
    assert httpx.get(f"{base}/healthz", timeout=5).json()["status"] == "ok"
