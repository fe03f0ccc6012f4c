"""Perturbation ("failure injection") configuration and per-episode sampling.

Each type has its own frozen sub-config with `enabled` and its parameters. `sample_perturbations` draws the
concrete values of one episode. Every type draws from its own child stream of the episode generator, so
enabling one type never changes the values another type (e.g. the cube pose) gets for the same seed: episodes
with and without an injection are paired.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from salus_common import config as config_util
from salus_common.config import setting
from salus_common.names import INJECTION_TYPES
from salus_sim.core.scene import BIN_POS, TABLE_TOP_Z, ObstacleSpec

PUSH_TARGETS: tuple[str, ...] = ("cube", "arm")


def _check_range(
    name: str, value: tuple[float, ...], low: float | None = None, high: float | None = None
) -> None:
    """A (min, max) pair with min <= max inside [low, high]."""
    lo, hi = value
    if lo > hi:
        raise ValueError(f"{name} must be (min, max) with min <= max, got {list(value)}")
    if (low is not None and lo < low) or (high is not None and hi > high):
        raise ValueError(f"{name} must lie within [{low}, {high}], got {list(value)}")


def _check_positive(name: str, value: float, allow_zero: bool = False) -> None:
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")


@dataclass(frozen=True)
class CubePoseConfig:
    """The nominal task variation: cube position (robot base frame) and yaw on the table."""

    enabled: bool = setting(True, "randomize the cube pose (off: the middle of the ranges)")
    x_range: tuple[float, float] = setting((0.40, 0.60), "cube x range (m)")
    y_range: tuple[float, float] = setting((-0.20, 0.05), "cube y range (m)")
    yaw_range: tuple[float, float] = setting((-math.pi / 4, math.pi / 4), "cube yaw range (rad)")

    def __post_init__(self) -> None:
        _check_range("x_range", self.x_range, 0.25, 0.75)
        _check_range("y_range", self.y_range, -0.45, 0.12)
        _check_range("yaw_range", self.yaw_range, -math.pi, math.pi)


@dataclass(frozen=True)
class PushConfig:
    """A horizontal force on the cube or the hand, starting at a random time in a window."""

    enabled: bool = setting(False, "apply one push per episode")
    target: str = setting("cube", "body pushed: 'cube' or 'arm' (the hand)")
    time_window_s: tuple[float, float] = setting((3.0, 6.0), "push start time range, sim time (s)")
    magnitude_range_n: tuple[float, float] = setting(
        (4.0, 12.0), "force magnitude range (N); direction is uniform in the horizontal plane"
    )
    duration_s: float = setting(0.2, "how long the force acts (s)")

    def __post_init__(self) -> None:
        if self.target not in PUSH_TARGETS:
            raise ValueError(f"target must be one of {list(PUSH_TARGETS)}, got {self.target!r}")
        _check_range("time_window_s", self.time_window_s, 0.0)
        _check_range("magnitude_range_n", self.magnitude_range_n, 0.0)
        _check_positive("duration_s", self.duration_s)


@dataclass(frozen=True)
class FrictionConfig:
    """Scales the cube's friction (it governs all the cube's contacts)."""

    enabled: bool = setting(False, "scale the cube's friction")
    scale_range: tuple[float, float] = setting((0.15, 0.6), "friction scale range (nominal 1.0)")

    def __post_init__(self) -> None:
        _check_range("scale_range", self.scale_range, 1e-3, 10.0)


@dataclass(frozen=True)
class MassConfig:
    """Scales the cube's mass (and inertia)."""

    enabled: bool = setting(False, "scale the cube's mass")
    scale_range: tuple[float, float] = setting((1.0, 6.0), "mass scale range (nominal 0.1 kg)")

    def __post_init__(self) -> None:
        _check_range("scale_range", self.scale_range, 1e-2, 100.0)


@dataclass(frozen=True)
class ActionNoiseConfig:
    """Gaussian noise on every commanded arm joint position, drawn fresh each control step."""

    enabled: bool = setting(False, "add noise to the commanded arm joint positions")
    std_rad: float = setting(0.015, "noise standard deviation (rad)")

    def __post_init__(self) -> None:
        _check_positive("std_rad", self.std_rad, allow_zero=True)


@dataclass(frozen=True)
class ActionDelayConfig:
    """Commands take effect this many control steps late."""

    enabled: bool = setting(False, "delay the commands")
    steps: int = setting(2, "delay in control steps")

    def __post_init__(self) -> None:
        if not 0 <= self.steps <= 200:
            raise ValueError(f"steps must be in [0, 200], got {self.steps!r}")


@dataclass(frozen=True)
class ObstacleConfig:
    """A box on the table across the straight path from the cube to the bin (the expert does not see it).

    half_size is (along the path, across it, vertical); the box sits at a random fraction of the way from the
    cube to the bin, shifted sideways by a random offset.
    """

    enabled: bool = setting(False, "place an obstacle between the cube and the bin")
    half_size: tuple[float, float, float] = setting(
        (0.015, 0.09, 0.16), "box half sizes: along the path, across it, vertical (m)"
    )
    path_fraction_range: tuple[float, float] = setting(
        (0.45, 0.55), "position along the cube-to-bin path (0 = cube, 1 = bin)"
    )
    lateral_offset_range: tuple[float, float] = setting((-0.02, 0.02), "sideways offset from the path (m)")

    def __post_init__(self) -> None:
        for i, value in enumerate(self.half_size):
            _check_positive(f"half_size[{i}]", value)
        _check_range("path_fraction_range", self.path_fraction_range, 0.0, 1.0)
        _check_range("lateral_offset_range", self.lateral_offset_range, -0.3, 0.3)


@dataclass(frozen=True)
class GripperFaultConfig:
    """Forces the fingers open some time after the grasp is first established (a forced failure)."""

    enabled: bool = setting(False, "force the gripper open after the grasp")
    delay_range_s: tuple[float, float] = setting((1.0, 2.0), "fault time after the grasp is established (s)")

    def __post_init__(self) -> None:
        _check_range("delay_range_s", self.delay_range_s, 0.0)


@dataclass(frozen=True)
class InjectionConfig:
    cube_pose: CubePoseConfig = field(default_factory=CubePoseConfig)
    push: PushConfig = field(default_factory=PushConfig)
    friction: FrictionConfig = field(default_factory=FrictionConfig)
    mass: MassConfig = field(default_factory=MassConfig)
    action_noise: ActionNoiseConfig = field(default_factory=ActionNoiseConfig)
    action_delay: ActionDelayConfig = field(default_factory=ActionDelayConfig)
    obstacle: ObstacleConfig = field(default_factory=ObstacleConfig)
    gripper_fault: GripperFaultConfig = field(default_factory=GripperFaultConfig)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None, path: str = "injection") -> InjectionConfig:
        """Strict: unknown keys or bad values raise ValueError naming the key (e.g. injection.push.target)."""
        return config_util.from_dict(cls, data, path)

    def to_dict(self) -> dict[str, Any]:
        return config_util.to_dict(self)

    def enabled_types(self) -> tuple[str, ...]:
        return tuple(name for name in INJECTION_TYPES if getattr(self, name).enabled)

    def with_enabled(self, *names: str, **overrides: dict[str, Any]) -> InjectionConfig:
        """Copy with the named types switched on and sub-configs updated, e.g. with_enabled("mass",
        mass={"scale_range": [20, 20]}); handy for sweeps and tests."""
        data = self.to_dict()
        for name in (*names, *overrides):
            if name not in INJECTION_TYPES:
                raise ValueError(f"unknown injection type {name!r}; known: {list(INJECTION_TYPES)}")
        for name in names:
            data[name]["enabled"] = True
        for name, values in overrides.items():
            data[name].update(values)
        return InjectionConfig.from_dict(data)


@dataclass(frozen=True)
class PushSample:
    target: str
    start_s: float
    duration_s: float
    force_xy: tuple[float, float]


@dataclass(frozen=True)
class EpisodePerturbations:
    """Concrete values for one episode; neutral values (scale 1, no push, ...) for types not injected."""

    cube_xy: tuple[float, float]
    cube_yaw: float
    injected: tuple[str, ...] = ()
    push: PushSample | None = None
    friction_scale: float = 1.0
    mass_scale: float = 1.0
    action_noise_std_rad: float = 0.0
    action_delay_steps: int = 0
    obstacle: ObstacleSpec | None = None
    gripper_fault_delay_s: float | None = None

    def active_types(self) -> list[str]:
        """Injected perturbation types (the nominal cube_pose variation is not one of them)."""
        return list(self.injected)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only."""
        return config_util.to_dict(self)


def _uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(rng.uniform(bounds[0], bounds[1])) if bounds[1] > bounds[0] else float(bounds[0])


def _sample_push(cfg: PushConfig, rng: np.random.Generator) -> PushSample:
    magnitude = _uniform(rng, cfg.magnitude_range_n)
    angle = float(rng.uniform(0.0, 2 * math.pi))
    return PushSample(
        target=cfg.target,
        start_s=_uniform(rng, cfg.time_window_s),
        duration_s=cfg.duration_s,
        force_xy=(magnitude * math.cos(angle), magnitude * math.sin(angle)),
    )


def _sample_obstacle(
    cfg: ObstacleConfig, rng: np.random.Generator, cube_xy: tuple[float, float]
) -> ObstacleSpec:
    start, end = np.asarray(cube_xy), np.asarray(BIN_POS[:2])
    path = end - start
    direction = path / np.linalg.norm(path)
    normal = np.array([-direction[1], direction[0]])
    fraction, offset = _uniform(rng, cfg.path_fraction_range), _uniform(rng, cfg.lateral_offset_range)
    xy = start + fraction * path + offset * normal
    half = cfg.half_size
    return ObstacleSpec(
        pos=(float(xy[0]), float(xy[1]), TABLE_TOP_Z + half[2]),
        half_size=half,
        yaw=float(math.atan2(direction[1], direction[0])),
    )


def sample_perturbations(config: InjectionConfig, rng: np.random.Generator) -> EpisodePerturbations:
    """Draw one episode's perturbations; the same generator state gives the same result."""
    seeds = rng.integers(0, np.iinfo(np.int64).max, size=len(INJECTION_TYPES))
    streams = {name: np.random.default_rng(int(s)) for name, s in zip(INJECTION_TYPES, seeds, strict=True)}
    pose = config.cube_pose
    if pose.enabled:
        r = streams["cube_pose"]
        cube_xy = (_uniform(r, pose.x_range), _uniform(r, pose.y_range))
        cube_yaw = _uniform(r, pose.yaw_range)
    else:  # the middle of the ranges
        cube_xy = (sum(pose.x_range) / 2, sum(pose.y_range) / 2)
        cube_yaw = sum(pose.yaw_range) / 2
    values: dict[str, Any] = {}
    if config.push.enabled:
        values["push"] = _sample_push(config.push, streams["push"])
    if config.friction.enabled:
        values["friction_scale"] = _uniform(streams["friction"], config.friction.scale_range)
    if config.mass.enabled:
        values["mass_scale"] = _uniform(streams["mass"], config.mass.scale_range)
    if config.action_noise.enabled:
        values["action_noise_std_rad"] = config.action_noise.std_rad
    if config.action_delay.enabled:
        values["action_delay_steps"] = config.action_delay.steps
    if config.obstacle.enabled:
        values["obstacle"] = _sample_obstacle(config.obstacle, streams["obstacle"], cube_xy)
    if config.gripper_fault.enabled:
        fault = config.gripper_fault.delay_range_s
        values["gripper_fault_delay_s"] = _uniform(streams["gripper_fault"], fault)
    injected = tuple(name for name in config.enabled_types() if name != "cube_pose")
    return EpisodePerturbations(cube_xy=cube_xy, cube_yaw=cube_yaw, injected=injected, **values)


def injection_from_cli(inject: list[str], assignments: list[str]) -> InjectionConfig:
    """The config of command-line tools: ``inject`` switches types on with their defaults, each
    ``TYPE.KEY=VALUE`` assignment (VALUE parsed as YAML) overrides one parameter, e.g.
    ``injection_from_cli(["mass"], ["mass.scale_range=[13.5, 13.5]"])``.

    Raises ValueError naming a bad item.
    """
    import yaml

    updates: dict[str, dict[str, Any]] = {}
    for item in assignments:
        key, sep, value = item.partition("=")
        kind, _, name = key.partition(".")
        if not sep or not name:
            raise ValueError(f"expected TYPE.KEY=VALUE, got {item!r}")
        updates.setdefault(kind, {})[name] = yaml.safe_load(value)
    return InjectionConfig().with_enabled(*inject, **updates)
