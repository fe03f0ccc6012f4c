"""Multi-horizon failure labels per control step, from an episode's failure onset. Pure Python (numpy).

Definition. Step ``t`` of an episode is the observation stamped ``t_s`` seconds after the episode's start
event (``t_s = (stamp - S)``; the first observation of a 10 Hz episode is at 0.1 s, the sim time its
state was measured at). Horizons are given in seconds and converted at the recorded control rate ``f``
to whole steps, ``n_h = round(H_h * f)`` (halves round up), so the effective horizon is ``n_h / f``
seconds (0.2, 0.3, 0.4, 0.5 s at 10 Hz are 2, 3, 4, 5 steps, exactly). For failure type ``k`` with onset
``o`` (seconds since the episode start, as the ``EpisodeEvent`` carries it)::

    label[t, h, k] = 1   if  o <= t_s + n_h / f        (onset within the horizon, or already past)
                     0   otherwise, and for every type other than the episode's failure type

* Before the onset (``t_s < o``) this is exactly "onset in ``(t_s, t_s + n_h/f]``": the interval is open
  on the left (an onset at ``t_s`` itself is not in the future of step ``t``) and closed on the right (an
  onset exactly one horizon ahead counts).
* At and after the onset (``t_s >= o``: the failure has happened, e.g. the frames between a drop's onset
  and the moment it was confirmed) every horizon is 1 for the episode's failure type: failure is an
  absorbing state. ``post_onset[t]`` marks these steps so that training code that wants strictly-future
  labels can mask them out.
* Success episodes (onset NaN) are all zeros. An episode has at most one failure type (the first outcome
  decided wins), so at most one ``k`` column is ever non-zero.

Times are compared as integer nanoseconds (``round(x * 1e9)``), so sums of float sim steps such as
0.30000000000000004 do not move a label across a boundary.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from salus_common.stamps import seconds_to_ns


def horizon_steps(horizons_s: Sequence[float], control_rate_hz: float) -> np.ndarray:
    """Whole control steps per horizon: ``round(H * f)``, halves up; each must be >= 1."""
    if not (control_rate_hz > 0 and math.isfinite(control_rate_hz)):
        raise ValueError(f"control_rate_hz must be a positive number, got {control_rate_hz!r}")
    horizons = np.asarray(horizons_s, dtype=np.float64)
    if horizons.ndim != 1 or horizons.size == 0 or not np.all(np.isfinite(horizons)) or np.any(horizons <= 0):
        raise ValueError(f"horizons must be a non-empty list of positive seconds, got {list(horizons_s)}")
    steps = np.floor(horizons * control_rate_hz + 0.5 + 1e-9).astype(np.int64)
    if np.any(steps < 1):
        raise ValueError(
            f"horizons {list(horizons_s)} s are shorter than half a control step at {control_rate_hz:g} Hz"
        )
    return steps


def horizon_labels(
    step_times_ns: np.ndarray,
    onset_s: float | None,
    failure_index: int | None,
    horizons_s: Sequence[float],
    control_rate_hz: float,
    num_types: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Labels ``(T, H, K)`` uint8 and ``post_onset`` ``(T,)`` bool for one episode (see module docstring).

    ``step_times_ns``: time of each step since the episode start [ns]. ``onset_s``: failure onset since
    the episode start [s] (None/NaN for success). ``failure_index``: column of the failure type (None or
    -1 for success).
    """
    times = np.asarray(step_times_ns, dtype=np.int64)
    if times.ndim != 1:
        raise ValueError("step_times_ns must be 1-D")
    steps = horizon_steps(horizons_s, control_rate_hz)
    labels = np.zeros((times.size, steps.size, num_types), dtype=np.uint8)
    post_onset = np.zeros(times.size, dtype=bool)
    failed = failure_index is not None and failure_index >= 0
    has_onset = onset_s is not None and math.isfinite(onset_s)
    if failed != has_onset:
        raise ValueError(
            f"a failure needs an onset and a success none (failure_index={failure_index}, onset_s={onset_s})"
        )
    if not failed:
        return labels, post_onset
    if not 0 <= failure_index < num_types:
        raise ValueError(f"failure_index {failure_index} is outside 0..{num_types - 1}")
    onset_ns = seconds_to_ns(onset_s)
    step_ns = 1e9 / control_rate_hz
    horizon_ns = np.array([int(round(n * step_ns)) for n in steps], dtype=np.int64)
    labels[:, :, failure_index] = onset_ns <= times[:, None] + horizon_ns[None, :]
    post_onset[:] = times >= onset_ns
    return labels, post_onset


def first_positive_step(labels: np.ndarray, horizon: int, failure_index: int) -> int | None:
    """Index of the first step labelled 1 at ``horizon`` for ``failure_index`` (None if none)."""
    hits = np.flatnonzero(labels[:, horizon, failure_index])
    return int(hits[0]) if hits.size else None
