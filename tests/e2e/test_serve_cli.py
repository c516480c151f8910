"""`orderhub serve` as a person starts it: it says where it listens, and a port in use is one line."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import httpx

from orderhub.testing.postgres import free_port
from tests.processes import CLI, wait_for

PATHS = "(console /, API /api, webhooks /webhooks/shopify)"


def _env(db_url: str) -> dict[str, str]:
    # INFO, so that a worker that started would say so in the output
    return dict(os.environ, ORDERHUB_DATABASE_URL=db_url, ORDERHUB_LOG_LEVEL="INFO")


def test_serve_prints_where_it_listens(sqlite_url: str, tmp_path: Path) -> None:
    port = free_port()
    out = tmp_path / "serve.out"
    with open(out, "wb") as sink:
        proc = subprocess.Popen([*CLI, "serve", "--port", str(port)], env=_env(sqlite_url),
                                stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.DEVNULL)
    try:
        line = wait_for(lambda: out.read_text(encoding="utf-8").strip(), timeout=30, what="the listening line",
                        describe=lambda: f"exit status {proc.poll()}")
        assert line == f"orderhub listening on http://127.0.0.1:{port} {PATHS}"
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
        assert health.status_code == 200  # it said so once bound: it answers
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_a_port_in_use_is_one_line_and_nothing_starts(sqlite_url: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = subprocess.run([*CLI, "serve", "--port", str(port)], env=_env(sqlite_url), capture_output=True,
                              text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 1
    assert done.stdout == ""
    # No worker_started line, no uvicorn traceback: the one line, and nothing began working.
    assert done.stderr == f"port {port} on 127.0.0.1 is in use; pick another with --port\n"
