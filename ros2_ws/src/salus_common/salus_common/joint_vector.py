"""Named joint values (``sensor_msgs/JointState``-style name and value lists) to ordered vectors, checked.

One rule for every reader of joint states and commands (simulator, policies, recorders, exports): each
expected joint appears exactly once, no unknown or duplicate names, every value finite. Failures raise
:class:`JointVectorError` with a short, stable ``reason`` (for counting on ``/diagnostics``) and a detail.
Pure numpy, no ROS types.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from salus_common.rejection import InputRejectedError


class JointVectorError(InputRejectedError):
    """Joint names and values that do not form a valid vector; ``reason`` is a stable key for counting."""


def joint_vector(
    names: Sequence[str],
    values: Sequence[float],
    expected: Sequence[str],
    dtype: type | np.dtype = np.float64,
    require_finite: bool = True,
) -> np.ndarray:
    """``values`` reordered to the ``expected`` joint order.

    Reasons: ``count_mismatch``, ``duplicate_joints``, ``unknown_joints``, ``missing_joints``,
    ``non_finite`` (unless ``require_finite`` is off, for fields where NaN means "not measured").
    """
    names = list(names)
    if len(names) != len(values):
        raise JointVectorError("count_mismatch", f"{len(names)} names but {len(values)} values")
    index = {name: i for i, name in enumerate(names)}
    if len(index) != len(names):
        duplicates = sorted({n for n in names if names.count(n) > 1})
        raise JointVectorError("duplicate_joints", f"joints named more than once: {duplicates}")
    unknown = [n for n in names if n not in set(expected)]
    if unknown:
        raise JointVectorError("unknown_joints", f"unknown joints {unknown}; expected {list(expected)}")
    missing = [n for n in expected if n not in index]
    if missing:
        raise JointVectorError("missing_joints", f"lacks joints {missing}")
    vector = np.asarray([values[index[name]] for name in expected], dtype=np.float64)
    bad = require_finite and [
        name for name, value in zip(expected, vector, strict=True) if not np.isfinite(value)
    ]
    if bad:
        raise JointVectorError("non_finite", f"non-finite value for {bad}")
    return vector.astype(dtype, copy=False)


def clamp_to_limits(
    vector: np.ndarray,
    names: Sequence[str],
    lower: Sequence[float],
    upper: Sequence[float],
    tolerance: float = 0.0,
) -> np.ndarray:
    """``vector`` clamped into ``[lower, upper]``; more than ``tolerance`` outside raises ``out_of_range``.

    A small excess is clamped, as a joint controller would; a large one means a unit or joint-order
    mistake upstream and is refused rather than silently flattened.
    """
    low, high = np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)
    outside = (vector < low - tolerance) | (vector > high + tolerance)
    if np.any(outside):
        j = int(np.flatnonzero(outside)[0])
        raise JointVectorError(
            "out_of_range", f"{names[j]} target {vector[j]:.4f} outside [{low[j]:.4f}, {high[j]:.4f}]"
        )
    return np.clip(vector, low, high)


def limit_target(
    target: np.ndarray,
    reference: np.ndarray,
    lower: Sequence[float],
    upper: Sequence[float],
    max_step: Sequence[float],
) -> tuple[np.ndarray, bool]:
    """``target`` moved at most ``max_step`` from ``reference`` and clamped into ``[lower, upper]``.

    For the last stage before a robot: a position target may not leave the joint range, nor ask a joint to
    move farther in one control period than its velocity limit allows (``max_step`` = limit x period,
    ``reference`` = the previous target or the measured position). Simulators often rate-limit internally;
    Isaac Sim's articulation controller and a real robot's position interface do not. Returns the limited
    target and whether anything was changed (for counting).
    """
    target = np.asarray(target, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    step = np.asarray(max_step, dtype=np.float64)
    limited = np.clip(np.clip(target, reference - step, reference + step), lower, upper)
    return limited, bool(np.any(limited != target))
