"""The one typed loader: types, ranges, choices, optionals, mappings, and errors that name the dotted key."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pytest

from salus_common.config import Scalar, ScalarText, from_dict, setting, to_dict


@dataclass(frozen=True)
class Inner:
    rate_hz: float = setting(10.0, "a rate", low=0.5, high=100.0)
    mode: Literal["fast", "slow"] = setting("fast", "a mode")


@dataclass(frozen=True)
class Outer:
    name: str = setting(help="required name")
    count: int = setting(1, "a count", low=0)
    inner: Inner = field(default_factory=Inner)
    tags: tuple[str, ...] = setting((), "tags")
    pair: tuple[float, float] = setting((0.0, 1.0), "a pair")
    env: dict[str, str] = setting(default_factory=dict, help="a mapping")
    note: str | None = setting(None, "optional")
    default: ScalarText = setting(ScalarText("5"), "text written unquoted in YAML")
    extra: Any = setting(None, "anything")
    level: str = setting("info", "a level", choices=("info", "debug"))


@dataclass(frozen=True)
class Required:
    name: str = field()


def test_values_are_converted_and_defaults_kept():
    config = from_dict(
        Outer,
        {"name": "x", "inner": {"rate_hz": 20}, "tags": ["a", "b"], "env": {"K": "v"}, "default": 5},
        "spec",
    )
    assert config.inner == Inner(rate_hz=20.0, mode="fast")
    assert config.tags == ("a", "b") and config.env == {"K": "v"} and config.default == "5"
    assert config.count == 1 and config.note is None
    assert to_dict(config)["tags"] == ["a", "b"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "x", "cuont": 2}, "unknown key(s) spec.cuont"),
        ({"name": "x", "count": -1}, "spec.count must be >= 0"),
        ({"name": "x", "count": True}, "spec.count must be an integer"),
        ({"name": "x", "inner": {"rate_hz": 1000}}, "spec.inner.rate_hz must be <= 100.0"),
        ({"name": "x", "inner": {"mode": "warp"}}, "spec.inner.mode must be one of ['fast', 'slow']"),
        ({"name": "x", "inner": {"rate_hz": float("nan")}}, "spec.inner.rate_hz must be a finite number"),
        ({"name": "x", "pair": [1.0]}, "spec.pair must have 2 elements"),
        ({"name": "x", "tags": "a"}, "spec.tags must be a list"),
        ({"name": "x", "env": ["K"]}, "spec.env must be a mapping"),
        ({"name": "x", "env": {"K": 3}}, "spec.env.K must be a string"),
        ({"name": "x", "default": [1]}, "spec.default must be a scalar"),
        ({"name": "x", "level": "trace"}, "spec.level must be one of ['info', 'debug']"),
        ({"count": 2}, "missing key(s) spec.name"),
    ],
)
def test_bad_values_name_the_dotted_key(data, message):
    with pytest.raises(ValueError) as caught:
        from_dict(Outer, data, "spec")
    assert message in str(caught.value)


def test_a_field_without_default_is_required():
    with pytest.raises(ValueError, match="missing key"):
        from_dict(Required, {})
    assert from_dict(Required, {"name": "n"}).name == "n"


@dataclass(frozen=True)
class Unions:
    sets: str | tuple[str, ...] = setting((), "one target or several")
    value: Scalar = setting(Scalar(0), "a typed scalar")


def test_unions_take_the_first_type_that_fits_and_scalars_keep_their_type():
    assert from_dict(Unions, {"sets": "a.b"}).sets == "a.b"
    assert from_dict(Unions, {"sets": ["a.b", "*.c"]}).sets == ("a.b", "*.c")
    assert from_dict(Unions, {"value": True}).value is True
    assert from_dict(Unions, {"value": 1.5}).value == 1.5
    with pytest.raises(ValueError) as caught:
        from_dict(Unions, {"sets": 3}, "spec")
    assert "spec.sets must be a string" in str(caught.value) and "; or spec.sets must be a list" in str(
        caught.value
    )
    with pytest.raises(ValueError, match="spec.value must be a scalar"):
        from_dict(Unions, {"value": [1]}, "spec")
