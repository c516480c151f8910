"""How `orderhub serve` runs uvicorn: connection limits and timeouts chosen, not defaulted."""

from __future__ import annotations

import ctypes
import ctypes.util
from typing import Any

from orderhub.config import Settings

_M_MMAP_THRESHOLD = -3  # glibc mallopt parameter
_MMAP_THRESHOLD_BYTES = 256 * 1024


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn options from the settings (see the Configuration table in the README)."""
    return {
        # Past this many connections (or requests in progress) uvicorn answers 503 at once.
        "limit_concurrency": settings.max_connections,
        "timeout_keep_alive": settings.keep_alive_seconds,
        "h11_max_incomplete_event_size": settings.max_header_bytes,
    }


def return_freed_memory() -> bool:
    """Make glibc serve large buffers (request bodies) from mmap, so freeing one returns it to the OS.

    glibc otherwise raises its mmap threshold after the first large free, and later bodies
    land on the heap, which rarely shrinks: the memory a burst took would stay taken.
    """
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES))
    except (OSError, AttributeError):
        return False
