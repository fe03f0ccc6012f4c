"""Names the whole stack agrees on, defined once: signals, outcomes, failure types, injections, horizons.

Order matters wherever a name indexes an array: signal ``i`` of every ``SalusSignals`` message and of every
Zarr ``signals`` row is ``SIGNAL_NAMES[i]``; failure type ``j`` of the (T, horizons, types) labels is
``FAILURE_TYPES[j]``.
"""

from __future__ import annotations

from enum import StrEnum

SIGNAL_NAMES: tuple[str, ...] = (
    "action_variance",  # mean ensemble variance over action dims [rad^2]
    "attention_entropy",  # mean entropy of the VLA's attention [nats]
    "attention_change",  # change of attention entropy since the previous step [nats]
    "hidden_state_norm",  # norm of the final prefix hidden state
    "hidden_state_variance",  # variance of the final prefix hidden state
    "action_magnitude",  # norm of the mean action's change from the current state [rad]
    "action_change",  # norm of mean action minus previous mean action [rad]
    "trajectory_divergence",  # distance of the mean action from the recent mean action [rad]
    "joint1_variance",  # ensemble variance of joint 1 [rad^2]
    "joint2_variance",
    "joint3_variance",
    "joint4_variance",
)
NUM_SIGNALS = len(SIGNAL_NAMES)

# The optional extended set (the VLA node's ``extended_signals``), carried in SalusSignals.extended_*
# and appended after the 12 in Zarr ``signals`` rows; definitions in salus_vla/core/extended_signals.py.
EXTENDED_SIGNAL_NAMES: tuple[str, ...] = (
    "chunk_disagreement",  # mean distance of the new chunk from the old one where they overlap [rad]
    "reversal_rate",  # share of commanded arm-joint velocities that changed sign, recent window [1]
    "hidden_mahalanobis",  # Mahalanobis distance of the prefix hidden state to nominal operation [1]
    "episode_time",  # time since the episode's first control step [s] (what the timeout type depends on)
)


class Outcome(StrEnum):
    """How an episode ended; every value but ``success`` is a failure type."""

    SUCCESS = "success"
    COLLISION = "collision"
    DROP = "drop"
    TIMEOUT = "timeout"
    OTHER = "other"


OUTCOMES: tuple[str, ...] = tuple(o.value for o in Outcome)
FAILURE_TYPES: tuple[str, ...] = tuple(o.value for o in Outcome if o is not Outcome.SUCCESS)

# Failure injections of the simulator, in the order episode records list them. ``cube_pose`` is the nominal
# task variation (on by default), the others are perturbations switched on per experiment.
INJECTION_TYPES: tuple[str, ...] = (
    "cube_pose",
    "push",
    "friction",
    "mass",
    "action_noise",
    "action_delay",
    "obstacle",
    "gripper_fault",
)
PERTURBATION_TYPES: tuple[str, ...] = tuple(name for name in INJECTION_TYPES if name != "cube_pose")

# The language instruction of the pick-and-place task: demonstrations, training and the running policy.
TASK_INSTRUCTION = "pick up the red cube and place it in the blue bin"

# Failure-prediction horizons [s] of the labels, the predictor and its messages.
HORIZONS_S: tuple[float, ...] = (0.2, 0.3, 0.4, 0.5)

# The VLA node's name; also the name of its /diagnostics status, which the episode runner reads for the
# per-episode timing in its summary.
VLA_NODE_NAME = "vla_ensemble"
# The failure predictor's node name and /diagnostics status name (the runner reads its per-episode alerts).
PREDICTOR_NODE_NAME = "failure_predictor"
# The action filter's node name (its final per-episode diagnostics go into the runner's summary too).
FILTER_NODE_NAME = "action_filter"
