"""SALUS graph messages serialized to CDR without rclpy, through the rosbags typestore of our types.

The bytes equal what rclpy publishes, so offline tools, benchmarks and tests can feed the bag writer and the
converters exactly what a recorder would receive, without DDS.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np

from salus_common.stamps import split_ns
from salus_data.bag_writer import salus_typestore


@cache
def typestore() -> Any:
    return salus_typestore()


def serialize(msg: Any, msgtype: str) -> bytes:
    return bytes(typestore().serialize_cdr(msg, msgtype))


def header(stamp_ns: int, frame_id: str = "") -> Any:
    types = typestore().types
    sec, nanosec = split_ns(stamp_ns)
    stamp = types["builtin_interfaces/msg/Time"](sec=sec, nanosec=nanosec)
    return types["std_msgs/msg/Header"](stamp=stamp, frame_id=frame_id)


def episode_event(
    stamp_ns: int,
    episode_id: str,
    seed: int,
    event: str,
    outcome: str = "",
    onset: float = math.nan,
    duration: float = 0.0,
    perturbations: Sequence[str] = (),
    params: dict | None = None,
) -> bytes:
    msg = typestore().types["salus_msgs/msg/EpisodeEvent"](
        header=header(stamp_ns),
        episode_id=episode_id,
        seed=seed,
        event=event,
        outcome=outcome,
        failure_onset_time=onset,
        duration=duration,
        perturbations=list(perturbations),
        perturbation_params_json=json.dumps(params or {}, sort_keys=True),
    )
    return serialize(msg, "salus_msgs/msg/EpisodeEvent")


def joint_state(
    stamp_ns: int,
    names: Sequence[str],
    position: np.ndarray,
    velocity: np.ndarray | None = None,
    effort: np.ndarray | None = None,
) -> bytes:
    n = len(names)
    msg = typestore().types["sensor_msgs/msg/JointState"](
        header=header(stamp_ns),
        name=list(names),
        position=np.asarray(position, dtype=np.float64),
        velocity=np.zeros(n) if velocity is None else np.asarray(velocity, dtype=np.float64),
        effort=np.zeros(n) if effort is None else np.asarray(effort, dtype=np.float64),
    )
    return serialize(msg, "sensor_msgs/msg/JointState")


def rgb_image(stamp_ns: int, pixels: np.ndarray, frame_id: str = "") -> bytes:
    height, width = pixels.shape[:2]
    msg = typestore().types["sensor_msgs/msg/Image"](
        header=header(stamp_ns, frame_id),
        height=height,
        width=width,
        encoding="rgb8",
        is_bigendian=0,
        step=width * 3,
        data=np.ascontiguousarray(pixels, dtype=np.uint8).reshape(-1),
    )
    return serialize(msg, "sensor_msgs/msg/Image")


def action_proposal(
    stamp_ns: int,
    names: Sequence[str],
    samples: np.ndarray,
    chunk_index: int,
    step_in_chunk: int,
    model_id: str,
    observation_stamp_ns: int | None = None,
) -> bytes:
    """From the (K, D) samples; mean and std are computed here, as the VLA node does. The chunk's
    observation stamp defaults to the step's own (a chunk used in the step it was sampled from)."""
    samples = np.asarray(samples, dtype=np.float32)
    source = stamp_ns if observation_stamp_ns is None else observation_stamp_ns
    msg = typestore().types["salus_msgs/msg/ActionProposal"](
        header=header(stamp_ns),
        observation_stamp=header(source).stamp,
        joint_names=list(names),
        mean=samples.mean(axis=0),
        std=samples.std(axis=0),
        samples=samples.reshape(-1),
        num_samples=samples.shape[0],
        action_dim=samples.shape[1],
        chunk_index=chunk_index,
        step_in_chunk=step_in_chunk,
        model_id=model_id,
    )
    return serialize(msg, "salus_msgs/msg/ActionProposal")


def salus_signals(
    stamp_ns: int,
    names: Sequence[str],
    values: np.ndarray,
    chunk_index: int,
    extended_names: Sequence[str] = (),
    extended_values: np.ndarray | None = None,
    prefix_embedding: np.ndarray | None = None,
) -> bytes:
    msg = typestore().types["salus_msgs/msg/SalusSignals"](
        header=header(stamp_ns),
        names=list(names),
        values=np.asarray(values, dtype=np.float32),
        chunk_index=chunk_index,
        extended_names=list(extended_names),
        extended_values=np.asarray([] if extended_values is None else extended_values, dtype=np.float32),
        prefix_embedding=np.asarray([] if prefix_embedding is None else prefix_embedding, dtype=np.float32),
    )
    return serialize(msg, "salus_msgs/msg/SalusSignals")


def failure_prediction(
    stamp_ns: int,
    horizons: Sequence[float],
    failure_types: Sequence[str],
    probabilities: np.ndarray,
    threshold: float,
) -> bytes:
    probs = np.asarray(probabilities, dtype=np.float32).ravel()
    msg = typestore().types["salus_msgs/msg/FailurePrediction"](
        header=header(stamp_ns),
        horizons=np.asarray(horizons, dtype=np.float32),
        failure_types=list(failure_types),
        probabilities=probs,
        max_risk=float(probs.max()),
        alert=bool(probs.max() >= threshold),
        threshold=float(threshold),
    )
    return serialize(msg, "salus_msgs/msg/FailurePrediction")


def safety_intervention(
    stamp_ns: int,
    joint_names: Sequence[str],
    executed: np.ndarray,
    source: str,
    reason: str,
    risk_before: float = float("nan"),
    candidates: int = 0,
) -> bytes:
    msg = typestore().types["salus_msgs/msg/SafetyIntervention"](
        header=header(stamp_ns),
        joint_names=list(joint_names),
        executed_action=np.asarray(executed, dtype=np.float32),
        source=source,
        candidates_evaluated=int(candidates),
        risk_before=float(risk_before),
        risk_after=float("nan"),
        reason=reason,
    )
    return serialize(msg, "salus_msgs/msg/SafetyIntervention")
