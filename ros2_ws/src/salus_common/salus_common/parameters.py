"""One way to declare node parameters: from a config dataclass, with descriptors, ranges and read-only flags.

Why: each node's configuration is a frozen dataclass whose fields are declared with
:func:`salus_common.config.setting` (help text, ``low``/``high``, ``choices``, ``read_only``). Declaring
the fields one by one in every node would repeat names, defaults and docs; here a field
``injection.push.enabled`` becomes the parameter ``injection.push.enabled`` (nested YAML in params files,
exactly as ROS 2 maps it) with a ``ParameterDescriptor`` built from the field, and the values come back
through the same strict loader that validates YAML (``config.from_dict``), so a node fails at start-up
with the offending parameter's name.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Iterator
from typing import Any

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, ParameterType
from rclpy.node import Node

from salus_common.config import from_dict
from salus_common.robot_profile import RobotProfile

ROBOT_PREFIX = "robot."
# Parameters every node has without declaring them.
_IMPLICIT_PARAMETERS = frozenset({"use_sim_time", "start_type_description_service"})
_INT_BOUND = 2**62

_SCALAR_TYPES: dict[type, int] = {
    bool: ParameterType.PARAMETER_BOOL,
    int: ParameterType.PARAMETER_INTEGER,
    float: ParameterType.PARAMETER_DOUBLE,
    str: ParameterType.PARAMETER_STRING,
}
_ARRAY_TYPES: dict[type, int] = {
    bool: ParameterType.PARAMETER_BOOL_ARRAY,
    int: ParameterType.PARAMETER_INTEGER_ARRAY,
    float: ParameterType.PARAMETER_DOUBLE_ARRAY,
    str: ParameterType.PARAMETER_STRING_ARRAY,
}


def declare_config[T](node: Node, config_cls: type[T], prefix: str = "") -> T:
    """Declare every leaf field of ``config_cls`` as a parameter and return the validated config."""
    declare_config_parameters(node, config_cls, prefix)
    return from_dict(config_cls, read_config_dict(node, config_cls, prefix), prefix.rstrip("."))


def declare_robot_profile(node: Node) -> RobotProfile:
    """Declare the shared ``robot.*`` parameters and return the validated profile."""
    return declare_config(node, RobotProfile, ROBOT_PREFIX)


def declare_config_parameters(
    node: Node, config_cls: type, prefix: str = "", exclude: frozenset[str] = frozenset()
) -> None:
    """Declare one parameter per leaf field of ``config_cls`` (minus ``exclude``, full dotted names)."""
    for name, field, annotation in _leaves(config_cls, prefix, exclude):
        param_type, is_array = _parameter_type(annotation)
        default = _default_of(field)
        descriptor = ParameterDescriptor(
            name=name,
            type=param_type,
            description=field.metadata.get("help") or f"{field.name} ({annotation})",
            read_only=field.metadata.get("read_only", True),
            dynamic_typing=False,
        )
        if not is_array:
            _add_range(descriptor, param_type, field.metadata)
            choices = field.metadata.get("choices") or _literal_choices(annotation)
            if choices:
                descriptor.additional_constraints = f"one of {list(choices)}"
        value = list(default) if is_array else default
        if is_array and not value:
            node.declare_parameter(name, param_type, descriptor)
        else:
            node.declare_parameter(name, value, descriptor)


def read_config_dict(
    node: Node, config_cls: type, prefix: str = "", exclude: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """The declared parameters as the nested dict ``from_dict(config_cls, ...)`` expects."""
    result: dict[str, Any] = {}
    for name, _field, annotation in _leaves(config_cls, prefix, exclude):
        value = node.get_parameter(name).value
        if _parameter_type(annotation)[1]:
            value = tuple(value) if value is not None else ()
        target = result
        keys = name[len(prefix) :].split(".")
        for key in keys[:-1]:
            target = target.setdefault(key, {})
        target[keys[-1]] = value
    return result


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


def _add_range(descriptor: ParameterDescriptor, param_type: int, metadata: Any) -> None:
    low, high = metadata.get("low"), metadata.get("high")
    if low is None and high is None:
        return
    if param_type == ParameterType.PARAMETER_DOUBLE:
        descriptor.floating_point_range = [
            FloatingPointRange(
                from_value=float(-math.inf if low is None else low),
                to_value=float(math.inf if high is None else high),
                step=0.0,
            )
        ]
    elif param_type == ParameterType.PARAMETER_INTEGER:
        descriptor.integer_range = [
            IntegerRange(
                from_value=int(-_INT_BOUND if low is None else low),
                to_value=int(_INT_BOUND if high is None else high),
                step=1,
            )
        ]


def _literal_choices(annotation: Any) -> tuple[Any, ...]:
    return typing.get_args(annotation) if typing.get_origin(annotation) is typing.Literal else ()


def _parameter_type(annotation: Any) -> tuple[int, bool]:
    """ROS parameter type of a field annotation, and whether it is a (tuple) array."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        raise TypeError(f"optional/union field type {annotation} cannot be a ROS parameter")
    if origin is typing.Literal:
        kinds = {type(a) for a in typing.get_args(annotation)}
        if len(kinds) == 1 and next(iter(kinds)) in _SCALAR_TYPES:
            return _SCALAR_TYPES[next(iter(kinds))], False
    if origin in (tuple, list):
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        element = args[0] if args else float
        if element not in _ARRAY_TYPES:
            raise TypeError(f"array element type {element} cannot be a ROS parameter")
        return _ARRAY_TYPES[element], True
    if annotation in _SCALAR_TYPES:
        return _SCALAR_TYPES[annotation], False
    raise TypeError(f"field type {annotation} cannot be a ROS parameter")


def _default_of(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    raise TypeError(f"field {field.name!r} needs a default to become a ROS parameter")


def _leaves(
    cls: type, prefix: str, exclude: frozenset[str] = frozenset()
) -> Iterator[tuple[str, dataclasses.Field, Any]]:
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        annotation = hints[field.name]
        name = f"{prefix}{field.name}"
        if name in exclude:
            continue
        if dataclasses.is_dataclass(annotation):
            yield from _leaves(annotation, f"{name}.", exclude)
        else:
            yield name, field, annotation
