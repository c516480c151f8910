"""The settings reference: every ``ORDERHUB_*`` variable, with its type, default and meaning.

The variables of :class:`orderhub.config.Settings` describe themselves (field metadata); the few
read elsewhere are listed in :data:`READ_ELSEWHERE`, each beside the module that reads it. Each
variable's row carries its name as anchor: ``settings.md#ORDERHUB_DATABASE_URL``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orderhub.adapters import outbound
from orderhub.config import Reader, environment_fields
from orderhub.reference.markdown import code, table, text


@dataclass(frozen=True)
class Variable:
    name: str
    kind: str
    default: str
    description: str
    read_by: str = "orderhub.config.Settings"


READ_ELSEWHERE: tuple[Variable, ...] = (
    Variable(outbound.ENV_ALLOWED, "comma-separated host names", "unset",
             "Hosts a destination or subscription may send to although they are or resolve to a loopback, "
             "private, link-local, multicast or reserved address (a receiver on your own network); without "
             "it such addresses are refused, when added and before every send.", "orderhub.adapters.outbound"),
    Variable("ORDERHUB_JOB_MODULES", "comma-separated Python modules", "unset",
             "Modules of your own that register jobs (they call orderhub.services.jobs.registry.register when "
             "imported); imported with orderhub's own job modules.", "orderhub.services.jobs.registry"),
)

_UNITS = (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024))


def _size(value: int) -> str:
    for unit, size in _UNITS:
        if value >= size and value % size == 0:
            return f" ({value // size} {unit})"
    return ""


def _default(name: str, value: Any, shown: str | None) -> str:
    if shown is not None:
        return code(shown)
    if value is None or value == () or value == frozenset():
        return "unset"
    if isinstance(value, int) and not isinstance(value, bool) and "BYTES" in name:
        return code(value) + _size(value)
    return code(value)


def _kind(reader: Reader) -> str:
    if reader.choices:
        return f"{reader.kind}: " + ", ".join(code(c) for c in reader.choices)
    return reader.kind


def variables() -> list[Variable]:
    """Every variable orderhub reads: Settings' own, in declaration order, then those read elsewhere."""
    found = [Variable(env, _kind(f.metadata["reader"]), _default(env, f.default, f.metadata["shown_default"]),
                      f.metadata["description"]) for f, env in environment_fields()]
    return found + list(READ_ELSEWHERE)


def _row(v: Variable) -> list[str]:
    # An attribute list on the name's code span gives the row its anchor.
    return [f"{code(v.name)}{{#{v.name}}}", v.kind, v.default, text(v.description)]


def reference() -> str:
    settings = [v for v in variables() if v.read_by == "orderhub.config.Settings"]
    elsewhere = [v for v in variables() if v.read_by != "orderhub.config.Settings"]
    header = ["Variable", "Type", "Default", "Meaning"]
    parts = ["## Settings {#settings}", "Read once at start by `orderhub.config.Settings.from_env()`.",
             table(header, [_row(v) for v in settings]),
             "## Read where they are used {#read-elsewhere}",
             "Not part of Settings: read by the module that uses them, when it uses them.",
             table([*header, "Read by"], [[*_row(v), code(v.read_by)] for v in elsewhere])]
    return "\n\n".join(parts) + "\n"
