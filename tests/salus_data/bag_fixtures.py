"""Synthetic SALUS episodes as serialized messages, fed through the real bag writer. No rclpy, no sim.

Messages are serialized with the rosbags typestore (the same CDR bytes rclpy produces), so tests of the
writer, reader and converters run without DDS. Stamps follow the sim node: the start event is stamped
with the last tick before the reset (``S``), step ``k`` (1..n) with ``S + k*dt``, the end event with the
last observation ``E = S + n*dt``; one more tick (``E + dt``) follows, as the sim keeps publishing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from salus_common.contract import (
    EPISODE_TOPIC,
    INTERVENTION_TOPIC,
    JOINT_COMMAND_TOPIC,
    JOINT_STATES_TOPIC,
    PREDICTION_TOPIC,
    PROPOSAL_TOPIC,
    SIGNALS_TOPIC,
    camera_image_topic,
)
from salus_common.names import EXTENDED_SIGNAL_NAMES, FAILURE_TYPES, HORIZONS_S, SIGNAL_NAMES
from salus_common.robot_profile import PANDA_JOINT_NAMES
from salus_data import cdr_messages as cdr
from salus_data.bag_topics import topic_profile
from salus_data.bag_writer import ClosedEpisode, EpisodeBagRecorder

JOINTS = PANDA_JOINT_NAMES
CAMERAS = ("front", "wrist")
DT_NS = 100_000_000  # 10 Hz


# Episode events as the sim sends them; a nominal cube pose stands in for the sampled perturbations.
event_msg = partial(cdr.episode_event, params={"cube_xy": [0.5, 0.0]})


def joint_msg(stamp: int, position: np.ndarray, names: Sequence[str] = JOINTS) -> bytes:
    return cdr.joint_state(stamp, names, position, velocity=np.full(len(names), 0.5))


def image_pixels(stamp: int, camera: str, size: int) -> np.ndarray:
    """A deterministic picture per (stamp, camera): tests can tell which frame landed where."""
    value = (stamp // DT_NS) % 251
    base = np.full((size, size, 3), value, dtype=np.uint8)
    base[..., 1] = CAMERAS.index(camera) if camera in CAMERAS else 7
    return base


def image_msg(stamp: int, camera: str, size: int) -> bytes:
    return cdr.rgb_image(stamp, image_pixels(stamp, camera, size), f"{camera}_camera_optical_frame")


def proposal_msg(stamp: int, k: int) -> bytes:
    mean = np.arange(9, dtype=np.float32) + k
    spread = np.full(9, 0.01 * k, dtype=np.float32)
    return cdr.action_proposal(
        stamp, JOINTS, np.stack([mean - spread, mean + spread]), k // 5, k % 5, "synthetic"
    )


EMBEDDING_DIM = 6


def extended_at(k: int) -> np.ndarray:
    """The extended signals of step k: 0.1 k, 0.2 k, ... (one value per EXTENDED_SIGNAL_NAMES)."""
    return 0.1 * k * np.arange(1, len(EXTENDED_SIGNAL_NAMES) + 1, dtype=np.float32)


def embedding_at(k: int) -> np.ndarray:
    """The prefix embedding of step k: constant per chunk of 5 steps, as the VLA holds it for a chunk."""
    return np.full(EMBEDDING_DIM, 0.5 * (k // 5), dtype=np.float32) + np.arange(EMBEDDING_DIM)


def signals_msg(stamp: int, k: int, extended: bool = False) -> bytes:
    values = np.arange(12, dtype=np.float32) * k
    if not extended:
        return cdr.salus_signals(stamp, list(SIGNAL_NAMES), values, k // 5)
    return cdr.salus_signals(
        stamp, list(SIGNAL_NAMES), values, k // 5, EXTENDED_SIGNAL_NAMES, extended_at(k), embedding_at(k)
    )


def prediction_msg(stamp: int, k: int) -> bytes:
    """Risk rising with the step: cell (h, t) = min(1, 0.05 * k) for the drop column, 0.1 elsewhere."""
    probs = np.full((len(HORIZONS_S), len(FAILURE_TYPES)), 0.1)
    probs[:, FAILURE_TYPES.index("drop")] = min(1.0, 0.05 * k)
    return cdr.failure_prediction(stamp, HORIZONS_S, FAILURE_TYPES, probs, threshold=0.5)


def state_at(k: int) -> np.ndarray:
    return np.linspace(0.0, 0.8, 9) + 0.01 * k


@dataclass(frozen=True)
class Episode:
    seed: int
    steps: int = 20
    outcome: str = "success"
    onset: float = math.nan
    start_ns: int = 5 * DT_NS
    vla: bool = False
    extended: bool = False  # with vla: the extended signals and the prefix embedding too
    predictor: bool = False  # also /salus/prediction messages
    filter_from: int | None = None  # also /salus/intervention messages: forwarded, replaced from this step
    image_size: int = 16
    drop_steps: tuple[int, ...] = ()  # steps whose front image is missing

    @property
    def episode_id(self) -> str:
        return f"ep{self.seed:06d}-seed{self.seed}"

    @property
    def end_ns(self) -> int:
        return self.start_ns + self.steps * DT_NS


def episode_messages(ep: Episode) -> list[tuple[str, bytes]]:
    """The message sequence of one episode as the recorder would receive it (plus one tick after)."""
    out: list[tuple[str, bytes]] = [(EPISODE_TOPIC, event_msg(ep.start_ns, ep.episode_id, ep.seed, "start"))]
    for k in range(1, ep.steps + 2):
        stamp = ep.start_ns + k * DT_NS
        for camera in CAMERAS:
            if camera == "front" and k in ep.drop_steps:
                continue
            out.append((camera_image_topic(camera), image_msg(stamp, camera, ep.image_size)))
        out.append((JOINT_STATES_TOPIC, joint_msg(stamp, state_at(k))))
        if ep.vla:
            out.append((PROPOSAL_TOPIC, proposal_msg(stamp, k)))
            out.append((SIGNALS_TOPIC, signals_msg(stamp, k, ep.extended)))
        if ep.predictor:
            out.append((PREDICTION_TOPIC, prediction_msg(stamp, k)))
        out.append((JOINT_COMMAND_TOPIC, joint_msg(stamp, state_at(k) + 0.05)))
        if ep.filter_from is not None:
            replaced = k >= ep.filter_from
            out.append(
                (
                    INTERVENTION_TOPIC,
                    cdr.safety_intervention(
                        stamp, PANDA_JOINT_NAMES, state_at(k) + 0.05, "manifold" if replaced else "vla",
                        "risk high: manifold candidate" if replaced else "risk low", 0.05 * k, 16 * replaced,
                    ),
                )
            )  # fmt: skip
        if k == ep.steps:
            duration = (ep.steps + 1) * DT_NS * 1e-9
            out.append(
                (
                    EPISODE_TOPIC,
                    event_msg(stamp, ep.episode_id, ep.seed, "end", ep.outcome, ep.onset, duration),
                )
            )
    return out


def typestore():
    return cdr.typestore()


def make_recorder(bag_dir: Path, **kwargs) -> EpisodeBagRecorder:
    return EpisodeBagRecorder(bag_dir, topic_profile(CAMERAS), cdr.typestore(), **kwargs)


def record(
    recorder: EpisodeBagRecorder, episodes: Sequence[Episode], now: float = 0.0
) -> list[ClosedEpisode]:
    closed: list[ClosedEpisode] = []
    for ep in episodes:
        for topic, raw in episode_messages(ep):
            closed += recorder.message(topic, raw, log_ns=_stamp_of(raw), now=now)
            now += 0.001
        now += 5.0
        closed += recorder.poll(now)
    return closed


def _stamp_of(raw: bytes) -> int:
    from salus_data.bag_writer import header_stamp_ns

    return header_stamp_ns(raw) or 0


def write_bags(bag_dir: Path, episodes: Sequence[Episode], **kwargs) -> list[ClosedEpisode]:
    return record(make_recorder(bag_dir, **kwargs), episodes)


def truncate_bag(bag: Path, keep: float) -> None:
    """Cut a bag's MCAP file to the first ``keep`` fraction of its bytes (a recorder killed mid-write)."""
    (mcap,) = bag.glob("*.mcap")
    data = mcap.read_bytes()
    mcap.write_bytes(data[: int(len(data) * keep)])
