"""The invoicing pipeline's files on SFTP: JSON Lines, one order per line, gzip-compressed or not.

Writing and reading both stream: a feed of a million orders never sits in memory. Names carry
the UTC time and the run that wrote them, so two runs never write the same file. A compressed
file may be several gzip members one after another (each block of lines compressed on its own,
so blocks can be compressed in parallel): ``gzip``, ``zcat`` and every reader here read it as
one stream. Members written here say their size in their header (an extra field, as BGZF
does), so a reader can hand them on whole, still compressed, to be inflated elsewhere.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from collections.abc import Iterator
from datetime import datetime
from typing import IO

from isal import isal_zlib  # ISA-L's deflate: some 5x zlib's speed at level 1 (and smaller), 2x inflating

FEED_PREFIX = "completed-orders-"
INVOICES_PREFIX = "invoices-"
GZIP_SUFFIX = ".gz"
_IN_CHUNK = 256 * 1024
_INFLATE_MAX = 4 * 1024 * 1024  # the most one piece of compressed input may grow into at a time
MAX_LINE_BYTES = 16 * 1024 * 1024  # an order of 500 lines is far below this
PIECE_BYTES = 512 * 1024  # of lines per gzip member written, and per piece handed on when reading


def file_name(prefix: str, at: datetime, run_id: int, compress: bool) -> str:
    return f"{prefix}{at.strftime('%Y%m%dT%H%M%SZ')}-run{run_id}.jsonl" + (GZIP_SUFFIX if compress else "")


def stem(name: str) -> str:
    """``completed-orders-X.jsonl.gz`` → ``completed-orders-X``."""
    return name.removesuffix(GZIP_SUFFIX).removesuffix(".jsonl")


# A member's header with FEXTRA (RFC 1952), its extra field one subfield "OH" of 4 bytes: the member's size.
_SIZED = struct.Struct("<4s4sBBH2sHI")
_SIZED_MAGIC, _SIZED_ID = b"\x1f\x8b\x08\x04", b"OH"
_TRAILER = struct.Struct("<II")


def gzip_member(data: bytes) -> bytes:
    """``data`` as one whole gzip member (ISA-L level 1: fast, ~7x smaller) whose header says its size."""
    deflater = isal_zlib.compressobj(1, isal_zlib.DEFLATED, -15)  # raw deflate: header and trailer written here
    body = deflater.compress(data) + deflater.flush()
    size = _SIZED.size + len(body) + _TRAILER.size
    return (_SIZED.pack(_SIZED_MAGIC, b"\0\0\0\0", 4, 255, 8, _SIZED_ID, 4, size) + body
            + _TRAILER.pack(isal_zlib.crc32(data), len(data) & 0xFFFFFFFF))


def gzip_members(lines: bytes, size: int) -> bytes:
    """Whole lines as gzip members of about ``size`` bytes of lines each (so a reader can pass on pieces of
    that size)."""
    out, start = [], 0
    while start < len(lines):
        end = lines.rfind(b"\n", start, start + size) + 1 if start + size < len(lines) else len(lines)
        if end <= start:  # a line longer than size: it makes a member of its own
            end = lines.find(b"\n", start + size) + 1 or len(lines)
        out.append(gzip_member(lines[start:end]))
        start = end
    return b"".join(out)


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


def read_blocks(stream: IO[bytes], name: str, size: int = 1024 * 1024) -> Iterator[tuple[int, bytes]]:
    """The file's lines a block at a time: ``(number of the block's first line, bytes)``, each block
    about ``size`` bytes of whole lines (the file's last line may lack its newline). Line numbers
    count every line, blank ones too, as :func:`read_lines` does, and a line longer than
    MAX_LINE_BYTES raises :class:`LineTooLong` at the same point; ``.gz`` files are decompressed
    as they are read."""
    number = 1  # of the first line not yet passed on
    pending: list[bytes] = []  # whole lines not yet passed on
    held = 0
    rest = b""  # the start of a line whose end is still to come
    for piece in _pieces(stream, name, max(min(size, _INFLATE_MAX), _IN_CHUNK)):
        end = piece.find(b"\n")
        if end < 0:
            rest += piece
        else:
            cut = piece.rfind(b"\n") + 1
            if len(rest) + cut > MAX_LINE_BYTES:  # long enough to hold a line that is too long: measure them
                for n, line in enumerate((rest + piece[:cut]).split(b"\n")[:-1]):
                    if len(line) >= MAX_LINE_BYTES:
                        raise _too_long(name, number, [*pending, b"\n" * n])
            pending += (rest, piece[:cut])
            held += len(rest) + cut
            rest = piece[cut:]
            if held >= size:
                block = b"".join(pending)
                yield number, block
                number += block.count(b"\n")
                pending, held = [], 0
        if len(rest) > MAX_LINE_BYTES:
            raise _too_long(name, number, pending)
    if pending or rest:
        yield number, b"".join(pending) + rest


def _too_long(name: str, number: int, before: list[bytes]) -> LineTooLong:
    """The line after the ``before`` ones (from line ``number``) is too long."""
    line = number + sum(p.count(b"\n") for p in before)
    return LineTooLong(f"{name} line {line} is longer than {MAX_LINE_BYTES} bytes")


def _pieces(stream: IO[bytes], name: str, most: int = _INFLATE_MAX) -> Iterator[bytes]:
    """The file's bytes in pieces (of at most ``most`` bytes, once inflated), decompressed if it is ``.gz``
    (one member or several)."""
    if not name.endswith(GZIP_SUFFIX):
        while chunk := stream.read(_IN_CHUNK):
            yield chunk
        return
    inflater, started = zlib.decompressobj(31), False
    while chunk := stream.read(_IN_CHUNK):
        while chunk:
            if not started:  # a member begins here (zero bytes between members are padding, as gzip has it)
                chunk = chunk.lstrip(b"\0")
                if not chunk:
                    break
                started = True
            while True:  # at most ``most`` bytes out at a time, however well the input compresses
                try:
                    out = inflater.decompress(chunk, most)
                except zlib.error as exc:
                    raise gzip.BadGzipFile(f"{name} is not a readable gzip file ({exc})") from None
                if out:
                    yield out
                chunk = inflater.unconsumed_tail
                if inflater.eof or (not chunk and len(out) < most):
                    break
            if inflater.eof:  # the member is complete: another may follow
                chunk = inflater.unused_data
                inflater, started = zlib.decompressobj(31), False
    if started:
        raise EOFError(f"{name} ends in the middle of its gzip data (cut short?)")


def read_pieces(stream: IO[bytes], name: str, size: int = PIECE_BYTES) -> Iterator[tuple[bool, bytes]]:
    """The file in pieces of whole lines, to be handed on: ``(True, member)`` for each gzip member
    whose header says its size (:func:`gzip_member`: the pieces of a file written here, passed on
    without being inflated), else ``(False, lines)``, about ``size`` bytes at a time as
    :func:`read_blocks` reads them. Sized members hold whole lines; :func:`piece_lines` opens either."""
    if not name.endswith(GZIP_SUFFIX):
        yield from ((False, block) for _, block in read_blocks(stream, name, size))
        return
    head = stream.read(_SIZED.size)
    if not _sized(head):
        yield from ((False, block) for _, block in read_blocks(_Prefixed(head, stream), name, size))
        return
    offset = 0
    while head:
        if not _sized(head):
            if not head.strip(b"\0") and _only_zeros(stream):  # padding at the end, as gzip allows
                return
            raise gzip.BadGzipFile(f"{name}: the gzip member at byte {offset} does not say its size, as the "
                                   "ones before it do; the file was not written by orderhub as it is")
        member_size = _SIZED.unpack(head)[7]
        rest = stream.read(member_size - len(head))
        if len(rest) < member_size - len(head):
            raise EOFError(f"{name} ends in the middle of its gzip data (cut short?)")
        yield True, head + rest
        offset += member_size
        head = stream.read(_SIZED.size)


def _only_zeros(stream: IO[bytes]) -> bool:
    while chunk := stream.read(_IN_CHUNK):
        if chunk.strip(b"\0"):
            return False
    return True


def _sized(head: bytes) -> bool:
    return (len(head) == _SIZED.size and head[:4] == _SIZED_MAGIC
            and _SIZED.unpack(head)[4:7] == (8, _SIZED_ID, 4))


class _Prefixed:
    """``head`` and then the rest of ``stream`` (what was read to look at the file's start is not lost)."""

    def __init__(self, head: bytes, stream: IO[bytes]) -> None:
        self.head, self.stream = head, stream

    def read(self, size: int = -1) -> bytes:
        if self.head:
            head, self.head = self.head, b""
            return head
        return self.stream.read(size)


def piece_lines(piece: tuple[bool, bytes]) -> bytes:
    """The lines of a piece of :func:`read_pieces`."""
    compressed, data = piece
    return isal_zlib.decompress(data, 31) if compressed else data
