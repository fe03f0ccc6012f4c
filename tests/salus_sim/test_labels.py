"""Outcome labeling rules, driven by hand-made observation sequences (no simulator)."""

import math

import pytest

from salus_sim.core.labels import FAILURE_TYPES, LabelConfig, LabelObservation, Outcome, OutcomeLabeler

CFG = LabelConfig(collision_force_n=15.0, max_duration_s=20.0, success_settle_s=0.3, drop_separation_m=0.04)
REST_HEIGHT = 0.0225  # cube center on the table


def obs(t: float, **overrides) -> LabelObservation:
    """A cube resting on the table, nothing touching: no rule fires."""
    values = dict(
        time=t,
        cube_pos=(0.5, 0.0, REST_HEIGHT),
        cube_height=REST_HEIGHT,
        cube_speed=0.0,
        cube_in_gripper=False,
        cube_grip_distance=0.3,
        cube_over_bin=False,
        cube_in_bin=False,
        arm_contact_force=0.0,
        finite=True,
    )
    values.update(overrides)
    return LabelObservation(**values)


def held(t: float, height: float = 0.15, **overrides) -> LabelObservation:
    return obs(t, cube_in_gripper=True, cube_height=height, cube_grip_distance=0.005, **overrides)


def run(labeler: OutcomeLabeler, observations) -> Outcome | None:
    for o in observations:
        labeler.update(o)
    return labeler.outcome


def test_failure_types_are_the_non_success_outcomes():
    assert FAILURE_TYPES == ("collision", "drop", "timeout", "other")
    assert Outcome("drop") is Outcome.DROP and Outcome.DROP == "drop"


def test_nothing_happening_decides_nothing():
    labeler = OutcomeLabeler(CFG)
    assert run(labeler, [obs(0.1 * i) for i in range(50)]) is None
    assert labeler.onset_time is None


def test_collision_above_threshold_with_onset_at_first_step():
    labeler = OutcomeLabeler(CFG)
    run(labeler, [obs(1.0, arm_contact_force=14.9), obs(1.1, arm_contact_force=3.0)])
    assert labeler.outcome is None
    run(labeler, [obs(1.2, arm_contact_force=15.1), obs(1.3, arm_contact_force=40.0)])
    assert labeler.outcome is Outcome.COLLISION
    assert labeler.onset_time == pytest.approx(1.2)


def test_first_outcome_wins_and_is_frozen():
    labeler = OutcomeLabeler(CFG)
    run(labeler, [obs(2.0, arm_contact_force=50.0)])
    later = [obs(2.0 + 0.1 * i, cube_in_bin=True, cube_over_bin=True) for i in range(1, 20)]
    later += [obs(25.0), obs(26.0, finite=False)]
    assert run(labeler, later) is Outcome.COLLISION
    assert labeler.onset_time == pytest.approx(2.0)
    assert labeler.decided_time == pytest.approx(2.0)


def test_success_needs_rest_in_bin_released_for_the_settle_time_and_onset_is_the_run_start():
    labeler = OutcomeLabeler(CFG)
    in_bin = dict(cube_in_bin=True, cube_over_bin=True, cube_pos=(0.45, 0.3, 0.03), cube_height=0.03)
    run(labeler, [obs(5.0, cube_speed=0.5, **in_bin), obs(5.1, **in_bin), obs(5.2, **in_bin)])
    assert labeler.outcome is None  # resting only 0.1 s so far
    run(labeler, [obs(5.3, cube_speed=0.2, **in_bin)])  # moving again: the run restarts
    run(labeler, [obs(5.4 + 0.1 * i, **in_bin) for i in range(3)])
    assert labeler.outcome is None
    run(labeler, [obs(5.7, **in_bin)])
    assert labeler.outcome is Outcome.SUCCESS
    assert labeler.onset_time == pytest.approx(5.4)
    assert labeler.decided_time == pytest.approx(5.7)


def test_cube_still_in_the_gripper_inside_the_bin_is_not_success():
    labeler = OutcomeLabeler(CFG)
    run(labeler, [held(6.0 + 0.1 * i, height=0.04, cube_in_bin=True, cube_over_bin=True) for i in range(10)])
    assert labeler.outcome is None


def test_drop_after_lift_with_onset_at_the_loss_of_grasp():
    labeler = OutcomeLabeler(CFG)
    run(labeler, [held(3.0, height=0.03), held(3.5, height=0.10), held(4.0)])
    assert labeler.lifted
    run(labeler, [obs(4.1, cube_height=0.14, cube_grip_distance=0.01)])  # contact lost, still close
    assert labeler.outcome is None
    run(labeler, [obs(4.2, cube_height=0.10, cube_grip_distance=0.05)])
    assert labeler.outcome is Outcome.DROP
    assert labeler.onset_time == pytest.approx(4.1)


def test_regrasp_before_separation_cancels_the_loss():
    labeler = OutcomeLabeler(CFG)
    run(labeler, [held(3.0), obs(3.1, cube_grip_distance=0.01), held(3.2), held(3.3)])
    run(labeler, [obs(3.4, cube_grip_distance=0.01), obs(3.5, cube_grip_distance=0.2)])
    assert labeler.outcome is Outcome.DROP
    assert labeler.onset_time == pytest.approx(3.4)


def test_losing_the_cube_before_it_was_lifted_is_not_a_drop():
    labeler = OutcomeLabeler(CFG)
    run(labeler, [held(3.0, height=REST_HEIGHT), held(3.2, height=0.04)])  # below lift_height_m
    run(labeler, [obs(3.3 + 0.1 * i, cube_grip_distance=0.2) for i in range(10)])
    assert labeler.outcome is None
    assert not labeler.lifted


def test_release_over_the_bin_is_not_a_drop_and_ends_in_success():
    labeler = OutcomeLabeler(CFG)
    run(labeler, [held(3.0), held(6.0, cube_over_bin=True)])
    falling = [obs(6.1, cube_over_bin=True, cube_height=0.08, cube_speed=1.0, cube_grip_distance=0.06)]
    resting = [
        obs(6.2 + 0.1 * i, cube_over_bin=True, cube_in_bin=True, cube_height=0.03, cube_grip_distance=0.1)
        for i in range(5)
    ]
    assert run(labeler, falling + resting) is Outcome.SUCCESS
    assert labeler.onset_time == pytest.approx(6.2)


def test_timeout_at_max_duration():
    labeler = OutcomeLabeler(LabelConfig(max_duration_s=2.0))
    run(labeler, [obs(1.9), obs(1.998)])
    assert labeler.outcome is None
    run(labeler, [obs(2.0)])
    assert labeler.outcome is Outcome.TIMEOUT
    assert labeler.onset_time == pytest.approx(2.0)


@pytest.mark.parametrize(
    "overrides",
    [
        dict(cube_height=-0.3, cube_pos=(0.5, 0.9, -0.3)),  # fell off the table
        dict(cube_pos=(1.5, 0.0, REST_HEIGHT)),  # out of the workspace
        dict(finite=False),  # MuJoCo reported an instability
        dict(cube_pos=(math.nan, 0.0, 0.0)),  # NaN state
    ],
)
def test_other_for_cube_knocked_away_or_broken_physics(overrides):
    labeler = OutcomeLabeler(CFG)
    run(labeler, [obs(1.0), obs(1.1, **overrides)])
    assert labeler.outcome is Outcome.OTHER
    assert labeler.onset_time == pytest.approx(1.1)


def test_reset_clears_the_decision_and_the_grasp_history():
    labeler = OutcomeLabeler(CFG)
    run(labeler, [held(1.0), obs(1.1, cube_grip_distance=0.2)])
    assert labeler.outcome is Outcome.DROP
    labeler.reset()
    assert labeler.outcome is None and labeler.onset_time is None and not labeler.lifted
    assert run(labeler, [obs(0.1, cube_grip_distance=0.2)]) is None


@pytest.mark.parametrize("key", ["collision_force_n", "max_duration_s", "success_settle_s"])
def test_label_config_rejects_non_positive_thresholds_naming_the_key(key):
    with pytest.raises(ValueError, match=key):
        LabelConfig(**{key: -1.0})
