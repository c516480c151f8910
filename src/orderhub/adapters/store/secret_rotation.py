"""Which columns hold secrets, how many values each key encrypts, and re-encryption under a new key."""

from __future__ import annotations

import base64
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Table, select, text, update

from orderhub.adapters.store import secrets as secret_box
from orderhub.adapters.store.db import Database
from orderhub.adapters.store.schema import metadata

# What the commands need besides the counts, so they need not reach into secrets.py.
SecretKeyError = secret_box.SecretKeyError
new_key = secret_box.new_key
CLEAR = "clear"  # status of a legacy value that is not encrypted yet

SECRET_COLUMNS: tuple[tuple[Table, str], ...] = tuple((metadata.tables[t], c) for t, c in secret_box.COLUMNS)


def label(table: Table, column: str) -> str:
    """The name a value is bound to when encrypted, and shown in messages: ``table.column``."""
    return f"{table.name}.{column}"


def status(conn: Connection) -> dict[str, Counter[str]]:
    """Per column, how many values each key id encrypts (``clear`` for legacy clear values)."""
    found: dict[str, Counter[str]] = {}
    for table, column in SECRET_COLUMNS:
        counts: Counter[str] = Counter()
        for (value,) in conn.execute(select(table.c[column]).where(table.c[column].is_not(None))):
            counts[secret_box.stored_key_id(value) or CLEAR] += 1
        found[label(table, column)] = counts
    return found


def reencrypt(conn: Connection, *, only_clear: bool = False) -> int:
    """Encrypt every value under the current key (or only the clear ones); returns how many changed."""
    ring = secret_box.keyring(conn)
    changed = 0
    for table, column in SECRET_COLUMNS:
        name = label(table, column)
        rows = conn.execute(select(table.c.id, table.c[column]).where(table.c[column].is_not(None))).all()
        for row_id, value in rows:
            kid = secret_box.stored_key_id(value)
            if kid == ring.current_id or (only_clear and kid is not None):
                continue
            plain = ring.decrypt(name, value, f"{table.name} {row_id}")
            conn.execute(update(table).where(table.c.id == row_id).values({column: ring.encrypt(name, plain)}))
            changed += 1
    return changed


def check(db: Database) -> None:
    """Raise SecretKeyError now, at start-up, if any stored secret cannot be decrypted."""
    with db.read() as conn:
        ring = secret_box.keyring(conn)
        for table, column in SECRET_COLUMNS:
            for row_id, value in conn.execute(select(table.c.id, table.c[column])):
                if value is not None:
                    ring.decrypt(label(table, column), value, f"{table.name} {row_id}")


@dataclass(frozen=True)
class Rotation:
    new_key_id: str
    reencrypted: int
    key_file: Path | None  # None when the keys come from the environment


@dataclass(frozen=True)
class KeyInfo:
    """Where the keys come from and their ids (never the keys)."""

    source: str
    current_id: str
    ids: list[str]


def key_info(db: Database) -> KeyInfo:
    with db.read() as conn:
        ring = secret_box.keyring(conn)
        return KeyInfo(ring.source, ring.current_id, ring.ids)


def rotate(db: Database) -> Rotation:
    """A new current key (key file), then every secret re-encrypted under it in one transaction.

    The write transaction is taken first, so two rotations run one after the other and neither
    drops the key the other added. With keys from ORDERHUB_SECRET_KEY orderhub cannot add one
    itself: put the new key first there and this re-encrypts under it. Old keys stay, so running
    processes keep reading their values.
    """
    with db.write() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('orderhub secrets rotate'))"))
        ring = secret_box.keyring(conn)
        if ring.path is not None:
            current = secret_box.read_key_file(ring.path)  # as it is now, not as this process last saw it
            secret_box.write_key_file(ring.path, [secret_box.new_key(), *(_encode(k) for k in current)])
            secret_box.forget(db.engine)
            ring = secret_box.keyring(conn)
        done = reencrypt(conn)
        if ring.path is None and not done:
            raise secret_box.SecretKeyError(
                f"every secret already uses key {ring.current_id}, the first in {secret_box.ENV_KEY}: make a key "
                f"with `orderhub secrets new-key`, put it first in {secret_box.ENV_KEY} (a comma, then the old "
                "ones) and run `orderhub secrets rotate` again")
    return Rotation(ring.current_id, done, ring.path)


def _encode(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode()
