"""Expose a (nested) frozen config dataclass as declared ROS 2 parameters, and read it back.

Why: each node's pure-logic config is a dataclass with its own validation (``from_dict``); declaring its
fields as parameters one by one in every node would duplicate names, defaults and docs. Here a field
``injection.push.enabled`` becomes the parameter ``injection.push.enabled`` (nested YAML in params files,
exactly as ROS 2 maps it), with a descriptor built from the field's ``metadata["help"]`` when present.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

from rcl_interfaces.msg import ParameterDescriptor, ParameterType
from rclpy.node import Node

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


def _parameter_type(annotation: Any) -> tuple[int, bool]:
    """ROS parameter type of a field annotation, and whether it is a (tuple) array."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        raise TypeError(f"optional/union field type {annotation} cannot be a ROS parameter")
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


def _walk(
    cls: type, prefix: str, exclude: frozenset[str] = frozenset()
) -> typing.Iterator[tuple[str, dataclasses.Field, Any]]:
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        annotation = hints[field.name]
        name = f"{prefix}{field.name}"
        if name in exclude:
            continue
        if dataclasses.is_dataclass(annotation):
            yield from _walk(annotation, f"{name}.", exclude)
        else:
            yield name, field, annotation


def declare_config_parameters(
    node: Node,
    config_cls: type,
    prefix: str = "",
    read_only: bool = True,
    exclude: frozenset[str] = frozenset(),
) -> None:
    """Declare one parameter per leaf field of ``config_cls`` (minus ``exclude``, full dotted names)."""
    for name, field, annotation in _walk(config_cls, prefix, exclude):
        param_type, is_array = _parameter_type(annotation)
        default = _default_of(field)
        if dataclasses.is_dataclass(default):
            raise TypeError(f"{name}: nested defaults must be dataclass-typed fields")
        value = list(default) if is_array else default
        help_text = field.metadata.get("help", f"{field.name} ({annotation})")
        descriptor = ParameterDescriptor(
            name=name,
            type=param_type,
            description=help_text,
            read_only=read_only,
            dynamic_typing=False,
        )
        if is_array and not value:
            node.declare_parameter(name, param_type, descriptor)
        else:
            node.declare_parameter(name, value, descriptor)


def read_config_dict(
    node: Node, config_cls: type, prefix: str = "", exclude: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """The declared parameters as the nested dict ``config_cls.from_dict`` expects."""
    result: dict[str, Any] = {}
    for name, _field, annotation in _walk(config_cls, prefix, exclude):
        value = node.get_parameter(name).value
        _, is_array = _parameter_type(annotation)
        if is_array:
            value = tuple(value) if value is not None else ()
        target = result
        keys = name[len(prefix) :].split(".")
        for key in keys[:-1]:
            target = target.setdefault(key, {})
        target[keys[-1]] = value
    return result
