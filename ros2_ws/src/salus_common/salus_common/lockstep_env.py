"""In-process environments for lockstep evaluation, found by name (Python entry points), not by import.

Why: ``salus-eval-vla`` steps a policy and a simulator in one process, the simulator waiting for every
action (lockstep; fast, and the right tool for comparing checkpoints). The policy package must not import
the simulator package (a real-robot install has none), so simulators offer themselves under the entry
point group :data:`ENTRY_POINT_GROUP` (``salus_sim`` registers ``mujoco``), and evaluators ask for one by
name. Figures from lockstep runs are labelled as such: a policy in the ROS graph runs against real time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Protocol

import numpy as np

ENTRY_POINT_GROUP = "salus.lockstep_envs"


@dataclass(frozen=True)
class EnvEpisode:
    """What a reset drew: the active perturbation types and every sampled value."""

    perturbations: tuple[str, ...]
    perturbation_params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EnvOutcome:
    """How an episode ended: an outcome name (``salus_common.names.OUTCOMES``) and its onset [s]."""

    outcome: str
    onset_s: float  # NaN for successes


class LockstepEnv(Protocol):
    """A simulator stepped by its caller: one ``step`` per control period, observations in between."""

    cameras: tuple[str, ...]
    joint_names: tuple[str, ...]  # order of joint_positions() and of step()'s action
    control_dt: float
    max_steps: int  # steps after which an episode has surely ended (its time budget)

    @property
    def time(self) -> float: ...

    def reset(self, seed: int) -> EnvEpisode: ...

    def render(self, camera: str) -> np.ndarray: ...

    def joint_positions(self) -> np.ndarray: ...

    def step(self, action: np.ndarray) -> EnvOutcome | None: ...

    def close(self) -> None: ...


# make(image_hw=(H, W), inject=[types], overrides=["TYPE.KEY=VALUE"]) -> LockstepEnv
EnvFactory = Callable[..., LockstepEnv]


def available_envs() -> list[str]:
    """Names of the installed lockstep environments."""
    return sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))


def make_env(
    name: str,
    image_hw: tuple[int, int],
    inject: Sequence[str] = (),
    overrides: Sequence[str] = (),
) -> LockstepEnv:
    """The environment registered as ``name`` (or a ``module:factory`` path, as for an uninstalled one).

    ``ValueError`` listing the installed ones when there is no such environment.
    """
    if ":" in name:
        factory: EnvFactory = EntryPoint(name=name, value=name, group=ENTRY_POINT_GROUP).load()
        return factory(image_hw=tuple(image_hw), inject=list(inject), overrides=list(overrides))
    found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
    if not found:
        raise ValueError(
            f"no lockstep environment {name!r} is installed (installed: {available_envs() or 'none'}; "
            f"simulator packages register them under the entry point group {ENTRY_POINT_GROUP!r})"
        )
    factory = found[0].load()
    return factory(image_hw=tuple(image_hw), inject=list(inject), overrides=list(overrides))
