"""Randomized malformed messages for every input of the graph, to check that no subscriber crashes on them.

Each generator returns a message of the topic's type with one or more faults drawn at random: wrong
lengths, NaN/inf, huge values, empty or duplicate names, stale and future stamps, wrong frame ids, garbage
strings. Some messages come out well-formed but extreme, which nodes must accept or reject by their own
rules; the fuzz test checks the outcome (no crash, rejections counted, commands inside the limits), not
which faults were drawn. Seeded ``numpy`` generator: a failing draw can be replayed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from salus_common import contract

WEIRD_FLOATS = (float("nan"), float("inf"), float("-inf"), 1e30, -1e30, 0.0, 3.4e38)
WEIRD_STRINGS = ("", " ", "panda_joint1", "ünïcödé", "x" * 300, "\x00", "../../etc")


def _stamp(msg: Any, rng: np.random.Generator) -> None:
    """A stamp that is normal, zero, far in the past or far in the future."""
    sec = int(rng.choice([0, 1, 5, 10**6, 2**31 - 1, int(rng.integers(0, 100))]))
    msg.header.stamp.sec = sec
    msg.header.stamp.nanosec = int(rng.integers(0, 10**9))
    msg.header.frame_id = str(rng.choice(["", "world", "panda_hand", "not_a_frame", "x" * 100]))


def _floats(rng: np.random.Generator, n: int, base: float = 0.0) -> list[float]:
    values = base + rng.normal(0.0, rng.choice([0.01, 1.0, 100.0]), n)
    if n:
        for i in rng.choice(n, size=min(n, int(rng.integers(0, 3))), replace=False):
            values[i] = rng.choice(WEIRD_FLOATS)
    return [float(v) for v in values]


def _length(rng: np.random.Generator, good: int) -> int:
    return max(0, int(rng.choice([good, good, 0, 1, good - 1, good + 1, 3 * good])))


def _names(rng: np.random.Generator, good: Sequence[str], n: int) -> list[str]:
    names = list(good)[:n] + [str(rng.choice(WEIRD_STRINGS)) for _ in range(max(0, n - len(good)))]
    roll = rng.random()
    if roll < 0.2 and len(names) > 1:
        names[1] = names[0]  # duplicate
    elif roll < 0.35 and names:
        names[int(rng.integers(0, len(names)))] = str(rng.choice(WEIRD_STRINGS))
    elif roll < 0.45:
        rng.shuffle(names)  # a valid permutation: must be reordered, not rejected
    return names


def joint_state(rng: np.random.Generator, joints: Sequence[str]) -> Any:
    from sensor_msgs.msg import JointState

    msg = JointState()
    _stamp(msg, rng)
    n = _length(rng, len(joints))
    msg.name = _names(rng, joints, n)
    msg.position = _floats(rng, _length(rng, n))
    msg.velocity = _floats(rng, _length(rng, n))
    return msg


def image(rng: np.random.Generator) -> Any:
    from sensor_msgs.msg import Image

    msg = Image()
    _stamp(msg, rng)
    msg.height, msg.width = int(rng.choice([0, 1, 128, 4096])), int(rng.choice([0, 1, 128, 4096]))
    msg.encoding = str(rng.choice(["rgb8", "bgr8", "mono8", "16UC1", "", "jpeg"]))
    msg.step = int(rng.choice([0, 3 * msg.width, 7]))
    msg.data = bytes(rng.integers(0, 256, int(rng.choice([0, 10, 3 * 128 * 128])), dtype=np.uint8))
    return msg


def salus_signals(rng: np.random.Generator, names: Sequence[str], extended: Sequence[str]) -> Any:
    from salus_msgs.msg import SalusSignals

    msg = SalusSignals()
    _stamp(msg, rng)
    msg.names = _names(rng, names, _length(rng, len(names)))
    msg.values = _floats(rng, len(names), 0.1)  # a fixed-size field: the type enforces 12
    if rng.random() < 0.7:
        msg.extended_names = _names(rng, extended, _length(rng, len(extended)))
        msg.extended_values = _floats(rng, _length(rng, len(extended)))
    msg.prefix_embedding = _floats(rng, int(rng.choice([0, 3, 384])))
    msg.chunk_index = int(rng.integers(0, 2**32))
    return msg


def failure_prediction(rng: np.random.Generator, horizons: Sequence[float], types: Sequence[str]) -> Any:
    from salus_msgs.msg import FailurePrediction

    msg = FailurePrediction()
    _stamp(msg, rng)
    msg.horizons = _floats(rng, _length(rng, len(horizons)), 0.3)
    msg.failure_types = _names(rng, types, _length(rng, len(types)))
    msg.probabilities = _floats(rng, _length(rng, len(horizons) * len(types)), 0.5)
    msg.max_risk, msg.threshold = (float(rng.choice([*WEIRD_FLOATS, 0.5, 1.5, -0.2])) for _ in range(2))
    msg.alert = bool(rng.random() < 0.5)
    return msg


def action_proposal(rng: np.random.Generator, joints: Sequence[str]) -> Any:
    from salus_msgs.msg import ActionProposal

    msg = ActionProposal()
    _stamp(msg, rng)
    msg.joint_names = _names(rng, joints, _length(rng, len(joints)))
    msg.num_samples = int(rng.choice([0, 1, 5, 2**31]))
    msg.action_dim = int(rng.choice([0, len(joints), len(joints) + 1]))
    msg.samples = _floats(rng, _length(rng, 5 * len(joints)))
    msg.mean = _floats(rng, _length(rng, len(joints)))
    msg.std = _floats(rng, _length(rng, len(joints)))
    msg.model_id = str(rng.choice(WEIRD_STRINGS))
    return msg


def episode_event(rng: np.random.Generator) -> Any:
    from salus_msgs.msg import EpisodeEvent

    msg = EpisodeEvent()
    _stamp(msg, rng)
    msg.episode_id = str(rng.choice(WEIRD_STRINGS))
    msg.event = str(rng.choice(["start", "end", "", "pause", "START"]))
    msg.outcome = str(rng.choice(["success", "drop", "", "exploded"]))
    msg.failure_onset_time = float(rng.choice(WEIRD_FLOATS))
    msg.duration = float(rng.choice(WEIRD_FLOATS))
    msg.seed = int(rng.integers(-(2**63), 2**63 - 1))
    msg.perturbation_params_json = str(rng.choice(["{}", "{", "null", "[1,2]"]))
    return msg


def generators(
    joints: Sequence[str],
    cameras: Sequence[str],
    signal_names: Sequence[str],
    extended_names: Sequence[str],
    horizons: Sequence[float],
    failure_types: Sequence[str],
) -> dict[str, tuple[type, Callable[[np.random.Generator], Any]]]:
    """topic -> (message type, generator) for every input topic of the graph."""
    from sensor_msgs.msg import Image, JointState

    from salus_msgs.msg import ActionProposal, EpisodeEvent, FailurePrediction, SalusSignals

    out: dict[str, tuple[type, Callable[[np.random.Generator], Any]]] = {
        contract.JOINT_COMMAND_TOPIC: (JointState, lambda r: joint_state(r, joints)),
        contract.VLA_COMMAND_TOPIC: (JointState, lambda r: joint_state(r, joints)),
        contract.JOINT_STATES_TOPIC: (JointState, lambda r: joint_state(r, joints)),
        contract.SIGNALS_TOPIC: (SalusSignals, lambda r: salus_signals(r, signal_names, extended_names)),
        contract.PREDICTION_TOPIC: (
            FailurePrediction,
            lambda r: failure_prediction(r, horizons, failure_types),
        ),
        contract.PROPOSAL_TOPIC: (ActionProposal, lambda r: action_proposal(r, joints)),
        contract.EPISODE_TOPIC: (EpisodeEvent, episode_event),
    }
    for camera in cameras:
        out[contract.camera_image_topic(camera)] = (Image, image)
    return out
