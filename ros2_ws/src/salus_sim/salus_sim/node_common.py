"""Small pieces every SALUS node needs: a standard ``main``, sim-time stamps, strict parameter files."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import rclpy
from builtin_interfaces.msg import Time
from rcl_interfaces.msg import ParameterDescriptor, ParameterType
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node

from salus_sim.config_params import declare_config_parameters, read_config_dict
from salus_sim.core.robot_profile import RobotProfile

# Parameters every node has without declaring them.
_IMPLICIT_PARAMETERS = {"use_sim_time", "start_type_description_service"}


def time_msg(seconds: float) -> Time:
    """``builtin_interfaces/Time`` for a non-negative time in seconds."""
    nanoseconds = round(seconds * 1e9)
    return Time(sec=nanoseconds // 1_000_000_000, nanosec=nanoseconds % 1_000_000_000)


def stamp_seconds(stamp: Time) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


_PARAMETER_TYPES = {
    bool: ParameterType.PARAMETER_BOOL,
    int: ParameterType.PARAMETER_INTEGER,
    float: ParameterType.PARAMETER_DOUBLE,
    str: ParameterType.PARAMETER_STRING,
    list: ParameterType.PARAMETER_STRING_ARRAY,
}


def declare_read_only(node: Node, name: str, default: Any, description: str) -> Any:
    """Declare a start-up parameter (read-only, typed by its default, described) and return its value.

    Lists are string arrays and come back as lists.
    """
    descriptor = ParameterDescriptor(
        type=_PARAMETER_TYPES[type(default)], description=description, read_only=True
    )
    node.declare_parameter(name, default, descriptor)
    value = node.get_parameter(name).value
    return list(value) if isinstance(default, list) else value


def declare_robot_profile(node: Node) -> RobotProfile:
    """Declare the shared ``robot.*`` parameters and return the validated profile."""
    declare_config_parameters(node, RobotProfile, prefix="robot.")
    return RobotProfile.from_dict(read_config_dict(node, RobotProfile, prefix="robot."))


def check_no_unknown_parameters(node: Node) -> None:
    """Fail start-up on parameters given for this node that it never declared (typos in YAML).

    rclpy silently ignores overrides for undeclared names; a misspelled ``injection.push.enabld`` would
    otherwise run an experiment without the intended perturbation.
    """
    overrides = getattr(node, "_parameter_overrides", {})
    unknown = sorted(
        name for name in overrides if name not in _IMPLICIT_PARAMETERS and not node.has_parameter(name)
    )
    if unknown:
        raise ValueError(f"unknown parameters for node '{node.get_name()}': {', '.join(unknown)}")


def run_node(
    factory: Callable[[], Node],
    args: list[str] | None = None,
    work: Callable[[Node], int] | None = None,
) -> None:
    """Init rclpy, build the node, then spin until Ctrl-C (or run ``work(node)`` and exit with its code).

    A node that cannot start (bad parameters, missing model files) exits 1 with a clear message, so
    launchers see a failed required node instead of a traceback.
    """
    rclpy.init(args=args)
    node: Node | None = None
    exit_code = 0
    try:
        node = factory()
        if work is None:
            rclpy.spin(node)
        else:
            exit_code = work(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception as err:  # start-up or callback failure: report it plainly and fail the process
        name = node.get_name() if node is not None else getattr(factory, "__name__", "node")
        print(f"[{name}] fatal: {type(err).__name__}: {err}", file=sys.stderr, flush=True)
        exit_code = 1
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    sys.exit(exit_code)
