"""The documentation site builds strictly (no broken link or anchor, no warning), and every link in
the built pages leads somewhere: a relative link to a file of the site, and to an element with
that id when it names one. External links are listed, not fetched."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]


class _Page(HTMLParser):
    """The ids a page defines and the links it makes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.add(found["id"] or "")
        if tag == "a" and found.get("name"):
            self.ids.add(found["name"] or "")
        for attr in ("href", "src"):
            if found.get(attr):
                self.links.append(found[attr] or "")


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def _target(site: Path, page: Path, path: str) -> Path:
    base = site if path.startswith("/") else page.parent
    target = (base / unquote(path.lstrip("/"))).resolve()
    return target / "index.html" if target.is_dir() or path.endswith("/") else target


def check_links(site: Path) -> tuple[list[str], list[str]]:
    """(broken links, external links) of every HTML page under ``site``."""
    pages = {p.resolve(): _parse(p) for p in site.rglob("*.html")}
    broken, external = [], []
    for path, page in pages.items():
        where = path.relative_to(site.resolve())
        for link in page.links:
            parts = urlsplit(link)
            if parts.scheme in ("http", "https"):
                external.append(link)
                continue
            if parts.scheme or parts.netloc:  # mailto:, data:, javascript: ...
                continue
            target = _target(site, path, parts.path) if parts.path else path
            if not target.exists():
                broken.append(f"{where}: {link} (no file {target.relative_to(site.resolve())})")
            elif parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else _parse(target).ids
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{where}: {link} (no element with id {parts.fragment!r})")
    return broken, sorted(set(external))


def _build(site: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
                           str(ROOT / "mkdocs.yml"), "--site-dir", str(site)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    site = tmp_path_factory.mktemp("site")
    result = _build(site)
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout}\n{result.stderr}"
    noise = [line for line in (result.stdout + result.stderr).splitlines()
             if line.strip() and not line.startswith("INFO")]
    assert not noise, "the build should say nothing but INFO lines:\n" + "\n".join(noise)
    yield site


def test_the_site_builds_strictly_with_every_reference_page(site: Path) -> None:
    for page in ("cli", "http-api", "settings", "events", "jobs"):
        html = (site / "reference" / page / "index.html").read_text(encoding="utf-8")
        assert "orderhub-reference:" not in html, f"reference/{page}.md kept its marker: the hook did not run"
    assert 'id="orderhub-orders-list"' in (site / "reference/cli/index.html").read_text(encoding="utf-8")


def test_every_relative_link_of_the_built_site_leads_to_a_file_and_anchor(site: Path) -> None:
    broken, external = check_links(site)
    assert not broken, "broken links:\n" + "\n".join(broken)
    print(f"{len(external)} external links (not fetched):", *external, sep="\n  ")
    assert all(urlsplit(link).netloc for link in external)


def test_the_link_check_finds_a_missing_file_and_a_missing_anchor(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "index.html").write_text('<h1 id="top">A</h1><a href="../b/">b</a><a href="#top">top</a>')
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "index.html").write_text(
        '<p><a href="../a/#top">ok</a><a href="../a/#gone">gone</a><a href="../c/">c</a>'
        '<img src="pic.png"><a href="https://example.com/x">out</a></p>')
    broken, external = check_links(tmp_path)
    assert sorted(broken) == ["b/index.html: ../a/#gone (no element with id 'gone')",
                              "b/index.html: ../c/ (no file c/index.html)",
                              "b/index.html: pic.png (no file b/pic.png)"]
    assert external == ["https://example.com/x"]
