"""Alert thresholds with a known false-alarm rate: split conformal calibration at the episode level.

Score of an episode = the running maximum of the risk, i.e. its largest per-step ``max_risk``; an alert
fires in an episode iff that maximum reaches the threshold. Given the scores of ``n`` successful
calibration episodes, the threshold is their ``ceil((n + 1)(1 - alpha))``-th smallest value: for a new
successful episode exchangeable with them, P(alert) <= alpha (Vovk et al.; Angelopoulos & Bates, 2021).

Why episode-level and not a per-time band (SAFE's time-varying variant): an operator sees one alert per
episode, so the rate that matters is false-alarmed *episodes*; a single threshold is also what the node
can apply without knowing the episode's clock. The guarantee needs the calibration episodes to come from
the same conditions as the ones monitored; the report measures the rate on held-out successes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def conformal_threshold(success_scores: Sequence[float], alpha: float) -> float:
    """The smallest threshold with a false-alarm guarantee ``alpha`` from successful episodes' scores.

    With too few episodes for ``alpha`` (``ceil((n+1)(1-alpha)) > n``) no finite threshold has the
    guarantee; then the threshold is just above the largest score (1.0 cap) and the caller should say so.
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    scores = np.sort(np.asarray(success_scores, dtype=np.float64))
    if scores.size == 0 or not np.all(np.isfinite(scores)):
        raise ValueError("conformal calibration needs finite scores of at least one successful episode")
    rank = math.ceil((scores.size + 1) * (1.0 - alpha))
    if rank > scores.size:
        return float(min(1.0, np.nextafter(scores[-1], np.inf)))
    return float(scores[rank - 1])


def guarantee_holds(num_success: int, alpha: float) -> bool:
    """Whether ``num_success`` calibration episodes suffice for a finite threshold at ``alpha``."""
    return math.ceil((num_success + 1) * (1.0 - alpha)) <= num_success
