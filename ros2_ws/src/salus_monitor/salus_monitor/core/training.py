"""Fit a failure predictor on episodes: step tensors, focal loss, early stopping, then calibration.

Training rows are the valid steps of the training episodes; with ``mask_post_onset`` (default) steps at or
after a failure's onset are left out, so the model learns to predict failures rather than to recognize
ones that already happened (those steps are trivially labelled 1 at every horizon).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields

import numpy as np
import torch

from salus_monitor.core.conformal import conformal_threshold, guarantee_holds
from salus_monitor.core.episodes import Episode
from salus_monitor.core.features import Normalizer, valid_rows, window_rows
from salus_monitor.core.metrics import best_f1_threshold
from salus_monitor.core.models import ModelConfig, build_model, focal_loss, positive_type_weights
from salus_monitor.core.predictor import FailurePredictor, PredictorMeta
from salus_monitor.core.splits import Split


@dataclass
class TrainConfig:
    kind: str = "mlp"
    window: int = 1
    hidden: tuple[int, ...] = (64, 128)
    dropout: float = 0.1
    epochs: int = 60
    batch_size: int = 512
    lr: float = 1e-3
    weight_decay: float = 1e-4
    focal_gamma: float = 2.0
    max_type_weight: float = 20.0
    patience: int = 8
    seed: int = 0
    alpha: float = 0.1
    mask_post_onset: bool = True
    signals: tuple[str, ...] | None = None  # None: all of the store's signals

    def as_dict(self) -> dict:
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        d["signals"] = None if self.signals is None else list(self.signals)
        return d

    @classmethod
    def from_dict(cls, d: dict, where: str = "training config") -> TrainConfig:
        """From ``as_dict`` output or a YAML file's keys; unknown keys are an error naming ``where``."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"{where}: unknown keys {unknown}; known: {sorted(known)}")
        values = dict(d)
        for key in ("hidden", "signals"):
            if values.get(key) is not None:
                values[key] = tuple(values[key])
        return cls(**values)


@dataclass
class StepData:
    windows: np.ndarray  # (N, W, S)
    labels: np.ndarray  # (N, H, K) float32


@dataclass
class TrainResult:
    predictor: FailurePredictor
    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0


def step_data(
    episodes: Sequence[Episode], index: np.ndarray, normalizer: Normalizer, window: int, mask_post_onset: bool
) -> StepData:
    windows, labels = [], []
    for ep in episodes:
        rows = ep.signals[:, index]
        usable = valid_rows(rows)
        if not usable.any():
            continue
        w = window_rows(normalizer(rows[usable]), window)
        lab = ep.labels[usable]
        if mask_post_onset:
            keep = ~ep.post_onset[usable]
            w, lab = w[keep], lab[keep]
        windows.append(w)
        labels.append(lab)
    if not windows:
        raise ValueError("no usable steps in these episodes")
    return StepData(np.concatenate(windows), np.concatenate(labels).astype(np.float32))


def max_risk(probs: np.ndarray) -> np.ndarray:
    """(T, H, K) probabilities -> (T,) largest cell per step; NaN where the prediction was withheld."""
    flat = probs.reshape(len(probs), -1)
    out = np.full(len(flat), np.nan)
    ok = np.all(np.isfinite(flat), axis=1)
    out[ok] = flat[ok].max(axis=1)
    return out


def peak_before_onset(values: np.ndarray, episode: Episode) -> float:
    """The running maximum of a per-step score at the end of an episode, or just before a failure's onset
    (what an alert at a threshold would have seen before the failure happened); -inf without a value."""
    v = np.asarray(values, dtype=np.float64)
    if episode.failed:
        v = v[~episode.post_onset]
    v = v[np.isfinite(v)]
    return float(v.max()) if v.size else -math.inf


def episode_score(probs: np.ndarray, episode: Episode) -> float:
    """The episode's alert score: the peak of max_risk before the onset (0 if nothing was predicted)."""
    return max(0.0, peak_before_onset(max_risk(probs), episode))


def train_predictor(
    episodes: Sequence[Episode],
    split: Split,
    signal_names: Sequence[str],
    horizons_s: Sequence[float],
    failure_types: Sequence[str],
    cfg: TrainConfig,
    progress: Callable[[int, dict], None] | None = None,
) -> TrainResult:
    """Train on ``split.train``, stop early on ``split.val`` loss, calibrate on ``split.cal``'s successes."""
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    by_id = {ep.episode_id: ep for ep in episodes}
    parts = {p: [by_id[i] for i in split.part(p)] for p in ("train", "val", "cal")}
    inputs = tuple(cfg.signals) if cfg.signals is not None else tuple(signal_names)
    unknown = [n for n in inputs if n not in signal_names]
    if unknown:
        raise ValueError(f"unknown signals {unknown}; the store has {list(signal_names)}")
    index = np.array([list(signal_names).index(n) for n in inputs])
    train_rows = np.concatenate(
        [ep.signals[valid_rows(ep.signals[:, index])][:, index] for ep in parts["train"]]
    )
    normalizer = Normalizer.fit(train_rows)
    train = step_data(parts["train"], index, normalizer, cfg.window, cfg.mask_post_onset)
    val = step_data(parts["val"], index, normalizer, cfg.window, cfg.mask_post_onset)
    model_cfg = ModelConfig(
        kind=cfg.kind,
        num_signals=len(inputs),
        num_horizons=len(horizons_s),
        num_types=len(failure_types),
        window=cfg.window,
        hidden=tuple(cfg.hidden),
        dropout=cfg.dropout,
    )
    model = build_model(model_cfg)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    x_train, y_train = torch.from_numpy(train.windows), torch.from_numpy(train.labels)
    x_val, y_val = torch.from_numpy(val.windows), torch.from_numpy(val.labels)
    type_weights = positive_type_weights(y_train, cfg.max_type_weight)

    best_loss, best_state, best_epoch, history = math.inf, copy.deepcopy(model.state_dict()), 0, []
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        order = torch.from_numpy(rng.permutation(len(x_train)))
        total = 0.0
        for start in range(0, len(order), cfg.batch_size):
            batch = order[start : start + cfg.batch_size]
            loss = focal_loss(model(x_train[batch]), y_train[batch], type_weights, cfg.focal_gamma)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        model.eval()
        with torch.no_grad():
            val_loss = float(focal_loss(model(x_val), y_val, type_weights, cfg.focal_gamma))
        record = {"epoch": epoch, "train_loss": total / len(order), "val_loss": val_loss}
        history.append(record)
        if progress is not None:
            progress(epoch, record)
        if val_loss < best_loss - 1e-6:
            best_loss, best_state, best_epoch = val_loss, copy.deepcopy(model.state_dict()), epoch
        elif epoch - best_epoch >= cfg.patience:
            break
    model.load_state_dict(best_state)
    model.eval()

    meta = PredictorMeta(
        model=model_cfg,
        signal_names=inputs,
        all_signal_names=tuple(signal_names),
        horizons_s=tuple(horizons_s),
        failure_types=tuple(failure_types),
        normalizer=normalizer,
        alpha=cfg.alpha,
        threshold=1.0,
        calibration_scores=[],
        cell_thresholds=[],
    )
    predictor = FailurePredictor(meta, model)
    # Per-cell F1 thresholds on validation steps (the same rows as the val loss).
    with torch.no_grad():
        val_probs = torch.sigmoid(model(x_val)).numpy()
    meta.cell_thresholds = [
        [best_f1_threshold(val_probs[:, h, k], val.labels[:, h, k]) for k in range(len(failure_types))]
        for h in range(len(horizons_s))
    ]
    any_val = val.labels.any(axis=2)
    meta.extra["any_thresholds"] = [
        best_f1_threshold(val_probs[:, h].max(axis=1), any_val[:, h]) for h in range(len(horizons_s))
    ]
    # Conformal threshold on the calibration part's successful episodes.
    cal_success = [ep for ep in parts["cal"] if not ep.failed]
    if not cal_success:
        raise ValueError("the calibration part has no successful episode; collect more or change the split")
    scores = sorted(episode_score(predictor.predict_episode(ep.signals), ep) for ep in cal_success)
    meta.calibration_scores = scores
    meta.threshold = conformal_threshold(scores, cfg.alpha)
    meta.extra.update(
        {
            "split": split.as_dict(),
            "train_config": cfg.as_dict(),
            "history": history,
            "best_epoch": best_epoch,
            "type_weights": type_weights.tolist(),
            "rows": {"train": len(x_train), "val": len(x_val)},
            "conformal": {
                "method": "split conformal, episode level (running maximum of max_risk)",
                "num_calibration_successes": len(scores),
                "guarantee_holds": guarantee_holds(len(scores), cfg.alpha),
            },
        }
    )
    return TrainResult(predictor, history, best_epoch)
