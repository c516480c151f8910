"""The ```console blocks of the README and the docs, as commands to run and the output they promise.

In a ```console block a line starting with ``$ `` is a command (run from the repository root with the
venv active); the lines after it, up to the next command, are its output as the page shows it. A line
that is only ``...`` stands for any number of lines; ``...`` inside a line stands for any text there.
A command ending in ``# exit status N`` is expected to fail with status N; every other must succeed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)")
_EXIT = re.compile(r"\s+#\s*exit status\s+(\d+)\s*$")
ANY_LINES = "..."


@dataclass
class Command:
    source: str  # "docs/tutorial/index.md:42"
    line: str
    expected: list[str] = field(default_factory=list)

    @property
    def status(self) -> int:
        found = _EXIT.search(self.line)
        return int(found.group(1)) if found else 0

    @property
    def shell(self) -> str:
        return _EXIT.sub("", self.line)


def commands(path: Path, root: Path) -> list[Command]:
    """Every command of every ```console block in ``path``, in page order."""
    found: list[Command] = []
    fence: str | None = None
    in_console = False
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        opening = _FENCE.match(raw)
        if fence is None:
            if opening:
                fence, in_console = opening.group("fence"), opening.group("lang") == "console"
            continue
        if raw.strip() == fence:
            fence = None
            continue
        if not in_console:
            continue
        text = raw.rstrip()
        if text.startswith("$ "):
            found.append(Command(f"{path.relative_to(root)}:{number}", text[2:]))
        elif found and found[-1].source.startswith(f"{path.relative_to(root)}:"):
            found[-1].expected.append(text)
    return found


def _line_matches(expected: str, actual: str) -> bool:
    if ANY_LINES not in expected:
        return expected == actual
    pattern = ".*".join(re.escape(part) for part in expected.split(ANY_LINES))
    return re.fullmatch(pattern, actual) is not None


def matches(expected: list[str], actual: list[str]) -> bool:
    """Whether ``actual`` is what ``expected`` shows, ``...`` lines standing for any lines (none too)."""
    expected = _trim(expected)
    actual = _trim([a.rstrip() for a in actual])

    def at(i: int, j: int) -> bool:
        if i == len(expected):
            return j == len(actual)
        if expected[i].strip() == ANY_LINES:
            return any(at(i + 1, k) for k in range(j, len(actual) + 1))
        return j < len(actual) and _line_matches(expected[i], actual[j]) and at(i + 1, j + 1)

    return at(0, 0)


def _trim(lines: list[str]) -> list[str]:
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return lines[start:end]
