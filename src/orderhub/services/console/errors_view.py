"""Read side of the console's error-log pages: filters that live in a URL, one page of entries,
entries grouped by the error they share, the exact set a bulk action will touch, and one entry
with its payload pretty-printed and the failing field marked.

Writes (retry, dismiss) go through :mod:`orderhub.services.errors`, as the API and the CLI do.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import orjson
from sqlalchemy import Connection, Select, and_, case, exists, func, or_, select

from orderhub import nesting
from orderhub.adapters.store import error_log as store
from orderhub.adapters.store import subscriptions as subscription_store
from orderhub.adapters.store.schema import error_log, inbox, shops
from orderhub.clock import as_utc
from orderhub.services import errors as error_service

PAGE_SIZE = 50
GROUPS_SHOWN = 200
BULK_LIMIT = 10_000  # one bulk action touches at most this many entries: narrow the filter for more
MAX_SEARCH = 200
MAX_SHOWN_PAYLOAD = 2_000_000  # characters of pretty JSON shown (and offered for editing) on one page
STATUSES = ("open", "retrying", "resolved", "dismissed")
ACTIVE = "active"  # the status filter meaning "open or retrying": what still waits for a person
BULK_STATUSES = {"retry": ("open",), "dismiss": ("open", "retrying")}  # as retry_many and dismiss take them
MAX_ID = 2**63 - 1

# What the retry service refuses outright, or refuses to edit (see services/errors.py): the page says so
# instead of offering a button that can only fail. The service still decides.
NOT_RETRYABLE = {error_service.BULK_ORDER: "import the products it names, then run import-orders-bulk again",
                 error_service.FILE_ROW: "correct the row in a new file for the job's next run, or dismiss it"}
NOT_EDITABLE = {"delivery", "reconciliation", subscription_store.RECORD_TYPE}

# -- filters ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """What the list shows; every field is a query-string parameter, so a view can be bookmarked."""

    shop: str = ""
    topic: str = ""
    kind: str = ""
    status: str = ""
    field: str = ""
    nofield: bool = False  # entries whose failure named no field
    since: datetime | None = None
    until: datetime | None = None
    q: str = ""
    payloads: bool = False  # search the payloads too (a full scan: slower)

    def params(self, **changes: Any) -> list[tuple[str, str]]:
        """The non-empty parameters (after ``changes``), in a stable order."""
        flt = replace(self, **changes)
        out = [(k, getattr(flt, k)) for k in ("shop", "topic", "kind", "status", "field", "q")]
        out += [("since", _time_text(flt.since)), ("until", _time_text(flt.until))]
        out += [("nofield", "1" if flt.nofield else ""), ("payloads", "1" if flt.payloads else "")]
        return [(k, v) for k, v in out if v]

    def query(self, **extra: Any) -> str:
        """``?...`` for a link: these filters, changed by the filter names in ``extra``, with its other
        parameters (``page``, ``view``, ``action``) added; empty ones and page 1 are left out."""
        changes = {k: v for k, v in extra.items() if k in self.__dataclass_fields__}
        pairs = self.params(**changes) + [(k, str(v)) for k, v in extra.items()
                                          if k not in self.__dataclass_fields__ and v not in (None, "", 1)]
        return "?" + urlencode(pairs) if pairs else ""

    @property
    def active(self) -> bool:
        return bool(self.params())

    @property
    def since_text(self) -> str:
        return _time_text(self.since)

    @property
    def until_text(self) -> str:
        return _time_text(self.until)

    def apply(self, stmt: Select[Any]) -> Select[Any]:
        status = "" if self.status == ACTIVE else self.status
        stmt = store.ErrorFilter(shop=self.shop or None, topic=self.topic or None, kind=self.kind or None,
                                 status=status or None, since=self.since, until=self.until).apply(stmt)
        if self.status == ACTIVE:
            stmt = stmt.where(error_log.c.status.in_(("open", "retrying")))
        if self.nofield:
            stmt = stmt.where(error_log.c.field.is_(None))
        elif self.field:
            stmt = stmt.where(error_log.c.field == self.field)
        if self.q:
            stmt = stmt.where(_search(self.q, self.payloads))
        return stmt


def _time_text(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.strftime("%Y-%m-%dT%H:%M" if not (value.second or value.microsecond) else "%Y-%m-%dT%H:%M:%S")


def _search(q: str, payloads: bool) -> Any:
    """Text in the error or the field, the entry's or its record's id, or the inbox record's identity."""
    text = q.lower()  # found anywhere, whatever its case; its own % and _ taken literally

    def has(column: Any) -> Any:
        return func.lower(column).contains(text, autoescape=True)

    found = [has(error_log.c.error), has(error_log.c.field),
             exists(select(inbox.c.id).where(and_(  # correlated: one primary-key probe per entry, no scan
                 error_log.c.record_type == "inbox", inbox.c.id == error_log.c.record_id,
                 has(inbox.c.identity))))]
    number = q.strip().lstrip("#")
    if number.isdigit() and 0 < int(number) <= MAX_ID:
        found += [error_log.c.id == int(number), error_log.c.record_id == int(number)]
    if payloads:
        found.append(has(error_log.c.payload))
    return or_(*found)


def parse_filters(params: Mapping[str, str]) -> tuple[Filters, list[str]]:
    """Filters from a query string (or a bulk form), bounded; what could not be read is named and left out."""
    problems: list[str] = []

    def text(name: str, limit: int) -> str:
        value = (params.get(name) or "").strip()
        if len(value) > limit:
            problems.append(f"{name}: at most {limit} characters; the filter was cut to that")
            value = value[:limit]
        return value

    def moment(name: str) -> datetime | None:
        value = text(name, 40)
        if not value:
            return None
        try:
            return as_utc(datetime.fromisoformat(value))
        except ValueError:
            problems.append(f"{name}: {value!r} is not a date and time such as 2026-11-23T09:30 (UTC); left out")
            return None

    status = text("status", 16)
    if status and status not in (*STATUSES, ACTIVE):
        problems.append(f"status: {status!r} is not one of {', '.join(STATUSES)}; left out")
        status = ""
    flt = Filters(shop=text("shop", 255), topic=text("topic", 100), kind=text("kind", 32), status=status,
                  field=text("field", 300), nofield=params.get("nofield") == "1",
                  since=moment("since"), until=moment("until"), q=text("q", MAX_SEARCH),
                  payloads=params.get("payloads") == "1")
    return flt, problems


# -- the list and the groups -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choices:
    shops: list[str]
    topics: list[str]
    kinds: list[str]


def choices(conn: Connection) -> Choices:
    """What the filter menus offer: every shop, and the topics and kinds the log holds."""
    return Choices(
        shops=list(conn.execute(select(shops.c.domain).order_by(shops.c.domain)).scalars()),
        topics=list(conn.execute(select(error_log.c.topic).distinct().order_by(error_log.c.topic)).scalars()),
        kinds=list(conn.execute(select(error_log.c.kind).distinct().order_by(error_log.c.kind)).scalars()))


@dataclass(frozen=True)
class Line:
    row: Any
    attempts: int


@dataclass(frozen=True)
class Page:
    rows: list[Line]
    total: int
    number: int
    pages: int
    bulk: dict[str, int]  # action -> how many of the matching entries it would touch


def _entries() -> Select[Any]:
    return select(error_log.c.id, error_log.c.created_at, error_log.c.updated_at, error_log.c.topic,
                  error_log.c.kind, error_log.c.status, error_log.c.field, error_log.c.error,
                  error_log.c.record_type, error_log.c.record_id, error_log.c.attempts,
                  shops.c.domain.label("shop")).outerjoin(shops, shops.c.id == error_log.c.shop_id)


def count(conn: Connection, flt: Filters, statuses: tuple[str, ...] = ()) -> int:
    stmt = flt.apply(select(func.count()).select_from(error_log))
    if statuses:
        stmt = stmt.where(error_log.c.status.in_(statuses))
    return int(conn.execute(stmt).scalar_one())


def list_page(conn: Connection, flt: Filters, number: int) -> Page:
    total = count(conn, flt)
    pages = max(1, -(-total // PAGE_SIZE))
    number = min(max(1, number), pages)
    rows = [Line(r, len(attempts_of(r))) for r in conn.execute(
        flt.apply(_entries()).order_by(error_log.c.id.desc()).limit(PAGE_SIZE).offset((number - 1) * PAGE_SIZE))]
    bulk = {action: count(conn, flt, statuses) for action, statuses in BULK_STATUSES.items()}
    return Page(rows, total, number, pages, bulk)


@dataclass(frozen=True)
class Attempt:
    at: str
    kind: str
    detail: str  # the error, or what the destination answered


def attempts_of(row: Any) -> list[Attempt]:
    """The entry's attempts as stored (JSON ``{at, kind, error}``; deliveries may say ``status`` instead)."""
    try:
        found = orjson.loads(row.attempts)
    except orjson.JSONDecodeError:
        return []
    return [Attempt(str(a.get("at") or "")[:19].replace("T", " "), str(a.get("kind") or ""),
                    str(a.get("error") or a.get("status") or ""))
            for a in (found if isinstance(found, list) else []) if isinstance(a, dict)]


@dataclass(frozen=True)
class Group:
    kind: str
    field: str | None
    entries: int
    waiting: int  # open or retrying
    first: datetime
    last: datetime
    sample: str  # the newest entry's error

    def query(self, flt: Filters) -> str:
        """The list of exactly this group's entries, under the same filters."""
        if self.field is None:
            return flt.query(kind=self.kind, field="", nofield=True)
        return flt.query(kind=self.kind, field=self.field, nofield=False)


def groups(conn: Connection, flt: Filters) -> tuple[list[Group], int]:
    """The matching entries grouped by kind and failing field, biggest first; and how many groups there are."""
    waiting = func.sum(case((error_log.c.status.in_(("open", "retrying")), 1), else_=0))
    stmt = flt.apply(select(error_log.c.kind, error_log.c.field, func.count().label("n"),
                            waiting.label("waiting"), func.min(error_log.c.created_at).label("first"),
                            func.max(error_log.c.created_at).label("last"), func.max(error_log.c.id).label("newest"))
                     ).group_by(error_log.c.kind, error_log.c.field)
    rows = list(conn.execute(stmt.order_by(func.count().desc(), error_log.c.kind, error_log.c.field)
                             .limit(GROUPS_SHOWN)))
    how_many = int(conn.execute(select(func.count()).select_from(stmt.subquery())).scalar_one())
    samples = {r.id: r.error for r in conn.execute(select(error_log.c.id, error_log.c.error).where(
        error_log.c.id.in_([r.newest for r in rows])))} if rows else {}
    return [Group(r.kind, r.field, int(r.n), int(r.waiting or 0), r.first, r.last, samples.get(r.newest, ""))
            for r in rows], how_many


# -- bulk actions --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BulkSet:
    """The entries a bulk action would touch now: at most BULK_LIMIT (``over`` when more match)."""

    action: str
    ids: list[int]
    over: bool
    upto: int  # the newest id when counted: entries logged later are never swept in
    sample: list[Any]  # the newest few, to show

    @property
    def digest(self) -> str:
        return fingerprint(self.ids)


def fingerprint(ids: list[int]) -> str:
    return hashlib.sha256(",".join(map(str, sorted(ids))).encode()).hexdigest()[:32]


def bulk_set(conn: Connection, flt: Filters, action: str, upto: int | None = None) -> BulkSet:
    """The ids ``action`` applies to under ``flt`` (open entries to retry, open or retrying ones to dismiss)."""
    stmt = flt.apply(select(error_log.c.id)).where(error_log.c.status.in_(BULK_STATUSES[action]))
    if upto is not None:
        stmt = stmt.where(error_log.c.id <= upto)
    ids = list(conn.execute(stmt.order_by(error_log.c.id).limit(BULK_LIMIT + 1)).scalars())
    over = len(ids) > BULK_LIMIT
    ids = ids[:BULK_LIMIT]
    sample = list(conn.execute(_entries().where(error_log.c.id.in_(ids[-20:])).order_by(error_log.c.id.desc()))
                  ) if ids and not over else []
    return BulkSet(action, ids, over, upto if upto is not None else (ids[-1] if ids else 0), sample)


def chunks(ids: list[int], size: int = 500) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


# -- one entry ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    row: Any
    attempts: list[Attempt]
    identity: str | None  # the inbox record's content identity, for an inbox entry
    payload: Marked

    @property
    def waiting(self) -> bool:
        return self.row.status in ("open", "retrying")

    @property
    def retry_refusal(self) -> str | None:
        return NOT_RETRYABLE.get(self.row.record_type)

    @property
    def editable(self) -> bool:
        return self.row.record_type not in NOT_EDITABLE and self.retry_refusal is None and self.payload.is_json


def entry(conn: Connection, entry_id: int) -> Entry | None:
    row = store.get(conn, entry_id)
    if row is None:
        return None
    identity = conn.execute(select(inbox.c.identity).where(inbox.c.id == row.record_id)).scalar_one_or_none() \
        if row.record_type == "inbox" else None
    return Entry(row, attempts_of(row), identity, mark_field(row.payload, row.field))


def parse_id(text: str) -> int | None:
    return int(text) if text.isdigit() and 0 < int(text) <= MAX_ID else None


# -- the payload, with the failing field marked ---------------------------------------------------------------


@dataclass(frozen=True)
class Marked:
    """Pretty JSON as segments ``(text, marked)``: the template escapes each, and wraps marked ones in
    ``<mark class="field">``; nothing is ever rendered as markup."""

    segments: list[tuple[str, bool]]
    is_json: bool
    note: str | None = None  # when the field is not (all) in the payload, or the payload is cut
    truncated: bool = False

    @property
    def text(self) -> str:
        return "".join(s for s, _ in self.segments)


_STEP = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


def field_path(name: str) -> list[str | int]:
    """``line_items[0].quantity`` -> ``["line_items", 0, "quantity"]`` (as the validators name fields)."""
    return [int(index) if index else key for index, key in _STEP.findall(name)]


def _resolve(value: Any, path: list[str | int]) -> list[str | int]:
    """The longest start of ``path`` that exists in ``value``."""
    found: list[str | int] = []
    for step in path:
        if isinstance(step, int) and isinstance(value, list) and step < len(value):
            value = value[step]
        elif isinstance(step, str) and isinstance(value, dict) and step in value:
            value = value[step]
        else:
            break
        found.append(step)
    return found


def mark_field(payload: str, field_name: str | None) -> Marked:
    """The payload as orjson's 2-space indented text, with ``field_name``'s key and value marked."""
    try:
        value = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return _cut([(payload, False)], False, "The payload is not JSON; shown as it was stored." if payload
                    else None)
    if nesting.too_deep(value):
        return _cut([(payload, False)], True, f"The payload nests {nesting.depth(value)} levels deep; shown as it "
                                              "was stored, without the failing field marked.")
    note, target = None, None
    if field_name:
        wanted = field_path(field_name)
        target = _resolve(value, wanted)
        if not target:
            note, target = f"The failing field {field_name} is not in this payload.", None
        elif len(target) < len(wanted):
            note = (f"The failing field {field_name} is not in this payload; "
                    f"its nearest part there, {_path_text(target)}, is marked.")
    out = _Writer(tuple(target) if target else None)
    out.value(value, (), 0, None)
    return _cut(out.segments(), True, note)


def _path_text(path: list[str | int]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else p) for i, p in enumerate(path))


def _cut(segments: list[tuple[str, bool]], is_json: bool, note: str | None) -> Marked:
    if sum(len(s) for s, _ in segments) <= MAX_SHOWN_PAYLOAD:
        return Marked(segments, is_json, note)
    kept, size = [], 0
    for text, marked in segments:
        kept.append((text[:MAX_SHOWN_PAYLOAD - size], marked))
        size += len(kept[-1][0])
        if size >= MAX_SHOWN_PAYLOAD:
            break
    cut = f"Only the first {MAX_SHOWN_PAYLOAD:,} characters are shown; the API has the whole payload."
    return Marked(kept, is_json, f"{note} {cut}" if note else cut, truncated=True)


class _Writer:
    """Writes JSON exactly as ``orjson.dumps(..., option=OPT_INDENT_2)`` does, noting where the target's
    key and value start and end."""

    def __init__(self, target: tuple[str | int, ...] | None) -> None:
        self.parts: list[str] = []
        self.target = target
        self.start: int | None = None
        self.end: int | None = None
        self.size = 0

    def put(self, text: str) -> None:
        self.parts.append(text)
        self.size += len(text)

    def value(self, value: Any, path: tuple[str | int, ...], depth: int, key: str | None) -> None:
        hit = path == self.target
        if hit:
            self.start = self.size
        if key is not None:
            self.put(orjson.dumps(key).decode() + ": ")
        if isinstance(value, dict) and value:
            self.put("{")
            for i, (k, v) in enumerate(value.items()):
                self.put(("," if i else "") + "\n" + "  " * (depth + 1))
                self.value(v, (*path, k), depth + 1, k)
            self.put("\n" + "  " * depth + "}")
        elif isinstance(value, list) and value:
            self.put("[")
            for i, v in enumerate(value):
                self.put(("," if i else "") + "\n" + "  " * (depth + 1))
                self.value(v, (*path, i), depth + 1, None)
            self.put("\n" + "  " * depth + "]")
        else:
            self.put(orjson.dumps(value).decode())
        if hit:
            self.end = self.size

    def segments(self) -> list[tuple[str, bool]]:
        text = "".join(self.parts)
        if self.start is None or self.end is None:
            return [(text, False)]
        return [(s, m) for s, m in ((text[:self.start], False), (text[self.start:self.end], True),
                                    (text[self.end:], False)) if s]
