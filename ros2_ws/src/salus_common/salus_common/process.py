"""Processes: children that die with their supervisor (launcher, collector), and whether a pid still runs."""

from __future__ import annotations

import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def terminate_with_parent() -> None:
    """``preexec_fn`` of a child: ask Linux to SIGTERM it when its parent dies (no-op elsewhere).

    Without this a killed launcher would leave its nodes running, and publishing, with no supervisor.
    """
    if sys.platform != "linux":
        return
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists: tells a live writer's hidden folder from a killed one's."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True
