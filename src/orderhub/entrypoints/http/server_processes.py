"""``orderhub serve --workers N``: N server processes answering on one port.

The parent binds the socket once and hands it to each child (the kernel spreads the connections
between the processes accepting on it); each child builds its own hub and serves the whole app. The
embedded worker, when on, runs once, in the parent. A child that dies is started again; SIGINT or
SIGTERM stop them all, each finishing the requests it holds (uvicorn's graceful shutdown).

A webhook is committed before its 200 whichever process answers it: each has its own group-commit
writer. On SQLite the processes take turns on the database's one write lock, so more processes help
where the server's CPU is the limit (more cores than one); on PostgreSQL they write side by side.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import socket
import threading
import time
from multiprocessing.process import BaseProcess
from typing import Any

import structlog

from orderhub.config import Settings

log = structlog.get_logger(__name__)

multiprocessing.allow_connection_pickling()  # a listening socket goes to each child as it starts
_SPAWN = multiprocessing.get_context("spawn")  # a fresh interpreter: no engine or thread copied by fork
_RESTART_PAUSE_SECONDS = 1.0
_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    """SIGTERM to this process when the parent dies, however it dies (SIGKILL included): no orphan keeps the
    port. Linux only (prctl PR_SET_PDEATHSIG); elsewhere a killed parent leaves its children to be stopped."""
    name = ctypes.util.find_library("c")
    if name:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(name).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # it died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _serve_child(settings: Settings, sock: socket.socket, parent: int) -> None:
    """One server process: the app on the shared socket until SIGINT/SIGTERM."""
    import uvicorn

    from orderhub import logs
    from orderhub.bootstrap import build
    from orderhub.entrypoints.http import serving
    from orderhub.entrypoints.http.app import create_app

    _die_with_parent(parent)
    logs.configure(settings.log_level, settings.log_json)
    serving.return_freed_memory()
    hub = build(settings)
    try:
        server = uvicorn.Server(uvicorn.Config(create_app(hub), log_level="warning", access_log=False,
                                               **serving.server_options(settings)))
        server.run(sockets=[sock])
    finally:
        hub.close()


class ServerProcesses:
    """The children serving ``sock``, kept at ``count`` until :meth:`stop`."""

    def __init__(self, settings: Settings, sock: socket.socket, count: int) -> None:
        self.settings, self.sock, self.count = settings, sock, count
        self.children: list[BaseProcess] = []
        self._stopping = threading.Event()

    def _start_one(self) -> BaseProcess:
        child = _SPAWN.Process(target=_serve_child, args=(self.settings, self.sock, os.getpid()),
                               name="orderhub-server",
                               daemon=False)
        child.start()
        return child

    def start(self) -> ServerProcesses:
        self.children = [self._start_one() for _ in range(self.count)]
        return self

    def watch(self) -> None:
        """Until :meth:`stop` (or SIGINT/SIGTERM): start again any child that exits."""
        while not self._stopping.wait(0.5):
            for i, child in enumerate(self.children):
                if not child.is_alive() and not self._stopping.is_set():
                    log.error("server_process_exited", pid=child.pid, exitcode=child.exitcode)
                    time.sleep(_RESTART_PAUSE_SECONDS)
                    self.children[i] = self._start_one()

    def stop(self, timeout: float = 30.0) -> None:
        self._stopping.set()
        for child in self.children:
            if child.is_alive() and child.pid is not None:
                _signal(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for child in self.children:
            child.join(max(0.0, deadline - time.monotonic()))
            if child.is_alive():
                child.kill()
                child.join()

    def stop_on_signals(self) -> None:
        """SIGINT and SIGTERM end :meth:`watch` (the caller then calls :meth:`stop`)."""
        def handler(_signum: int, _frame: Any) -> None:
            self._stopping.set()
        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # it exited meanwhile
        os.kill(pid, sig)
