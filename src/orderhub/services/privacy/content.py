"""Finding the rows that mention a person by what they hold: every column ``columns.py`` marks as searched
(free text and JSON, sealed text, files kept in the database), a batch at a time.

Text columns are filtered by the database (the person's e-mail addresses, loyalty ids, streets, full names and
the last digits of their phone numbers, case aside) and each candidate is then checked here
(:meth:`Person.mentions`: a phone number matches by its digits, however it is written). Sealed text and files
cannot be filtered by the database: they are opened one batch at a time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Table, select

from orderhub.adapters.store import privacy_rows as rows
from orderhub.adapters.store import secrets as secret_box
from orderhub.services.privacy import columns as cols
from orderhub.services.privacy import lines
from orderhub.services.privacy.scrub import Person

if TYPE_CHECKING:
    from orderhub.services.privacy.locate import Located

FILE_BATCH = 20  # job run files opened at a time (each at most a few megabytes)
# Tables with an account column: a channel's request searches only that account's records.
ACCOUNT_COLUMNS = {"inbox": "shop_id", "error_log": "shop_id"}


def search(conn: Connection, located: Located, *, account_id: int | None = None) -> None:
    """Add to ``located.found`` the rows of every searched table that mention the person."""
    person = located.person
    terms = person.search_terms()
    for name in cols.searched_tables():
        t = rows.table(name)
        where = None
        if account_id is not None:
            if name not in ACCOUNT_COLUMNS:
                continue
            where = t.c[ACCOUNT_COLUMNS[name]] == account_id
        found: set[Any] = set()
        read = 0
        text = cols.columns(name, cols.TEXT)
        for batch in rows.search(conn, t, text, terms, where=where):
            read += len(batch)
            found |= {r[0] for r in batch if any(person.mentions(v) for v in r[1:] if isinstance(v, str))}
        for column in cols.columns(name, cols.SEALED):
            n, hits = _sealed(conn, t, column, person)
            read, found = read + n, found | hits
        for column in cols.columns(name, cols.FILE):
            n, hits = _files(conn, t, column, person)
            read, found = read + n, found | hits
        located.searched[name] = read
        if found:
            located.found.setdefault(name, set()).update(found)


def _sealed(conn: Connection, t: Table, column: str, person: Person) -> tuple[int, set[Any]]:
    read, found = 0, set()
    for keys in rows.key_batches(conn, t, where=t.c[column].is_not(None)):
        for r in rows.read(conn, t, keys, [column]):
            read += 1
            text = secret_box.decrypt(conn, f"{t.name}.{column}", r[1], f"{t.name} {r[0]}")
            if person.mentions(text):
                found.add(r[0])
    return read, found


def _files(conn: Connection, t: Table, column: str, person: Person) -> tuple[int, set[Any]]:
    read, found = 0, set()
    key = rows.key_of(t)
    for keys in rows.key_batches(conn, t, batch=FILE_BATCH):
        for r in conn.execute(select(key, t.c[column]).where(key.in_(keys)).order_by(key)):
            read += 1
            if r[1] and lines.mentions(person, r[1]):
                found.add(r[0])
    return read, found

