"""A real browser (Debian's Chromium, driven by Playwright) against the console on loopback.

Screenshots of every page a test visits go to ``test-artifacts/console/``. Without
Chromium installed the tests are skipped, unless ``ORDERHUB_REQUIRE_BROWSER`` is set (the
README's test command installs it and sets it).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from orderhub.bootstrap import Hub, build
from orderhub.config import Settings
from orderhub.entrypoints.http.app import create_app
from orderhub.services.console import accounts
from orderhub.testing.server import ServerThread

CHROMIUM = os.environ.get("ORDERHUB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("ORDERHUB_REQUIRE_BROWSER"):
            pytest.fail(f"Chromium is not at {CHROMIUM} (the README's test command installs it)")
        pytest.skip("Chromium not installed (the README's test command installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield chromium
        chromium.close()


@pytest.fixture
def console_hub(sqlite_url: str) -> Iterator[Hub]:
    hub = build(Settings(database_url=sqlite_url))
    for name, role in (("ada", "admin"), ("otto", "operator"), ("vera", "viewer")):
        accounts.add_user(hub.db, name, PASSWORD, role)
    yield hub
    hub.close()


@pytest.fixture
def console(console_hub: Hub) -> Iterator[ServerThread]:
    with ServerThread(create_app(console_hub)) as server:
        yield server


class Screens:
    """Takes screenshots named after the test, in order."""

    def __init__(self, test: str) -> None:
        self.folder = ARTIFACTS
        self.folder.mkdir(parents=True, exist_ok=True)
        self.test, self.n = test, 0

    def shoot(self, page: object, what: str) -> Path:
        self.n += 1
        path = self.folder / f"{self.test}-{self.n:02d}-{what}.png"
        page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
        return path


@pytest.fixture
def screens(request: pytest.FixtureRequest) -> Screens:
    return Screens(request.node.name.replace("[", "-").replace("]", ""))


@pytest.fixture
def page_for(browser: object, console: ServerThread) -> Iterator[object]:
    """``page_for(username)``: a new browser context signed in as that user, at the dashboard."""
    contexts = []
    errors: list[str] = []  # what the browser complained of (a script error, a blocked resource, CSP)

    def open_as(username: str, width: int = 1280) -> object:
        context = browser.new_context(base_url=console.url, viewport={"width": width, "height": 900})  # type: ignore[attr-defined]
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto("/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{console.url}/")
        return page

    yield open_as
    for context in contexts:
        context.close()
    assert errors == [], errors
