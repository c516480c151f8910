"""Files as lines, for privacy requests: JSON Lines and CSV files that jobs kept in the database or wrote to
SFTP, gzip-compressed or not. A line is about a person when it mentions them, or (a JSON line) names one of
their orders by orderhub's id (``order_id``, as the invoicing feed writes it); such a line is scrubbed (JSON
field by field, staying JSON), every other line is kept byte for byte."""

from __future__ import annotations

import zlib
from collections.abc import Collection, Iterable, Iterator
from typing import Any

import orjson

from orderhub.services.privacy.scrub import Person, scrub_document

GZIP_MAGIC = b"\x1f\x8b"
MAX_INFLATED = 256 * 1024 * 1024  # a kept file that inflates to more than this is not read further


def inflate(data: bytes) -> bytes:
    """Every gzip member of ``data`` inflated (bounded); ``data`` itself when it is not gzip."""
    if data[:2] != GZIP_MAGIC:
        return data
    out: list[bytes] = []
    size = 0
    rest = data
    try:
        while rest[:2] == GZIP_MAGIC and size < MAX_INFLATED:
            inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
            piece = inflater.decompress(rest, MAX_INFLATED - size)
            out.append(piece)
            size += len(piece)
            rest = inflater.unused_data
    except zlib.error:
        return data
    return b"".join(out)


def deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    return compressor.compress(data) + compressor.flush()


def _order_ids(value: Any, depth: int = 0) -> Iterator[int]:
    if depth > 3:
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "order_id" and isinstance(v, int) and not isinstance(v, bool):
                yield v
            elif isinstance(v, (dict, list)):
                yield from _order_ids(v, depth + 1)
    elif isinstance(value, list):
        for v in value[:50]:
            yield from _order_ids(v, depth + 1)


def about(person: Person, line: bytes, order_ids: Collection[int]) -> bool:
    text = line.decode("utf-8", errors="replace")
    if person.mentions(text):
        return True
    if order_ids and text.lstrip()[:1] == "{":
        try:
            return any(i in order_ids for i in _order_ids(orjson.loads(line)))
        except orjson.JSONDecodeError:
            return False
    return False


def scrub_line(person: Person, line: bytes) -> bytes:
    body, newline = (line[:-1], b"\n") if line.endswith(b"\n") else (line, b"")
    text = body.decode("utf-8", errors="replace")
    return (scrub_document(person, text) or "").encode() + newline


def scrub_lines(person: Person, lines: Iterable[bytes], order_ids: Collection[int]) -> Iterator[tuple[bytes, bool]]:
    """Each line, scrubbed when it is about the person, with whether it was."""
    for line in lines:
        if about(person, line, order_ids):
            yield scrub_line(person, line), True
        else:
            yield line, False


def mentions(person: Person, data: bytes, order_ids: Collection[int] = ()) -> bool:
    return any(about(person, line, order_ids) for line in inflate(data).splitlines(keepends=True))


def scrub_file(person: Person, data: bytes, order_ids: Collection[int] = ()) -> bytes | None:
    """The file without the person (compressed again if it was), or None when no line was about them."""
    plain = inflate(data)
    changed = False
    out: list[bytes] = []
    for line, hit in scrub_lines(person, plain.splitlines(keepends=True), order_ids):
        out.append(line)
        changed = changed or hit
    if not changed:
        return None
    joined = b"".join(out)
    return deflate(joined) if data[:2] == GZIP_MAGIC and plain is not data else joined
