"""The job catalogue reference, and how the build fills the reference pages."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from orderhub.domain.jobs import CATEGORIES, Definition, Param, ParamKind
from orderhub.reference import jobs as jobs_reference
from orderhub.reference import markdown, pages
from orderhub.services.jobs import registry


@pytest.fixture
def extra_job() -> Iterator[registry.Job]:
    job = registry.register(Definition(
        "count-socks", "misc", "Count the socks | pairs and *odd* ones",
        params=(Param("drawer", ParamKind.TEXT, "which drawer", required=True),
                Param("deep", ParamKind.BOOL, "look behind", default=False),
                Param("since", ParamKind.DURATION, "how far back", default="1d")),
        requires=("reconcile-orders",)), lambda ctx: None)
    yield job
    registry.unregister(job.name)


def test_every_job_of_the_catalogue_has_its_section_and_parameters() -> None:
    text = jobs_reference.reference()
    jobs = registry.all_jobs()
    assert len(jobs) > 30
    for job in jobs:
        section = text.split(f"### `{job.name}` {{#{job.name}}}", 1)[1].split("\n### ", 1)[0]
        assert markdown.text(job.definition.description) in section
        for p in job.definition.params:
            assert f"| `{p.name}` | {p.kind.value} |" in section, f"{job.name}: parameter {p.name}"
    for category in CATEGORIES:
        if registry.all_jobs(category.code):
            assert f"## {category.title} {{#category-{category.code}}}" in text


def test_a_job_registered_later_shows_up_with_what_its_definition_says(extra_job: registry.Job) -> None:
    text = jobs_reference.reference()
    section = text.split("### `count-socks` {#count-socks}", 1)[1].split("\n## ", 1)[0]
    assert "Count the socks \\| pairs and \\*odd\\* ones" in section
    assert "| `drawer` | text | yes |   | which drawer |" in section
    assert "| `deep` | bool | no | `false` | look behind |" in section
    assert "| `since` | duration | no | `1d` | how far back |" in section
    assert "Needs a successful run of [`reconcile-orders`](#reconcile-orders) first." in section
    assert "Runs once per shop." in section and "Default schedule: `every-15-minutes` (at most every 5m)." in section
    assert "Timeout 1h; 2 retries, 1m apart; overlapping runs not allowed; missed ticks: `run-once`." in section


def test_the_build_replaces_each_marker_with_its_generated_reference() -> None:
    cache: dict[str, str] = {}
    page = "# Jobs\n\nIntro.\n\n<!-- orderhub-reference: jobs -->\n"
    filled = pages.fill(page, cache)
    assert filled.startswith("# Jobs\n\nIntro.\n\n## ") and "orderhub-reference" not in filled
    assert cache == {"jobs": filled.split("Intro.\n\n", 1)[1].rstrip("\n") + "\n"}
    assert pages.fill("no marker here") == "no marker here"
    with pytest.raises(pages.UnknownReference, match="no generated reference named 'recipes'"):
        pages.fill("<!-- orderhub-reference: recipes -->")


def test_text_from_the_code_is_shown_literally_but_keeps_its_code_spans() -> None:
    assert markdown.text("a | b *c* [d] <e> `x | *y*` ``whsec_``") == \
        "a \\| b \\*c\\* \\[d\\] &lt;e&gt; `x \\| *y*` ``whsec_``"
    assert markdown.text("two\n  lines") == "two lines"
    assert markdown.code("a|b") == "`a\\|b`" and markdown.code("`x`") == "`` `x` ``"
