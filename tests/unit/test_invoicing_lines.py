"""A piece of feed lines in, invoice lines out (orderhub.services.invoicing.invoice_lines): the same
lines, line numbers and problems as transforming the file line by line, however it is cut."""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import pytest

from orderhub.adapters.sftp import RemoteFile
from orderhub.domain.invoicing import FeedError, NotInvoiceable, Options, transform
from orderhub.services.invoicing import files, workers
from orderhub.services.invoicing.invoice_lines import (
    Refused,
    Unreadable,
    transform_block,
)
from orderhub.services.jobs import invoicing_transform
from orderhub.services.progress import Progress, State
from tests.unit.test_invoicing_transform import record


def _feed() -> bytes:
    lines = []
    for n in range(1, 301):
        r = record(order_id=n, name=f"#{1000 + n}", number=str(1000 + n))
        if n % 50 == 7:
            r["billing"] = r["billing"] | {"first_name": "N" * 31}  # refused: too long
        if n % 50 == 9:
            r["items"][0]["quantity"] = 5  # unreadable: more than ordered
        lines.append(orjson.dumps(r))
        if n % 60 == 3:
            lines.append(b"   ")  # blank: numbered, skipped
        if n % 70 == 5:
            lines.append(b'{"v": 1, "order_id": ')  # not JSON
    return b"\n".join(lines) + b"\n"


def _line_by_line(data: bytes, options: Options) -> tuple[bytes, list[Any], int]:
    """What transform-invoices did before it worked a piece at a time."""
    out, failures, read = [], [], 0
    for number, raw in files.read_lines(io.BytesIO(data), "f.jsonl"):
        read += 1
        try:
            r = orjson.loads(raw)
            docs = transform(r, options)
        except orjson.JSONDecodeError as exc:
            failures.append(("unreadable", number, raw, f"is not JSON ({exc})"))
            continue
        except FeedError as exc:
            failures.append(("unreadable", number, raw, str(exc)))
            continue
        except NotInvoiceable as exc:
            failures.append(("refused", r, str(exc), exc.field))
            continue
        out.append(orjson.dumps(docs.line(), default=str) + b"\n")
    return b"".join(out), failures, read


def _by_pieces(blob: bytes, name: str, options: Options, size: int) -> tuple[bytes, list[Any], int]:
    out, failures, read, before = [], [], 0, 0
    for piece in files.read_pieces(io.BytesIO(blob), name, size):
        done = transform_block(options, name.endswith(".gz"), piece)
        read += done.read
        assert done.written == done.read - len(done.failures)
        for failure in done.failures:
            if isinstance(failure, Refused):
                error = failure.error()
                failures.append(("refused", failure.record, str(error), error.field))
            else:
                assert isinstance(failure, Unreadable)
                failures.append(("unreadable", before + failure.line, failure.raw, failure.problem))
        out.append(gzip.decompress(done.data) if name.endswith(".gz") and done.data else done.data)
        before += done.lines
    return b"".join(out), failures, read


def test_pieces_give_what_line_by_line_gives() -> None:
    data, options = _feed(), Options()
    expected = _line_by_line(data, options)
    assert len(expected[1]) == 6 + 6 + 5 and expected[2] == 300 + 5  # refused, unreadable, not JSON; lines read
    for name, blob in (("f.jsonl", data), ("f.jsonl.gz", files.gzip_members(data, 20_000)),
                       ("f.jsonl.gz", gzip.compress(data)), ("f.jsonl.gz", files.gzip_members(data, 10 ** 9))):
        for size in (5_000, 100_000):
            assert _by_pieces(blob, name, options, size) == expected


def test_a_file_without_a_last_newline() -> None:
    data = _feed()[:-1] + b"\n" + b'{"v": 1'  # the last line is cut short: not JSON, and has no newline
    expected = _line_by_line(data, Options())
    assert expected[1][-1][2] == b'{"v": 1'
    assert _by_pieces(data, "f.jsonl", Options(), 7_000) == expected


class _Fakes:
    """What transform-invoices' _documents uses of the job, SFTP and the error log."""

    def __init__(self, blob: bytes) -> None:
        self.blob, self.counts, self.failures = blob, {"read": 0, "processed": 0}, []
        self.progress = Progress("transform-invoices", [self])  # its own sink: keeps the last report
        self.reported: State | None = None

    def update(self, state: State) -> None:
        self.reported = state

    def close(self, state: State) -> None:
        self.reported = state

    @contextmanager
    def open_read(self, path: str) -> Iterator[io.BytesIO]:
        yield io.BytesIO(self.blob)

    def count(self, *, read: int = 0, processed: int = 0) -> None:
        self.counts["read"] += read
        self.counts["processed"] += processed

    def check(self) -> None:
        pass

    def order(self, r: dict[str, Any], exc: NotInvoiceable) -> None:
        self.failures.append(("refused", r, str(exc), exc.field))

    def unreadable(self, file: str, line: int, raw: bytes, problem: str) -> None:
        self.failures.append(("unreadable", line, raw, problem))


@pytest.mark.parametrize("processes", [0, 2])
def test_the_job_numbers_lines_across_pieces_and_workers(processes: int) -> None:
    data, options = _feed(), Options()
    expected_lines, expected_failures, read = _line_by_line(data, options)
    blob = files.gzip_members(data, 30_000)
    fakes = _Fakes(blob)
    remote = RemoteFile("/feed/f.jsonl.gz", "f.jsonl.gz", len(blob), None)
    with workers.Pool(transform_block, options, True, processes=processes) as pool:
        out = b"".join(invoicing_transform._documents(fakes, fakes, remote, pool, fakes))  # type: ignore[arg-type]
    assert gzip.decompress(out) == expected_lines and fakes.failures == expected_failures
    assert fakes.counts == {"read": read, "processed": read - len(expected_failures)}
    assert fakes.reported is not None and fakes.reported.done == read  # lines read, reported as they are read
