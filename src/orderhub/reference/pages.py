"""The generated parts of the reference pages, by name, as the documentation build asks for them.

A page under docs/reference/ holds its hand-written introduction and a marker line,
``<!-- orderhub-reference: NAME -->``, which the build replaces with :func:`render` of NAME.
"""

from __future__ import annotations

import re
from collections.abc import Callable

MARKER = re.compile(r"^<!-- orderhub-reference: ([a-z-]+) -->$", re.MULTILINE)


def _cli() -> str:
    from orderhub.reference import cli

    return cli.orderhub_reference()


def _http_api() -> str:
    from orderhub.reference import http_api

    return http_api.reference()


def _settings() -> str:
    from orderhub.reference import settings

    return settings.reference()


def _events() -> str:
    from orderhub.reference import events

    return events.reference()


def _jobs() -> str:
    from orderhub.reference import jobs

    return jobs.reference()


GENERATORS: dict[str, Callable[[], str]] = {
    "cli": _cli, "http-api": _http_api, "settings": _settings, "events": _events, "jobs": _jobs}


# The site's home page while docs/index.md is missing (a checkout with the reference alone): the
# theme links every page to the home page, so the site needs one to have no broken link.
FALLBACK_HOME = """# orderhub

An open-source order hub for omnichannel retail. See the [reference](reference/index.md).
"""


class UnknownReference(LookupError):
    pass


def render(name: str) -> str:
    try:
        generate = GENERATORS[name]
    except KeyError:
        raise UnknownReference(f"no generated reference named {name!r}; known: {', '.join(GENERATORS)}") from None
    return generate()


def fill(markdown: str, cache: dict[str, str] | None = None) -> str:
    """``markdown`` with every marker replaced by its generated reference (kept in ``cache``, if given)."""
    cache = {} if cache is None else cache

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in cache:
            cache[name] = render(name)
        return cache[name]

    return MARKER.sub(replace, markdown)
