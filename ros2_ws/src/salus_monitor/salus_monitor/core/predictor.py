"""The trained failure predictor as one object: checkpoint folder <-> model + normalization + calibration.

A checkpoint is a folder with ``model.safetensors`` and ``predictor.json`` (model config, signal names,
horizons, failure types, normalization, the split it was trained on, the calibration scores of the
successful calibration episodes and the alert threshold at the trained ``alpha``). ``FailurePredictor``
serves the evaluation (whole episodes) and the node (one step at a time) with the same arithmetic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from salus_monitor.core.conformal import conformal_threshold
from salus_monitor.core.features import Normalizer, StepWindow, valid_rows, window_rows
from salus_monitor.core.models import ModelConfig, build_model

CONFIG_FILE = "predictor.json"
WEIGHTS_FILE = "model.safetensors"
FORMAT = "salus-failure-predictor"


class CheckpointError(ValueError):
    """A predictor checkpoint that is missing, malformed or does not fit the signals."""


@dataclass
class PredictorMeta:
    """Everything in ``predictor.json`` besides the weights."""

    model: ModelConfig
    signal_names: tuple[str, ...]  # the inputs, in order (a subset of the stack's signals for ablations)
    all_signal_names: tuple[str, ...]  # the order of the rows the predictor is given
    horizons_s: tuple[float, ...]
    failure_types: tuple[str, ...]
    normalizer: Normalizer
    alpha: float
    threshold: float
    calibration_scores: list[float]
    cell_thresholds: list[list[float]]  # per (horizon, type): the validation F1-optimal threshold
    extra: dict[str, Any] = field(default_factory=dict)  # split, training config, history, versions

    def as_dict(self) -> dict:
        return {
            "format": FORMAT,
            "model": self.model.as_dict(),
            "signal_names": list(self.signal_names),
            "all_signal_names": list(self.all_signal_names),
            "horizons_s": list(self.horizons_s),
            "failure_types": list(self.failure_types),
            "normalizer": self.normalizer.as_dict(),
            "alpha": self.alpha,
            "threshold": self.threshold,
            "calibration_scores": self.calibration_scores,
            "cell_thresholds": self.cell_thresholds,
            **self.extra,
        }

    @classmethod
    def from_dict(cls, d: dict) -> PredictorMeta:
        if d.get("format") != FORMAT:
            raise CheckpointError(f"not a SALUS predictor checkpoint (format {d.get('format')!r})")
        known = {
            "format", "model", "signal_names", "all_signal_names", "horizons_s", "failure_types",
            "normalizer", "alpha", "threshold", "calibration_scores", "cell_thresholds",
        }  # fmt: skip
        return cls(
            model=ModelConfig.from_dict(d["model"]),
            signal_names=tuple(d["signal_names"]),
            all_signal_names=tuple(d["all_signal_names"]),
            horizons_s=tuple(float(h) for h in d["horizons_s"]),
            failure_types=tuple(d["failure_types"]),
            normalizer=Normalizer.from_dict(d["normalizer"]),
            alpha=float(d["alpha"]),
            threshold=float(d["threshold"]),
            calibration_scores=[float(s) for s in d["calibration_scores"]],
            cell_thresholds=d["cell_thresholds"],
            extra={k: v for k, v in d.items() if k not in known},
        )


class FailurePredictor:
    """Probabilities (horizons x types) from SALUS signal rows."""

    def __init__(self, meta: PredictorMeta, model: torch.nn.Module) -> None:
        self.meta = meta
        self.model = model.eval()
        self._index = np.array([meta.all_signal_names.index(n) for n in meta.signal_names])
        self._window = StepWindow(meta.model.window)

    # ------------------------------------------------------------------ persistence
    @classmethod
    def load(cls, checkpoint: str | Path) -> FailurePredictor:
        folder = Path(checkpoint)
        config, weights = folder / CONFIG_FILE, folder / WEIGHTS_FILE
        if not config.is_file() or not weights.is_file():
            raise CheckpointError(
                f"{folder}: needs {CONFIG_FILE} and {WEIGHTS_FILE} (train with salus-train-predictor)"
            )
        try:
            meta = PredictorMeta.from_dict(json.loads(config.read_text()))
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise CheckpointError(f"{config}: malformed ({exc})") from exc
        model = build_model(meta.model)
        try:
            model.load_state_dict(load_file(str(weights)))
        except RuntimeError as exc:
            raise CheckpointError(f"{weights}: weights do not fit the model config ({exc})") from exc
        return cls(meta, model)

    def save(self, checkpoint: str | Path) -> Path:
        folder = Path(checkpoint)
        folder.mkdir(parents=True, exist_ok=True)
        save_file({k: v.contiguous() for k, v in self.model.state_dict().items()}, str(folder / WEIGHTS_FILE))
        (folder / CONFIG_FILE).write_text(json.dumps(self.meta.as_dict(), indent=1) + "\n")
        return folder

    # ------------------------------------------------------------------ thresholds
    def threshold_for(self, alpha: float) -> float:
        """The conformal threshold for another ``alpha`` from the stored calibration scores."""
        return conformal_threshold(self.meta.calibration_scores, alpha)

    # ------------------------------------------------------------------ inference
    @torch.no_grad()
    def _forward(self, windows: np.ndarray) -> np.ndarray:
        logits = self.model(torch.from_numpy(np.ascontiguousarray(windows, dtype=np.float32)))
        return torch.sigmoid(logits).numpy()

    def predict_episode(self, signals: np.ndarray, batch: int = 4096) -> np.ndarray:
        """(T, S_all) raw signal rows -> (T, H, K) probabilities; NaN where a row is not finite (as the
        node, which withholds those steps and leaves them out of its window)."""
        rows = np.asarray(signals)[:, self._index]
        usable = valid_rows(rows)
        out = np.full((len(rows), *self._out_shape()), np.nan, dtype=np.float32)
        if usable.any():
            windows = window_rows(self.meta.normalizer(rows[usable]), self.meta.model.window)
            probs = np.concatenate(
                [self._forward(windows[i : i + batch]) for i in range(0, len(windows), batch)]
            )
            out[usable] = probs
        return out

    def reset(self) -> None:
        """Start of an episode: forget the window."""
        self._window.reset()

    def step(self, row: np.ndarray) -> np.ndarray:
        """One finite (S_all,) signal row -> (H, K) probabilities (the caller rejects non-finite rows)."""
        return self.step_inputs(np.asarray(row, dtype=np.float64)[self._index])

    def step_inputs(self, inputs: np.ndarray) -> np.ndarray:
        """Like :meth:`step`, given only the model's inputs (``meta.signal_names`` order)."""
        z = self.meta.normalizer(np.asarray(inputs, dtype=np.float64))
        return self._forward(self._window.push(z)[None])[0]

    def _out_shape(self) -> tuple[int, int]:
        return (self.meta.model.num_horizons, self.meta.model.num_types)
