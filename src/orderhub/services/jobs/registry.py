"""The catalogue of jobs orderhub can run: each job's definition and the code that runs it."""

from __future__ import annotations

import functools
import importlib
import os
import pkgutil
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


# Modules of this package that are the job manager itself, not jobs.
_INFRASTRUCTURE = frozenset({"admin", "context", "manager", "registry", "runner"})
_LOADED: set[str] = set()


@functools.cache
def _package_modules() -> tuple[str, ...]:
    """The job modules of this package: listed once, not on every lookup (the scheduler looks up often)."""
    from orderhub.services import jobs as package

    return tuple(f"{package.__name__}.{m.name}" for m in pkgutil.iter_modules(package.__path__)
                 if m.name not in _INFRASTRUCTURE)


def _load() -> None:
    """Import every job module of this package (each registers its jobs on import), and the
    retailer's own named by ORDERHUB_JOB_MODULES (comma-separated modules that call ``register``)."""
    modules = list(_package_modules())
    modules += [m.strip() for m in os.environ.get("ORDERHUB_JOB_MODULES", "").split(",") if m.strip()]
    for module in modules:
        if module not in _LOADED:
            importlib.import_module(module)
            _LOADED.add(module)
