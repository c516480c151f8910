"""Progress at the terminal: a bar (counts, rate, time left) when a person watches, periodic plain
lines on standard error when the output goes to a file or a pipe.

Commands that run long work pass :func:`terminal` to it, e.g.
``JobManager(hub).run_now(name, shop, params, progress=[terminal()])``, or wrap their own work in
``with reporting(label) as progress: ...``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from orderhub.adapters.store import migrate
from orderhub.adapters.store.db import Database
from orderhub.services import progress as work
from orderhub.services.progress import PlainLines, Sink, State

PLAIN_EVERY = 5.0  # seconds between plain lines


class Bar:
    """Rich's progress bar, on standard error, started at the first report and stopped at the end."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def update(self, state: State) -> None:
        if self._bar is None:
            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[unit]}"), TextColumn("{task.fields[rate]}"),
                                 TimeRemainingColumn(), console=self._console, transient=True)
            self._bar.start()
            self._task = self._bar.add_task(state.label, total=state.total, unit=state.unit, rate="")
        assert self._task is not None
        rate = state.rate
        self._bar.update(self._task, completed=state.done, total=state.total, unit=state.unit,
                         rate=f"{work.amount(rate)}/s" if rate else "")

    def close(self, state: State) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        if state.done or state.total:
            self._console.print(work.line(state), highlight=False)


def terminal(stream: TextIO | None = None, *, every: float = PLAIN_EVERY) -> Sink:
    """The sink for this terminal: a bar if ``stream`` (standard error) is one, else plain lines."""
    stream = stream or sys.stderr
    console = Console(file=stream)
    if console.is_terminal:
        return Bar(console)

    def write(text: str) -> None:
        print(text, file=stream, flush=True)

    return PlainLines(write, every=every)


@contextmanager
def reporting(label: str, stream: TextIO | None = None) -> Iterator[work.Progress]:
    """A :class:`~orderhub.services.progress.Progress` shown at this terminal, closed at the end."""
    progress = work.Progress(label, [terminal(stream)])
    try:
        yield progress
    finally:
        progress.close()


def upgrade_database(db: Database) -> None:
    """``migrate.upgrade`` with a bar (or lines) counting the migrations as they are applied."""
    steps = migrate.pending(db)
    with reporting("migrate") as progress:
        progress.total(len(steps), "migrations")
        migrate.upgrade(db, on_step=lambda _revision: progress.advance())
