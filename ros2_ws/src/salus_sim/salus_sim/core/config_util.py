"""Strict construction of frozen config dataclasses from plain dicts (YAML/JSON).

Unknown keys and ill-typed values raise `ValueError` naming the dotted key, so a typo in a params file fails
loudly instead of silently falling back to a default.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Mapping
from typing import Any


def from_dict[T](cls: type[T], data: Mapping[str, Any] | None, path: str) -> T:
    """Build dataclass `cls` from `data`; missing keys keep their defaults. `path` prefixes error messages."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ValueError(f"{path} must be a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(
            f"unknown key(s) {', '.join(_join(path, k) for k in unknown)}; "
            f"allowed: {', '.join(sorted(names))}"
        )
    kwargs = {key: _convert(hints[key], value, _join(path, key)) for key, value in data.items()}
    try:
        return cls(**kwargs)
    except ValueError as exc:  # __post_init__ messages start with the field name
        raise ValueError(f"{path}.{exc}" if path else str(exc)) from exc


def setting(default: Any, help: str) -> Any:
    """A dataclass field with a description; ROS nodes turn it into the parameter's descriptor."""
    return dataclasses.field(default=default, metadata={"help": help})


def to_dict(obj: Any) -> Any:
    """Dataclasses, tuples and enums to plain JSON types (tuples become lists)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (tuple, list)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return float(obj)
    value = getattr(obj, "value", None)  # enums
    return value if value is not None else obj


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _convert(hint: Any, value: Any, path: str) -> Any:
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value, path)
    origin = typing.get_origin(hint)
    if origin is tuple:
        return _convert_tuple(typing.get_args(hint), value, path)
    if hint is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{path} must be true/false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{path} must be an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{path} must be a finite number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ValueError(f"{path} must be a string, got {value!r}")
        return value
    raise ValueError(f"{path}: unsupported config type {hint!r}")


def _convert_tuple(args: tuple[Any, ...], value: Any, path: str) -> tuple[Any, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise ValueError(f"{path} must be a list, got {value!r}")
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(_convert(args[0], v, f"{path}[{i}]") for i, v in enumerate(value))
    if len(value) != len(args):
        raise ValueError(f"{path} must have {len(args)} elements, got {len(value)}")
    return tuple(_convert(a, v, f"{path}[{i}]") for i, (a, v) in enumerate(zip(args, value, strict=True)))
