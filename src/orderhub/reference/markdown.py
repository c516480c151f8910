"""Small Markdown writers for the generated reference: escaped text, tables, fenced code."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

# Characters that would start emphasis, a link, raw HTML or a table cell outside a code span.
_SPECIAL = re.compile(r"([\\*_\[\]|])")
_CODE_SPAN = re.compile(r"(``[^`]+``|`[^`]+`)")  # reStructuredText's double backticks too


def text(value: str) -> str:
    """Prose from the code (help texts, descriptions) as Markdown: its `code spans` kept, everything
    else shown literally, on one line."""
    parts = _CODE_SPAN.split(" ".join(value.split()))
    out = []
    for i, part in enumerate(parts):
        if i % 2:  # a code span: a pipe in it would still end a table cell
            out.append(part.replace("|", "\\|"))
        else:
            out.append(_SPECIAL.sub(r"\\\1", part).replace("<", "&lt;").replace(">", "&gt;"))
    return "".join(out)


def code(value: Any) -> str:
    """An inline code span holding ``value`` (as text), safe in a table cell."""
    raw = str(value)
    fence = "``" if "`" in raw else "`"
    pad = " " if raw.startswith("`") or raw.endswith("`") else ""
    return f"{fence}{pad}{raw}{pad}{fence}".replace("|", "\\|")


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A pipe table; cells are Markdown already (see :func:`text` and :func:`code`)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell or " " for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def fenced(body: str, language: str = "text") -> str:
    return f"```{language}\n{body.rstrip()}\n```"


def json_block(value: Any) -> str:
    return fenced(json.dumps(value, indent=2, ensure_ascii=False), "json")


def heading(level: int, title: str, anchor: str) -> str:
    """A heading with a fixed anchor (attr_list), so links to it survive a change of its title."""
    return f"{'#' * level} {title} {{#{anchor}}}"
