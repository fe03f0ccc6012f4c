"""What the action filter commands, step by step: forward, replace, or hold. Pure logic, free of ROS.

The filter sits between the VLA and the robot. For every VLA command (stamped with the observation it
answers) the gate decides:

* ``watchdog`` mode: forward it (limited to the joint range and the per-step velocity);
* ``manifold`` mode: wait for the failure prediction of the same stamp; below the alert threshold forward
  the command, at or above it replace it with :meth:`SafetyFilter.decide` (manifold candidates and the
  VLA's own ensemble samples, scored by the MPC rollout), limited the same way;
* ``stop`` mode (the stop-on-alert baseline of the evaluation): like ``manifold``, but the first alert
  holds the robot for the rest of the episode.

A **watchdog** runs beside it on the receive times (a steady clock, not sim time: it watches processes):
once the episode's first command has arrived, when no VLA command (or, in ``manifold`` mode, no
prediction) has arrived for ``deadline_ns``, or as soon as the node is told that the publisher of an input
is gone (DDS liveliness), the gate holds and answers every new joint state with that hold, the reason
attached, until inputs return. A hold keeps the arm at its measured joints and the fingers at their last
target (holding the measured finger opening would loosen a grasp). Every output says where it came from
(``vla``, ``manifold`` or ``hold``), for the SafetyIntervention message.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from salus_common.joint_vector import limit_target
from salus_common.robot_profile import ARM_DOF

if TYPE_CHECKING:  # torch is imported only where the manifold is used: the watchdog needs none of it
    from salus_monitor.core.safety_filter import SafetyFilter

Mode = Literal["watchdog", "manifold", "stop"]
MODES = ("watchdog", "manifold", "stop")
INPUTS = ("command", "prediction")  # the inputs whose publisher can be reported gone
PENDING_LIMIT = 64  # stamps remembered while waiting for their partner message


@dataclass(frozen=True)
class GateConfig:
    mode: Mode
    deadline_ns: int | None  # None: no watchdog (the graph's sync timing, where the sim waits anyway)
    lower: np.ndarray
    upper: np.ndarray
    max_step: np.ndarray
    num_samples: int = 64
    keep: int = 16

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.deadline_ns is not None and self.deadline_ns <= 0:
            raise ValueError("the deadline must be > 0 (or None: no watchdog)")


@dataclass(frozen=True)
class Prediction:
    alert: bool
    max_risk: float
    threshold: float


@dataclass(frozen=True)
class Output:
    stamp_ns: int
    target: np.ndarray
    source: Literal["vla", "manifold", "hold"]
    reason: str
    risk_before: float = float("nan")
    candidates: int = 0
    limited: bool = False


class CommandGate:
    def __init__(self, config: GateConfig, safety_filter: SafetyFilter | None = None, generator=None) -> None:
        if config.mode == "manifold" and safety_filter is None:
            raise ValueError("manifold mode needs a trained safety filter (salus-train-filter)")
        self.config = config
        self.safety_filter = safety_filter
        self.generator = generator
        # inputs whose publisher DDS reports gone; not an episode's state (a VLA that died between episodes
        # is still gone), so reset() keeps it
        self.gone: set[str] = set()
        self.reset()

    def reset(self) -> None:
        """Episode start: forget inputs, stop holding, disarm the watchdog until the first command."""
        self.measured: np.ndarray | None = None
        self.last_target: np.ndarray | None = None
        self.commands: OrderedDict[int, np.ndarray] = OrderedDict()
        self.predictions: OrderedDict[int, Prediction] = OrderedDict()
        self.samples: OrderedDict[int, np.ndarray] = OrderedDict()
        self.command_rx_ns: int | None = None
        self.first_command_rx_ns: int | None = None
        self.prediction_rx_ns: int | None = None
        self.holding: np.ndarray | None = None
        self.hold_reason = ""
        self.stopped = False  # stop mode: held after an alert, for the rest of the episode
        self.counts = {"vla": 0, "manifold": 0, "hold": 0, "limited": 0, "holds_started": 0}

    @property
    def uses_predictions(self) -> bool:
        return self.config.mode != "watchdog"

    # --- inputs ------------------------------------------------------------------------------------------
    def on_state(self, stamp_ns: int, positions: np.ndarray, now_ns: int) -> Output | None:
        self.measured = np.asarray(positions, dtype=np.float64)
        self.check(now_ns)
        if self.holding is not None:
            return self._emit(Output(stamp_ns, self.holding.copy(), "hold", self.hold_reason))
        return None

    def on_command(self, stamp_ns: int, target: np.ndarray, now_ns: int) -> Output | None:
        self.command_rx_ns = now_ns
        if self.first_command_rx_ns is None:
            self.first_command_rx_ns = now_ns
        if self.holding is not None and not self.stopped and not self.stale_reason(now_ns):
            self.holding = None  # inputs are back
        _remember(self.commands, stamp_ns, np.asarray(target, dtype=np.float64))
        return self._try(stamp_ns)

    def on_prediction(self, stamp_ns: int, prediction: Prediction, now_ns: int) -> Output | None:
        self.prediction_rx_ns = now_ns
        _remember(self.predictions, stamp_ns, prediction)
        return self._try(stamp_ns)

    def on_samples(self, stamp_ns: int, samples: np.ndarray) -> None:
        """The VLA's K ensemble samples for a stamp (K, J): free candidates."""
        _remember(self.samples, stamp_ns, np.asarray(samples, dtype=np.float64))

    def publisher_gone(self, which: str, gone: bool, now_ns: int) -> Output | None:
        """DDS reported the last publisher of an input (``command`` or ``prediction``) lost or back: hold
        at once, without waiting for the deadline (returns the hold's first output, if it starts one)."""
        if which not in INPUTS:
            raise ValueError(f"input must be one of {INPUTS}, got {which!r}")
        if gone:
            self.gone.add(which)
        else:
            self.gone.discard(which)  # the hold ends with the next command (on_command)
        return self.check(now_ns)

    # --- watchdog ----------------------------------------------------------------------------------------
    def stale_reason(self, now_ns: int) -> str:
        """Why the inputs are stale now ('' when fresh, or before the episode's first command)."""
        if self.command_rx_ns is None:
            return ""
        if "command" in self.gone:
            return "the VLA's command publisher is gone (liveliness lost)"
        if "prediction" in self.gone and self.uses_predictions:
            return "the failure predictor is gone (liveliness lost)"
        if self.config.deadline_ns is None:
            return ""
        limit = self.config.deadline_ns
        deadline = f"deadline {limit * 1e-9:.2f} s"
        age = now_ns - self.command_rx_ns
        if age > limit:
            return f"no VLA command for {age * 1e-9:.2f} s ({deadline})"
        if self.uses_predictions:
            since = self.first_command_rx_ns if self.prediction_rx_ns is None else self.prediction_rx_ns
            if now_ns - since > limit:
                return f"no failure prediction for {(now_ns - since) * 1e-9:.2f} s ({deadline})"
        return ""

    def check(self, now_ns: int) -> Output | None:
        """Start holding when the inputs went stale; returns the first hold output (stamped 0: the node
        stamps it with the newest joint state)."""
        reason = self.stale_reason(now_ns)
        if not reason or self.holding is not None or self.measured is None:
            return None
        return self._start_hold(0, reason)

    def _start_hold(self, stamp_ns: int, reason: str, risk: float = float("nan")) -> Output:
        self.holding = self.hold_target()
        self.hold_reason = reason
        self.counts["holds_started"] += 1
        return self._emit(Output(stamp_ns, self.holding.copy(), "hold", reason, risk))

    def hold_target(self) -> np.ndarray:
        """The arm at its measured joints, the fingers at their last target, inside the joint range (a
        robot reporting itself out of range is not followed)."""
        target = self.measured.copy()
        if self.last_target is not None:
            target[ARM_DOF:] = self.last_target[ARM_DOF:]
        return np.clip(target, self.config.lower, self.config.upper)

    # --- decisions ---------------------------------------------------------------------------------------
    def _try(self, stamp_ns: int) -> Output | None:
        if self.holding is not None or stamp_ns not in self.commands:
            return None
        if self.config.mode == "watchdog":
            return self._forward(stamp_ns, self.commands.pop(stamp_ns), "no monitor (watchdog mode)")
        prediction = self.predictions.get(stamp_ns)
        if prediction is None:
            return None  # the prediction of this stamp is still on its way
        command = self.commands.pop(stamp_ns)
        self.predictions.pop(stamp_ns)
        samples = self.samples.pop(stamp_ns, None)
        if not prediction.alert or self.measured is None:
            reason = (
                f"risk {prediction.max_risk:.2f} < {prediction.threshold:.2f}"
                if not prediction.alert
                else "alert, but no joint state yet to plan from"
            )
            return self._forward(stamp_ns, command, reason, prediction.max_risk)
        if self.config.mode == "stop":
            self.stopped = True
            reason = f"stop on alert: risk {prediction.max_risk:.2f} >= {prediction.threshold:.2f}"
            return self._start_hold(stamp_ns, reason, prediction.max_risk)
        cfg = self.config
        ensemble = np.zeros((0, len(command))) if samples is None else samples
        decision = self.safety_filter.decide(
            self.measured, command, ensemble, cfg.lower, cfg.upper, cfg.max_step, cfg.num_samples,
            cfg.keep, self.generator,
        )  # fmt: skip
        self.last_target = decision.action
        reason = (
            f"risk {prediction.max_risk:.2f} >= {prediction.threshold:.2f}: {decision.source} candidate of "
            f"{decision.candidates}, safe distance {decision.safe_distance:.2f}"
        )
        return self._emit(
            Output(
                stamp_ns,
                decision.action,
                "manifold",
                reason,
                prediction.max_risk,
                decision.candidates,
                decision.limited,
            )  # fmt: skip
        )

    def _forward(self, stamp_ns: int, command: np.ndarray, reason: str, risk: float = float("nan")) -> Output:
        reference = self.last_target if self.last_target is not None else self.measured
        if reference is None:
            reference = command
        target, limited = limit_target(
            command, reference, self.config.lower, self.config.upper, self.config.max_step
        )
        self.last_target = target
        return self._emit(Output(stamp_ns, target, "vla", reason, risk, 0, limited))

    def _emit(self, out: Output) -> Output:
        self.counts[out.source] += 1
        self.counts["limited"] += int(out.limited)
        if out.source == "hold":
            self.last_target = out.target
        return out


def _remember(store: OrderedDict, stamp_ns: int, value) -> None:
    store[stamp_ns] = value
    while len(store) > PENDING_LIMIT:
        store.popitem(last=False)
