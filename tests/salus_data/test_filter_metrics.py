"""The filter evaluation's numbers, on hand-made episodes where each is known."""

from __future__ import annotations

import argparse
import math

import pytest

from salus_data.evaluate_filter import report_markdown
from salus_data.filter_metrics import EpisodeResult, summarize


def ep(seed, condition, outcome, onset=None, replaced=(), held=(), reports=None) -> EpisodeResult:
    return EpisodeResult(seed, condition, outcome, "push", onset, tuple(replaced), tuple(held), reports or {})


RESULTS = [
    # seed 1: fails off, the filter rescues it, stopping turns it into a timeout
    ep(1, "off", "collision", 3.0),
    ep(1, "on", "success", replaced=[2.5, 2.6]),
    ep(1, "stop", "timeout", 20.0, held=[2.5, 2.6, 2.7]),
    # seed 2: succeeds off; the filter intervenes needlessly (a false intervention), stop does not
    ep(2, "off", "success"),
    ep(2, "on", "success", replaced=[5.0]),
    ep(2, "stop", "success"),
    # seed 3: fails whatever; one replaced action 0.3 s before the onset (unsafe), one 2 s before (safe)
    ep(3, "off", "drop", 4.0),
    ep(3, "on", "drop", 4.0, replaced=[2.0, 3.7]),
    ep(3, "stop", "drop", 4.0, held=[3.9]),
    # seed 4: succeeds everywhere, no intervention
    ep(4, "off", "success", reports={"monitor": {"latency_p50_ms": "0.2", "latency_p99_ms": "0.5"}}),
    ep(4, "on", "success"),
    ep(4, "stop", "success"),
    # seed 5 ran only with the filter off: not part of the paired comparison
    ep(5, "off", "collision", 1.0),
]


def test_the_paired_numbers():
    s = summarize(RESULTS, horizon_s=0.5)
    off, on, stop = s["off"], s["on"], s["stop"]
    assert off.episodes == on.episodes == stop.episodes == 4  # seed 5 left out
    assert off.failure_rate == 0.5 and on.failure_rate == 0.25 and stop.failure_rate == 0.5
    assert off.failure_rate_by_type["collision"] == 0.25 and stop.failure_rate_by_type["timeout"] == 0.25
    assert on.relative_failure_reduction == pytest.approx(0.5)
    assert stop.relative_failure_reduction == pytest.approx(0.0)
    assert math.isnan(off.relative_failure_reduction) and math.isnan(off.false_intervention_rate)
    assert on.false_intervention_rate == pytest.approx(0.5)  # seeds 2 and 4 succeed off; 2 intervened
    assert stop.false_intervention_rate == 0.0
    assert on.safe_yield == pytest.approx(4 / 5)  # 2.5, 2.6 (no failure), 5.0, 2.0 safe; 3.7 is not
    assert math.isnan(stop.safe_yield)  # it replaces nothing
    assert (on.rescued, on.broken) == (1, 0) and (stop.rescued, stop.broken) == (
        0,
        0,
    )  # a timeout is a failure
    assert on.replaced_steps == 5 and stop.held_steps == 4 and on.intervened_episodes == 3
    assert off.latency_ms == {"predictor": (0.2, 0.5)}


def test_the_report_has_every_row():
    opts = argparse.Namespace(
        seed=1,
        episodes=5,
        inject=["push"],
        block_size=5,
        timing="sync",
        graph_arg=[],
        out="runs/x",
        horizon=0.5,
    )
    text = report_markdown(summarize(RESULTS), opts, videos=[])
    for row in ("success rate", "relative failure reduction", "false-intervention rate", "safe yield"):
        assert row in text
    assert "| relative failure reduction (goal ≥ 50 %) | n/a | 50.0 % | 0.0 % |" in text
