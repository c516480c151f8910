"""How much memory a process has needed at most: what the benchmarks report, and what the
invoicing jobs say of their worker processes."""

from __future__ import annotations

import resource


def peak_rss_mb(pid: int | None = None) -> float | None:
    """The process's peak resident set in MB (Linux's ``VmHWM``; this process by default); None
    where ``/proc`` cannot tell (another system, or the process is gone).

    ``VmHWM`` rather than ``ru_maxrss``, which Linux carries over from the parent across exec:
    a spawned child would start at its parent's peak."""
    try:
        with open(f"/proc/{'self' if pid is None else pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return None


def own_peak_mb() -> float:
    """This process's peak resident set in MB, from ``ru_maxrss`` where ``/proc`` cannot tell."""
    peak = peak_rss_mb()
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB
