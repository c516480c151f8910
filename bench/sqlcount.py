"""Count the SQL statements a piece of orderhub sends, and say which code sent them.

    counter = sqlcount.Counter(detail=args.statements)
    counter.attach(hub.db.engine)
    counter.phase = "processor"      # optional: statements are also counted per phase
    ...                              # the work
    out.put(counter.snapshot())      # a plain dict: it crosses process boundaries (multiprocessing queues)

It listens to SQLAlchemy's ``before_cursor_execute``: every DB-API ``execute`` or ``executemany`` is one
statement (an executemany counts once, and the parameter sets it carried are counted as its rows;
SQLAlchemy's "insertmanyvalues" batches, one multi-row ``INSERT`` per up to 1,000 rows, count the same way).
``SAVEPOINT`` and ``RELEASE SAVEPOINT`` count, and so does SQLite's ``BEGIN IMMEDIATE`` (orderhub sends it);
psycopg's implicit ``BEGIN`` and every ``COMMIT`` are driver calls, not counted. Statements sent through a raw
DB-API cursor (``inbox.insert_entries``) bypass the engine's events and are not counted.

Always on: the total, the rows of executemany statements, and both per phase - one increment each, cheap
enough to leave on during a timed run. With ``detail=True`` each statement is also filed under

* a normalised key: verb, table and shape, with literals, parameters and lists of them collapsed, e.g.
  ``UPDATE order_units SET status, facility_id WHERE id = ?`` or ``SELECT FROM orders WHERE id IN (?)``;
* its call site: the nearest frame under ``src/orderhub/`` (``adapters/store/units.py:save``), skipping
  the statement helpers of ``adapters/store/db.py``, and the caller: the nearest orderhub frame above
  it in another module (``services/brokering.py:apply``) - the step that wanted the statement (the site
  itself when orderhub was called from outside there, e.g. ``services/workflow.py:claim``);
* the time the driver's ``execute`` took (``after_cursor_execute``; fetching the rows is not in it).

Walking the stack costs a few microseconds a statement: figures of a run with ``detail`` are slower than
those without, so the benches time their runs without it unless asked.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import CodeType, FrameType
from typing import Any

import orderhub

ORDERHUB = str(Path(orderhub.__file__).resolve().parent) + "/"
_HELPERS = ("adapters/store/db.py",)  # statement helpers: the site is whoever called them

# -- normalising a statement -----------------------------------------------------------------------------

_SPACE = re.compile(r"\s+")
_PARAM = re.compile(r"%\(\w+\)s|%s|\?|(?<![:\w]):\w+|\$\d+")
_STRING = re.compile(r"'(?:[^']|'')*'")
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])")
_CAST = re.compile(r"\s*::\s*\w+(?:\s*\[\])?|CAST\(\? AS [\w ]+(?:\(\?(?:, \?)?\))?\)")
_LIST = re.compile(r"\(\?(?:\s*,\s*\?)+\)")
_ROWS = re.compile(r"\(\?\)(?:\s*,\s*\(\?\))+")
_QUALIFIED = re.compile(r"\b\w+\.(\w+)\b")
_SET_COLUMN = re.compile(r"(\w+)\s*=")
_TABLE_AFTER = re.compile(r"\b(?:FROM|JOIN)\s+(\w+)", re.I)
_CLAUSE_END = re.compile(r"\s(?:ORDER BY|GROUP BY|LIMIT|RETURNING|FOR UPDATE|ON CONFLICT|OFFSET)\b", re.I)

_KEYS: dict[str, str] = {}  # statement text -> key (statements repeat: normalise each once)


def _flatten(sql: str) -> str:
    sql = _SPACE.sub(" ", sql).strip()
    sql = _STRING.sub("?", sql)
    sql = _PARAM.sub("?", sql)
    sql = _NUMBER.sub("?", sql)
    sql = _CAST.sub(lambda m: "?" if m.group(0).startswith("CAST") else "", sql)
    while True:
        collapsed = _ROWS.sub("(?)", _LIST.sub("(?)", sql))
        if collapsed == sql:
            return sql
        sql = collapsed


def _where(sql: str, limit: int = 140) -> str:
    at = sql.upper().find(" WHERE ")
    if at < 0:
        return ""
    clause = sql[at + 7:]
    end = _CLAUSE_END.search(clause)
    if end:
        clause = clause[:end.start()]
    clause = _QUALIFIED.sub(r"\1", clause)
    return " WHERE " + (clause if len(clause) <= limit else clause[:limit - 1] + "…")


def _tail(sql: str) -> str:
    upper = sql.upper()
    marks = []
    if " ON CONFLICT" in upper:
        marks.append("ON CONFLICT DO NOTHING" if "DO NOTHING" in upper else "ON CONFLICT DO UPDATE")
    if " FOR UPDATE" in upper:
        marks.append("FOR UPDATE" + (" SKIP LOCKED" if "SKIP LOCKED" in upper else ""))
    if " RETURNING " in upper:
        marks.append("RETURNING")
    return (" " + " ".join(marks)) if marks else ""


def normalise(statement: str) -> str:
    """``UPDATE order_units SET status, updated_at WHERE id = ?``: verb, table, shape; values collapsed."""
    key = _KEYS.get(statement)
    if key is not None:
        return key
    sql = _flatten(statement)
    words = sql.split(" ", 3)
    verb = words[0].upper()
    if verb == "INSERT":
        table = words[2] if len(words) > 2 else "?"
        source = " SELECT" if re.search(r"\)\s*SELECT\b", sql, re.I) and " VALUES " not in sql.upper() else ""
        key = f"INSERT INTO {table}{source}{_tail(sql)}"
    elif verb == "UPDATE":
        head, _, rest = sql.partition(" SET ")
        sets = rest.upper().split(" WHERE ")[0] if rest else ""
        columns = ", ".join(dict.fromkeys(c.lower() for c in _SET_COLUMN.findall(sets)))
        key = f"UPDATE {head.split(' ')[1]} SET {columns}{_where(sql)}{_tail(sql)}"
    elif verb == "DELETE":
        key = f"DELETE FROM {words[2] if len(words) > 2 else '?'}{_where(sql)}"
    elif verb in ("SELECT", "WITH"):
        tables = ", ".join(dict.fromkeys(t for t in _TABLE_AFTER.findall(sql) if t.upper() != "SELECT"))
        key = f"SELECT FROM {tables or '-'}{_where(sql)}{_tail(sql)}"
    elif verb in ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT"):
        key = " ".join(w for w in sql.split(" ") if not w.lower().startswith("sa_savepoint"))
    else:
        key = sql[:120]
    _KEYS[statement] = key
    return key


def table_of(key: str) -> str:
    """The table a normalised key is about (the first one for a SELECT), or its verb."""
    words = key.split(" ")
    if words[0] in ("INSERT", "DELETE") and len(words) > 2:
        return words[2]
    if words[0] == "UPDATE" and len(words) > 1:
        return words[1]
    if words[0] == "SELECT" and len(words) > 2:
        return words[2].rstrip(",")
    return words[0]


# -- where a statement came from ---------------------------------------------------------------------------

_CODE: dict[CodeType, str | None] = {}  # code object -> "path/in/orderhub.py:function", None outside orderhub


def _name(code: CodeType) -> str | None:
    try:
        return _CODE[code]
    except KeyError:
        path = code.co_filename
        name = None
        if path.startswith(ORDERHUB):
            name = f"{path[len(ORDERHUB):]}:{code.co_name}"
        _CODE[code] = name
        return name


def call_site(frame: FrameType | None) -> tuple[str, str]:
    """(nearest orderhub frame, the nearest one above it in another module, else the first again); '-' where
    there is none (a statement of the bench itself)."""
    site = caller = "-"
    module = ""
    while frame is not None:
        name = _name(frame.f_code)
        if name is not None and not name.startswith(_HELPERS):
            path = name.partition(":")[0]
            if site == "-":
                site, module = name, path
            elif path != module:
                caller = name
                break
        frame = frame.f_back
    return site, caller if caller != "-" else site  # called from outside orderhub: the site is the step


# -- the counter -------------------------------------------------------------------------------------------

def _rows_of(parameters: Any, context: Any, executemany: bool) -> int:
    """Parameter sets one statement carried (1 for a plain execute)."""
    if not executemany:
        return 1
    if isinstance(parameters, list):
        return max(1, len(parameters))
    # insertmanyvalues: one multi-row INSERT, its parameters flattened
    try:
        per_row = len(context.compiled_parameters[0])
        return max(1, len(parameters) // per_row) if per_row else 1
    except (AttributeError, IndexError, TypeError):
        return 1


class Counter:
    """Counts statements on the engines it is attached to; see the module's docstring."""

    def __init__(self, detail: bool = False) -> None:
        self.detail = detail
        self.phase = "-"
        self.statements = 0
        self.executemany = 0
        self.rows = 0
        self.phases: dict[str, list[int]] = {}  # phase -> [statements, executemany rows]
        self._detail: dict[tuple[str, str, str, str], list[float]] = {}  # -> [statements, executemany, rows, s]
        self._open: list[float] | None = None
        self._began = 0.0

    def attach(self, engine: Any) -> Counter:
        from sqlalchemy import event

        event.listen(engine, "before_cursor_execute", self._before)
        if self.detail:
            event.listen(engine, "after_cursor_execute", self._after)
        return self

    def _before(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, context: Any,
                executemany: bool) -> None:
        rows = _rows_of(parameters, context, executemany)
        self.statements += 1
        phase = self.phases.get(self.phase)
        if phase is None:
            phase = self.phases[self.phase] = [0, 0]
        phase[0] += 1
        if executemany:
            self.executemany += 1
            self.rows += rows
            phase[1] += rows
        if self.detail:
            site, caller = call_site(sys._getframe(1))
            key = (self.phase, normalise(statement), site, caller)
            entry = self._detail.get(key)
            if entry is None:
                entry = self._detail[key] = [0, 0, 0, 0.0]
            entry[0] += 1
            if executemany:
                entry[1] += 1
                entry[2] += rows
            self._open = entry
            self._began = time.perf_counter()

    def _after(self, *_args: Any) -> None:
        if self._open is not None:
            self._open[3] += time.perf_counter() - self._began
            self._open = None

    def snapshot(self) -> dict[str, Any]:
        """Everything counted, as plain data (picklable, JSON-able)."""
        return {
            "statements": self.statements, "executemany": self.executemany, "executemany_rows": self.rows,
            "phases": {p: {"statements": s, "executemany_rows": r} for p, (s, r) in self.phases.items()},
            "detail": [{"phase": p, "key": k, "site": s, "caller": c, "statements": int(v[0]),
                        "executemany": int(v[1]), "rows": int(v[2]), "seconds": v[3]}
                       for (p, k, s, c), v in self._detail.items()],
        }


def merge(snapshots: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """One snapshot of several processes' counts."""
    out: dict[str, Any] = {"statements": 0, "executemany": 0, "executemany_rows": 0, "phases": {}, "detail": []}
    detail: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for snap in snapshots:
        for k in ("statements", "executemany", "executemany_rows"):
            out[k] += snap[k]
        for phase, v in snap["phases"].items():
            mine = out["phases"].setdefault(phase, {"statements": 0, "executemany_rows": 0})
            mine["statements"] += v["statements"]
            mine["executemany_rows"] += v["executemany_rows"]
        for d in snap["detail"]:
            key = (d["phase"], d["key"], d["site"], d["caller"])
            if key not in detail:
                detail[key] = dict(d)
            else:
                for k in ("statements", "executemany", "rows", "seconds"):
                    detail[key][k] += d[k]
    out["detail"] = list(detail.values())
    return out


def per(snapshot: Mapping[str, Any], n: int) -> dict[str, Any]:
    """The figures to keep in a bench's JSON line: totals and per-phase statements per ``n`` (orders,
    records), and the breakdown when there is one (each entry with its statements and rows per ``n``)."""
    n = max(1, n)
    out: dict[str, Any] = {
        "statements": snapshot["statements"], "statements_per": snapshot["statements"] / n,
        "executemany": snapshot["executemany"], "executemany_rows": snapshot["executemany_rows"],
        "phases": {p: {**v, "statements_per": v["statements"] / n} for p, v in snapshot["phases"].items()},
    }
    if snapshot["detail"]:
        out["breakdown"] = [
            {**d, "table": table_of(d["key"]), "statements_per": d["statements"] / n, "rows_per": d["rows"] / n,
             "ms_per": 1000 * d["seconds"] / n}
            for d in sorted(snapshot["detail"], key=lambda d: (-d["statements"], -d["seconds"]))]
    return out


def tables(snapshot: Mapping[str, Any], n: int, unit: str, title: str, limit: int = 60) -> list[Any]:
    """Rich tables of a detailed snapshot, per ``unit`` (``order``, ``record``): every statement shape by call
    site, most frequent first; then the sums by caller and by table."""
    from rich.table import Table

    n = max(1, n)
    detail = sorted(snapshot["detail"], key=lambda d: (-d["statements"], -d["seconds"]))
    main = Table(title=f"{title}: SQL statements per {unit} by shape and call site "
                       f"({snapshot['statements'] / n:.2f} per {unit} in all; {n:,} {unit}s)")
    for col, justify in ((f"stmts/{unit}", "right"), (f"rows/{unit}", "right"), (f"ms/{unit}", "right"),
                         ("phase", "left"), ("caller → call site", "left"), ("statement", "left")):
        main.add_column(col, justify=justify, overflow="fold")
    shown = 0
    for d in detail:
        if shown == limit:
            break
        shown += 1
        rows = f"{d['rows'] / n:.2f} ({d['rows'] / max(1, d['executemany']):.0f}/exec)" if d["executemany"] else ""
        main.add_row(f"{d['statements'] / n:.3f}", rows, f"{1000 * d['seconds'] / n:.3f}", d["phase"],
                     f"{d['caller']} → {d['site']}", d["key"])
    if len(detail) > shown:
        rest = detail[shown:]
        main.add_row(f"{sum(d['statements'] for d in rest) / n:.3f}", "", "", "", f"{len(rest)} more shapes", "")
    out = [main]
    for label, group in (("caller", lambda d: (d["phase"], d["caller"])),
                         ("call site", lambda d: (d["phase"], d["site"])),
                         ("table", lambda d: (d["phase"], table_of(d["key"])))):
        sums: dict[tuple[str, str], list[float]] = {}
        for d in detail:
            s = sums.setdefault(group(d), [0, 0, 0.0])
            s[0] += d["statements"]
            s[1] += d["rows"]
            s[2] += d["seconds"]
        t = Table(title=f"{title}: statements per {unit} by {label}")
        for col in ("phase", label, f"stmts/{unit}", f"executemany rows/{unit}", f"ms/{unit}"):
            t.add_column(col, justify="left" if col in ("phase", label) else "right")
        for (phase, name), (stmts, rows, secs) in sorted(sums.items(), key=lambda kv: -kv[1][0]):
            t.add_row(phase, name, f"{stmts / n:.3f}", f"{rows / n:.2f}" if rows else "", f"{1000 * secs / n:.3f}")
        out.append(t)
    return out
