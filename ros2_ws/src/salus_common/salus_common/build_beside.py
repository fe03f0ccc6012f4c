"""Build an output folder beside its destination, then swap it in whole (both exports of bags use it).

::

    with BuildBeside(output) as build:
        write_everything_into(build.path)     # a hidden sibling: .<name>.tmp-<pid>, not created yet
        build.swap_in()                       # output now is the new folder; the old one is deleted

Leaving the block without :meth:`BuildBeside.swap_in` (an error, Ctrl-C) deletes the temporary folder, so
an interrupted run leaves the previous output exactly as it was. The sibling lives on the same file
system, so the swap is two renames. A run killed with SIGKILL leaves its ``.<name>.tmp-<pid>`` behind
(hidden; the output is untouched then too); the next build of the same output deletes such leftovers of
processes that no longer run.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from salus_common.process import pid_alive


class BuildBeside:
    def __init__(self, output: str | os.PathLike[str]) -> None:
        self.output = Path(output).expanduser().resolve()
        self.path = self.output.with_name(f".{self.output.name}.tmp-{os.getpid()}")
        self.swapped = False

    def __enter__(self) -> BuildBeside:
        self.output.parent.mkdir(parents=True, exist_ok=True)
        for leftover in self.leftovers():
            shutil.rmtree(leftover, ignore_errors=True)
        return self

    def leftovers(self) -> list[Path]:
        """Temporary folders of earlier builds of this output whose process is gone (or is this one)."""
        found = []
        for prefix in (f".{self.output.name}.tmp-", f".{self.output.name}.old-"):
            for folder in self.output.parent.glob(f"{prefix}*"):
                pid = folder.name[len(prefix) :]
                if pid.isdigit() and (int(pid) == os.getpid() or not pid_alive(int(pid))):
                    found.append(folder)
        return sorted(found)

    def swap_in(self) -> None:
        """Replace ``output`` (if any) with the built folder."""
        if not self.path.is_dir():
            raise RuntimeError(f"nothing was built at {self.path}")
        old = self.output.with_name(f".{self.output.name}.old-{os.getpid()}")
        if self.output.exists():
            os.rename(self.output, old)
        os.rename(self.path, self.output)
        self.swapped = True
        shutil.rmtree(old, ignore_errors=True)

    def __exit__(self, *exc: object) -> None:
        if not self.swapped:
            shutil.rmtree(self.path, ignore_errors=True)
