"""failure_predictor_node: SalusSignals -> FailurePrediction every control step, with the alert threshold.

Thin adapter over :class:`salus_monitor.core.predictor.FailurePredictor`. A signals message that is
malformed (wrong length, names, NaN/inf) or stale is withheld: no prediction for that step, the reason
counted on ``/diagnostics``. The threshold is the conformal threshold at ``alpha`` from the checkpoint's
calibration scores, or ``threshold`` when given. Per episode the node reports on ``/diagnostics`` when
the first alert fired, so the episode runner can put it beside the outcome.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass

import torch
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.clock import Clock, ClockType
from rclpy.node import Node

from salus_common import contract
from salus_common.config import setting
from salus_common.diagnostics import diagnostic_array
from salus_common.names import (
    EXTENDED_SIGNAL_NAMES,
    FAILURE_TYPES,
    HORIZONS_S,
    PREDICTOR_NODE_NAME,
    SIGNAL_NAMES,
)
from salus_common.node_runner import run_node
from salus_common.parameters import check_no_unknown_parameters, declare_config, declare_robot_profile
from salus_common.qos import create_publisher, create_subscription
from salus_common.rejection import InputRejectedError
from salus_common.stamps import NS_PER_S, stamp_ns
from salus_monitor.core.predictor import FailurePredictor
from salus_monitor.core.signal_check import (
    LatencyWindow,
    check_stamp,
    checked_extended,
    checked_signals,
    model_inputs,
)
from salus_msgs.msg import EpisodeEvent, FailurePrediction, SalusSignals


@dataclass
class PredictorNodeConfig:
    checkpoint: str = setting("", "predictor checkpoint folder (salus-train-predictor)")
    alpha: float = setting(0.0, "alert false-alarm target; 0 = the checkpoint's", low=0.0, high=0.5)
    threshold: float = setting(
        -1.0, "fixed alert threshold in [0, 1]; negative = conformal from alpha", high=1.0
    )
    max_signal_age_s: float = setting(0.5, "withhold signals older than this behind the newest [s]", low=0.0)
    threads: int = setting(1, "torch CPU threads (1: no contention with the VLA)", low=1)
    diagnostics_period_s: float = setting(1.0, "period of the /diagnostics status [s]", low=0.05)

    def __post_init__(self) -> None:
        if not self.checkpoint:
            raise ValueError("checkpoint is required (a folder written by salus-train-predictor)")


@dataclass
class EpisodeAlerts:
    episode_id: str = ""
    start_ns: int | None = None
    predictions: int = 0
    first_alert_s: float = math.nan  # seconds after the episode start
    max_risk: float = 0.0


class FailurePredictorNode(Node):
    def __init__(self) -> None:
        super().__init__(PREDICTOR_NODE_NAME)
        # The robot profile applies to every node of the graph; the predictor needs none of its facts.
        declare_robot_profile(self)
        p = declare_config(self, PredictorNodeConfig)
        check_no_unknown_parameters(self)
        torch.set_num_threads(p.threads)
        self.predictor = FailurePredictor.load(p.checkpoint)
        meta = self.predictor.meta
        unknown = [n for n in meta.signal_names if n not in SIGNAL_NAMES + EXTENDED_SIGNAL_NAMES]
        if unknown:
            raise ValueError(
                f"{p.checkpoint}: reads signals {unknown} that the graph does not publish "
                f"({SIGNAL_NAMES + EXTENDED_SIGNAL_NAMES})"
            )
        self.extended_inputs = [n for n in meta.signal_names if n in EXTENDED_SIGNAL_NAMES]
        if tuple(meta.horizons_s) != HORIZONS_S or tuple(meta.failure_types) != FAILURE_TYPES:
            raise ValueError(
                f"{p.checkpoint}: horizons/types {meta.horizons_s}/{meta.failure_types} differ from "
                "the stack's"
            )
        if p.threshold >= 0:
            self.threshold, self.threshold_source = p.threshold, "fixed"
        else:
            alpha = p.alpha or meta.alpha
            self.threshold, self.threshold_source = (
                self.predictor.threshold_for(alpha),
                f"conformal alpha={alpha:g}",
            )
        self.max_age_ns = round(p.max_signal_age_s * NS_PER_S)
        self.newest_ns: int | None = None
        self.rejected: Counter[str] = Counter()
        self.latency = LatencyWindow()
        self.predictions = 0
        self.episode = EpisodeAlerts()
        self.pub_prediction = create_publisher(self, FailurePrediction, contract.PREDICTION_TOPIC)
        self.pub_diag = create_publisher(self, DiagnosticArray, contract.DIAGNOSTICS_TOPIC)
        create_subscription(self, SalusSignals, contract.SIGNALS_TOPIC, self.on_signals)
        create_subscription(self, EpisodeEvent, contract.EPISODE_TOPIC, self.on_episode)
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        self.create_timer(p.diagnostics_period_s, self.publish_diagnostics, clock=steady)
        self.get_logger().info(
            f"failure predictor {meta.model.kind} from {p.checkpoint}: threshold {self.threshold:.4f} "
            f"({self.threshold_source}), {len(HORIZONS_S)} horizons x {len(FAILURE_TYPES)} types"
        )

    def on_episode(self, msg: EpisodeEvent) -> None:
        if msg.event == EpisodeEvent.EVENT_START:
            self.predictor.reset()
            self.newest_ns = None
            self.episode = EpisodeAlerts(episode_id=msg.episode_id, start_ns=stamp_ns(msg.header.stamp))
        elif msg.event == EpisodeEvent.EVENT_END and self.episode.episode_id == msg.episode_id:
            self.publish_diagnostics(final=True)

    def on_signals(self, msg: SalusSignals) -> None:
        started = time.perf_counter()
        try:
            row = checked_signals(msg.names, msg.values, SIGNAL_NAMES)
            extended = checked_extended(msg.extended_names, msg.extended_values, self.extended_inputs)
            stamp = stamp_ns(msg.header.stamp)
            check_stamp(stamp, self.newest_ns, self.get_clock().now().nanoseconds, self.max_age_ns)
        except InputRejectedError as err:
            self.rejected[err.reason] += 1
            self.get_logger().warning(
                f"signals withheld ({err.reason}): {err.detail} [{self.rejected.total()} so far]",
                throttle_duration_sec=2.0,
            )
            return
        self.newest_ns = stamp if self.newest_ns is None else max(self.newest_ns, stamp)
        inputs = model_inputs(self.predictor.meta.signal_names, row, extended, SIGNAL_NAMES)
        probs = self.predictor.step_inputs(inputs)
        max_risk = float(probs.max())
        alert = max_risk >= self.threshold
        out = FailurePrediction(
            header=msg.header,
            horizons=HORIZONS_S,
            failure_types=FAILURE_TYPES,
            probabilities=probs.ravel().tolist(),
            max_risk=max_risk,
            alert=bool(alert),
            threshold=float(self.threshold),
        )
        self.pub_prediction.publish(out)
        self.latency.add(time.perf_counter() - started)
        self.predictions += 1
        ep = self.episode
        ep.predictions += 1
        ep.max_risk = max(ep.max_risk, max_risk)
        if alert and math.isnan(ep.first_alert_s) and ep.start_ns is not None:
            ep.first_alert_s = (stamp - ep.start_ns) / NS_PER_S

    def diagnostic_values(self) -> dict[str, str]:
        ep = self.episode
        values = {
            "episode_id": ep.episode_id,
            "predictions": str(self.predictions),
            "episode_predictions": str(ep.predictions),
            "first_alert_s": "" if math.isnan(ep.first_alert_s) else f"{ep.first_alert_s:.3f}",
            "episode_max_risk": f"{ep.max_risk:.4f}",
            "threshold": f"{self.threshold:.4f}",
            "threshold_source": self.threshold_source,
            "latency_p50_ms": f"{self.latency.percentile_ms(50):.3f}",
            "latency_p99_ms": f"{self.latency.percentile_ms(99):.3f}",
            "withheld": str(self.rejected.total()),
        }
        values.update({f"withheld_{reason}": str(n) for reason, n in sorted(self.rejected.items())})
        return values

    def publish_diagnostics(self, final: bool = False) -> None:
        values = {**self.diagnostic_values(), "final": str(final).lower()}
        problem = "signals withheld" if self.rejected else None
        stamp = self.get_clock().now().to_msg()
        array = diagnostic_array(PREDICTOR_NODE_NAME, values, problem, stamp, "salus_predictor")
        self.pub_diag.publish(array)


def main(args: list[str] | None = None) -> None:
    run_node(FailurePredictorNode, args)
