"""The invoicing pipeline's files on SFTP: JSON Lines, one order per line, gzip-compressed or not.

Writing and reading both stream: a feed of a million orders never sits in memory. Names carry
the UTC time and the run that wrote them, so two runs never write the same file.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import IO

FEED_PREFIX = "completed-orders-"
INVOICES_PREFIX = "invoices-"
GZIP_SUFFIX = ".gz"
_OUT_CHUNK = 256 * 1024
MAX_LINE_BYTES = 16 * 1024 * 1024  # an order of 500 lines is far below this


def file_name(prefix: str, at: datetime, run_id: int, compress: bool) -> str:
    return f"{prefix}{at.strftime('%Y%m%dT%H%M%SZ')}-run{run_id}.jsonl" + (GZIP_SUFFIX if compress else "")


def stem(name: str) -> str:
    """``completed-orders-X.jsonl.gz`` → ``completed-orders-X``."""
    return name.removesuffix(GZIP_SUFFIX).removesuffix(".jsonl")


def chunked(lines: Iterable[bytes], compress: bool) -> Iterator[bytes]:
    """Lines gathered into chunks for the SFTP writer; gzip-compressed (level 1: fast, ~8x smaller) if asked."""
    if compress:
        packer = zlib.compressobj(1, zlib.DEFLATED, 31)  # wbits 31: a gzip member
        pending: list[bytes] = []
        size = 0
        for line in lines:
            pending.append(line)
            size += len(line)
            if size >= _OUT_CHUNK * 4:
                if out := packer.compress(b"".join(pending)):
                    yield out
                pending, size = [], 0
        yield packer.compress(b"".join(pending)) + packer.flush()
        return
    buffer: list[bytes] = []
    size = 0
    for line in lines:
        buffer.append(line)
        size += len(line)
        if size >= _OUT_CHUNK:
            yield b"".join(buffer)
            buffer, size = [], 0
    if buffer:
        yield b"".join(buffer)


class LineTooLong(ValueError):
    pass


def read_lines(stream: IO[bytes], name: str) -> Iterator[tuple[int, bytes]]:
    """``(line number, bytes)`` of each non-blank line; decompresses ``.gz`` files as it reads."""
    source: IO[bytes] = gzip.GzipFile(fileobj=stream, mode="rb") if name.endswith(GZIP_SUFFIX) else stream
    number = 0
    while raw := source.readline(MAX_LINE_BYTES + 1):
        number += 1
        if len(raw) > MAX_LINE_BYTES:
            raise LineTooLong(f"{name} line {number} is longer than {MAX_LINE_BYTES} bytes")
        if raw.strip():
            yield number, raw
