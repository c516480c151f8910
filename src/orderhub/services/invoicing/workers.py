"""A few worker processes for a pure, CPU-bound step (the invoice transform), so a job can use
every CPU: tasks go out round-robin, results come back in the order the tasks were given, and
only a few tasks are in flight per worker, so memory stays flat.

Each worker is a fresh ``python`` that imports only the module of the function it runs (not
the job's whole process, as ``multiprocessing``'s spawn would: it re-imports the parent's
``__main__``), and talks over its stdin and stdout: length-prefixed pickles. Closing its
stdin ends it; a worker also ends when its parent dies (its stdin closes).
"""

from __future__ import annotations

import importlib
import os
import pickle
import queue
import signal
import struct
import subprocess
import sys
import threading
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from orderhub.memory import peak_rss_mb

_HEADER = struct.Struct("<Q")
_BOOT = "from orderhub.services.invoicing.workers import serve; serve()"


def cpus() -> int:
    """The CPUs this process may run on (fewer than the machine's under an affinity mask or a container)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


class WorkerError(RuntimeError):
    """A worker process died, or could not be started."""


class Pool:
    """``processes`` workers running ``function`` (a module-level function of a light module: the
    workers import it) as ``function(*fixed, task)``; with ``processes=0`` the tasks run here, in
    the caller's thread. ``fixed`` and the tasks and results must pickle."""

    def __init__(self, function: Callable[..., Any], *fixed: Any, processes: int) -> None:
        self.function, self.fixed = function, fixed
        self._workers: list[_Worker] = []
        self._local = None if processes else function
        name = f"{function.__module__}:{function.__qualname__}"
        try:
            for n in range(processes):
                self._workers.append(_Worker(n, pickle.dumps((name, fixed), pickle.HIGHEST_PROTOCOL)))
        except BaseException:
            self.close(kill=True)
            raise
        self.peak_rss_mb: list[float] = []  # each worker's peak resident set, once closed (Linux)

    @property
    def processes(self) -> int:
        return len(self._workers)

    def map(self, tasks: Iterable[Any], ahead: int = 2) -> Iterator[Any]:
        """The result of each task, in order; at most ``ahead`` tasks wait per worker. A task
        that raised raises here (the worker's exception, when it can be sent back)."""
        if self._local is not None:
            for task in tasks:
                yield self._local(*self.fixed, task)
            return
        waiting: deque[_Worker] = deque()
        given = iter(tasks)
        turn = 0
        while True:
            try:
                task = next(given)
            except StopIteration:
                break
            except Exception:  # the tasks given are done first, as they would have been without workers
                while waiting:
                    yield waiting.popleft().receive()
                raise
            worker = self._workers[turn % len(self._workers)]
            turn += 1
            worker.send(task)
            waiting.append(worker)
            if len(waiting) >= len(self._workers) * ahead:
                yield waiting.popleft().receive()
        while waiting:
            yield waiting.popleft().receive()

    def close(self, *, kill: bool = False) -> None:
        """End the workers: at once with ``kill``, else once they have done what they were given."""
        self.peak_rss_mb = [peak for w in self._workers if (peak := w.peak_rss_mb()) is not None]
        for worker in self._workers:
            worker.stop(kill)
        for worker in self._workers:
            worker.join(kill)
        self._workers = []

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, kind: object, *exc: object) -> None:
        self.close(kill=kind is not None)


class _Worker:
    def __init__(self, number: int, setup: bytes) -> None:
        self.number = number
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parents[3])  # the folder that holds orderhub/
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        try:
            self.process = subprocess.Popen([sys.executable, "-P", "-c", _BOOT], stdin=subprocess.PIPE,
                                            stdout=subprocess.PIPE, env=env, close_fds=True)
        except OSError as exc:
            raise WorkerError(f"cannot start a worker process ({exc})") from exc
        assert self.process.stdin is not None and self.process.stdout is not None
        # A thread writes the tasks and one reads the answers, so that a full pipe never stops
        # either side: the caller goes on while the worker is busy, the worker while the caller is.
        self._frames: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._answers: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._writer = threading.Thread(target=self._write, args=(self.process.stdin,),
                                        name=f"invoicing-worker-{number}-writer", daemon=True)
        self._reader = threading.Thread(target=self._read, args=(self.process.stdout,),
                                        name=f"invoicing-worker-{number}-reader", daemon=True)
        self._writer.start()
        self._reader.start()
        self._frames.put(setup)

    def _write(self, pipe: IO[bytes]) -> None:
        try:
            while (frame := self._frames.get()) is not None:
                pipe.write(_HEADER.pack(len(frame)))
                pipe.write(frame)
                pipe.flush()
        except OSError:
            pass  # the worker is gone: receive() says so
        finally:
            try:
                pipe.close()
            except OSError:
                pass

    def _read(self, pipe: IO[bytes]) -> None:
        try:
            while (frame := _read(pipe)) is not None:
                self._answers.put(frame)
        except (OSError, ValueError):
            pass  # closed
        finally:
            self._answers.put(None)

    def send(self, task: Any) -> None:
        self._frames.put(pickle.dumps(task, pickle.HIGHEST_PROTOCOL))

    def receive(self) -> Any:
        frame = self._answers.get()
        if frame is None:
            self._answers.put(None)  # for any later receive()
            code = self.process.wait()
            raise WorkerError(f"worker process {self.number} (pid {self.process.pid}) ended with exit code {code} "
                              "before it answered; see its output above")
        status, value = pickle.loads(frame)
        if status == "ok":
            return value
        error, text = value
        raise error from WorkerError(f"in worker process {self.number}:\n{text}")

    def peak_rss_mb(self) -> float | None:
        return peak_rss_mb(self.process.pid)

    def stop(self, kill: bool) -> None:
        self._frames.put(None)
        if kill and self.process.poll() is None:
            self.process.kill()

    def join(self, kill: bool) -> None:
        try:
            self.process.wait(timeout=5 if kill else 60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._writer.join(timeout=5)
        self._reader.join(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()


def _load(function: str) -> Any:
    module, _, name = function.partition(":")
    return getattr(importlib.import_module(module), name)


def serve() -> None:
    """A worker's main loop (``python -c``): the first frame names the function, each next is a task."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent, which ends its workers
    inp = sys.stdin.buffer
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed goes to stderr, not into the answers
    frame = _read(inp)
    if frame is None:
        return
    name, fixed = pickle.loads(frame)
    function = _load(name)
    while (frame := _read(inp)) is not None:
        try:
            answer = pickle.dumps(("ok", function(*fixed, pickle.loads(frame))), pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 - sent back, raised in the parent
            text = traceback.format_exc()
            try:
                answer = pickle.dumps(("error", (exc, text)), pickle.HIGHEST_PROTOCOL)
            except Exception:  # noqa: BLE001 - an exception that does not pickle
                answer = pickle.dumps(("error", (WorkerError(f"{type(exc).__name__}: {exc}"), text)))
        out.write(_HEADER.pack(len(answer)))
        out.write(answer)
        out.flush()


def _read(pipe: IO[bytes]) -> bytes | None:
    """The next frame; None at the end (or when the other side stopped half way through one)."""
    header = pipe.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    size = _HEADER.unpack(header)[0]
    frame = pipe.read(size)
    return frame if len(frame) == size else None
