"""The action filter's per-step logic: forwarding, replacing on an alert, limits, and the watchdog's hold."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from salus_monitor.core.command_gate import CommandGate, GateConfig, Prediction
from salus_monitor.core.safety_filter import FilterTrainConfig, SafetyFilter
from tests.salus_monitor.test_safety_filter import J, episode

MS = 1_000_000
LOWER, UPPER, STEP = np.full(J, -2.0), np.full(J, 2.0), np.full(J, 0.1)


def gate(mode: str = "watchdog", safety_filter=None, deadline_ms: int = 200) -> CommandGate:
    cfg = GateConfig(mode, deadline_ms * MS, LOWER, UPPER, STEP, num_samples=32, keep=8)
    return CommandGate(cfg, safety_filter, torch.Generator().manual_seed(0))


@pytest.fixture(scope="module")
def safety_filter() -> SafetyFilter:
    rng = np.random.default_rng(0)
    episodes = [episode(i, rng, failed=i % 2 == 1) for i in range(60)]
    ids = [ep.episode_id for ep in episodes]
    return SafetyFilter.train(
        episodes, set(ids[:45]), set(ids[45:]), FilterTrainConfig(epochs=3, hidden=(32,))
    )


def test_watchdog_mode_forwards_limited_commands() -> None:
    g = gate()
    g.on_state(1, np.zeros(J), now_ns=0)
    out = g.on_command(1, np.array([0.05, 0.5, 3.0]), now_ns=1 * MS)
    assert out.source == "vla" and out.stamp_ns == 1
    np.testing.assert_allclose(out.target, [0.05, 0.1, 0.1])  # at most 0.1 rad per step from the state
    assert out.limited and g.counts["limited"] == 1
    out = g.on_command(2, np.array([0.05, 0.5, 3.0]), now_ns=100 * MS)
    np.testing.assert_allclose(out.target, [0.05, 0.2, 0.2])  # from the previous target on


def test_the_watchdog_holds_the_measured_position_and_resumes() -> None:
    g = gate(deadline_ms=200)
    assert g.check(now_ns=10_000 * MS) is None  # disarmed before the episode's first command
    g.on_state(1, np.full(J, 0.3), now_ns=0)
    g.on_command(1, np.full(J, 0.35), now_ns=0)
    assert g.check(now_ns=150 * MS) is None  # within the deadline
    g.on_state(2, np.full(J, 0.32), now_ns=190 * MS)
    hold = g.check(now_ns=210 * MS)
    assert hold.source == "hold" and "no VLA command for 0.21 s" in hold.reason
    np.testing.assert_allclose(hold.target, 0.32)  # where the arm was when the inputs went stale
    again = g.on_state(3, np.full(J, 0.31), now_ns=300 * MS)  # every new state is answered with the hold
    assert again.source == "hold" and again.stamp_ns == 3 and np.allclose(again.target, 0.32)
    assert g.check(now_ns=400 * MS) is None  # one hold start, not one per tick
    resumed = g.on_command(4, np.full(J, 0.33), now_ns=410 * MS)
    assert resumed.source == "vla" and g.holding is None and g.counts["holds_started"] == 1


def test_manifold_mode_waits_for_the_prediction_of_the_same_stamp(safety_filter) -> None:
    g = gate("manifold", safety_filter)
    g.on_state(5, np.zeros(J), now_ns=0)
    assert g.on_command(5, np.full(J, 0.05), now_ns=1 * MS) is None  # its prediction is not here yet
    assert g.on_prediction(4, Prediction(False, 0.1, 0.6), now_ns=2 * MS) is None  # another stamp's
    out = g.on_prediction(5, Prediction(False, 0.2, 0.6), now_ns=3 * MS)
    assert out.source == "vla" and out.stamp_ns == 5 and out.risk_before == pytest.approx(0.2)
    g.on_samples(6, np.full((5, J), 0.04))
    g.on_prediction(6, Prediction(True, 0.9, 0.6), now_ns=50 * MS)  # the prediction first, this time
    out = g.on_command(6, np.full(J, 0.05), now_ns=51 * MS)
    assert out.source == "manifold" and out.candidates == 8 + 5 and "risk 0.90 >= 0.60" in out.reason
    assert np.all(np.abs(out.target - 0.05) <= 0.1 + 1e-9)  # limited around the previous target


def test_manifold_mode_holds_when_the_predictor_is_gone(safety_filter) -> None:
    g = gate("manifold", safety_filter, deadline_ms=200)
    g.on_state(1, np.zeros(J), now_ns=0)
    for k in range(5):  # commands keep coming, predictions never do
        g.on_command(k, np.zeros(J), now_ns=k * 100 * MS)
    hold = g.check(now_ns=410 * MS)
    assert hold is not None and "no failure prediction" in hold.reason


def test_manifold_mode_needs_a_filter() -> None:
    with pytest.raises(ValueError, match="salus-train-filter"):
        gate("manifold", None)


def test_without_a_deadline_the_gate_never_holds() -> None:
    cfg = GateConfig("watchdog", None, LOWER, UPPER, STEP)
    g = CommandGate(cfg)
    g.on_state(1, np.zeros(J), now_ns=0)
    g.on_command(1, np.zeros(J), now_ns=0)
    assert g.check(now_ns=60_000 * MS) is None and g.on_state(2, np.zeros(J), now_ns=60_000 * MS) is None


def test_stop_mode_holds_from_the_first_alert_to_the_end_of_the_episode() -> None:
    g = CommandGate(GateConfig("stop", 200 * MS, LOWER, UPPER, STEP))  # no safety filter needed
    g.on_state(1, np.full(J, 0.1), now_ns=0)
    g.on_command(1, np.full(J, 0.12), now_ns=0)
    assert g.on_prediction(1, Prediction(False, 0.3, 0.6), now_ns=1 * MS).source == "vla"
    g.on_state(2, np.full(J, 0.15), now_ns=100 * MS)
    g.on_command(2, np.full(J, 0.2), now_ns=100 * MS)
    stop = g.on_prediction(2, Prediction(True, 0.7, 0.6), now_ns=101 * MS)
    assert stop.source == "hold" and stop.stamp_ns == 2 and "stop on alert: risk 0.70 >= 0.60" in stop.reason
    np.testing.assert_allclose(stop.target, 0.15)  # where the arm is, not where the VLA wanted it
    for k in range(3, 8):  # fresh commands and calm predictions do not release a stop
        g.on_command(k, np.full(J, 0.3), now_ns=k * 100 * MS)
        assert g.on_prediction(k, Prediction(False, 0.1, 0.6), now_ns=k * 100 * MS) is None
        assert g.on_state(k, np.full(J, 0.15), now_ns=k * 100 * MS).source == "hold"
    assert g.counts["holds_started"] == 1
    g.reset()  # the next episode starts free
    g.on_state(1, np.zeros(J), now_ns=0)
    g.on_command(1, np.zeros(J), now_ns=0)
    assert g.on_prediction(1, Prediction(False, 0.1, 0.6), now_ns=0).source == "vla"


def test_a_lost_publisher_holds_at_once_and_its_return_with_commands_resumes() -> None:
    g = CommandGate(GateConfig("watchdog", None, LOWER, UPPER, STEP))  # no deadline: liveliness alone
    assert g.publisher_gone("command", True, now_ns=0) is None  # between episodes: nothing to hold
    g.publisher_gone("command", False, now_ns=0)
    g.on_state(1, np.full(J, 0.2), now_ns=0)
    g.on_command(1, np.full(J, 0.2), now_ns=0)
    hold = g.publisher_gone("command", True, now_ns=10 * MS)
    assert hold.source == "hold" and "command publisher is gone" in hold.reason
    assert g.publisher_gone("prediction", True, now_ns=11 * MS) is None  # watchdog mode reads none
    assert g.on_command(2, np.full(J, 0.2), now_ns=20 * MS) is None  # still reported gone: a stray
    g.publisher_gone("command", False, now_ns=30 * MS)
    assert g.holding is not None  # back, but the hold ends with a command, not with the report
    assert g.on_command(3, np.full(J, 0.21), now_ns=40 * MS).source == "vla"
    with pytest.raises(ValueError, match="input must be one of"):
        g.publisher_gone("camera", True, now_ns=0)


def test_a_hold_keeps_the_fingers_at_their_last_target() -> None:
    from salus_common.robot_profile import ARM_DOF

    dof = ARM_DOF + 2
    g = CommandGate(
        GateConfig("watchdog", 200 * MS, np.full(dof, -3.0), np.full(dof, 3.0), np.full(dof, 0.5))
    )
    grasp = np.r_[np.full(ARM_DOF, 0.5), 0.0, 0.0]  # closing on a cube
    g.on_state(1, np.r_[np.full(ARM_DOF, 0.4), 0.02, 0.02], now_ns=0)  # the cube stops the fingers at 2 cm
    g.on_command(1, grasp, now_ns=0)
    g.on_state(2, np.r_[np.full(ARM_DOF, 0.45), 0.02, 0.02], now_ns=100 * MS)
    hold = g.check(now_ns=300 * MS)
    np.testing.assert_allclose(hold.target[:ARM_DOF], 0.45)  # the arm where it is
    np.testing.assert_allclose(hold.target[ARM_DOF:], 0.0)  # the fingers keep squeezing
