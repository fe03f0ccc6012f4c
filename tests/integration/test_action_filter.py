"""action_filter_node as a real process over DDS, seen from the robot's side: it forwards the VLA's commands
within the limits, holds the measured joints when the VLA falls silent (a killed VLA looks exactly so to
it: no more messages), says why, resumes when commands return, and counts malformed input."""

from __future__ import annotations

import time

import numpy as np
import pytest

from salus_common.robot_profile import PANDA_JOINT_NAMES
from tests.integration.graph_harness import REPO, Observer, require_workspace, start_node, stop

RATE_HZ = 20.0
DEADLINE_S = 0.1


def test_forwards_limits_holds_on_silence_and_resumes(tmp_path):
    require_workspace()
    from builtin_interfaces.msg import Time
    from diagnostic_msgs.msg import DiagnosticArray
    from sensor_msgs.msg import JointState

    from salus_common import contract
    from salus_common.qos import publisher_qos, subscriber_qos
    from salus_msgs.msg import EpisodeEvent, SafetyIntervention

    node = start_node(
        "salus_monitor", "action_filter_node", tmp_path / "filter.log",
        [REPO / "config" / "robots" / "mujoco.yaml", REPO / "config" / "action_filter.yaml"],
        overrides={"deadline_s": DEADLINE_S, "watchdog_period_s": 0.01},
    )  # fmt: skip
    obs = Observer("filter_test_observer")
    commands: list[tuple[float, JointState]] = []
    try:
        obs.node.create_subscription(
            JointState, contract.JOINT_COMMAND_TOPIC, lambda m: commands.append((time.monotonic(), m)),
            subscriber_qos(contract.JOINT_COMMAND_TOPIC),
        )  # fmt: skip
        obs.watch(
            SafetyIntervention, contract.INTERVENTION_TOPIC, subscriber_qos(contract.INTERVENTION_TOPIC)
        )
        obs.watch(DiagnosticArray, contract.DIAGNOSTICS_TOPIC, subscriber_qos(contract.DIAGNOSTICS_TOPIC))
        pub = {
            topic: obs.node.create_publisher(msg_type, topic, publisher_qos(topic))
            for msg_type, topic in (
                (JointState, contract.JOINT_STATES_TOPIC),
                (JointState, contract.VLA_COMMAND_TOPIC),
                (EpisodeEvent, contract.EPISODE_TOPIC),
            )
        }
        assert obs.spin_until(
            lambda: all(p.get_subscription_count() > 0 for p in pub.values()),
            60,
            alive=lambda: node.poll() is None,
        ), (tmp_path / "filter.log").read_text()
        obs.spin_until(lambda: False, 0.5)
        pub[contract.EPISODE_TOPIC].publish(
            EpisodeEvent(episode_id="ep1", seed=1, event=EpisodeEvent.EVENT_START)
        )
        obs.spin_until(lambda: False, 0.2)

        q = np.array([0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785, 0.04, 0.04])
        step = {"k": 0}

        def tick(vla: bool, target: np.ndarray | None = None, names=PANDA_JOINT_NAMES) -> None:
            step["k"] += 1
            stamp = Time(sec=step["k"] // 20, nanosec=(step["k"] % 20) * 50_000_000)
            state = JointState(name=list(PANDA_JOINT_NAMES), position=q.tolist())
            state.header.stamp = stamp
            pub[contract.JOINT_STATES_TOPIC].publish(state)
            if vla:
                cmd = JointState(name=list(names), position=(q + 0.01 if target is None else target).tolist())
                cmd.header.stamp = stamp
                pub[contract.VLA_COMMAND_TOPIC].publish(cmd)
            obs.spin_until(lambda: False, 1.0 / RATE_HZ)

        for _ in range(10):
            tick(vla=True)
        tick(vla=True, target=q + 1.0)  # far beyond one control period of motion: limited
        tick(vla=True, names=["panda_joint1"] * 9)  # malformed: rejected, counted
        last_command = time.monotonic()
        for _ in range(10):  # the VLA is gone
            tick(vla=False)
        for _ in range(5):  # and back
            tick(vla=True)
        end = EpisodeEvent(episode_id="ep1", seed=1, event=EpisodeEvent.EVENT_END, outcome="success")
        pub[contract.EPISODE_TOPIC].publish(end)
        obs.spin_until(lambda: False, 1.0)  # the VLA is silent between episodes: no hold then
    finally:
        obs.close()
        code = stop(node)
    log = (tmp_path / "filter.log").read_text()
    assert code == 0, log[-2000:]

    interventions = obs.messages[contract.INTERVENTION_TOPIC]
    sources = [m.source for m in interventions]
    assert sources[:10] == ["vla"] * 10
    limited = np.asarray(interventions[10].executed_action)
    profile_step = 2.175 * 0.1  # panda_joint1 velocity limit x control period (config/robots/mujoco.yaml)
    # one velocity step from the previous target (q + 0.01), not the +1.0 asked for
    assert limited[0] == pytest.approx(q[0] + 0.01 + profile_step, abs=1e-6)

    # every output is a command and an intervention, in the same order: the first hold's arrival time
    assert len(commands) == len(interventions)
    first_hold = sources.index("hold")
    waited = commands[first_hold][0] - last_command
    assert DEADLINE_S - 0.02 < waited <= DEADLINE_S + 0.1, waited  # held within 100 ms of the deadline
    hold = interventions[first_hold]
    assert "no VLA command" in hold.reason
    np.testing.assert_allclose(commands[first_hold][1].position, q, atol=1e-6)  # the measured joints
    assert sources.count("hold") >= 5  # every joint state while silent was answered with the hold
    assert sources[-1] == "vla"  # resumed

    status = None  # the episode's final report
    for array in obs.messages[contract.DIAGNOSTICS_TOPIC]:
        for s in array.status:
            values = {kv.key: kv.value for kv in s.values}
            if s.name == "action_filter" and values.get("final") == "true":
                status = values
    assert status is not None and status["rejected_duplicate_joints"] == "1", status
    assert int(status["steps_holds_started"]) == 1 and status["holding"] == "false"
