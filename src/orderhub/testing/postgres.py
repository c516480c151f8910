"""A throwaway PostgreSQL server for tests and benchmarks.

PostgreSQL refuses to run as root, so when run as root the data directory is
owned by ``postgres`` and the server programs run through ``runuser``.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_bindir() -> str | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    for path in reversed(candidates):
        if os.path.exists(os.path.join(path, "initdb")):
            return path
    return None


@dataclass
class PostgresServer:
    bindir: str
    port: int = field(default_factory=free_port)
    datadir: str = ""
    _as_root: bool = field(default_factory=lambda: os.geteuid() == 0)

    def _cmd(self, *args: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *args] if self._as_root else list(args)

    def start(self) -> "PostgresServer":
        self.datadir = tempfile.mkdtemp(prefix="orderhub-pg-")
        if self._as_root:
            shutil.chown(self.datadir, "postgres", "postgres")
        subprocess.run(
            self._cmd(f"{self.bindir}/initdb", "-D", self.datadir, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                      "--no-sync", "--locale=C.UTF-8"),
            check=True, capture_output=True,
        )
        opts = (f"-p {self.port} -k {self.datadir} -c listen_addresses=127.0.0.1 -c max_connections=200 "
                "-c fsync=on -c synchronous_commit=on -c shared_buffers=128MB")
        subprocess.run(
            self._cmd(f"{self.bindir}/pg_ctl", "-D", self.datadir, "-o", opts, "-l", f"{self.datadir}/log",
                      "-w", "-t", "60", "start"),
            check=True, capture_output=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"PostgreSQL did not start on port {self.port}; see {self.datadir}/log")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str, template: str | None = None) -> str:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as c:
            tmpl = f" TEMPLATE {template}" if template else ""
            c.execute(f'CREATE DATABASE "{name}"{tmpl}')
        return self.url(name)

    def stop(self) -> None:
        if not self.datadir:
            return
        subprocess.run(self._cmd(f"{self.bindir}/pg_ctl", "-D", self.datadir, "-m", "immediate", "-w", "stop"),
                       capture_output=True)
        shutil.rmtree(self.datadir, ignore_errors=True)
        self.datadir = ""


def start_postgres() -> PostgresServer:
    bindir = find_bindir()
    if bindir is None:
        raise RuntimeError("PostgreSQL server programs not found: apt-get install postgresql")
    return PostgresServer(bindir=bindir).start()
