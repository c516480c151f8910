"""The job catalogue reference: every registered job, grouped by category, as its Definition says.

Each job's section has the job's name as anchor (``jobs.md#broker-orders``); each category's is
``category-<code>`` (``jobs.md#category-brokering``).
"""

from __future__ import annotations

from collections.abc import Sequence

from orderhub.domain.jobs import CATEGORIES, Definition, Param
from orderhub.reference.markdown import code, heading, table, text
from orderhub.services.jobs.registry import Job, all_jobs


def _seconds(n: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if n >= size and n % size == 0:
            return f"{n // size}{unit}"
    return f"{n}s"


def _retries(n: int, delay_seconds: int) -> str:
    if n == 0:
        return "no retries"
    return f"{n} {'retry' if n == 1 else 'retries'}, {_seconds(delay_seconds)} apart"


def _param_default(p: Param) -> str:
    if p.default is None:
        return ""
    if isinstance(p.default, bool):
        return code("true" if p.default else "false")
    return code(p.default)


def _params(params: Sequence[Param]) -> str:
    return table(["Parameter", "Type", "Required", "Default", "Meaning"], [
        [code(p.name), p.kind.value, "yes" if p.required else "no", _param_default(p), text(p.help)]
        for p in params])


def section(d: Definition) -> str:
    policy = d.policy
    facts = [
        f"Default schedule: {code(d.default_schedule)} (at most every {_seconds(d.min_interval_seconds)}).",
        "Runs once per shop." if d.per_shop else "Runs once for all shops.",
        f"Timeout {_seconds(policy.timeout_seconds)}; {_retries(policy.max_retries, policy.retry_delay_seconds)}; "
        "overlapping runs "
        f"{'allowed' if policy.allow_overlap else 'not allowed'}; missed ticks: {code(policy.missed.value)}.",
    ]
    if d.requires:
        facts.append("Needs a successful run of " + ", ".join(f"[{code(r)}](#{r})" for r in d.requires) + " first.")
    out = [heading(3, code(d.name), d.name), text(d.description), "\n".join(f"- {f}" for f in facts)]
    out.append(_params(d.params) if d.params else "No parameters.")
    return "\n\n".join(out)


def reference(jobs: Sequence[Job] | None = None) -> str:
    """Markdown for these jobs (default: the whole catalogue), by category in the catalogue's order."""
    jobs = all_jobs() if jobs is None else jobs
    out = []
    for category in CATEGORIES:
        members = sorted((j for j in jobs if j.definition.category == category.code), key=lambda j: j.name)
        if not members:
            continue
        out.append(heading(2, category.title, f"category-{category.code}"))
        out.append(text(category.description) + f" Category code: {code(category.code)}.")
        out.append(table(["Job", "What it does"], [[f"[{code(j.name)}](#{j.name})", text(j.definition.description)]
                                                   for j in members]))
        out += [section(j.definition) for j in members]
    return "\n\n".join(out) + "\n"
