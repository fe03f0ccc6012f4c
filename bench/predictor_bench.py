"""Latency of the failure predictor's per-step work, as failure_predictor_node does it for every
SalusSignals message: input checks (the 12 and the extended signals the model reads), one model step
(window update, normalization, forward pass), the FailurePrediction message built. Single torch thread,
like the node. Prints p50/p90/p99/max in ms.

    ./salus exec python bench/predictor_bench.py --checkpoint models/predictor [--steps 5000]
    ./salus exec python bench/predictor_bench.py --checkpoint runs/predictor/gru
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

from salus_common.names import EXTENDED_SIGNAL_NAMES, FAILURE_TYPES, HORIZONS_S, SIGNAL_NAMES
from salus_monitor.core.predictor import FailurePredictor
from salus_monitor.core.signal_check import checked_extended, checked_signals, model_inputs


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from salus_msgs.msg import FailurePrediction

    predictor = FailurePredictor.load(args.checkpoint)
    rng = np.random.default_rng(0)
    rows = rng.lognormal(-2.0, 0.5, size=(args.steps, len(SIGNAL_NAMES)))
    extended_rows = rng.lognormal(-2.0, 0.5, size=(args.steps, len(EXTENDED_SIGNAL_NAMES)))
    names, inputs = list(SIGNAL_NAMES), predictor.meta.signal_names
    wanted = [n for n in inputs if n in EXTENDED_SIGNAL_NAMES]

    def inputs_of(row: np.ndarray, extended_row: np.ndarray) -> np.ndarray:
        checked = checked_signals(names, row.tolist(), SIGNAL_NAMES)
        extended = checked_extended(EXTENDED_SIGNAL_NAMES, extended_row.tolist(), wanted)
        return model_inputs(inputs, checked, extended, SIGNAL_NAMES)

    for row, extended_row in zip(rows[:200], extended_rows[:200], strict=True):  # warm-up
        predictor.step_inputs(inputs_of(row, extended_row))
    predictor.reset()
    latencies = np.empty(args.steps)
    for i, (row, extended_row) in enumerate(zip(rows, extended_rows, strict=True)):
        started = time.perf_counter()
        probs = predictor.step_inputs(inputs_of(row, extended_row))
        risk = float(probs.max())
        FailurePrediction(
            horizons=list(HORIZONS_S),
            failure_types=list(FAILURE_TYPES),
            probabilities=probs.ravel().tolist(),
            max_risk=risk,
            alert=risk >= 0.5,
            threshold=0.5,
        )
        latencies[i] = time.perf_counter() - started
    ms = latencies * 1e3
    meta = predictor.meta
    print(
        f"{args.checkpoint}: {meta.model.kind} window {meta.model.window}, {args.steps} steps, "
        f"{args.threads} torch thread(s), {platform.processor() or platform.machine()}, "
        f"torch {torch.__version__}"
    )
    print(
        f"per-step latency ms: p50 {np.percentile(ms, 50):.3f}  p90 {np.percentile(ms, 90):.3f}  "
        f"p99 {np.percentile(ms, 99):.3f}  max {ms.max():.3f}"
    )


if __name__ == "__main__":
    main()
