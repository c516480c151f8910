"""The Content-Disposition of a download whose name may be in any script (RFC 6266 with RFC 5987).

HTTP headers are Latin-1: the plain ``filename`` keeps ASCII letters, digits and ``._-`` (others
become ``_``), and ``filename*`` carries the whole name in UTF-8, which browsers prefer."""

from __future__ import annotations

from urllib.parse import quote


def ascii_name(name: str) -> str:
    return "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in name)[:200] or "file"


def attachment(name: str) -> str:
    return f"attachment; filename=\"{ascii_name(name)}\"; filename*=UTF-8''{quote(name, safe='')}"
