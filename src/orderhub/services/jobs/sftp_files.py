"""Import jobs that read CSV files from SFTP: list, read, apply row by row, record failures, archive.

What every file import gets from here:

- **Only whole files.** Uploads in progress (the ``.NAME.part-*`` temporary names) are never
  listed; a file is copied once to a local spool while its SHA-256 is computed, and read from
  there, so the rows applied are exactly the bytes fingerprinted.
- **Nothing applies twice.** ``imported_files`` remembers each file by job, name and content:
  a file imported before (same name, same content) is archived without being applied again,
  and each row is applied in one transaction with the file's progress, so a run that stopped
  half way resumes after the last row it handled.
- **Memory stays flat.** Rows are parsed one at a time (UTF-8 with or without a BOM).
- **Rows that cannot apply are kept whole**: in the run's failed-records file, and in the error
  log (kind ``validation``, linked to the run), with the file, the line and the column.
"""

from __future__ import annotations

import csv
import hashlib
import posixpath
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, Any

import orjson
from sqlalchemy import Connection, select, update

from orderhub.adapters.sftp import RemoteFile, SftpClient, SftpConfig
from orderhub.adapters.store import error_log
from orderhub.adapters.store.db import upsert
from orderhub.adapters.store.schema import imported_files
from orderhub.bootstrap import Hub
from orderhub.clock import as_utc, utcnow
from orderhub.domain.jobs import Param, ParamKind
from orderhub.services.errors import FILE_ROW
from orderhub.services.jobs.context import JobContext

RECORD_TYPE = FILE_ROW  # error-log entries of file rows
INPUT_COPY_LIMIT = 1024 * 1024  # input files up to this size are kept with the run, to download
_CHUNK = 256 * 1024
_INTEGER = re.compile(r"[+-]?\d{1,12}")
_INT_LIMIT = 2**31  # quantities are 32-bit integers in the database


# -- rows ------------------------------------------------------------------------------------------------

class RowError(ValueError):
    """A row that cannot apply as it is; ``column`` names the field at fault (None: the row as a whole)."""

    def __init__(self, column: str | None, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


class FileError(Exception):
    """The rest of a file cannot be read (missing columns, not UTF-8, broken quoting)."""

    def __init__(self, line: int, column: str | None, message: str) -> None:
        super().__init__(message)
        self.line, self.column, self.message = line, column, message


@dataclass(frozen=True)
class Row:
    """One record of a CSV file: its file line and its cells by (normalised) column name."""

    file: str
    line: int
    values: dict[str, str]
    problem: str | None = None  # what is wrong with its shape (more fields than the header)

    def text(self, column: str, *, required: bool = True, max_len: int = 255) -> str | None:
        value = (self.values.get(column) or "").strip()
        if not value:
            if required:
                raise RowError(column, "is empty; it is required")
            return None
        if len(value) > max_len:
            raise RowError(column, f"is longer than {max_len} characters ({len(value)})")
        return value

    def integer(self, column: str, *, required: bool = True, minimum: int | None = None) -> int | None:
        value = self.text(column, required=required, max_len=40)
        if value is None:
            return None
        if not _INTEGER.fullmatch(value):
            raise RowError(column, f"must be a whole number (got {value!r})")
        number = int(value)
        if not -_INT_LIMIT <= number < _INT_LIMIT:
            raise RowError(column, f"is too large ({value})")
        if minimum is not None and number < minimum:
            raise RowError(column, f"must be at least {minimum} (got {number})")
        return number

    def day(self, column: str, *, required: bool = False) -> date | None:
        value = self.text(column, required=required, max_len=40)
        if value is None:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise RowError(column, f"must be a date such as 2026-12-24 (got {value!r})") from None

    def moment(self, column: str, *, required: bool = False) -> datetime | None:
        """An ISO 8601 date or time; without an offset it is taken as UTC."""
        value = self.text(column, required=required, max_len=40)
        if value is None:
            return None
        try:
            return as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            raise RowError(column, f"must be an ISO 8601 time such as 2026-11-23T15:04:05Z (got {value!r})") from None


@dataclass(frozen=True)
class Columns:
    """The columns a file must have, and those it may have (any others are refused: likely a typo)."""

    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    def check(self, header: list[str]) -> None:
        seen: set[str] = set()
        for name in header:
            if name in seen:
                raise FileError(1, name, "appears twice in the header")
            seen.add(name)
        missing = [c for c in self.required if c not in seen]
        if missing:
            raise FileError(1, missing[0], f"is missing from the header (it has {', '.join(header) or 'nothing'}); "
                            f"required: {', '.join(self.required)}")
        unknown = [c for c in header if c not in self.required and c not in self.optional]
        if unknown:
            raise FileError(1, unknown[0], "is not a column this file has; known columns: "
                            + ", ".join(self.required + self.optional))


def column_name(text: str) -> str:
    """``Tracking Number`` -> ``tracking_number``."""
    return re.sub(r"[\s\-]+", "_", text.strip().lower())


MAX_LINE_BYTES = 1024 * 1024


def _text_lines(stream: IO[bytes]) -> Iterator[str]:
    """The file's lines decoded one at a time (a byte-order mark dropped), so that bytes that are
    not UTF-8 are reported on their own line and no line is held longer than it takes to parse."""
    number = 0
    while raw := stream.readline(MAX_LINE_BYTES + 1):
        number += 1
        if len(raw) > MAX_LINE_BYTES:
            raise FileError(number, None, f"is longer than {MAX_LINE_BYTES} bytes; is this a CSV file?")
        if number == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FileError(number, None, f"is not UTF-8 text (byte {exc.start + 1} of the line: "
                            f"{raw[exc.start:exc.start + 1]!r}); save the file as UTF-8") from None


def read_rows(stream: IO[bytes], file_name: str, columns: Columns) -> Iterator[Row]:
    """The records of a CSV file (UTF-8, with or without a byte-order mark), one at a time.

    Each row carries the file line it starts on (a quoted value may span lines). Raises
    :class:`FileError` for what stops the rest of the file being read.
    """
    reader = csv.reader(_text_lines(stream))
    last = 0
    try:
        header = next(reader, None)
        if header is None:
            raise FileError(1, None, "the file is empty; it needs a header line")
        names = [column_name(h) for h in header]
        columns.check(names)
        last = reader.line_num
        for cells in reader:
            line, last = last + 1, reader.line_num
            if not any(c.strip() for c in cells):
                continue  # a blank line
            values = dict(zip(names, cells, strict=False))
            problem = None
            if len(cells) > len(names):  # kept whole: the cells beyond the header as column_N
                problem = f"has {len(cells)} fields, the header {len(names)}"
                values |= {f"column_{n}": cell for n, cell in enumerate(cells[len(names):], start=len(names) + 1)}
            yield Row(file_name, line, values, problem)
    except csv.Error as exc:
        raise FileError(last + 1, None, f"cannot be read as CSV: {exc}") from None


# -- the import ------------------------------------------------------------------------------------------

Apply = Callable[[Connection, Row], str]  # "processed" or "skipped"; raises RowError


@dataclass(frozen=True)
class FileImport:
    """A job that applies the rows of CSV files found on SFTP."""

    job: str
    columns: Columns
    apply: Apply


def file_params(folder: str, pattern: str) -> tuple[Param, ...]:
    return (Param("folder", help=f"the SFTP folder to read (default {folder})", default=folder),
            Param("file_pattern", ParamKind.PATTERN, f"which files to read (default {pattern})", default=pattern),
            Param("archive", help="where files go once read (default <folder>/archive)"))


def connect(hub: Hub) -> SftpClient:
    """A client for the configured SFTP server (ORDERHUB_SFTP_*); use it as a context manager."""
    return SftpClient(SftpConfig.from_settings(hub.settings))


def run_import(ctx: JobContext, spec: FileImport) -> dict[str, Any]:
    """Import every file of the folder that matches the pattern, in name order, archiving each once read."""
    folder = (ctx.params.get("folder") or "/").rstrip("/") or "/"
    pattern = ctx.params.get("file_pattern") or "*"
    archive = ctx.params.get("archive") or posixpath.join(folder, "archive")
    stats: dict[str, Any] = {"files": 0, "already_imported": 0, "archived": []}
    with connect(ctx.hub) as sftp:
        for remote in sftp.list(folder, pattern):
            ctx.check()
            stats["files"] += 1
            if not _import_file(ctx, spec, sftp, remote):
                stats["already_imported"] += 1
            stats["archived"].append(sftp.move(remote.path, archive))
    return stats


def _import_file(ctx: JobContext, spec: FileImport, sftp: SftpClient, remote: RemoteFile) -> bool:
    """Apply one file's rows; False when it was imported before (nothing applied)."""
    with tempfile.TemporaryFile() as spool:
        digest, size = _spool(sftp, remote.path, spool)
        with ctx.hub.db.write() as conn:
            entry = _start(conn, spec.job, remote.name, digest, size, ctx.run_id)
        if entry.status == "done":
            ctx.log(f"{remote.name}: imported before by run {entry.run_id} (same name and content); "
                    "archived without applying it again")
            return False
        spool.seek(0)
        ctx.read_file(remote.path, spool.read() if size <= INPUT_COPY_LIMIT else None)
        spool.seek(0)
        ctx.log(f"{remote.name}: reading {size} bytes" + (f", resuming after line {entry.lines_done}"
                                                           if entry.lines_done else ""))
        failed_before = ctx.counts["failed"]
        rows = read_rows(spool, remote.name, spec.columns)
        while True:
            try:
                row = next(rows)
            except StopIteration:
                break
            except FileError as exc:
                if exc.line > entry.lines_done:
                    _fail(ctx, spec.job, entry.id, digest, remote.name, exc.line, exc.column, exc.message, None)
                break
            ctx.check()
            ctx.count(read=1)
            if row.line <= entry.lines_done:
                ctx.count(skipped=1)  # applied (or failed) by the run that stopped
                continue
            _apply(ctx, spec, entry.id, digest, row)
        with ctx.hub.db.write() as conn:
            conn.execute(update(imported_files).where(imported_files.c.id == entry.id).values(
                status="done", finished_at=utcnow(), run_id=ctx.run_id))
        ctx.log(f"{remote.name}: done, {ctx.counts['failed'] - failed_before} row(s) failed")
    return True


def _spool(sftp: SftpClient, path: str, spool: IO[bytes]) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    for chunk in sftp.iter_chunks(path, _CHUNK):
        digest.update(chunk)
        spool.write(chunk)
        size += len(chunk)
    spool.flush()
    return digest.hexdigest(), size


def _apply(ctx: JobContext, spec: FileImport, file_id: int, digest: str, row: Row) -> None:
    try:
        if row.problem:
            raise RowError(None, row.problem)
        with ctx.hub.db.write() as conn:
            outcome = spec.apply(conn, row)
            _progress(conn, file_id, row.line)
    except RowError as exc:
        _fail(ctx, spec.job, file_id, digest, row.file, row.line, exc.column, exc.message, row.values)
        return
    except (LookupError, ValueError) as exc:  # a service refused it; its message names the record
        _fail(ctx, spec.job, file_id, digest, row.file, row.line, None, str(exc), row.values)
        return
    ctx.count(**{"skipped" if outcome == "skipped" else "processed": 1})


def _fail(ctx: JobContext, job: str, file_id: int, digest: str, file: str, line: int, column: str | None,
          message: str, values: dict[str, str] | None) -> None:
    """Keep a row that cannot apply: the run's failed records, the error log (linked to the run)."""
    where = f"{file} line {line}" + (f", column {column}" if column else "")
    error = f"{where}: {message}"
    record = {"file": file, "line": line, "column": column, "row": values}
    ctx.failed_record(record, error)
    ctx.log(error, "warning")
    with ctx.hub.db.write() as conn:
        error_log.record(conn, error_log.Failure(
            record_type=RECORD_TYPE, record_id=row_record_id(job, file, digest, line), shop_id=None, topic=job,
            source="sftp", kind="validation", error=error, payload=orjson.dumps(record).decode(), field=column,
            job_run_id=ctx.run_id))
        _progress(conn, file_id, line)


def row_record_id(job: str, file: str, digest: str, line: int) -> int:
    """The error-log identity of a file row: the same row of the same file is one entry, however
    often it is read (a positive 63-bit number)."""
    key = hashlib.sha256(f"{job}\0{file}\0{digest}\0{line}".encode()).digest()
    return int.from_bytes(key[:8], "big") >> 1


# -- which files were imported -------------------------------------------------------------------------------

@dataclass(frozen=True)
class ImportedFile:
    id: int
    status: str  # reading | done
    lines_done: int
    run_id: int | None


def _start(conn: Connection, job: str, name: str, digest: str, size: int, run_id: int) -> ImportedFile:
    name = name[:255]
    upsert(conn, imported_files, {"job": job, "name": name, "sha256": digest, "size": size, "status": "reading",
                                  "lines_done": 0, "run_id": run_id, "started_at": utcnow()},
           keys=("job", "name", "sha256"))
    row = conn.execute(select(imported_files).where(imported_files.c.job == job, imported_files.c.name == name,
                                                    imported_files.c.sha256 == digest)).one()
    return ImportedFile(row.id, row.status, row.lines_done, row.run_id)


def _progress(conn: Connection, file_id: int, line: int) -> None:
    conn.execute(update(imported_files).where(imported_files.c.id == file_id, imported_files.c.lines_done < line)
                 .values(lines_done=line))
