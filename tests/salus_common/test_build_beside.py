"""BuildBeside: an output is replaced whole or not at all, and killed builds' leftovers are cleaned up."""

from __future__ import annotations

import subprocess
import sys

import pytest

from salus_common.build_beside import BuildBeside


def _write(folder, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "content.txt").write_text(text)


def test_swap_replaces_the_output_whole(tmp_path):
    output = tmp_path / "store"
    _write(output, "old")
    (output / "stale.txt").write_text("only in the old build")
    with BuildBeside(output) as build:
        _write(build.path, "new")
        build.swap_in()
    assert (output / "content.txt").read_text() == "new"
    assert not (output / "stale.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]


def test_an_interrupted_build_leaves_the_old_output(tmp_path):
    output = tmp_path / "store"
    _write(output, "old")
    with pytest.raises(KeyboardInterrupt), BuildBeside(output) as build:
        _write(build.path, "half")
        raise KeyboardInterrupt
    assert (output / "content.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]


def test_leftovers_of_dead_builds_are_removed_and_live_ones_kept(tmp_path):
    output = tmp_path / "store"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    dead_pid = int(dead.stdout)  # that process has exited: its pid is (almost surely) free
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _write(tmp_path / f".store.tmp-{dead_pid}", "killed build")
        _write(tmp_path / f".store.old-{dead_pid}", "killed swap")
        _write(tmp_path / f".store.tmp-{live.pid}", "a build still running")
        _write(tmp_path / ".other.tmp-1", "another output's")
        with BuildBeside(output) as build:
            _write(build.path, "new")
            build.swap_in()
        left = sorted(p.name for p in tmp_path.iterdir())
    finally:
        live.kill()
        live.wait()
    assert left == [".other.tmp-1", f".store.tmp-{live.pid}", "store"]
