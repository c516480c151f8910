"""The web console over real HTTP: signing in and out, CSRF and origin checks, roles enforced
by the server, and the security headers on every page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from orderhub.bootstrap import Hub
from orderhub.services.console import accounts
from orderhub.testing.server import ServerThread

PASSWORD = "correct horse battery"


def _token(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


@contextmanager
def sign_in(base: str, username: str, password: str = PASSWORD) -> Iterator[httpx.Client]:
    """A browser-like client signed in to the console."""
    with httpx.Client(base_url=base, follow_redirects=True) as client:
        form = client.get("/sign-in")
        answer = client.post("/sign-in", data={"username": username, "password": password,
                                               "csrf": _token(form.text), "next": "/"})
        assert answer.status_code == 200 and answer.url.path == "/", answer.text[:500]
        yield client


def test_pages_need_a_session_and_signing_in_leads_back(hub: Hub, hub_server: ServerThread) -> None:
    accounts.add_user(hub.db, "Ana 🌸", PASSWORD, "viewer")
    with httpx.Client(base_url=hub_server.url) as anonymous:
        first = anonymous.get("/?x=1")
        assert first.status_code == 303 and first.headers["location"] == "/sign-in?next=%2F%3Fx%3D1"
        form = anonymous.get(first.headers["location"])
        assert form.status_code == 200 and 'name="next" value="/?x=1"' in form.text
        wrong = anonymous.post("/sign-in", data={"username": "ana 🌸", "password": "not the password",
                                                 "csrf": _token(form.text)})
        assert wrong.status_code == 401 and "wrong username or password" in wrong.text
        right = anonymous.post("/sign-in", data={"username": "ana 🌸", "password": PASSWORD,
                                                 "csrf": _token(wrong.text), "next": "/?x=1"})
        assert right.status_code == 303 and right.headers["location"] == "/?x=1"
        cookie = next(c for c in right.headers.get_list("set-cookie") if c.startswith("orderhub_session="))
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie
        page = anonymous.get("/")
        assert page.status_code == 200 and "Ana 🌸" in page.text and "Signed in as Ana 🌸 (viewer)." in page.text


def test_sign_in_refuses_a_form_without_its_cookie_token(hub: Hub, hub_server: ServerThread) -> None:
    accounts.add_user(hub.db, "ana", PASSWORD, "admin")
    with httpx.Client(base_url=hub_server.url) as client:
        answer = client.post("/sign-in", data={"username": "ana", "password": PASSWORD, "csrf": "forged"})
    assert answer.status_code == 403 and "form had expired" in answer.text
    assert "orderhub_session" not in answer.headers.get("set-cookie", "").split("=")[0]


def test_too_many_failures_answer_429_with_retry_after(hub: Hub, hub_server: ServerThread) -> None:
    accounts.add_user(hub.db, "ana", PASSWORD, "admin")
    with httpx.Client(base_url=hub_server.url) as client:
        page = client.get("/sign-in")
        for n in range(accounts.MAX_FAILURES_PER_PAIR):
            page = client.post("/sign-in", data={"username": "ana", "password": f"guess {n} guess",
                                                 "csrf": _token(page.text)})
            assert page.status_code == 401
        held = client.post("/sign-in", data={"username": "ana", "password": PASSWORD, "csrf": _token(page.text)})
    assert held.status_code == 429 and 890 <= int(held.headers["retry-after"]) <= 901 and "too many" in held.text


def test_signing_out_needs_the_session_token_and_a_same_origin_form(hub: Hub, hub_server: ServerThread) -> None:
    accounts.add_user(hub.db, "ana", PASSWORD, "viewer")
    with sign_in(hub_server.url, "ana") as client:
        forged = client.post("/sign-out", data={"csrf": "not-the-token"}, follow_redirects=False)
        assert forged.status_code == 403 and "did not come from this console" in forged.text
        token = _token(client.get("/").text)
        foreign = client.post("/sign-out", data={"csrf": token}, headers={"origin": "https://evil.example"},
                              follow_redirects=False)
        assert foreign.status_code == 403
        assert client.get("/", follow_redirects=False).status_code == 200  # still signed in
        out = client.post("/sign-out", data={"csrf": token}, follow_redirects=False)
        assert out.status_code == 303 and out.headers["location"] == "/sign-in"
        assert client.get("/", follow_redirects=False).status_code == 303  # the session is gone on the server


@pytest.mark.parametrize("path", ["/", "/sign-in"])
def test_security_headers_on_pages(hub: Hub, hub_server: ServerThread, path: str) -> None:
    accounts.add_user(hub.db, "ana", PASSWORD, "viewer")
    with sign_in(hub_server.url, "ana") as client:
        page = client.get(path, follow_redirects=False)
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert page.headers["x-content-type-options"] == "nosniff" and page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert "<script>" not in page.text and " on" + "click=" not in page.text  # scripts come from files only


def test_static_files_are_cached_by_fingerprint(hub_server: ServerThread) -> None:
    with httpx.Client(base_url=hub_server.url) as client:
        page = client.get("/sign-in")
        css = re.search(r'href="(/static/console\.css\?v=[0-9a-f]+)"', page.text)
        assert css
        fresh = client.get(css.group(1))
        assert fresh.status_code == 200 and "immutable" in fresh.headers["cache-control"]
        assert client.get("/static/console.css").headers["cache-control"] == "no-cache"
        assert client.get("/static/../../web.py").status_code == 404


def test_an_unknown_console_address_is_a_page_and_an_unknown_api_address_json(hub_server: ServerThread) -> None:
    with httpx.Client(base_url=hub_server.url) as client:
        page = client.get("/no-such-page", headers={"accept": "text/html,application/xhtml+xml"})
        api = client.get("/api/no-such-thing", headers={"accept": "text/html"})
    assert page.status_code == 404 and "There is no such page." in page.text
    assert page.headers["content-type"].startswith("text/html") and "frame-ancestors" in page.headers[
        "content-security-policy"]
    assert api.status_code in (401, 404) and api.headers["content-type"] == "application/json"
