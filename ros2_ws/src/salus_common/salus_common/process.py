"""Child processes that die with their supervisor (launcher, collector), even when it is SIGKILLed."""

from __future__ import annotations

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
