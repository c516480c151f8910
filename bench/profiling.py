"""Sampling profiles for the benchmarks: where a process spends its time, by function and by layer.

``Sampler(pid, path)`` runs py-spy (``py-spy record --format raw``) against a running process, so
the process is measured as it runs in the benchmark, unchanged (py-spy reads its memory from outside;
it needs the right to trace it: the same user, or root). ``summarise(path)`` reads the collapsed stacks
and says which functions the samples were in (self), which of orderhub's functions they passed
through (inclusive), and how they split between layers (the server stack, orderhub's modules,
SQLAlchemy, the database driver). Idle threads are not sampled, so the shares are of CPU time.

    py-spy's own overhead: it samples from another process (``--nonblocking``: the target is not paused),
    at ``rate`` samples a second; at 200/s it takes a few per cent of a core.

Run as a program, it profiles any benchmark whole, every process it starts included (the servers, the
worker processes, the load generator), and prints each busy process's profile after the benchmark's
own output, then one JSON line with them all:

    .venv/bin/python bench/profiling.py -- bench/console.py --quick
    .venv/bin/python bench/profiling.py --rate 100 --top 20 -- bench/oms.py --quick --no-pg
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Where a frame's file lies decides its layer (first match wins).
# py-spy names files by their module path (``orderhub/adapters/store/inbox.py``, ``asyncio/timeouts.py``).
LAYERS = (
    ("orderhub", "orderhub/"),
    ("sqlalchemy", "sqlalchemy/"),
    ("psycopg", "psycopg"),
    ("sqlite3", "sqlite3/"),
    ("uvicorn", "uvicorn/"),
    ("starlette/fastapi", "starlette/"),
    ("starlette/fastapi", "fastapi/"),
    ("asyncio", "asyncio/"),
    ("asyncio", "concurrent/"),
    ("prometheus", "prometheus_client/"),
    ("structlog", "structlog/"),
)


def available() -> bool:
    return _py_spy() is not None


def _py_spy() -> str | None:
    here = Path(sys.executable).parent / "py-spy"
    return str(here) if here.exists() else shutil.which("py-spy")


class Sampler:
    """py-spy recording one process until :meth:`stop`."""

    def __init__(self, pid: int, path: Path, *, rate: int = 200, subprocesses: bool = False) -> None:
        exe = _py_spy()
        if exe is None:
            raise RuntimeError("py-spy is not installed: it comes with the test extras (`./scripts/test` installs "
                               "them, or `.venv/bin/pip install -e '.[test]'`)")
        self.path = path
        cmd = [exe, "record", "--pid", str(pid), "--format", "raw", "--rate", str(rate), "--nonblocking",
               "--output", str(path)]
        if subprocesses:
            cmd.append("--subprocesses")
        self._proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def stop(self) -> Path | None:
        """Stop sampling and write the profile; None when py-spy could not (it says why on stderr)."""
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGINT)
        try:
            _, err = self._proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            _, err = self._proc.communicate()
        if not self.path.exists():
            print(f"py-spy wrote no profile: {err.decode(errors='replace').strip()[-300:]}", file=sys.stderr)
            return None
        return self.path


@dataclass
class Profile:
    samples: int
    self_time: Counter[str]  # function (file:name) -> samples where it was the innermost frame
    inclusive: Counter[str]  # orderhub function -> samples where it was anywhere on the stack
    layers: Counter[str]  # layer of the innermost frame -> samples

    def share(self, counter: Counter[str], key: str) -> float:
        return counter[key] / self.samples if self.samples else 0.0

    def as_dict(self, top: int = 15) -> dict[str, Any]:
        def rows(counter: Counter[str]) -> list[list[Any]]:
            return [[k, round(v / self.samples, 4)] for k, v in counter.most_common(top)] if self.samples else []
        return {"samples": self.samples, "layers": rows(self.layers), "self": rows(self.self_time),
                "orderhub_inclusive": rows(self.inclusive)}


def _frame_name(frame: str) -> tuple[str, str]:
    """``name (path/to/file.py:12)`` -> (``file.py:name``, path)."""
    name, _, rest = frame.partition(" (")
    path = rest.rsplit(":", 1)[0] if rest else ""
    short = path.rsplit("/", 1)[-1]
    return (f"{short}:{name}" if short else name), path


def layer_of(path: str) -> str:
    for layer, marker in LAYERS:
        if path.startswith(marker) or f"/{marker}" in path:
            return layer
    return "other" if path else "native"


def summarise(path: Path, process: str | None = None) -> Profile:
    """The profile in py-spy's raw output at ``path`` (only the process whose frame starts with ``process``,
    when given: a recording made with ``--subprocesses`` names each stack's process first)."""
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    layers: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        if process is not None and not stack.startswith(process):
            continue
        count = int(count_text)
        total += count
        frames = [f for f in stack.split(";") if f and not f.startswith("process ") and not f.startswith("thread ")]
        if not frames:
            continue
        name, file_path = _frame_name(frames[-1])
        self_time[name] += count
        layers[layer_of(file_path)] += count
        seen: set[str] = set()
        for frame in frames:
            fname, fpath = _frame_name(frame)
            if layer_of(fpath) == "orderhub" and fname not in seen:
                seen.add(fname)
                inclusive[fname] += count
    return Profile(total, self_time, inclusive, layers)


def print_profile(title: str, profile: Profile, top: int = 12) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(file=sys.stdout, width=160)
    t = Table(title=f"{title}: {profile.samples:,} samples of CPU", title_justify="left")
    for col in ("layer (innermost frame)", "share", "hottest functions (self)", "share ",
                "orderhub functions (inclusive)", "share  "):
        t.add_column(col, justify="right" if col.startswith("share") else "left")
    layers = profile.layers.most_common(top)
    selfs = profile.self_time.most_common(top)
    incl = profile.inclusive.most_common(top)
    for i in range(max(len(layers), len(selfs), len(incl))):
        cells: list[str] = []
        for items in (layers, selfs, incl):
            if i < len(items):
                cells += [items[i][0], f"{items[i][1] / profile.samples:.0%}"]
            else:
                cells += ["", ""]
        t.add_row(*cells)
    console.print(t)


def processes(path: Path) -> Counter[str]:
    """Samples per process in a recording made with ``--subprocesses`` (by its ``process N:"command"`` frame)."""
    found: Counter[str] = Counter()
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if stack.startswith("process ") and count_text.isdigit():
            found[stack.split(";", 1)[0]] += int(count_text)
    return found


def main(argv: list[str] | None = None) -> int:
    import argparse
    import os
    import tempfile

    import orjson

    ap = argparse.ArgumentParser(description="Run a benchmark under py-spy, every process it starts included, "
                                             "and say where each busy process's CPU went.")
    ap.add_argument("--rate", type=int, default=200, help="samples a second (default 200)")
    ap.add_argument("--top", type=int, default=12, help="rows per table (default 12)")
    ap.add_argument("--min-share", type=float, default=0.05,
                    help="profile the processes with at least this share of all samples (default 0.05)")
    ap.add_argument("--out", type=Path, default=None, help="keep py-spy's raw recording here")
    ap.add_argument("command", nargs=argparse.REMAINDER, help="-- the benchmark and its arguments")
    args = ap.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    exe = _py_spy()
    if not command or exe is None:
        ap.error("give the benchmark after --" if command else "py-spy is not installed (the test extras bring it)")
    out = args.out or Path(tempfile.mkdtemp(prefix="orderhub-profile-")) / "recording.pyspy"
    src = str(Path(__file__).resolve().parent.parent / "src")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")])))
    code = subprocess.call([exe, "record", "--subprocesses", "--nonblocking", "--format", "raw", "--rate",
                            str(args.rate), "--output", str(out), "--", sys.executable, *command], env=env)
    if not out.exists():
        print(f"py-spy wrote no recording (exit {code})", file=sys.stderr)
        return code or 1
    per_process = processes(out)
    total = sum(per_process.values()) or 1
    profiles = {}
    for name, samples in per_process.most_common():
        if samples / total < args.min_share:
            break
        profiles[name] = summarise(out, name)
        print_profile(f"{name[:100]} ({samples / total:.0%} of all samples)", profiles[name], args.top)
    print(orjson.dumps({"bench": "profile", "command": command, "exit": code, "recording": str(out),
                        "samples": total, "processes": {k: v.as_dict(args.top) for k, v in profiles.items()}}
                       ).decode())
    return code


if __name__ == "__main__":
    sys.exit(main())
