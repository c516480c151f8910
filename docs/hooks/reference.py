"""MkDocs hook: fill the reference pages' markers with text generated from orderhub's code.

The work is done by :mod:`orderhub.reference.pages`; this file only connects it to the build.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

# The source tree beside this documentation, ahead of any installed orderhub: the reference
# describes the code it is built with.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from mkdocs.structure.files import File  # noqa: E402

from orderhub.reference.pages import FALLBACK_HOME, fill  # noqa: E402

_cache: dict[str, str] = {}


def on_pre_build(config: Any) -> None:
    _cache.clear()  # `mkdocs serve` rebuilds from the code as it is now


def on_files(files: Any, config: Any) -> Any:
    if files.get_file_from_path("index.md") is None:
        files.append(File.generated(config, "index.md", content=FALLBACK_HOME))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    return fill(markdown, _cache)
