"""``orderhub demo`` run after run: the same seed prints the same summary, its folder is its own."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from orderhub.entrypoints.cli import main
from orderhub.entrypoints.demo import MARK
from tests.processes import CLI

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[2]


def _demo(cwd: Path, *args: str) -> str:
    done = subprocess.run([*CLI, "demo", "--orders", "6", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=240, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def _summary(output: str) -> str:
    """From the omnichannel act on (what each channel shows, the TikTok order) through the summary to the end,
    without what differs by nature: ports, times, and how long the run took."""
    summary = output[output.index("9. Adding Amazon, Walmart and TikTok Shop accounts"):]
    summary = re.sub(r" *Summary \(\d+ s\) *", "Summary (N s)", summary)  # a centred title: its padding too
    summary = re.sub(r"http://127\.0\.0\.1:\d+", "URL", summary)
    summary = re.sub(r"P-[0-9a-f]{16}", "PSEUDONYM", summary)  # an erased person's: random, by design
    # How many copies of the person's order the inbox holds depends on when Shopify's retries arrive beside the
    # batch poll (a late one is kept, finished as a duplicate): so do the files exported and the values erased.
    summary = re.sub(r"exported \d+ files", "exported N files", summary)
    summary = re.sub(r"erased \d+ values", "erased N values", summary)
    return re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", "TIME", summary)


def test_two_runs_print_the_same_summary_and_the_second_says_it_replaces_the_first(tmp_path: Path) -> None:
    first = _demo(tmp_path)
    assert (tmp_path / "orderhub-demo" / MARK).is_file()
    (tmp_path / "orderhub-demo" / "note.txt").write_text("the demo's own folder: replaced", encoding="utf-8")
    second = _demo(tmp_path)
    assert "Replacing" not in first
    assert second.startswith("Replacing the earlier demo run in orderhub-demo/")
    assert not (tmp_path / "orderhub-demo" / "note.txt").exists()
    assert _summary(first) == _summary(second)
    assert "orders created in the Shopify store (valid)" in first and "orders placed in the OMS" in first
    assert "orders placed (valid)" not in first  # "placed" names one thing: placement in the OMS
    assert "After TikTok order" in first and "its shipment confirmed on TikTok" in first
    other_seed = _demo(tmp_path, "--seed", "8")
    assert _summary(other_seed) != _summary(first)


def test_a_folder_the_demo_did_not_make_is_left_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mine = tmp_path / "orderhub-demo"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["demo", "--orders", "1"])
    assert result.exit_code == 1
    assert " ".join(result.output.split()) == ("orderhub-demo/ exists and was not made by the demo; nothing was "
                                               "changed. Move it away, or run the demo from another folder")
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


def test_the_demo_folder_is_ignored_by_git() -> None:
    assert "orderhub-demo/" in (ROOT / ".gitignore").read_text(encoding="utf-8").split()


def test_a_skipped_step_says_why(tmp_path: Path) -> None:
    done = subprocess.run([*CLI, "demo", "--orders", "1"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=240, stdin=subprocess.DEVNULL)
    text = " ".join(done.stdout.split())
    assert "7. Skipped: no online order is brokered whole" in text
    assert "8. Skipped: invoicing in Retail Pro needs a shipped order, and step 7 shipped none" in text


def test_the_demo_says_how_to_reach_the_orderhub_command_when_it_is_not_on_the_path(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from orderhub.entrypoints.demo_summary import command_hint

    monkeypatch.setenv("PATH", "/nonexistent")
    hint = command_hint()
    assert hint is not None and "bin/activate" in hint and "bin/orderhub" in hint
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))
    assert command_hint() is None  # the venv's bin holds orderhub: nothing to add
