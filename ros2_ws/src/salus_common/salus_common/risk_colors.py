"""One colour scale for failure risk wherever SALUS draws it (rviz markers, episode videos, plots)."""

from __future__ import annotations


def risk_rgba(p: float) -> tuple[float, float, float, float]:
    """Green (0) -> yellow (0.5) -> red (1) for a probability, clipped to [0, 1]; alpha 0.85."""
    p = min(1.0, max(0.0, float(p)))
    return (min(1.0, 2.0 * p), min(1.0, 2.0 * (1.0 - p)), 0.1, 0.85)
