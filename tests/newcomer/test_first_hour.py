"""A newcomer's first hour: a fresh copy of the repository, the README's demo command, then every
command the README and the tutorial show in a ```console block, with the output they promise."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.newcomer.console_blocks import Command, commands, matches

ROOT = Path(__file__).resolve().parents[2]
_ENV_CHANGING = re.compile(r"^(source|\.|export)\s")

pytestmark = pytest.mark.slow


def fresh_copy(target: Path) -> Path:
    """What a clone holds: the tracked files and the new ones git does not ignore, as they are now."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def readme_commands() -> tuple[str, str]:
    """The README's two set-up commands: the first two lines of its first code block."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```\w*\n(.*?)```", text, re.S)
    assert block, "the README starts with a code block holding the two set-up commands"
    lines = [re.sub(r"\s+#.*$", "", line).strip() for line in block.group(1).splitlines() if line.strip()]
    assert len(lines) == 2, f"the README's first block holds exactly two commands, not {lines}"
    return lines[0], lines[1]


def tutorial_pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs" / "tutorial").glob("*.md"), key=_page_order)]


def _page_order(path: Path) -> tuple[int, str]:
    return (0 if path.name == "index.md" else 1, path.name)


class Shell:
    """Runs one command at a time the way a person's terminal would, keeping what `source`/`export` set."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("ORDERHUB_", "PYTHON", "VIRTUAL_ENV"))}
        self.env.update(COLUMNS="80", LINES="40", NO_COLOR="1", TERM="dumb", PYTHONIOENCODING="utf-8")

    def run(self, line: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        script = f"{line}\nstatus=$?\nenv -0 > .newcomer-env\nexit $status" if _ENV_CHANGING.match(line) else line
        done = subprocess.run(["bash", "-c", script], cwd=self.cwd, env=self.env, text=True, timeout=timeout,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        saved = self.cwd / ".newcomer-env"
        if saved.exists():
            self.env = dict(item.split("=", 1) for item in saved.read_text().split("\0") if "=" in item)
            saved.unlink()
        return done


@pytest.fixture(scope="module")
def after_the_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shell]:
    clone = fresh_copy(tmp_path_factory.mktemp("newcomer") / "orderhub")
    shell = Shell(clone)
    demo, _ = readme_commands()
    done = shell.run(demo, timeout=900)
    assert done.returncode == 0, f"the README's demo command {demo!r} failed:\n{done.stdout[-4000:]}"
    yield shell


def test_the_readme_starts_with_the_demo_and_the_test_command() -> None:
    demo, test = readme_commands()
    assert demo == "./scripts/demo" and test == "./scripts/test"
    assert (ROOT / ".ci" / "run").read_text().strip().endswith("exec scripts/test")


def _documented() -> list[Command]:
    return [c for page in tutorial_pages() for c in commands(page, ROOT)]


def test_the_readme_and_the_tutorial_show_commands_to_run() -> None:
    assert _documented(), "the README and the tutorial show a newcomer commands in ```console blocks"


def test_every_documented_command_does_what_the_page_shows(after_the_demo: Shell) -> None:
    failures = []
    for command in _documented():
        done = after_the_demo.run(command.shell)
        output = done.stdout.splitlines()
        if done.returncode != command.status:
            failures.append(f"{command.source}: `{command.shell}` exited {done.returncode}, "
                            f"the page expects {command.status}:\n{done.stdout[-2000:]}")
        elif command.expected and not matches(command.expected, output):
            failures.append(f"{command.source}: `{command.shell}` printed:\n{done.stdout[-2000:]}\n"
                            "the page shows:\n" + "\n".join(command.expected))
    assert not failures, "\n\n".join(failures)
