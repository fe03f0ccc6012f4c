"""horizon_labels: step counts per horizon, the (t_s, t_s + H] window at its boundaries, after the onset."""

from __future__ import annotations

import math

import numpy as np
import pytest

from salus_common.names import FAILURE_TYPES, HORIZONS_S
from salus_data.horizon_labels import first_positive_step, horizon_labels, horizon_steps

MS = 1_000_000  # ns
TYPES = ("collision", "drop", "timeout", "other")


def steps_10hz(n: int) -> np.ndarray:
    """Step times of a 10 Hz episode: 0.1, 0.2, ... s after the start event [ns]."""
    return np.arange(1, n + 1, dtype=np.int64) * 100 * MS


def test_label_columns_are_the_documented_failure_types() -> None:
    assert FAILURE_TYPES == TYPES  # docs/RECORDING.md and every stored store's columns depend on this order


@pytest.mark.parametrize(
    ("rate", "expected"),
    [(10.0, [2, 3, 4, 5]), (20.0, [4, 6, 8, 10]), (5.0, [1, 2, 2, 3]), (15.0, [3, 5, 6, 8])],
)
def test_horizons_become_whole_steps_at_the_control_rate(rate: float, expected: list[int]) -> None:
    # 15 Hz: 0.3 s = 4.5 steps -> 5 (halves round up), 0.5 s = 7.5 -> 8; 5 Hz: 0.3 s = 1.5 -> 2
    assert horizon_steps(HORIZONS_S, rate).tolist() == expected


@pytest.mark.parametrize(
    ("horizons", "rate"),
    [((), 10.0), ((0.2, -0.1), 10.0), ((0.2,), 0.0), ((0.01,), 10.0), ((math.nan,), 10.0)],
)
def test_bad_horizons_or_rates_are_rejected(horizons, rate) -> None:
    with pytest.raises(ValueError):
        horizon_steps(horizons, rate)


def test_window_is_open_before_and_closed_after_at_the_nanosecond() -> None:
    times = np.array([1000 * MS], dtype=np.int64)  # one step at t_s = 1.0 s
    horizons = (0.2,)
    exactly_one_horizon_ahead, _ = horizon_labels(times, 1.2, 1, horizons, 10.0, 4)
    just_beyond, _ = horizon_labels(times, 1.2 + 1e-9, 1, horizons, 10.0, 4)
    just_after_now, post = horizon_labels(times, 1.0 + 1e-9, 1, horizons, 10.0, 4)
    assert exactly_one_horizon_ahead[0, 0, 1] == 1  # onset at t_s + H: inside (closed on the right)
    assert just_beyond[0, 0, 1] == 0
    assert just_after_now[0, 0, 1] == 1 and not post[0]


def test_at_and_after_the_onset_every_horizon_is_one_and_marked_post_onset() -> None:
    times = steps_10hz(30)
    labels, post = horizon_labels(times, 2.0, 1, HORIZONS_S, 10.0, 4)
    onset_step = 19  # t_s = 2.0 s exactly: the onset is not in the future of this step
    assert post.tolist() == [False] * onset_step + [True] * (30 - onset_step)
    assert labels[onset_step:, :, 1].all()
    assert labels[:, :, [0, 2, 3]].sum() == 0  # one failure type per episode


def test_first_positive_step_per_horizon_follows_the_onset() -> None:
    times = steps_10hz(40)
    labels, _ = horizon_labels(times, 2.34, 0, HORIZONS_S, 10.0, 4)
    # first step with t_s + H >= 2.34: H=0.2 -> t_s 2.2 (index 21); 0.3 -> 2.1; 0.4 -> 2.0; 0.5 -> 1.9
    assert [first_positive_step(labels, h, 0) for h in range(4)] == [21, 20, 19, 18]
    assert np.all(np.diff(labels[:, :, 0].astype(int), axis=1) >= 0)  # longer horizons see it earlier
    assert np.all(np.diff(labels[:, :, 0].astype(int), axis=0) >= 0)  # and it never switches off


def test_float_sums_of_sim_steps_do_not_move_a_boundary() -> None:
    times = np.array([round(0.1 * 3 * 1e9)], dtype=np.int64)  # 0.30000000000000004 s -> 300 ms
    onset = 0.1 + 0.1 + 0.1 + 0.1 + 0.1  # 0.5000000000000001: exactly t_s + 0.2 within a nanosecond
    labels, _ = horizon_labels(times, onset, 2, (0.2,), 10.0, 4)
    assert labels[0, 0, 2] == 1


def test_success_is_all_zero_and_inconsistent_inputs_fail() -> None:
    times = steps_10hz(10)
    labels, post = horizon_labels(times, None, None, HORIZONS_S, 10.0, 4)
    assert labels.shape == (10, 4, 4) and labels.dtype == np.uint8 and labels.sum() == 0 and not post.any()
    nan_success, _ = horizon_labels(times, math.nan, -1, HORIZONS_S, 10.0, 4)
    assert nan_success.sum() == 0
    with pytest.raises(ValueError, match="onset"):
        horizon_labels(times, None, 1, HORIZONS_S, 10.0, 4)
    with pytest.raises(ValueError, match="onset"):
        horizon_labels(times, 1.0, None, HORIZONS_S, 10.0, 4)
    with pytest.raises(ValueError, match="outside"):
        horizon_labels(times, 1.0, 4, HORIZONS_S, 10.0, 4)


def test_other_control_rates_use_their_own_step_counts() -> None:
    times = np.arange(1, 41, dtype=np.int64) * 50 * MS  # 20 Hz
    labels, _ = horizon_labels(times, 1.0, 3, (0.2,), 20.0, 4)
    assert first_positive_step(labels, 0, 3) == 15  # t_s = 0.8 s: 0.8 + 4 steps of 50 ms = 1.0
