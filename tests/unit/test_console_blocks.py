"""The reader of the docs' ```console blocks that the newcomer test runs."""

from __future__ import annotations

from pathlib import Path

from tests.newcomer.console_blocks import commands, matches

PAGE = """# A page

```console
$ orderhub orders list --db sqlite:///orderhub-demo/orderhub.db
#1001  paid
...
$ orderhub orders show 9999  # exit status 1
Error: no order 9999
```

```bash
$ systemctl start orderhub
```

````markdown
```console
$ not a command: inside another block
```
````
"""


def test_commands_and_their_output_are_read_from_console_blocks_only(tmp_path: Path) -> None:
    page = tmp_path / "docs" / "page.md"
    page.parent.mkdir()
    page.write_text(PAGE, encoding="utf-8")
    found = commands(page, tmp_path)
    assert [c.shell for c in found] == ["orderhub orders list --db sqlite:///orderhub-demo/orderhub.db",
                                        "orderhub orders show 9999"]
    assert [c.status for c in found] == [0, 1]
    assert found[0].expected == ["#1001  paid", "..."]
    assert found[0].source == "docs/page.md:4"


def test_an_ellipsis_line_stands_for_any_lines_and_inside_a_line_for_any_text() -> None:
    assert matches(["a", "...", "z"], ["a", "b", "c", "z"])
    assert matches(["a", "...", "z"], ["a", "z"])
    assert matches(["took ... s"], ["took 1.5 s  "])
    assert not matches(["a", "z"], ["a", "b", "z"])
    assert not matches(["took ... s"], ["took 1.5 ms!"])
    assert not matches(["a"], [])
    assert matches(["", "a", ""], ["a"])  # blank lines around the output do not count
