"""What a running job sees: its hub, shop and parameters, and where it reports what it did.

Counts (read, processed, skipped, failed), log lines, the input file it read and the
records it could not process go into the run's history; the heartbeat thread flushes
the log while the job works and tells it when the run was taken away (timed out, or
released by a person), which ``check()`` turns into :class:`JobAborted`. Long jobs also
report ``progress.total(n, unit)`` and ``progress.advance(k)``: the run's row shows it in
the console, and ``orderhub jobs run`` at the terminal.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from orderhub.adapters.store.job_store import MAX_LOG_LINES, Counts
from orderhub.clock import utcnow
from orderhub.services.progress import NOWHERE, Progress

if TYPE_CHECKING:
    from orderhub.adapters.store.shops import Shop
    from orderhub.bootstrap import Hub


class JobAborted(Exception):
    """The run is no longer this node's: it timed out, or a person released it."""


@dataclass
class JobContext:
    hub: Hub
    shop: Shop | None
    params: dict[str, Any]
    run_id: int
    counts: dict[str, int] = field(default_factory=lambda: {"read": 0, "processed": 0, "skipped": 0, "failed": 0})
    input_name: str | None = None
    progress: Progress = NOWHERE
    _lines: list[tuple[datetime, str, str]] = field(default_factory=list)
    _logged: int = 0
    _failed: list[bytes] = field(default_factory=list)
    _files: list[tuple[str, str, bytes]] = field(default_factory=list)
    _aborted: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, *, read: int = 0, processed: int = 0, skipped: int = 0, failed: int = 0) -> None:
        with self._lock:
            for key, n in (("read", read), ("processed", processed), ("skipped", skipped), ("failed", failed)):
                self.counts[key] += n

    def log(self, message: str, level: str = "info") -> None:
        with self._lock:
            if self._logged + len(self._lines) < MAX_LOG_LINES:
                self._lines.append((utcnow(), level, message))
            elif self._logged + len(self._lines) == MAX_LOG_LINES:
                self._lines.append((utcnow(), "warning", f"more than {MAX_LOG_LINES} log lines; the rest are dropped"))

    def failed_record(self, record: Any, error: str) -> None:
        """A record the job could not process: counted, and kept in the run's downloadable file."""
        self.count(failed=1)
        with self._lock:
            self._failed.append(orjson.dumps({"error": error, "record": record}, default=str))

    def read_file(self, name: str, content: bytes | None = None) -> None:
        """The input file this run reads (its content kept with the run, if given and not too big)."""
        self.input_name = name
        if content is not None and len(content) <= 10 * 1024 * 1024:
            self._files.append(("input", name.rsplit("/", 1)[-1], content))

    def write_file(self, name: str, content: bytes) -> None:
        self._files.append(("output", name.rsplit("/", 1)[-1], content))

    def check(self) -> None:
        """Call between units of work: stops the job if the run was taken from this node."""
        if self._aborted.is_set():
            raise JobAborted(f"run {self.run_id} was taken from this node (timed out or released)")

    # -- for the manager -------------------------------------------------------------------------------

    def abort(self) -> None:
        self._aborted.set()

    def take_lines(self) -> list[tuple[datetime, str, str]]:
        with self._lock:
            lines, self._lines = self._lines, []
            self._logged += len(lines)
            return lines

    def result_counts(self) -> Counts:
        return Counts(**self.counts)

    def files(self) -> list[tuple[str, str, bytes]]:
        out = list(self._files)
        if self._failed:
            out.append(("failed", f"run-{self.run_id}-failed.jsonl", b"\n".join(self._failed) + b"\n"))
        return out
