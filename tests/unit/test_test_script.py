"""scripts/test runs the suite in parallel processes, and in them every test it collects."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Items of one file sharing one node id, as schemathesis's generated cases of tests/e2e/test_openapi.py do.
SAME_ID_ITEMS = '''
import pytest


class Case(pytest.Item):
    def runtest(self) -> None:
        with open(self.path.with_suffix(".ran"), "a") as ran:
            ran.write("ran\\n")


class Cases(pytest.File):
    def collect(self):
        for _ in range(3):
            yield Case.from_parent(self, name="case")


def pytest_collect_file(parent, file_path):
    if file_path.suffix == ".cases":
        return Cases.from_parent(parent, path=file_path)
'''


def parallel_options() -> list[str]:
    """The pytest options scripts/test gives, with its defaults for the variables they name."""
    script = (ROOT / "scripts" / "test").read_text(encoding="utf-8")
    command = re.search(r"exec \.venv/bin/python -m pytest (.*?) \"\$@\"", script.replace("\\\n", " "), re.S)
    assert command, "scripts/test ends by running pytest with its options, then the caller's"
    options = re.sub(r'"\$\{\w+:-([^}]*)\}"', r"\1", command.group(1))
    return options.split()


def test_the_script_runs_the_tests_in_parallel_processes() -> None:
    options = parallel_options()
    assert options[options.index("-n") + 1] == "auto"
    assert "--dist" in options


def test_every_item_runs_even_when_items_share_a_node_id(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(SAME_ID_ITEMS, encoding="utf-8")
    (tmp_path / "a.cases").write_text("", encoding="utf-8")
    options = [o for o in parallel_options() if o != "-q"]
    options[options.index("-n") + 1] = "2"
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *options, "."],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "a.ran").read_text().count("ran") == 3, done.stdout
    assert "3 passed" in done.stdout
