"""Checks of an incoming SalusSignals message before the predictor sees it (pure; the node counts reasons).

A message is withheld from the predictor, never crashed on, when its values have the wrong length, are
not finite, or its names differ from the stack's; when it lacks an extended signal the predictor reads;
and when its stamp is stale (older than ``max_age_s`` behind the newest stamp seen) or from the future
(ahead of the node's clock by more than ``max_age_s``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np

from salus_common.rejection import InputRejectedError


def checked_signals(names: Sequence[str], values: Sequence[float], expected: Sequence[str]) -> np.ndarray:
    """The values as float64 in ``expected`` order, or InputRejectedError with a stable reason."""
    row = np.asarray(values, dtype=np.float64)
    if row.ndim != 1 or row.size != len(expected):
        raise InputRejectedError("wrong_length", f"{row.size} values, expected {len(expected)}")
    if len(names) and tuple(names) != tuple(expected):
        raise InputRejectedError(
            "names_mismatch", f"names {list(names)[:3]}... differ from {list(expected)[:3]}..."
        )
    if not np.all(np.isfinite(row)):
        bad = [expected[i] for i in np.flatnonzero(~np.isfinite(row))]
        raise InputRejectedError("non_finite", f"non-finite {bad}")
    return row


def checked_extended(
    names: Sequence[str], values: Sequence[float], wanted: Sequence[str]
) -> dict[str, float]:
    """The extended signals named in ``wanted`` from a message's ``extended_*`` fields, or
    InputRejectedError (``missing_extended``, ``wrong_length``, ``non_finite``)."""
    if not wanted:
        return {}
    if len(names) != len(values):
        raise InputRejectedError("wrong_length", f"{len(values)} extended values for {len(names)} names")
    given = dict(zip(names, values, strict=True))
    missing = [n for n in wanted if n not in given]
    if missing:
        raise InputRejectedError(
            "missing_extended", f"no extended signals {missing} (is the VLA's extended_signals on?)"
        )
    out = {n: float(given[n]) for n in wanted}
    bad = [n for n, v in out.items() if not np.isfinite(v)]
    if bad:
        raise InputRejectedError("non_finite", f"non-finite {bad}")
    return out


def model_inputs(
    inputs: Sequence[str], base: np.ndarray, extended: dict[str, float], base_names: Sequence[str]
) -> np.ndarray:
    """The predictor's input vector (``inputs`` order) from a checked base row and extended values."""
    index = {name: i for i, name in enumerate(base_names)}
    return np.array([base[index[n]] if n in index else extended[n] for n in inputs], dtype=np.float64)


def check_stamp(stamp_ns: int, newest_ns: int | None, now_ns: int, max_age_ns: int) -> None:
    """Reject a stamp older than the newest seen by more than ``max_age_ns``, or that far ahead of now."""
    if newest_ns is not None and stamp_ns < newest_ns - max_age_ns:
        raise InputRejectedError(
            "stale", f"stamp {stamp_ns * 1e-9:.3f} s is {(newest_ns - stamp_ns) * 1e-9:.3f} s old"
        )
    if now_ns > 0 and stamp_ns > now_ns + max_age_ns:
        raise InputRejectedError(
            "future_stamp", f"stamp {(stamp_ns - now_ns) * 1e-9:.3f} s ahead of the clock"
        )


class LatencyWindow:
    """The last ``size`` latencies [s] and their percentiles in ms."""

    def __init__(self, size: int = 2000) -> None:
        self._values: deque[float] = deque(maxlen=size)

    def add(self, seconds: float) -> None:
        self._values.append(seconds)

    def percentile_ms(self, q: float) -> float:
        return (
            float(np.percentile(np.fromiter(self._values, float), q) * 1e3) if self._values else float("nan")
        )

    def __len__(self) -> int:
        return len(self._values)
