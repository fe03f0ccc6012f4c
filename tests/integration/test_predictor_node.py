"""failure_predictor_node and risk_markers_node as real processes over DDS: predictions every step, bad
signals withheld and counted (never a crash), and a MarkerArray with the risk grid and the alert."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from salus_common.names import FAILURE_TYPES, HORIZONS_S, SIGNAL_NAMES
from salus_monitor.core.splits import split_episodes
from salus_monitor.core.training import TrainConfig, train_predictor
from tests.integration.graph_harness import REPO, Observer, require_workspace, start_node, stop
from tests.salus_monitor.synthetic import synthetic_episodes


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    episodes = synthetic_episodes(80, seed=1)
    cfg = TrainConfig(epochs=5, patience=5, batch_size=256)
    result = train_predictor(episodes, split_episodes(episodes), SIGNAL_NAMES, HORIZONS_S, FAILURE_TYPES, cfg)
    return result.predictor.save(tmp_path_factory.mktemp("predictor") / "ckpt")


def test_predictions_markers_and_withheld_signals(checkpoint, tmp_path):
    require_workspace()
    from builtin_interfaces.msg import Time
    from diagnostic_msgs.msg import DiagnosticArray
    from visualization_msgs.msg import Marker, MarkerArray

    from salus_common import contract
    from salus_common.qos import publisher_qos, subscriber_qos
    from salus_msgs.msg import EpisodeEvent, FailurePrediction, SalusSignals

    profile = [REPO / "config" / "robots" / "mujoco.yaml"]  # applied to every node, as the launchers do
    predictor = start_node(
        "salus_monitor", "failure_predictor_node", tmp_path / "predictor.log", profile,
        overrides={"checkpoint": str(checkpoint), "threshold": 0.0},  # every prediction alerts
    )  # fmt: skip
    markers = start_node("salus_monitor", "risk_markers_node", tmp_path / "markers.log", profile)
    obs = Observer("predictor_test_observer")
    try:
        for msg_type, topic in (
            (FailurePrediction, contract.PREDICTION_TOPIC),
            (MarkerArray, contract.RISK_MARKERS_TOPIC),
            (DiagnosticArray, contract.DIAGNOSTICS_TOPIC),
        ):
            obs.watch(msg_type, topic, subscriber_qos(topic))
        pub_signals = obs.node.create_publisher(
            SalusSignals, contract.SIGNALS_TOPIC, publisher_qos(contract.SIGNALS_TOPIC)
        )
        pub_episode = obs.node.create_publisher(
            EpisodeEvent, contract.EPISODE_TOPIC, publisher_qos(contract.EPISODE_TOPIC)
        )
        assert obs.spin_until(
            lambda: pub_signals.get_subscription_count() > 0 and pub_episode.get_subscription_count() > 0,
            60, alive=lambda: predictor.poll() is None,
        ), (tmp_path / "predictor.log").read_text()  # fmt: skip
        obs.spin_until(lambda: False, 0.5)
        start = EpisodeEvent(episode_id="ep000001-seed1", seed=1, event=EpisodeEvent.EVENT_START)
        start.header.stamp = Time(sec=0, nanosec=0)
        pub_episode.publish(start)
        obs.spin_until(lambda: False, 0.3)
        good, bad = 0, []
        for k in range(1, 13):
            msg = SalusSignals(names=list(SIGNAL_NAMES), values=[0.1 * k] * 12, chunk_index=k)
            msg.header.stamp = Time(sec=0, nanosec=k * 100_000_000)
            if k == 4:
                msg.values = [0.1] * 11 + [float("nan")]
                bad.append("non_finite")
            elif k == 7:
                msg.names = ["wrong"] * 12
                bad.append("names_mismatch")
            else:
                good += 1
            pub_signals.publish(msg)
            obs.spin_until(lambda: False, 0.05)
        end = EpisodeEvent(episode_id="ep000001-seed1", seed=1, event=EpisodeEvent.EVENT_END, outcome="drop")
        end.header.stamp = Time(sec=1, nanosec=300_000_000)
        pub_episode.publish(end)

        def final_status():
            for array in obs.messages[contract.DIAGNOSTICS_TOPIC]:
                for s in array.status:
                    values = {kv.key: kv.value for kv in s.values}
                    if s.name == "failure_predictor" and values.get("final") == "true":
                        return values
            return None

        assert obs.spin_until(lambda: final_status() is not None, 20), (
            tmp_path / "predictor.log"
        ).read_text()
        predictions = obs.messages[contract.PREDICTION_TOPIC]
        assert len(predictions) == good
        first = predictions[0]
        assert len(first.probabilities) == len(HORIZONS_S) * len(FAILURE_TYPES)
        assert all(0.0 <= p <= 1.0 for p in first.probabilities) and first.alert and first.threshold == 0.0
        assert first.max_risk == pytest.approx(max(first.probabilities))
        status = final_status()
        assert status["withheld_non_finite"] == "1" and status["withheld_names_mismatch"] == "1"
        assert status["first_alert_s"] == "0.100" and status["episode_predictions"] == str(good)
        assert predictor.poll() is None  # still running after the malformed messages

        assert obs.spin_until(lambda: len(obs.messages[contract.RISK_MARKERS_TOPIC]) > 0, 10)
        array = obs.messages[contract.RISK_MARKERS_TOPIC][-1]
        cubes = [m for m in array.markers if m.ns == "risk_cells" and m.type == Marker.CUBE]
        values = [m for m in array.markers if m.ns == "risk_values"]
        alert = [m for m in array.markers if m.ns == "alert"]
        assert len(cubes) == 16 and len(values) == 16 and len(alert) == 1
        assert alert[0].text.startswith("ALERT") and cubes[0].header.frame_id == "panda_hand"
        np.testing.assert_allclose(
            sorted(float(m.text) for m in values),
            sorted(round(p, 2) for p in predictions[-1].probabilities),
            atol=0.006,
        )
    finally:
        obs.close()
        for process in (predictor, markers):
            stop(process)
    time.sleep(0.1)


def test_a_checkpoint_reading_extended_signals_withholds_messages_without_them(tmp_path):
    """A predictor trained on the 12 + extended signals takes the extended ones from
    SalusSignals.extended_*, by name; a message without them (the VLA's extended_signals off) is withheld
    and counted, not crashed on."""
    require_workspace()
    from dataclasses import replace

    from builtin_interfaces.msg import Time
    from diagnostic_msgs.msg import DiagnosticArray

    from salus_common import contract
    from salus_common.names import EXTENDED_SIGNAL_NAMES
    from salus_common.qos import publisher_qos, subscriber_qos
    from salus_msgs.msg import FailurePrediction, SalusSignals

    rng = np.random.default_rng(3)
    episodes = [
        replace(ep, signals=np.concatenate([ep.signals, rng.random((len(ep.t), 4), dtype=np.float32)], 1))
        for ep in synthetic_episodes(40, seed=2)
    ]
    names = SIGNAL_NAMES + EXTENDED_SIGNAL_NAMES
    cfg = TrainConfig(epochs=2, patience=2, batch_size=256, signals=names[:3] + ("reversal_rate",))
    result = train_predictor(episodes, split_episodes(episodes), names, HORIZONS_S, FAILURE_TYPES, cfg)
    checkpoint = result.predictor.save(tmp_path / "extended_ckpt")
    predictor = start_node(
        "salus_monitor", "failure_predictor_node", tmp_path / "predictor.log",
        [REPO / "config" / "robots" / "mujoco.yaml"], overrides={"checkpoint": str(checkpoint)},
    )  # fmt: skip
    obs = Observer("extended_predictor_observer")
    try:
        obs.watch(FailurePrediction, contract.PREDICTION_TOPIC, subscriber_qos(contract.PREDICTION_TOPIC))
        obs.watch(DiagnosticArray, contract.DIAGNOSTICS_TOPIC, subscriber_qos(contract.DIAGNOSTICS_TOPIC))
        pub = obs.node.create_publisher(
            SalusSignals, contract.SIGNALS_TOPIC, publisher_qos(contract.SIGNALS_TOPIC)
        )
        assert obs.spin_until(
            lambda: pub.get_subscription_count() > 0, 60, alive=lambda: predictor.poll() is None
        ), (tmp_path / "predictor.log").read_text()
        obs.spin_until(lambda: False, 0.5)
        for k, extended in enumerate([None, [0.1, 0.2, 0.3, 0.4], [0.1, float("nan"), 0.3, 0.4]], 1):
            msg = SalusSignals(names=list(SIGNAL_NAMES), values=[0.1] * 12, chunk_index=k)
            msg.header.stamp = Time(sec=0, nanosec=k * 100_000_000)
            if extended is not None:
                msg.extended_names, msg.extended_values = list(EXTENDED_SIGNAL_NAMES), extended
            pub.publish(msg)
            obs.spin_until(lambda: False, 0.1)

        def withheld():
            for array in reversed(obs.messages[contract.DIAGNOSTICS_TOPIC]):
                for s in array.status:
                    values = {kv.key: kv.value for kv in s.values}
                    if s.name == "failure_predictor" and values.get("withheld") == "2":
                        return values
            return None

        assert obs.spin_until(lambda: withheld() is not None, 20), (tmp_path / "predictor.log").read_text()
        status = withheld()
        assert status["withheld_missing_extended"] == "1" and status["withheld_non_finite"] == "1"
        predictions = obs.messages[contract.PREDICTION_TOPIC]
        assert len(predictions) == 1 and predictions[0].header.stamp.nanosec == 200_000_000
        assert predictor.poll() is None
    finally:
        obs.close()
        stop(predictor)
