"""Invoicing's files: gzip members that say their size, and reading a file a block or a piece at a
time exactly as reading it line by line does (numbering, blank lines, lines that are too long)."""

from __future__ import annotations

import gzip
import io
import random
import zlib
from typing import Any

import pytest

from orderhub.services.invoicing import files


def _lines_of_blocks(blocks: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
    """(number, line) of each non-blank line, as read_lines gives them."""
    out = []
    for first, block in blocks:
        parts = block.split(b"\n")
        for k, part in enumerate(parts):
            raw = part + b"\n" if k < len(parts) - 1 else part
            if raw.strip():
                out.append((first + k, raw))
    return out


def _files(rng: random.Random) -> tuple[bytes, list[tuple[str, bytes]]]:
    lines = [b"x" * rng.choice([0, 1, 5, 100, 3000]) + rng.choice([b"", b" ", b"\r"])
             for _ in range(rng.randrange(0, 60))]
    data = b"\n".join(lines) + rng.choice([b"", b"\n"])
    cut = rng.randrange(1, 2000)
    members = b"".join(files.gzip_member(data[i:i + cut]) for i in range(0, len(data), cut))
    padding = b"\0\0\0" if members else b""  # zeros after a member are padding, as gzip has it
    return data, [("f.jsonl", data), ("f.jsonl.gz", gzip.compress(data)), ("f.jsonl.gz", members + padding)]


def test_blocks_hold_the_lines_read_lines_reads_with_their_numbers() -> None:
    rng = random.Random(1)
    for _ in range(200):
        _, variants = _files(rng)
        size = rng.choice([1, 10, 1000, 100_000])
        for name, blob in variants:
            expected = list(files.read_lines(io.BytesIO(blob), name))
            assert _lines_of_blocks(list(files.read_blocks(io.BytesIO(blob), name, size))) == expected


TOO_LONG = [b"a\n" + b"y" * 60 + b"\nb\n", b"a\n" + b"y" * 49 + b"\n", b"a\n" + b"y" * 50 + b"\n",
            b"a\nb\n" + b"y" * 51, b"a\nb\n" + b"y" * 50, b"a\n\n\n" + b"y" * 49 + b"\n" + b"z" * 55]


def _problem(read: Any, blob: bytes, name: str) -> str | None:
    try:
        list(read(io.BytesIO(blob), name))
    except files.LineTooLong as exc:
        return str(exc)
    return None


@pytest.mark.parametrize("data", TOO_LONG)
@pytest.mark.parametrize("chunk", [3, 1000])
def test_a_line_too_long_is_refused_at_the_same_line(monkeypatch: pytest.MonkeyPatch, data: bytes, chunk: int) -> None:
    monkeypatch.setattr(files, "MAX_LINE_BYTES", 50)
    monkeypatch.setattr(files, "_IN_CHUNK", chunk)
    for name, blob in (("f.jsonl", data), ("f.jsonl.gz", gzip.compress(data))):
        assert _problem(files.read_lines, blob, name) == _problem(
            lambda stream, name: files.read_blocks(stream, name, 3), blob, name)


def test_members_say_their_size_and_read_as_one_gzip_file() -> None:
    data = b"".join(b'{"order_id": %d, "pad": "%s"}\n' % (n, b"y" * (n % 700)) for n in range(4000))
    blob = files.gzip_members(data, 100_000)
    assert gzip.decompress(blob) == data  # what gzip, zcat and GzipFile read
    assert b"".join(raw for _, raw in files.read_lines(io.BytesIO(blob), "f.jsonl.gz")) == data
    pieces = list(files.read_pieces(io.BytesIO(blob), "f.jsonl.gz"))
    assert len(pieces) > 5 and all(compressed for compressed, _ in pieces)  # handed on without inflating
    lines = [files.piece_lines(piece) for piece in pieces]
    assert b"".join(lines) == data and all(piece.endswith(b"\n") and len(piece) <= 100_000 for piece in lines)


def test_other_files_are_read_a_block_of_lines_at_a_time() -> None:
    data = b"".join(b'{"n": %d}\n' % n for n in range(50_000))
    for name, blob in (("f.jsonl.gz", gzip.compress(data)), ("f.jsonl", data),
                       ("f.jsonl.gz", zlib.compress(data, 1, wbits=31))):
        pieces = list(files.read_pieces(io.BytesIO(blob), name, 64 * 1024))
        assert not any(compressed for compressed, _ in pieces) and len(pieces) >= 3
        assert b"".join(files.piece_lines(piece) for piece in pieces) == data


def test_a_cut_or_mixed_file_says_so() -> None:
    blob = files.gzip_members(b"a\nb\n" * 1000, 1000)
    with pytest.raises(EOFError, match="f.jsonl.gz ends in the middle of its gzip data"):
        list(files.read_pieces(io.BytesIO(blob[:-10]), "f.jsonl.gz"))
    with pytest.raises(gzip.BadGzipFile, match="does not say its size"):
        list(files.read_pieces(io.BytesIO(blob + gzip.compress(b"c\n")), "f.jsonl.gz"))
    with pytest.raises(gzip.BadGzipFile, match="is not a readable gzip file"):
        list(files.read_blocks(io.BytesIO(b"\x1f\x8b\x08\x00garbage" * 10), "f.jsonl.gz"))
