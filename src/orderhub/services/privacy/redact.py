"""Taking a person out of the rows located about them (services/privacy/locate.py), in the caller's transaction,
column by column as :mod:`orderhub.services.privacy.columns` decides: names become the replacement name (the
pseudonym of an erased person), contact and address values are emptied, free text and raw JSON are scrubbed
(staying valid JSON, every non-personal field kept), sealed text is opened, scrubbed and sealed again, files
kept with job runs are rewritten without the lines' personal values."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from orderhub.adapters.store import privacy_rows as rows
from orderhub.adapters.store import secrets as secret_box
from orderhub.domain.customers import ERASED_PREFIX, GUEST_PREFIX, LOYALTY_PREFIX
from orderhub.services.privacy import columns as cols
from orderhub.services.privacy import lines
from orderhub.services.privacy.locate import Located
from orderhub.services.privacy.scrub import REDACTED, Person, scrub_document


def redact(conn: Connection, located: Located, now: datetime) -> dict[str, int]:
    """Scrub every located row; the rows changed per table."""
    person = located.person
    changed: dict[str, int] = {}
    for name, treatments in cols.TABLES.items():
        if not any(v in cols.PERSONAL for v in treatments.values()):
            continue
        t = rows.table(name)
        linked = located.linked.get(name, set())
        keys = linked | located.found.get(name, set())
        if not keys:
            continue
        changes: dict[Any, dict[str, Any]] = {}
        wanted = [c for c, v in treatments.items() if v in (cols.NAME, cols.CLEAR, cols.TEXT, cols.SEALED)]
        for r in rows.read(conn, t, keys, wanted) if wanted else []:
            values = _row_changes(conn, t, r, treatments, person, own=r[0] in linked)
            if values:
                changes[r[0]] = values
        for column in cols.columns(name, cols.FILE):
            for r in rows.read(conn, t, keys, [column]):
                data = lines.scrub_file(person, r[1], located.linked["orders"]) if r[1] else None
                if data is not None:
                    changes.setdefault(r[0], {})[column] = data
                    if "size" in t.c:
                        changes[r[0]]["size"] = len(data)
        n = rows.rewrite(conn, t, changes)
        if n:
            changed[name] = n
    _identities(conn, located, now)
    rows.set_all(conn, rows.table("orders"), located.linked["orders"], {"personal_data_erased_at": now})
    _unsent_mails(conn, located)
    return changed


def _row_changes(conn: Connection, t: Any, r: Any, treatments: dict[str, str], person: Person,
                 own: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column, treatment in treatments.items():
        if column not in r._fields:
            continue
        value = getattr(r, column)
        if value is None:
            continue
        if treatment == cols.NAME and own:
            new: Any = person.name_replacement
        elif treatment == cols.CLEAR and own:
            new = None if t.c[column].nullable else REDACTED
        elif treatment == cols.TEXT:
            new = scrub_document(person, value) if own or person.mentions(value) else value
        elif treatment == cols.SEALED:
            about = f"{t.name} {r[0]}"
            text = secret_box.decrypt(conn, f"{t.name}.{column}", value, about)
            scrubbed = scrub_document(person, text)
            new = value if scrubbed == text else secret_box.encrypt(conn, f"{t.name}.{column}", scrubbed)
        else:
            continue
        if new != value:
            out[column] = new
    return out


def _identities(conn: Connection, located: Located, now: datetime) -> None:
    """Redacted identities never link again (their keys are gone), and one known by a key made of personal data
    (a guest's digest, a loyalty id) is renamed so nothing can find it by that."""
    t = rows.table("customers")
    ids = located.linked["customers"]
    rows.set_all(conn, t, ids, {"redacted_at": now, "email_key": None, "phone_key": None, "loyalty_key": None})
    renamed = {i.id: {"shopify_id": f"{ERASED_PREFIX}{i.id}"} for i in located.identities
               if i.shopify_id.startswith((GUEST_PREFIX, LOYALTY_PREFIX))}
    rows.rewrite(conn, t, renamed)


def _unsent_mails(conn: Connection, located: Located) -> None:
    """A pickup e-mail not sent yet is not sent to someone erased."""
    t = rows.table("pickup_mails")
    pending = [r[0] for r in rows.read(conn, t, located.linked.get("pickup_mails", set()), ["status"])
               if r.status == "pending"]
    rows.set_all(conn, t, pending, {"status": "failed", "body_text": None, "body_html": None,
                                    "last_error": "not sent: the customer's personal data was erased"})
