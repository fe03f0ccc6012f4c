"""Episode outcome labels, decided online from per-step observations of the simulator.

The labeler is pure (no MuJoCo): the simulator reduces its state to a `LabelObservation` each physics step,
and `OutcomeLabeler.update` applies the rules. The first outcome decided wins and is then frozen, with its
onset: the sim time at which the deciding condition first held. That onset is what a failure predictor is
scored against, so it must not depend on how long a rule needed to become certain (e.g. a settle time).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from salus_common.config import setting
from salus_common.names import FAILURE_TYPES, Outcome

__all__ = ["FAILURE_TYPES", "LabelConfig", "LabelObservation", "Outcome", "OutcomeLabeler"]


_EPS = 1e-9  # slack on time comparisons: sim time is a sum of float steps


@dataclass(frozen=True)
class LabelConfig:
    """Thresholds of the labeling rules (SI units)."""

    collision_force_n: float = setting(
        15.0, "arm/gripper normal force on table, bin or obstacle that is a collision (N)"
    )
    max_duration_s: float = setting(20.0, "episode time budget; reaching it is a timeout (s)")
    success_settle_s: float = setting(0.3, "the cube must rest in the bin, released, this long (s)")
    rest_speed_mps: float = setting(0.05, "cube speed below which it counts as resting (m/s)")
    lift_height_m: float = setting(0.05, "cube center height above the table that counts as lifted (m)")
    drop_separation_m: float = setting(0.04, "cube-to-fingertip distance that confirms a lost grasp (m)")
    fall_height_m: float = setting(0.05, "cube center this far below the table top: knocked off (m)")
    workspace_radius_m: float = setting(
        1.2, "cube farther than this from the robot base, horizontally: out of the workspace (m)"
    )

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
            if value <= 0:
                raise ValueError(f"{name} must be > 0, got {value!r}")


@dataclass(frozen=True)
class LabelObservation:
    """What the rules need from one simulator step; positions in the robot base frame (z up)."""

    time: float  # sim seconds since reset
    cube_pos: tuple[float, float, float]
    cube_height: float  # cube center height above the table top
    cube_speed: float  # linear speed (m/s)
    cube_in_gripper: bool  # both fingers touch the cube
    cube_grip_distance: float  # cube center to fingertip center (m)
    cube_over_bin: bool  # cube center is above the bin's opening
    cube_in_bin: bool  # cube center is inside the bin's volume
    arm_contact_force: float  # max normal force of arm/gripper contacts with table, bin, obstacle (N)
    finite: bool = True  # physics state is finite (no NaN, no MuJoCo instability reset)


class OutcomeLabeler:
    """Applies the rules step by step; the first decided outcome wins and is frozen."""

    def __init__(self, config: LabelConfig | None = None) -> None:
        self.config = config or LabelConfig()
        self.reset()

    def reset(self) -> None:
        self._outcome: Outcome | None = None
        self._onset: float | None = None
        self._decided_at: float | None = None
        self._lifted = False  # grasped and lifted at least once
        self._was_in_gripper = False
        self._released_over_bin = False
        self._loss_start: float | None = None  # start of the current loss of grasp after a lift
        self._rest_start: float | None = None  # start of the current "resting in bin, released" run

    @property
    def outcome(self) -> Outcome | None:
        return self._outcome

    @property
    def onset_time(self) -> float | None:
        return self._onset

    @property
    def decided_time(self) -> float | None:
        """Sim time at which the outcome became certain (>= onset)."""
        return self._decided_at

    @property
    def lifted(self) -> bool:
        return self._lifted

    def update(self, obs: LabelObservation) -> Outcome | None:
        """Feed one observation; returns the outcome once decided (then always the same)."""
        if self._outcome is not None:
            return self._outcome
        self._track_grasp(obs)
        self._track_rest(obs)
        decided = self._evaluate(obs)
        if decided is not None:
            self._outcome, self._onset = decided
            self._decided_at = obs.time
        return self._outcome

    def _track_grasp(self, obs: LabelObservation) -> None:
        if obs.cube_in_gripper:
            if obs.cube_height > self.config.lift_height_m:
                self._lifted = True
            self._loss_start = None
        elif self._was_in_gripper and self._lifted and self._loss_start is None:
            self._loss_start = obs.time
            if obs.cube_over_bin:
                self._released_over_bin = True
        self._was_in_gripper = obs.cube_in_gripper

    def _track_rest(self, obs: LabelObservation) -> None:
        resting = obs.cube_in_bin and not obs.cube_in_gripper and obs.cube_speed < self.config.rest_speed_mps
        if not resting:
            self._rest_start = None
        elif self._rest_start is None:
            self._rest_start = obs.time

    def _evaluate(self, obs: LabelObservation) -> tuple[Outcome, float] | None:
        """Rules in priority order for one step; each returns (outcome, onset) or None."""
        for rule in (
            self._rule_unstable,
            self._rule_collision,
            self._rule_drop,
            self._rule_out_of_workspace,
            self._rule_success,
            self._rule_timeout,
        ):
            decided = rule(obs)
            if decided is not None:
                return decided
        return None

    def _rule_unstable(self, obs: LabelObservation) -> tuple[Outcome, float] | None:
        values = (*obs.cube_pos, obs.cube_height, obs.cube_speed, obs.arm_contact_force)
        if not obs.finite or not all(math.isfinite(v) for v in values):
            return Outcome.OTHER, obs.time
        return None

    def _rule_collision(self, obs: LabelObservation) -> tuple[Outcome, float] | None:
        if obs.arm_contact_force > self.config.collision_force_n:
            return Outcome.COLLISION, obs.time
        return None

    def _rule_drop(self, obs: LabelObservation) -> tuple[Outcome, float] | None:
        if self._loss_start is None or self._released_over_bin:
            return None
        if obs.cube_grip_distance > self.config.drop_separation_m:
            return Outcome.DROP, self._loss_start
        return None

    def _rule_out_of_workspace(self, obs: LabelObservation) -> tuple[Outcome, float] | None:
        x, y, _ = obs.cube_pos
        if obs.cube_height < -self.config.fall_height_m or math.hypot(x, y) > self.config.workspace_radius_m:
            return Outcome.OTHER, obs.time
        return None

    def _rule_success(self, obs: LabelObservation) -> tuple[Outcome, float] | None:
        if self._rest_start is None:
            return None
        if obs.time - self._rest_start >= self.config.success_settle_s - _EPS:
            return Outcome.SUCCESS, self._rest_start
        return None

    def _rule_timeout(self, obs: LabelObservation) -> tuple[Outcome, float] | None:
        if obs.time >= self.config.max_duration_s - _EPS:
            return Outcome.TIMEOUT, obs.time
        return None
