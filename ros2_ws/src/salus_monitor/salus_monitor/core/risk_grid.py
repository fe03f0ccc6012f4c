"""Layout of the horizons x types risk grid that rviz shows beside the end-effector (pure arithmetic).

Rows are horizons (shortest on top), columns failure types; each cell is coloured from green (0) through
yellow to red (1) by its probability. Positions are in the anchor frame (e.g. the hand), offset so the
grid floats beside the gripper rather than inside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from salus_common.risk_colors import risk_rgba


@dataclass(frozen=True)
class GridLayout:
    cell_m: float = 0.05  # cell edge
    gap_m: float = 0.006
    offset: tuple[float, float, float] = (0.0, 0.12, 0.15)  # grid centre relative to the anchor frame


@dataclass(frozen=True)
class Cell:
    row: int
    col: int
    position: tuple[float, float, float]
    rgba: tuple[float, float, float, float]
    text: str


def grid_cells(
    probs: np.ndarray,
    horizons_s: Sequence[float],
    failure_types: Sequence[str],
    layout: GridLayout = GridLayout(),
) -> list[Cell]:
    """One cell per (horizon, type); ``probs`` is (H, K)."""
    probs = np.asarray(probs, dtype=np.float64)
    if probs.shape != (len(horizons_s), len(failure_types)):
        raise ValueError(f"probs shape {probs.shape} != ({len(horizons_s)}, {len(failure_types)})")
    pitch = layout.cell_m + layout.gap_m
    rows, cols = probs.shape
    ox, oy, oz = layout.offset
    cells = []
    for r in range(rows):
        for c in range(cols):
            y = oy + (c - (cols - 1) / 2) * pitch
            z = oz + ((rows - 1) / 2 - r) * pitch
            cells.append(Cell(r, c, (ox, y, z), risk_rgba(probs[r, c]), f"{probs[r, c]:.2f}"))
    return cells


def header_positions(
    horizons_s: Sequence[float], failure_types: Sequence[str], layout: GridLayout = GridLayout()
) -> list[tuple[str, tuple[float, float, float]]]:
    """Labels: failure types above the columns, horizons left of the rows."""
    pitch = layout.cell_m + layout.gap_m
    rows, cols = len(horizons_s), len(failure_types)
    ox, oy, oz = layout.offset
    top = oz + ((rows - 1) / 2 + 0.9) * pitch
    left = oy - ((cols - 1) / 2 + 1.1) * pitch
    labels = [(name, (ox, oy + (c - (cols - 1) / 2) * pitch, top)) for c, name in enumerate(failure_types)]
    labels += [
        (f"{h * 1000:.0f} ms", (ox, left, oz + ((rows - 1) / 2 - r) * pitch))
        for r, h in enumerate(horizons_s)
    ]
    return labels
