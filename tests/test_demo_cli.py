"""`self-improver demo` takes only the flags it honours, and keeps its folder (replacing only an earlier demo)."""

from __future__ import annotations

from pathlib import Path

import pytest
from self_improver.server.cli import build_parser
from self_improver.server.demo import MARKER, prepare_demo_dir


def _demo_flags() -> set[str]:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    demo = sub.choices["demo"]  # type: ignore[attr-defined]
    return {flag for action in demo._actions for flag in action.option_strings}


def test_demo_help_lists_only_the_flags_the_demo_honours() -> None:
    assert _demo_flags() == {"-h", "--help", "--dir", "--now", "--log-level"}
    args = build_parser().parse_args(["demo", "--dir", "/tmp/x", "--now", "2026-02-16T00:17:00Z"])
    assert (args.dir, args.now) == (Path("/tmp/x"), "2026-02-16T00:17:00Z")


@pytest.mark.parametrize("flag", ["--config", "--telemetry-db", "--data-dir", "--memory-url", "--embedding"])
def test_flags_the_demo_would_ignore_are_refused(flag: str) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["demo", flag, "x"])


def test_the_demo_folder_is_created_kept_and_replaced_only_when_it_is_a_demo(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    assert prepare_demo_dir(folder) == folder.resolve() and (folder / MARKER).is_file()
    (folder / "telemetry.db").write_text("last run")
    assert prepare_demo_dir(folder) == folder.resolve()
    assert sorted(p.name for p in folder.iterdir()) == [MARKER]  # the earlier demo is gone
    assert not list(tmp_path.glob(".demo.old-*"))  # moved aside, then deleted
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    assert prepare_demo_dir(mine) is None and (mine / "notes.txt").read_text() == "keep me"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert prepare_demo_dir(empty) == empty.resolve()
    (tmp_path / "file").write_text("x")
    assert prepare_demo_dir(tmp_path / "file") is None
