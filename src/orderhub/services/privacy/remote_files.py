"""The files orderhub wrote to the SFTP server that can carry a person's data, for privacy requests.

Of the files jobs write, the invoicing pipeline's carry customers: the completed-order feeds
(``feed-completed-orders``: the buyer's name, e-mail, phone and addresses), the Order-to-Invoice files made from
them (``transform-invoices``: the customer blocks) and the answers kept beside them (``send-invoices``), in their
folders and the archives they are moved to. The inventory files (``export-thresholds``) hold SKUs and counts
only, and the files jobs read (fulfilment history, variances, purchase orders) are the retailer's. The folders
searched are the jobs' own defaults and whatever their schedules set instead.

A file is found by its content: a line that mentions the person, or names one of their orders. Reading and
rewriting stream, a line at a time, so a feed of a million orders never sits in memory; a rewritten file replaces
the old one atomically (readers never see half of it), compressed again when it was.
"""

from __future__ import annotations

import gzip
import posixpath
import tempfile
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

import orjson
from sqlalchemy import Connection, select

from orderhub.adapters.sftp import SftpClient, SftpConfig, SftpError
from orderhub.adapters.store.schema import job_schedules
from orderhub.services.invoicing.files import MAX_LINE_BYTES
from orderhub.services.privacy import lines
from orderhub.services.privacy.scrub import Person

if TYPE_CHECKING:
    from orderhub.bootstrap import Hub

# job -> its parameters that name a folder it writes (or moves) files with personal data to
PERSONAL_FILE_JOBS: dict[str, tuple[str, ...]] = {
    "feed-completed-orders": ("folder",),
    "transform-invoices": ("feed_folder", "folder", "archive"),
    "send-invoices": ("folder", "archive", "responses_folder"),
}
ARCHIVED = frozenset({"folder", "feed_folder"})  # files of these folders are archived into <folder>/archive
PATTERNS = ("*.jsonl", "*.jsonl.gz", "*.csv")
MAX_FILES = 10_000  # files read per request: the manifest says when there were more
_CHUNK = 256 * 1024


@dataclass
class RemoteSearch:
    configured: bool
    folders: list[str] = field(default_factory=list)
    files_read: int = 0
    hits: dict[str, int] = field(default_factory=dict)  # path -> lines about the person
    truncated: bool = False
    error: str | None = None


def configured(hub: Hub) -> bool:
    return bool(hub.settings.sftp_host)


def folders(conn: Connection) -> list[str]:
    """The folders the jobs that write personal data write to: their defaults and their schedules' choices."""
    from orderhub.services.jobs import registry

    chosen: set[str] = set()
    for job, names in PERSONAL_FILE_JOBS.items():
        try:
            params = {p.name: p.default for p in registry.get(job).definition.params}
        except LookupError:
            continue
        settings = [params] + [params | _params(r.params) for r in conn.execute(
            select(job_schedules.c.params).where(job_schedules.c.job == job))]
        for values in settings:
            for name in names:
                value = values.get(name)
                if isinstance(value, str) and value.strip():
                    folder = value.rstrip("/") or "/"
                    chosen.add(folder)
                    if name in ARCHIVED:
                        chosen.add(posixpath.join(folder, "archive"))
    return sorted(chosen)


def _params(text: str | None) -> dict[str, Any]:
    try:
        value = orjson.loads(text or "{}")
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _client(hub: Hub) -> SftpClient:
    return SftpClient(SftpConfig.from_settings(hub.settings))


def _listed(sftp: SftpClient, folder_names: list[str]) -> Iterator[Any]:
    seen: set[str] = set()
    for folder in folder_names:
        if not sftp.exists(folder):
            continue
        for pattern in PATTERNS:
            for remote in sftp.list(folder, pattern):
                if remote.path not in seen:
                    seen.add(remote.path)
                    yield remote


def _lines(stream: IO[bytes], name: str) -> Iterator[bytes]:
    source: IO[bytes] = gzip.GzipFile(fileobj=stream, mode="rb") if name.endswith(".gz") else stream
    while line := source.readline(MAX_LINE_BYTES):  # a longer line comes in pieces: memory stays bounded
        yield line


def search(hub: Hub, folder_names: list[str], person: Person, order_ids: Collection[int],
           keep: dict[str, list[bytes]] | None = None) -> RemoteSearch:
    """Which files mention the person (and, into ``keep``, the lines of each that are about them)."""
    result = RemoteSearch(configured(hub), folder_names)
    if not result.configured:
        return result
    try:
        with _client(hub) as sftp:
            for remote in _listed(sftp, folder_names):
                if result.files_read >= MAX_FILES:
                    result.truncated = True
                    break
                result.files_read += 1
                with sftp.open_read(remote.path) as stream:
                    about = [line for line in _lines(stream, remote.name) if lines.about(person, line, order_ids)]
                if about:
                    result.hits[remote.path] = len(about)
                    if keep is not None:
                        keep[remote.path] = about
    except (SftpError, OSError, EOFError) as exc:
        result.error = str(exc)
    return result


def rewrite(hub: Hub, paths: Collection[str], person: Person, order_ids: Collection[int]) -> list[str]:
    """Write each file again without the person; the paths rewritten."""
    done: list[str] = []
    with _client(hub) as sftp:
        for path in sorted(paths):
            name = posixpath.basename(path)
            with tempfile.TemporaryFile() as spool:
                out: IO[bytes] = gzip.GzipFile(fileobj=spool, mode="wb") if name.endswith(".gz") else spool
                changed = False
                with sftp.open_read(path) as stream:
                    for line, hit in lines.scrub_lines(person, _lines(stream, name), order_ids):
                        out.write(line)
                        changed = changed or hit
                if out is not spool:
                    out.close()
                if not changed:
                    continue
                spool.seek(0)
                sftp.write_atomic(path, iter(lambda: spool.read(_CHUNK), b""))
                done.append(path)
    return done
