"""The command-line reference: every command of a Click tree, walked from its root.

Each command gets a section with a fixed anchor, its path joined by hyphens
(``orderhub-orders-list``), so other pages can link to it.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import click

from orderhub.reference.markdown import code, fenced, heading, table, text

_UNSET = getattr(click.core, "UNSET", None)  # click 8.2+: what a parameter without a default holds


@dataclass(frozen=True)
class Command:
    """One command of the tree, with the context that names it as the command line would."""

    path: tuple[str, ...]
    command: click.Command
    context: click.Context

    @property
    def anchor(self) -> str:
        return anchor(self.path)

    @property
    def name(self) -> str:
        return " ".join(self.path)


def anchor(path: tuple[str, ...] | list[str]) -> str:
    """The section id of a command: ``("orderhub", "orders", "list")`` is ``orderhub-orders-list``."""
    return "-".join(path)


def walk(root: click.Command, name: str = "orderhub") -> Iterator[Command]:
    """Every visible command under ``root`` (itself first), depth first, subcommands by name."""
    yield from _walk(root, click.Context(root, info_name=name), (name,))


def _walk(command: click.Command, ctx: click.Context, path: tuple[str, ...]) -> Iterator[Command]:
    yield Command(path, command, ctx)
    if isinstance(command, click.Group):
        for sub_name in command.list_commands(ctx):
            sub = command.get_command(ctx, sub_name)
            if sub is None or sub.hidden:
                continue
            yield from _walk(sub, click.Context(sub, info_name=sub_name, parent=ctx), (*path, sub_name))


def usage(cmd: Command) -> str:
    return " ".join([cmd.context.command_path, *cmd.command.collect_usage_pieces(cmd.context)])


def _default(param: click.Parameter, ctx: click.Context) -> str:
    value = param.get_default(ctx, call=False)
    if callable(value):
        return "computed when run"
    if value is None or value is _UNSET or value == ():
        return ""
    if isinstance(param, click.Option) and param.is_flag:
        if param.secondary_opts:  # --worker/--no-worker
            return code(param.opts[0] if value else param.secondary_opts[0])
        return "on" if value else ""
    if isinstance(value, (tuple, list)):
        return ", ".join(code(v) for v in value)
    return code(value)


def _type(param: click.Parameter) -> str:
    kind = param.type
    if isinstance(param, click.Option) and param.is_flag:
        described = "flag"
    elif isinstance(kind, click.Choice):
        described = "one of " + ", ".join(code(c) for c in kind.choices)
    elif isinstance(kind, (click.IntRange, click.FloatRange)):
        bounds = [f"≥ {kind.min}" if kind.min is not None else "", f"≤ {kind.max}" if kind.max is not None else ""]
        described = f"{kind.name.split()[0]} {' '.join(b for b in bounds if b)}".strip()
    else:
        described = kind.name
    if param.multiple:
        described += ", repeatable"
    elif param.nargs == -1:
        described += ", one or more" if param.required else ", any number"
    return described


def _option_help(param: click.Option, settings_page: str | None) -> str:
    parts = [text(param.help or "")]
    envvars = [param.envvar] if isinstance(param.envvar, str) else list(param.envvar or ())
    for var in envvars:
        target = f"[{code(var)}]({settings_page}#{var})" if settings_page and var.startswith("ORDERHUB_") else code(var)
        parts.append(f"Environment: {target}.")
    if param.required:
        parts.insert(0, "**Required.**")
    return " ".join(p for p in parts if p)


def _description(command: click.Command) -> str:
    raw = inspect.cleandoc(command.help or command.short_help or "")
    paragraphs = [p for p in raw.replace("\b\n", "").split("\n\n") if p.strip()]
    return "\n\n".join(text(p) for p in paragraphs)


def section(cmd: Command, *, settings_page: str | None = "settings.md") -> str:
    """One command's section: heading, usage, description, arguments, options and subcommands."""
    level = 2 if len(cmd.path) <= 2 else 3
    out = [heading(level, code(cmd.name), cmd.anchor), fenced(usage(cmd), "console")]
    described = _description(cmd.command)
    if described:
        out.append(described)
    params = [p for p in cmd.command.get_params(cmd.context) if not getattr(p, "hidden", False)
              and p.name != "help" and "--help" not in getattr(p, "opts", ())]
    arguments = [p for p in params if isinstance(p, click.Argument)]
    options = [p for p in params if isinstance(p, click.Option)]
    if arguments:
        out.append(table(["Argument", "Type", "Required"], [
            [code(a.human_readable_name), _type(a), "yes" if a.required else "no"] for a in arguments]))
    if options:
        out.append(table(["Option", "Type", "Default", "Meaning"], [
            [" / ".join(code(o) for o in (", ".join(opt.opts), ", ".join(opt.secondary_opts)) if o),
             _type(opt), _default(opt, cmd.context), _option_help(opt, settings_page)] for opt in options]))
    if isinstance(cmd.command, click.Group):
        rows = []
        for sub_name in cmd.command.list_commands(cmd.context):
            sub = cmd.command.get_command(cmd.context, sub_name)
            if sub is not None and not sub.hidden:
                rows.append([f"[{code(sub_name)}](#{anchor((*cmd.path, sub_name))})",
                             text(sub.get_short_help_str(limit=200))])
        out.append(table(["Command", "What it does"], rows))
    return "\n\n".join(out)


def reference(root: click.Command, name: str = "orderhub", *, settings_page: str | None = "settings.md") -> str:
    """Markdown for every command under ``root``; ``settings_page`` is where environment variables link."""
    return "\n\n".join(section(cmd, settings_page=settings_page) for cmd in walk(root, name)) + "\n"


def orderhub_reference(**kwargs: Any) -> str:
    """The reference of the ``orderhub`` command itself."""
    from orderhub.entrypoints.cli import main

    return reference(main, "orderhub", **kwargs)
