"""declare_config: parameters from a config dataclass with described, ranged, read-only descriptors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pytest

from salus_common.config import setting

pytestmark = pytest.mark.ros


@dataclass(frozen=True)
class Limits:
    gain: float = setting(0.5, "a gain", low=0.0, high=1.0)


@dataclass(frozen=True)
class NodeConfig:
    rate_hz: float = setting(10.0, "control rate [Hz]", low=1.0)
    samples: int = setting(5, "ensemble size", low=1, high=64)
    mode: Literal["exact", "latest"] = setting("exact", "sync mode")
    names: tuple[str, ...] = setting(("a", "b"), "names")
    limits: Limits = field(default_factory=Limits)


@pytest.fixture()
def make_node():
    import rclpy
    from rclpy.node import Node
    from rclpy.parameter import Parameter

    context = rclpy.Context()
    rclpy.init(context=context)
    nodes = []

    def build(**overrides):
        params = [Parameter(name, value=value) for name, value in overrides.items()]
        node = Node("param_test", context=context, parameter_overrides=params)
        nodes.append(node)
        return node

    yield build
    for node in nodes:
        node.destroy_node()
    rclpy.try_shutdown(context=context)


def test_declared_parameters_carry_descriptions_ranges_and_read_only(make_node):
    from salus_common.parameters import declare_config

    node = make_node(**{"rate_hz": 20.0, "limits.gain": 0.25})
    config = declare_config(node, NodeConfig)
    assert config == NodeConfig(rate_hz=20.0, limits=Limits(gain=0.25))
    rate = node.describe_parameter("rate_hz")
    assert rate.description == "control rate [Hz]" and rate.read_only
    assert rate.floating_point_range[0].from_value == 1.0
    samples = node.describe_parameter("samples")
    assert (samples.integer_range[0].from_value, samples.integer_range[0].to_value) == (1, 64)
    assert "exact" in node.describe_parameter("mode").additional_constraints
    assert list(node.get_parameter("names").value) == ["a", "b"]


def test_values_outside_the_range_or_the_choices_fail_naming_the_parameter(make_node):
    from salus_common.parameters import declare_config

    with pytest.raises(Exception, match="samples"):
        declare_config(make_node(samples=0), NodeConfig)
    with pytest.raises(ValueError, match="mode must be one of"):
        declare_config(make_node(mode="fastest"), NodeConfig)


def test_parameters_nobody_declared_fail_start_up(make_node):
    from salus_common.parameters import check_no_unknown_parameters, declare_config

    node = make_node(**{"limits.gian": 0.3})
    declare_config(node, NodeConfig)
    with pytest.raises(ValueError, match="limits.gian"):
        check_no_unknown_parameters(node)


def test_the_robot_profile_is_declared_under_robot(make_node):
    from salus_common.parameters import declare_robot_profile

    node = make_node(**{"robot.control_dt": 0.05, "robot.name": "panda_test"})
    profile = declare_robot_profile(node)
    assert profile.control_dt == 0.05 and profile.name == "panda_test"
    assert node.describe_parameter("robot.control_dt").floating_point_range[0].to_value == 1.0
