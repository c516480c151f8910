"""The command-line reference: every command of a Click tree, with its usage, arguments and options."""

from __future__ import annotations

import click

from orderhub.entrypoints.cli import main
from orderhub.reference import cli as cli_reference


@click.group()
def tool() -> None:
    """A tool for the test."""


@tool.group()
def stock() -> None:
    """Stock, per place."""


@stock.command("move")
@click.argument("sku")
@click.argument("places", nargs=-1)
@click.option("--kind", type=click.Choice(["in", "out"]), default="in", show_default=True, help="Which way | how.")
@click.option("--count", type=click.IntRange(1, 9), default=2, help="How many, e.g. *2*.")
@click.option("--dry-run/--for-real", default=True, help="Only say what would move.")
@click.option("--db", "db_url", envvar="ORDERHUB_DATABASE_URL", help="Database URL.")
@click.option("--tag", multiple=True, help="Repeat for more.")
@click.option("--secret", hidden=True)
def move(**_: object) -> None:
    """Move stock between places.

    Moves are written to the ledger `as they happen`.
    """


def test_a_nested_command_gets_a_section_with_its_usage_arguments_and_options() -> None:
    text = cli_reference.reference(tool, "tool")
    assert "## `tool` {#tool}" in text
    assert "## `tool stock` {#tool-stock}" in text
    assert "### `tool stock move` {#tool-stock-move}" in text
    assert "tool stock move [OPTIONS] SKU [PLACES]..." in text
    assert "Move stock between places." in text and "Moves are written to the ledger `as they happen`." in text
    assert "| `SKU` | text | yes |" in text
    assert "| `PLACES` | text, any number | no |" in text
    assert "| `--kind` | one of `in`, `out` | `in` | Which way \\| how. |" in text
    assert "| `--count` | integer ≥ 1 ≤ 9 | `2` | How many, e.g. \\*2\\*. |" in text
    assert "| `--dry-run` / `--for-real` | flag | `--dry-run` | Only say what would move. |" in text
    assert "[`ORDERHUB_DATABASE_URL`](settings.md#ORDERHUB_DATABASE_URL)" in text
    assert "| `--tag` | text, repeatable |" in text
    assert "--secret" not in text and "--help" not in text
    # A group lists its subcommands, linked to their sections.
    assert "| [`move`](#tool-stock-move) | Move stock between places. |" in text


def test_a_command_added_to_the_tree_shows_up() -> None:
    @stock.command("count")
    def count() -> None:
        """Count what is there."""

    try:
        text = cli_reference.reference(tool, "tool")
        assert "### `tool stock count` {#tool-stock-count}" in text
        assert "| [`count`](#tool-stock-count) | Count what is there. |" in text
    finally:
        stock.commands.pop("count")


def _every_command_path(group: click.Group, path: tuple[str, ...]) -> list[tuple[str, ...]]:
    found = [path]
    for name, command in group.commands.items():
        if command.hidden:
            continue
        if isinstance(command, click.Group):
            found += _every_command_path(command, (*path, name))
        else:
            found.append((*path, name))
    return found


def test_every_command_of_orderhub_has_its_section() -> None:
    text = cli_reference.orderhub_reference()
    paths = _every_command_path(main, ("orderhub",))
    assert ("orderhub", "simulate", "shopify") in paths and ("orderhub", "orders", "list") in paths
    for path in paths:
        assert f"`{' '.join(path)}` {{#{'-'.join(path)}}}" in text, f"{' '.join(path)} is missing"
    assert len(paths) == sum(1 for _ in cli_reference.walk(main))
