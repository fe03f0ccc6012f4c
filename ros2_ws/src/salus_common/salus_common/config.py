"""Strict construction of frozen config dataclasses from plain dicts (YAML, JSON, ROS parameters).

One typed loader for every config in SALUS (node parameters, the robot profile, the graph spec): unknown
keys, ill-typed values and values outside a field's declared range raise ``ValueError`` naming the dotted
key, so a typo in a params file fails loudly instead of silently falling back to a default.

Fields are declared with :func:`setting`, whose ``help``, ``low``/``high`` and ``choices`` also become the
ROS parameter descriptors (``salus_common.parameters``). Supported field types: ``bool``, ``int``,
``float``, ``str``, :data:`ScalarText`, :data:`Scalar`, ``Literal[...]``, ``tuple[T, ...]`` and fixed
tuples, ``dict[str, T]``, ``T | None``, unions ``T | U`` (the first option that fits, in order), ``Any``
and nested dataclasses.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, NewType

# Text written in YAML that may come unquoted (``default: 5`` means the string "5", as on a command line).
ScalarText = NewType("ScalarText", str)
# A YAML scalar kept with its type (``true``, ``5``, ``1.5`` or text), e.g. a ROS parameter value.
Scalar = NewType("Scalar", object)

_MISSING = dataclasses.MISSING


def setting(
    default: Any = _MISSING,
    help: str = "",
    *,
    low: float | None = None,
    high: float | None = None,
    choices: tuple[Any, ...] | None = None,
    read_only: bool = True,
    default_factory: Any = _MISSING,
) -> Any:
    """A dataclass field with a description and optional range/choices, checked by :func:`from_dict`.

    ``read_only`` marks parameters a node reads once at start-up (the ROS descriptor's ``read_only``).
    A field without a default is required.
    """
    metadata = {"help": help, "low": low, "high": high, "choices": choices, "read_only": read_only}
    if default_factory is not _MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    if isinstance(default, (list, dict)):
        raise TypeError("mutable defaults need default_factory")
    return dataclasses.field(default=default, metadata=metadata)


def from_dict[T](cls: type[T], data: Mapping[str, Any] | None, path: str = "") -> T:
    """Build dataclass ``cls`` from ``data``; missing keys keep their defaults. ``path`` prefixes errors."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ValueError(f"{path or 'config'} must be a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(str(k) for k in set(data) - set(fields))
    if unknown:
        raise ValueError(
            f"unknown key(s) {', '.join(_join(path, k) for k in unknown)}; "
            f"allowed: {', '.join(sorted(fields))}"
        )
    required = [name for name, f in fields.items() if _is_required(f) and name not in data]
    if required:
        raise ValueError(f"missing key(s) {', '.join(_join(path, k) for k in required)}")
    kwargs = {}
    for key, value in data.items():
        where = _join(path, key)
        converted = _convert(hints[key], value, where)
        _check_metadata(fields[key].metadata, converted, where)
        kwargs[key] = converted
    try:
        return cls(**kwargs)
    except ValueError as exc:  # __post_init__ messages start with the field name
        raise ValueError(f"{path}.{exc}" if path else str(exc)) from exc


def to_dict(obj: Any) -> Any:
    """Dataclasses, tuples and enums to plain JSON types (tuples become lists)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): to_dict(v) for k, v in obj.items()}
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


def field_range(field: dataclasses.Field) -> tuple[float | None, float | None]:
    """The ``(low, high)`` a field was declared with (``None`` where open)."""
    return field.metadata.get("low"), field.metadata.get("high")


def _is_required(field: dataclasses.Field) -> bool:
    return field.default is _MISSING and field.default_factory is _MISSING


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _check_metadata(metadata: Mapping[str, Any], value: Any, where: str) -> None:
    low, high, choices = metadata.get("low"), metadata.get("high"), metadata.get("choices")
    values = value if isinstance(value, tuple) else (value,)
    for item in values:
        if isinstance(item, (int, float)) and not isinstance(item, bool):
            if low is not None and item < low:
                raise ValueError(f"{where} must be >= {low}, got {item!r}")
            if high is not None and item > high:
                raise ValueError(f"{where} must be <= {high}, got {item!r}")
        if choices is not None and item not in choices:
            raise ValueError(f"{where} must be one of {list(choices)}, got {item!r}")


def _convert(hint: Any, value: Any, path: str) -> Any:
    if hint is Any:
        return value
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value, path)
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None and len(options) < len(typing.get_args(hint)):
            return None
        errors = []
        for option in options:
            try:
                return _convert(option, value, path)
            except ValueError as exc:
                errors.append(str(exc))
        raise ValueError("; or ".join(errors))
    if origin is Literal:
        allowed = typing.get_args(hint)
        if value not in allowed:
            raise ValueError(f"{path} must be one of {list(allowed)}, got {value!r}")
        return value
    if origin is tuple:
        return _convert_tuple(typing.get_args(hint), value, path)
    if origin in (dict, Mapping):
        return _convert_dict(typing.get_args(hint), value, path)
    if hint is ScalarText:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (str, int, float)):
            return str(value)
        raise ValueError(f"{path} must be a scalar (text, number or true/false), got {value!r}")
    if hint is Scalar:
        if not isinstance(value, (bool, int, float, str)):
            raise ValueError(f"{path} must be a scalar (text, number or true/false), got {value!r}")
        return value
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


def _convert_dict(args: tuple[Any, ...], value: Any, path: str) -> dict[Any, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{path} must be a mapping, got {value!r}")
    key_type, value_type = args or (str, Any)
    return {
        _convert(key_type, k, f"{path} key {k!r}"): _convert(value_type, v, _join(path, k))
        for k, v in value.items()
    }
