"""Amazon's published models, schemas and samples the simulator is built and tested against (see README.md)."""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any


@functools.cache
def _read(name: str) -> Any:
    return json.loads(resources.files(__package__).joinpath(name).read_text("utf-8"))


def load(name: str) -> Any:
    """The parsed JSON data file ``name`` in this folder (cached; do not change what it returns)."""
    return _read(name)
