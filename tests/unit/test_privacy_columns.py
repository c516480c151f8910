"""Every table and every column that can hold text has a privacy decision (services/privacy/columns.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import LargeBinary, String, Text

from orderhub.adapters.store.schema import metadata
from orderhub.services.privacy import columns as cols


def _stored_as(kind: Any) -> Any:
    """A column type as the database holds it: a decorated type (schema.base.RawBody) by its implementation."""
    return getattr(kind, "impl_instance", kind)


def test_every_table_has_a_decision() -> None:
    missing = sorted(set(metadata.tables) - set(cols.TABLES))
    assert not missing, f"tables without a privacy decision in services/privacy/columns.py: {missing}"
    gone = sorted(set(cols.TABLES) - set(metadata.tables))
    assert not gone, f"services/privacy/columns.py names tables the schema no longer has: {gone}"


def test_every_text_column_has_a_decision() -> None:
    missing = [f"{t.name}.{c.name}" for t in metadata.tables.values() for c in t.columns
               if isinstance(_stored_as(c.type), (String, Text, LargeBinary)) and c.name not in cols.TABLES[t.name]]
    assert not missing, f"text columns without a privacy decision in services/privacy/columns.py: {missing}"


def test_decisions_name_real_columns_with_known_treatments() -> None:
    for table, decided in cols.TABLES.items():
        for column, treatment in decided.items():
            assert column in metadata.tables[table].c, f"{table}.{column} is not a column"
            assert treatment in cols.TREATMENTS, f"{table}.{column}: unknown treatment {treatment!r}"


def test_what_is_rewritten_can_be() -> None:
    for table, decided in cols.TABLES.items():
        t = metadata.tables[table]
        personal = [c for c, v in decided.items() if v in cols.PERSONAL]
        if personal:  # rows are read and written back by one key
            assert len(t.primary_key.columns) == 1, f"{table} needs a one-column key to be rewritten"
        for column in personal:
            kind = _stored_as(t.c[column].type)
            if decided[column] in (cols.NAME, cols.TEXT, cols.SEALED):
                assert isinstance(kind, (String, Text)), f"{table}.{column} cannot take a text value"
            if decided[column] == cols.CLEAR and not isinstance(kind, (String, Text)):
                assert t.c[column].nullable, f"{table}.{column} cannot be emptied"
            if decided[column] == cols.FILE:
                assert isinstance(kind, LargeBinary)


def test_the_personal_columns_of_an_order_are_decided_as_personal() -> None:
    assert cols.TABLES["orders"]["email"] == cols.CLEAR
    assert cols.TABLES["order_addresses"]["address1"] == cols.CLEAR
    assert cols.TABLES["customers"]["first_name"] == cols.NAME
    assert cols.TABLES["inbox"]["payload"] == cols.TEXT
    assert cols.TABLES["pickup_mails"]["body_text"] == cols.SEALED
    assert cols.TABLES["job_run_files"]["content"] == cols.FILE
