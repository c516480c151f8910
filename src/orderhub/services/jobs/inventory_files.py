"""Inventory jobs that work with files on SFTP: variances in, thresholds in, thresholds out.

- ``import-inventory-variance``: rows of sku, facility, quantity (a signed change) or count
  (what was counted), reason, note; each goes through the inventory service's adjust, so the
  ledger and ``inventory.changed`` follow. A file is applied once (see :mod:`sftp_files`).
- ``import-thresholds``: rows of selector (sku, category or tag), value, channel, threshold.
- ``export-thresholds``: for every SKU of the catalogue and every channel, the threshold that
  applies and the selector it comes from, written atomically (readers never see half a file).
"""

from __future__ import annotations

import csv
import io
import posixpath
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection

from orderhub.adapters.store import facilities as facility_store
from orderhub.adapters.store import thresholds as threshold_store
from orderhub.clock import utcnow
from orderhub.domain.jobs import Definition, Param
from orderhub.domain.planning import SELECTOR_KINDS, ThresholdBook, variance_problem
from orderhub.services import inventory
from orderhub.services.jobs.context import JobContext
from orderhub.services.jobs.registry import register
from orderhub.services.jobs.sftp_files import (
    INPUT_COPY_LIMIT,
    Columns,
    FileImport,
    Row,
    RowError,
    connect,
    file_params,
    run_import,
)

VARIANCE = "import-inventory-variance"
IMPORT_THRESHOLDS = "import-thresholds"
EXPORT_THRESHOLDS = "export-thresholds"


# -- variances ---------------------------------------------------------------------------------------------

def apply_variance(conn: Connection, row: Row) -> str:
    sku = row.text("sku")
    code = row.text("facility", max_len=64)
    delta = row.integer("quantity", required=False)
    count = row.integer("count", required=False)
    reason = (row.text("reason", max_len=24) or "").lower()
    note = row.text("note", required=False, max_len=1000)
    assert sku is not None and code is not None
    problem = variance_problem(reason, delta, count)
    if problem:
        raise RowError(*problem)
    try:
        facility_store.id_of(conn, code)
    except LookupError as exc:
        raise RowError("facility", str(exc)) from None
    source = f"{row.file} line {row.line}"
    try:
        inventory.adjust(conn, sku, code, actor=f"job:{VARIANCE}", reason=reason, delta=delta, on_hand=count,
                         note=f"{source}: {note}" if note else source)
    except ValueError as exc:  # e.g. taking away more than is on hand
        raise RowError("quantity" if delta is not None else "count", str(exc)) from None
    return "processed"


# -- thresholds in --------------------------------------------------------------------------------------------

def apply_threshold(conn: Connection, row: Row) -> str:
    kind = (row.text("selector", max_len=16) or "").lower()
    if kind not in SELECTOR_KINDS:
        raise RowError("selector", f"must be one of {', '.join(SELECTOR_KINDS)} (got {kind!r})")
    value = row.text("value")
    channel = row.text("channel", max_len=32)
    threshold = row.integer("threshold", minimum=0)
    assert value is not None and channel is not None and threshold is not None
    if facility_store.get_channel(conn, channel) is None:
        raise RowError("channel", f"no channel {channel}; create it with `orderhub channel {channel}`")
    try:
        outcome = threshold_store.save(conn, kind, value, channel, threshold, actor=f"job:{IMPORT_THRESHOLDS}")
    except ValueError as exc:
        raise RowError("value", str(exc)) from None
    return "skipped" if outcome == "unchanged" else "processed"


# -- thresholds out ---------------------------------------------------------------------------------------------

EXPORT_HEADER = ("sku", "channel", "threshold", "selector", "value", "category", "tags")
PAGE = 1000


def export_thresholds(ctx: JobContext) -> dict[str, Any]:
    """Write the thresholds that apply, per SKU and channel, to ``folder/file_name`` on SFTP."""
    folder = (ctx.params.get("folder") or "/").rstrip("/") or "/"
    name = (ctx.params.get("file_name") or "thresholds-{date}.csv").replace(
        "{date}", utcnow().strftime("%Y%m%d")).replace("{run}", str(ctx.run_id))
    if "/" in name or not name.strip():
        raise ValueError(f"file_name {name!r}: give a file name without folders (the folder is its own parameter)")
    with ctx.hub.db.read() as conn:
        defaults = {}
        for code in facility_store.channel_codes(conn):
            channel = facility_store.get_channel(conn, code)
            assert channel is not None
            defaults[code] = channel.threshold
        book = ThresholdBook(threshold_store.rules(conn))
    wanted = ctx.params.get("channel")
    if wanted:
        if wanted not in defaults:
            raise ValueError(f"no channel {wanted}; channels: {', '.join(defaults) or 'none yet'}")
        defaults = {wanted: defaults[wanted]}
    if not defaults:
        raise ValueError("there are no channels to export thresholds for; create one with `orderhub channel CODE`")
    kept: list[bytes] = []

    def chunks() -> Iterator[bytes]:  # a copy of a small export is kept with the run, to download
        size = 0
        for chunk in _csv_pages(ctx, book, defaults):
            size += len(chunk)
            if size <= INPUT_COPY_LIMIT:
                kept.append(chunk)
            else:
                kept.clear()
            yield chunk

    path = posixpath.join(folder, name)
    with connect(ctx.hub) as sftp:
        sftp.makedirs(folder)
        written = sftp.write_atomic(path, chunks())
    if kept:
        ctx.write_file(path, b"".join(kept))
    ctx.log(f"wrote {path}: {ctx.counts['read']} SKU(s) x {len(defaults)} channel(s), {written} bytes")
    return {"path": path, "bytes": written, "skus": ctx.counts["read"], "channels": sorted(defaults)}


def _csv_pages(ctx: JobContext, book: ThresholdBook, defaults: dict[str, int]) -> Iterator[bytes]:
    """The export's CSV, a page of the catalogue at a time (memory does not grow with the catalogue)."""
    yield _csv_line(EXPORT_HEADER)
    after: str | None = None
    while True:
        ctx.check()
        with ctx.hub.db.read() as conn:
            page = threshold_store.catalogue_page(conn, after=after, limit=PAGE)
        if not page:
            return
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        for item in page:
            tags = ", ".join(sorted(item.tags))
            for code, default in defaults.items():
                applied = book.applicable(code, sku=item.sku, category=item.category, tags=item.tags,
                                          default=default)
                writer.writerow((item.sku, code, applied.threshold, applied.kind, applied.value or "",
                                 item.category or "", tags))
        ctx.count(read=len(page), processed=len(page) * len(defaults))
        yield buffer.getvalue().encode()
        after = page[-1].sku


def _csv_line(cells: tuple[str, ...]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue().encode()


VARIANCE_SPEC = FileImport(VARIANCE, Columns(required=("sku", "facility", "reason"),
                                             optional=("quantity", "count", "note")), apply_variance)
THRESHOLDS_SPEC = FileImport(IMPORT_THRESHOLDS, Columns(required=("selector", "value", "channel", "threshold")),
                             apply_threshold)

register(Definition(VARIANCE, "inventory", "Inventory variance: import inventory variance and adjust inventory "
                    "(rows: sku, facility, quantity or count, reason damaged|cycle_count|received|adjusted, note)",
                    params=file_params("/outbound/inventory", "variance-*.csv"),
                    default_schedule="every-15-minutes", per_shop=False),
         lambda ctx: run_import(ctx, VARIANCE_SPEC))
register(Definition(IMPORT_THRESHOLDS, "inventory", "Import thresholds: import product thresholds by tags, "
                    "categories and SKUs per channel from a file on SFTP (rows: selector, value, channel, threshold)",
                    params=file_params("/outbound/thresholds", "thresholds-*.csv"),
                    default_schedule="every-15-minutes", per_shop=False),
         lambda ctx: run_import(ctx, THRESHOLDS_SPEC))
register(Definition(EXPORT_THRESHOLDS, "inventory", "Export thresholds: export product thresholds by tags and "
                    "categories to a file (per SKU and channel: the threshold that applies and why)",
                    params=(Param("folder", help="the SFTP folder to write to (default /inbound/thresholds)",
                                  default="/inbound/thresholds"),
                            Param("file_name", help="the file's name; {date} is replaced by the UTC date "
                                  "(YYYYMMDD) and {run} by the run id (default thresholds-{date}.csv)",
                                  default="thresholds-{date}.csv"),
                            Param("channel", help="only this channel (default: every channel)")),
                    default_schedule="daily", per_shop=False),
         export_thresholds)
