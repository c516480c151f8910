"""Real ``orderhub`` processes for multi-process tests: start, wait until ready, kill.

Each process is ``python -m orderhub.entrypoints.cli ...`` started directly (no
shell in between), so its pid is the orderhub process itself and a SIGKILL
reaches exactly that process. stderr goes to a file under the test's tmp_path;
:meth:`Processes.report` returns the tail of every log for failure messages.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Self, TypeVar

import httpx

from orderhub.testing.postgres import free_port

T = TypeVar("T")
CLI = [sys.executable, "-m", "orderhub.entrypoints.cli"]


def wait_for(condition: Callable[[], T], *, timeout: float, what: str, interval: float = 0.05,
              describe: Callable[[], str] | None = None) -> T:
    """Poll ``condition`` until it returns something truthy; fail with ``what`` (and ``describe()``) on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            detail = f"\n{describe()}" if describe else ""
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}{detail}")
        time.sleep(interval)


class OrderhubProcess:
    """One running ``orderhub serve`` or ``orderhub worker``."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_path: Path,
                 port: int | None = None) -> None:
        self.name = name
        self.args = args
        self.port = port
        self.log_path = log_path
        self._log: IO[bytes] = open(log_path, "ab")  # noqa: SIM115 - closed in stop()/kill()
        self.popen = subprocess.Popen([*CLI, *args], env=env, stdin=subprocess.DEVNULL,
                                      stdout=self._log, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def url(self) -> str:
        assert self.port is not None, f"{self.name} is not an HTTP server"
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, chars: int = 3000) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return text[-chars:]

    def wait_healthy(self, timeout: float = 30.0) -> None:
        """Until GET /healthz answers 200; fails at once if the process exits first."""
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as client:
            while True:
                if not self.alive():
                    raise ProcessExited(self)
                try:
                    if client.get(f"{self.url}/healthz").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"{self.name} did not answer /healthz within {timeout:g}s\n"
                                         f"{self.log_tail()}")
                time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL the orderhub process itself (a crash: no shutdown code runs) and reap it."""
        if self.alive():
            os.kill(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)
        self._log.close()

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM, then SIGKILL if it has not exited within ``timeout``."""
        if self.alive():
            os.kill(self.popen.pid, signal.SIGTERM)
        self._reap(timeout)

    def _reap(self, timeout: float) -> None:
        """Wait up to ``timeout`` for the process to exit (SIGTERM sent already), then SIGKILL it."""
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)
        self._log.close()

    def __repr__(self) -> str:
        state = "running" if self.alive() else f"exited {self.popen.returncode}"
        return f"<{self.name} pid={self.pid} {state}>"


class ProcessExited(AssertionError):
    def __init__(self, proc: OrderhubProcess) -> None:
        self.proc = proc
        super().__init__(f"{proc.name} exited with {proc.popen.returncode}:\n{proc.log_tail()}")


class Processes:
    """Starts orderhub processes against one database and kills every leftover at the end."""

    def __init__(self, tmp_path: Path) -> None:
        self.dir = tmp_path / "processes"
        self.dir.mkdir(exist_ok=True)
        self.started: list[OrderhubProcess] = []
        self.database_url: str | None = None
        self._count = 0

    def env(self, **extra: str) -> dict[str, str]:
        assert self.database_url, "set Processes.database_url first"
        env = dict(os.environ)
        env.update(ORDERHUB_DATABASE_URL=self.database_url, ORDERHUB_LOG_LEVEL="WARNING",
                   PYTHONUNBUFFERED="1", **extra)
        return env

    def cli(self, *args: str, timeout: float = 60.0) -> str:
        """Run a one-shot command (``migrate``, ``shop add`` ...) and return its output; fail on error."""
        done = subprocess.run([*CLI, *args], env=self.env(), capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, check=False)
        if done.returncode != 0:
            raise AssertionError(f"orderhub {' '.join(args[:2])} failed ({done.returncode}):\n"
                                 f"{done.stdout}\n{done.stderr}")
        return done.stdout

    def _start(self, kind: str, args: list[str], port: int | None = None,
               env: dict[str, str] | None = None) -> OrderhubProcess:
        self._count += 1
        name = f"{kind}-{self._count}"
        proc = OrderhubProcess(name, args, self.env(**(env or {})), self.dir / f"{name}.log", port=port)
        self.started.append(proc)
        return proc

    def serve(self, port: int | None = None, *, worker: bool = False, timeout: float = 30.0,
              env: dict[str, str] | None = None, workers: int = 1) -> OrderhubProcess:
        """``orderhub serve`` on loopback (``workers`` server processes), returned once /healthz answers.

        Without a fixed port, a free one is picked; if another program takes it
        first, start again on another.
        """
        for attempt in range(3):
            chosen = port or free_port()
            proc = self._start("serve", ["serve", "--host", "127.0.0.1", "--port", str(chosen), "--workers",
                                         str(workers), "--worker" if worker else "--no-worker"], port=chosen, env=env)
            try:
                proc.wait_healthy(timeout)
                return proc
            except ProcessExited:
                if port is not None or attempt == 2 or "address already in use" not in proc.log_tail().lower():
                    raise
        raise AssertionError("unreachable")

    def worker(self, *args: str, env: dict[str, str] | None = None) -> OrderhubProcess:
        """``orderhub worker``; it has no health endpoint, so callers watch its effects (and :meth:`check`).

        ``env`` adds settings (``ORDERHUB_*``) for this process only.
        """
        return self._start("worker", ["worker", *args], env=env)

    def check(self, *procs: OrderhubProcess) -> None:
        """Fail with the log if any of these processes has exited."""
        for p in procs:
            if not p.alive():
                raise ProcessExited(p)

    def report(self) -> str:
        return "\n".join(f"--- {p!r} ({p.log_path}) ---\n{p.log_tail()}" for p in self.started)

    def cleanup(self, timeout: float = 3.0) -> None:
        """Stop every process still running; never leaves one behind. All get SIGTERM at once and share one
        ``timeout`` to exit (one after the other, five processes would take five times as long); SIGKILL
        for those still running then."""
        for p in self.started:
            if p.alive():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for p in self.started:
            try:
                p._reap(max(0.0, deadline - time.monotonic()))
            except (OSError, subprocess.SubprocessError):
                if p.alive():
                    os.kill(p.pid, signal.SIGKILL)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()
        if any(p.log_path.exists() and p.log_path.stat().st_size for p in self.started):
            print(self.report())  # pytest shows it only for a failed test


def running(tmp_path: Path) -> Iterator[Processes]:
    """Body of a ``processes`` fixture: yields a :class:`Processes` and kills leftovers afterwards."""
    with Processes(tmp_path) as procs:
        yield procs
