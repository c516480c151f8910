"""scripts/bootstrap installs orderhub alone for the demo and the test extras only with --test, and its
stamp knows which of the two it installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FAKE_PYTHON = """#!/usr/bin/env bash
echo "$*" >> "$(dirname "$0")/../pip.log"
"""
TEST_PREREQUISITES = ("/usr/bin/chromium", "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of the script beside a pyproject.toml, with a .venv whose python only writes down what it was asked."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "bootstrap", tmp_path / "scripts" / "bootstrap")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(FAKE_PYTHON, encoding="utf-8")
    python.chmod(0o755)
    old = time.time() - 60
    os.utime(tmp_path / "pyproject.toml", (old, old))
    return tmp_path


def bootstrap(checkout: Path, *args: str) -> list[str]:
    """The installs one run asked pip for."""
    log = checkout / ".venv" / "pip.log"
    log.unlink(missing_ok=True)
    subprocess.run(["bash", "scripts/bootstrap", *args], cwd=checkout, check=True, capture_output=True, timeout=60)
    return [line for line in log.read_text().splitlines() if " -e " in line] if log.exists() else []


def test_the_demo_gets_orderhub_alone_and_installs_once(checkout: Path) -> None:
    assert bootstrap(checkout) == ["-m pip install -q -e .[demo]"]
    assert bootstrap(checkout) == []
    assert (checkout / ".venv" / ".orderhub-installed").read_text().strip() == "base"


@pytest.mark.skipif(not all(Path(p).exists() for p in TEST_PREREQUISITES) or not list(
    Path("/usr/lib/postgresql").glob("*/bin/initdb")), reason="--test would install Debian packages here")
def test_test_extras_come_with_test_and_stay(checkout: Path) -> None:
    assert bootstrap(checkout) == ["-m pip install -q -e .[demo]"]
    assert bootstrap(checkout, "--test") == ["-m pip install -q -e .[demo,test]"]  # a plain install lacks them
    assert bootstrap(checkout, "--test") == []
    assert bootstrap(checkout) == []  # orderhub is installed with them
    later = time.time() + 5
    os.utime(checkout / "pyproject.toml", (later, later))  # changed since
    assert bootstrap(checkout) == ["-m pip install -q -e .[demo]"]
    assert bootstrap(checkout, "--test") == ["-m pip install -q -e .[demo,test]"]


def test_the_extras_it_installs_are_those_pyproject_declares() -> None:
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    assert {"demo", "test"} <= set(extras)
    assert any(p.startswith("asyncssh==") for p in extras["demo"])  # the demo's SFTP server
