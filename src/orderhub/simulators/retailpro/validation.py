"""Check a JSON block against a tuple of :class:`~orderhub.domain.retailpro_documents.Field`.

Every problem is collected (not just the first), each naming its field by path
(``CustomerBilling.FirstName``, ``Items[2].UPC``), so one 400 answer lists them all. The
checks themselves are :func:`orderhub.domain.retailpro_documents.check_block`, the same
orderhub's transform applies before anything is sent.
"""

from __future__ import annotations

from typing import Any

from orderhub.domain import retailpro_documents
from orderhub.domain.retailpro_documents import Field
from orderhub.simulators.retailpro.errors import ErrorEntry


class Problems:
    """The errors found so far in one request."""

    def __init__(self) -> None:
        self.entries: list[ErrorEntry] = []

    def add(self, code: str, path: str, message: str) -> None:
        self.entries.append(ErrorEntry(code, f"{path}: {message}", path))

    def __bool__(self) -> bool:
        return bool(self.entries)


def check_block(block: Any, fields: tuple[Field, ...], prefix: str, problems: Problems) -> dict[str, Any]:
    """The block's known fields, converted; missing, malformed and too-long ones go to ``problems``."""
    if not isinstance(block, dict):
        problems.add("FIELD_INVALID" if block is not None else "FIELD_REQUIRED", prefix or "body",
                     "must be a JSON object.")
        return {}
    values, found = retailpro_documents.check_block(block, fields, prefix)
    for code, path, message in found:
        problems.add(code, path, message)
    return values


def check_list(raw: Any, path: str, maximum: int, problems: Problems) -> list[Any]:
    """A required, non-empty JSON array of at most ``maximum`` entries."""
    if not isinstance(raw, list) or not raw:
        problems.add("FIELD_REQUIRED", path, "must be a non-empty list.")
        return []
    if len(raw) > maximum:
        problems.add("FIELD_INVALID", path, f"has {len(raw)} entries; at most {maximum} allowed.")
        return []
    return raw
