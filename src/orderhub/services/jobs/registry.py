"""The catalogue of jobs orderhub can run: each job's definition and the code that runs it."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from orderhub.domain.jobs import Definition

if TYPE_CHECKING:
    from orderhub.services.jobs.context import JobContext

JobFn = Callable[["JobContext"], "dict[str, Any] | None"]


@dataclass(frozen=True)
class Job:
    definition: Definition
    run: JobFn

    @property
    def name(self) -> str:
        return self.definition.name


_JOBS: dict[str, Job] = {}


def register(definition: Definition, run: JobFn) -> Job:
    job = Job(definition, run)
    _JOBS[definition.name] = job
    return job


def unregister(name: str) -> None:
    """Tests register jobs of their own; they take them away again."""
    _JOBS.pop(name, None)


def get(name: str) -> Job:
    _load()
    try:
        return _JOBS[name]
    except KeyError:
        raise LookupError(f"no job named {name!r}; known jobs: {', '.join(sorted(_JOBS))}") from None


def all_jobs(category: str | None = None) -> list[Job]:
    _load()
    jobs = sorted(_JOBS.values(), key=lambda j: (j.definition.category, j.name))
    return [j for j in jobs if category is None or j.definition.category == category]


def _load() -> None:
    # Job modules register themselves on import; ORDERHUB_JOB_MODULES names a retailer's own
    # (comma-separated importable modules that call ``register``).
    from orderhub.services.jobs import import_orders, oms_jobs, reconcile_orders  # noqa: F401

    for module in filter(None, (m.strip() for m in os.environ.get("ORDERHUB_JOB_MODULES", "").split(","))):
        if module not in _LOADED:
            importlib.import_module(module)
            _LOADED.add(module)


_LOADED: set[str] = set()
