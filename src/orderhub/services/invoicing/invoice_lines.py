"""A block of feed lines in, the block of invoice lines out: what ``transform-invoices`` does to
each line, for many lines at once. Pure (no database, no SFTP), so worker processes can do it
(:mod:`orderhub.services.invoicing.workers`): this module imports only the domain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from orderhub.domain.invoicing import FeedError, NotInvoiceable, Options, Problem, transform_line
from orderhub.services.invoicing.files import MAX_LINE_BYTES, gzip_member, piece_lines


@dataclass(frozen=True)
class Unreadable:
    """A line that is not a feed record: it goes to the error log as a file row."""

    line: int  # in its piece, from 1
    raw: bytes  # as read, with its newline
    problem: str


@dataclass(frozen=True)
class Refused:
    """An order whose documents break the field table: it goes to the error log as an order."""

    record: dict[str, Any]
    order: str
    problems: list[Problem]

    def error(self) -> NotInvoiceable:
        return NotInvoiceable(self.order, self.problems)


@dataclass
class Done:
    """What became of a piece: the invoice lines (one gzip member if compressed), how many lines the
    piece had, and, in line order, those that could not be transformed. Line numbers count from
    the piece's first line (1); the caller knows where the piece began."""

    data: bytes
    lines: int = 0
    read: int = 0
    written: int = 0
    failures: list[Unreadable | Refused] = field(default_factory=list)
    too_long: int | None = None  # the line longer than MAX_LINE_BYTES, where the piece stopped


def transform_block(options: Options, compress: bool, piece: tuple[bool, bytes]) -> Done:
    """``piece``: whole lines, as :func:`orderhub.services.invoicing.files.read_pieces` hands them on
    (a gzip member, or lines as they are). Blank lines count in the numbering and are skipped."""
    block = piece_lines(piece)
    lines = block.split(b"\n")
    last = len(lines) - 1  # the piece after the block's last newline (b"" unless the file ends without one)
    done = Done(b"", lines=last + 1 if lines[last] else last)
    if len(block) > MAX_LINE_BYTES:  # only then can a line be too long (read_blocks looked at the others)
        for n, line in enumerate(lines):
            if len(line) + (n < last) > MAX_LINE_BYTES:
                done.too_long, lines, last = n + 1, lines[:n], n
                break
    out: list[bytes] = []
    for n, line in enumerate(lines):
        if not line or line.isspace():  # blank (bytes.strip's whitespace, without the copy)
            continue
        done.read += 1
        try:
            record = orjson.loads(line)
            invoice_line = transform_line(record, options)
        except orjson.JSONDecodeError:
            raw = line if n == last else line + b"\n"
            done.failures.append(Unreadable(n + 1, raw, f"is not JSON ({_json_error(raw)})"))
            continue
        except FeedError as exc:
            done.failures.append(Unreadable(n + 1, line if n == last else line + b"\n", str(exc)))
            continue
        except NotInvoiceable as exc:
            done.failures.append(Refused(record, exc.order, exc.problems))
            continue
        out.append(orjson.dumps(invoice_line, default=str))
    done.written = len(out)
    if out:
        out.append(b"")  # every line ends with its newline
        text = b"\n".join(out)
        done.data = gzip_member(text) if compress else text
    return done


def _json_error(raw: bytes) -> str:
    """orjson's message for the line as read (its newline included: the message counts it)."""
    try:
        orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return str(exc)
    return "unreadable"  # pragma: no cover - the line without its newline did not parse either
