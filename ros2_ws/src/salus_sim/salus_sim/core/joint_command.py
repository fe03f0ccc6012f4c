"""Validation of incoming joint commands (the ``/joint_command`` contract), free of ROS types.

A command names every commanded joint once and gives a finite position target for each; anything else is
rejected with a reason, so the simulator can count it and keep running on the last good target.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


class JointCommandError(ValueError):
    """A joint command that cannot be applied; ``reason`` is a short, stable key for counting."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class JointLimits:
    """Position limits per joint, in the order of ``names`` [rad or m]."""

    names: tuple[str, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]


def parse_joint_command(
    names: Sequence[str],
    positions: Sequence[float],
    limits: JointLimits,
    tolerance: float = 0.05,
) -> np.ndarray:
    """Position targets ordered like ``limits.names``; raises :class:`JointCommandError`.

    Targets slightly beyond a limit (within ``tolerance``) are clamped, as a joint controller would;
    targets far beyond are rejected because they indicate a unit or joint-order mistake upstream.
    """
    expected = limits.names
    if len(names) != len(positions):
        raise JointCommandError("count_mismatch", f"{len(names)} names but {len(positions)} positions")
    if len(set(names)) != len(names):
        duplicates = sorted({n for n in names if list(names).count(n) > 1})
        raise JointCommandError("duplicate_joints", f"joints named more than once: {duplicates}")
    unknown = [n for n in names if n not in expected]
    if unknown:
        raise JointCommandError("unknown_joints", f"unknown joint names {unknown}; expected {list(expected)}")
    missing = [n for n in expected if n not in names]
    if missing:
        raise JointCommandError("missing_joints", f"command lacks joints {missing}")
    index = {name: i for i, name in enumerate(names)}
    targets = np.empty(len(expected), dtype=np.float64)
    for j, name in enumerate(expected):
        value = float(positions[index[name]])
        if not math.isfinite(value):
            raise JointCommandError("non_finite", f"{name} target is {value}")
        low, high = limits.lower[j], limits.upper[j]
        if value < low - tolerance or value > high + tolerance:
            raise JointCommandError(
                "out_of_range", f"{name} target {value:.4f} outside [{low:.4f}, {high:.4f}]"
            )
        targets[j] = min(max(value, low), high)
    return targets
