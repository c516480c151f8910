"""The till's own state on disk (SQLite): its credential, its sequence counter, and every sale it made.

A sale stays queued until orderhub's answer acknowledges it (recorded, duplicate or error_logged); a
restart, a crash or a week offline loses nothing. Acknowledged sales are kept (marked), so the till can
send its whole history again and knows which of its sales a customer can bring goods back from.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sales (
    seq INTEGER PRIMARY KEY,           -- the device's sequence number
    id TEXT NOT NULL UNIQUE,           -- the sale's id (uuid), orderhub counts it once by it
    body TEXT NOT NULL,                -- the sale as sent (JSON)
    made_at TEXT NOT NULL,             -- the device's clock when it was made (ISO)
    acked_at TEXT,                     -- when orderhub acknowledged it; NULL while queued
    answer TEXT                        -- orderhub's status for it
);
CREATE TABLE IF NOT EXISTS returned (sale_id TEXT NOT NULL, sku TEXT NOT NULL, quantity INTEGER NOT NULL,
                                     PRIMARY KEY (sale_id, sku));
"""


@dataclass(frozen=True)
class Queued:
    sequence: int
    sale_id: str
    body: dict[str, Any]
    made_at: str


class LocalState:
    """The till's SQLite file (one writer: the till itself)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a sale the till took is on disk before the receipt prints
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- settings kept across runs ---------------------------------------------------------------------------

    def get(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def put(self, key: str, value: str) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = ?",
                       (key, value, value))

    def forget(self, key: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM meta WHERE key = ?", (key,))

    # -- sales -----------------------------------------------------------------------------------------------

    def next_sequence(self) -> int:
        row = self._db.execute("SELECT MAX(seq) FROM sales").fetchone()
        return int(row[0] or 0) + 1

    def add(self, body: dict[str, Any]) -> Queued:
        """Keep a sale made (its ``sequence`` is the next one: a sequence is never reused)."""
        with self._tx() as db:
            seq = int(db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM sales").fetchone()[0])
            body = {**body, "sequence": seq}
            db.execute("INSERT INTO sales (seq, id, body, made_at) VALUES (?, ?, ?, ?)",
                       (seq, body["id"], orjson.dumps(body).decode(), body.get("device_time") or ""))
            for line in body.get("lines", ()):
                back = line.get("returns") or {}
                if line.get("quantity", 0) < 0 and back.get("sale"):
                    db.execute("INSERT INTO returned (sale_id, sku, quantity) VALUES (?, ?, ?) ON CONFLICT "
                               "(sale_id, sku) DO UPDATE SET quantity = quantity + excluded.quantity",
                               (back["sale"], line["sku"], -int(line["quantity"])))
        return Queued(seq, body["id"], body, body.get("device_time") or "")

    def queued(self, limit: int | None = None) -> list[Queued]:
        """Sales not acknowledged yet, oldest first."""
        sql = "SELECT seq, id, body, made_at FROM sales WHERE acked_at IS NULL ORDER BY seq"
        rows = self._db.execute(sql + (" LIMIT ?" if limit else ""), (limit,) if limit else ()).fetchall()
        return [Queued(int(r[0]), r[1], orjson.loads(r[2]), r[3]) for r in rows]

    def history(self) -> list[Queued]:
        """Every sale the till ever made, oldest first (acknowledged or not)."""
        return [Queued(int(r[0]), r[1], orjson.loads(r[2]), r[3])
                for r in self._db.execute("SELECT seq, id, body, made_at FROM sales ORDER BY seq")]

    def acknowledge(self, answers: Iterable[tuple[str, str]], at: str) -> int:
        """Mark sales orderhub answered for: (sale id, status). Returns how many left the queue now."""
        left = 0
        with self._tx() as db:
            for sale_id, status in answers:
                left += db.execute("UPDATE sales SET acked_at = ?, answer = ? WHERE id = ? AND acked_at IS NULL",
                                   (at, status, sale_id)).rowcount
        return left

    def length(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM sales WHERE acked_at IS NULL").fetchone()[0])

    def oldest(self) -> str | None:
        row = self._db.execute("SELECT made_at FROM sales WHERE acked_at IS NULL ORDER BY seq LIMIT 1").fetchone()
        return None if row is None or not row[0] else str(row[0])

    def returnable(self) -> list[tuple[str, str, int, str]]:
        """(sale id, SKU, units still returnable, unit price) of this till's sales, oldest first."""
        back = {(r[0], r[1]): int(r[2]) for r in self._db.execute("SELECT sale_id, sku, quantity FROM returned")}
        out = []
        for q in self.history():
            for line in q.body.get("lines", ()):
                qty = int(line.get("quantity", 0))
                if qty > 0:
                    left = qty - back.get((q.sale_id, line["sku"]), 0)
                    if left > 0:
                        out.append((q.sale_id, line["sku"], left, str(line.get("unit_price", "0"))))
        return out

    def counts(self) -> dict[str, int]:
        """Sales made, still queued, and acknowledged by orderhub's answer."""
        answered = dict(self._db.execute("SELECT answer, COUNT(*) FROM sales WHERE answer IS NOT NULL GROUP BY answer")
                        .fetchall())
        total, queued = self._db.execute("SELECT COUNT(*), COUNT(*) - COUNT(acked_at) FROM sales").fetchone()
        return {"made": int(total), "queued": int(queued), **{str(k): int(v) for k, v in answered.items()}}
