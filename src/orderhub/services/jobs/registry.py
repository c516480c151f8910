"""The catalogue of jobs orderhub can run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orderhub.adapters.store.shops import Shop
    from orderhub.bootstrap import Hub

JobFn = Callable[["Hub", "Shop | None", dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Job:
    name: str
    category: str
    description: str
    run: JobFn
    per_shop: bool = True
    default_every_seconds: int = 900
    params: dict[str, str] = field(default_factory=dict)  # name -> description


_JOBS: dict[str, Job] = {}


def register(job: Job) -> Job:
    _JOBS[job.name] = job
    return job


def get(name: str) -> Job:
    _load()
    try:
        return _JOBS[name]
    except KeyError:
        raise LookupError(f"no job named {name!r}; known jobs: {', '.join(sorted(_JOBS))}") from None


def all_jobs() -> list[Job]:
    _load()
    return sorted(_JOBS.values(), key=lambda j: (j.category, j.name))


def _load() -> None:
    # Job modules register themselves on import.
    from orderhub.services.jobs import import_orders, oms_jobs, reconcile_orders  # noqa: F401
