"""collect: scenarios per seed, batches, manifest reading and adoption of orphan bags. No graph started."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from salus_data import collect
from salus_data.collect import (
    CollectError,
    Unit,
    adopt_orphan_bags,
    parse_scenarios,
    plan_units,
    read_manifest,
    scenario_of,
)

from .bag_fixtures import Episode, write_bags


def test_scenarios_are_validated_and_normalized() -> None:
    assert parse_scenarios(["none", "push", "obstacle+push"]) == ["none", "push", "obstacle+push"]
    assert parse_scenarios(["push+obstacle"]) == ["obstacle+push"]
    assert parse_scenarios([]) == ["none"]
    with pytest.raises(CollectError, match="unknown"):
        parse_scenarios(["pusj"])
    with pytest.raises(CollectError, match="repeated"):
        parse_scenarios(["push+push"])


def test_a_seeds_scenario_depends_on_the_seed_alone() -> None:
    scenarios = ["none", "push", "gripper_fault"]
    assert [scenario_of(s, scenarios, 2) for s in range(8)] == [
        "none",
        "none",
        "push",
        "push",
        "gripper_fault",
        "gripper_fault",
        "none",
        "none",
    ]


def test_batches_are_consecutive_seeds_of_one_scenario_at_most_block_long() -> None:
    units = plan_units([0, 1, 2, 3, 4, 5, 7, 8], ["none", "push"], 3)
    assert units == [Unit("none", 0, 3), Unit("push", 3, 3), Unit("none", 7, 2)]  # 6 is done: a gap
    assert [list(u.seeds) for u in units][-1] == [7, 8]
    assert plan_units([5, 3, 4, 4], ["none"], 10) == [Unit("none", 3, 3)]


def test_manifest_keeps_the_latest_line_per_seed_and_ignores_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "manifest.jsonl"
    lines = [
        {"seed": 1, "bag": "seed000001", "outcome": "drop"},
        {"seed": 2, "bag": "seed000002", "outcome": "x"},
    ]
    lines.append({"seed": 1, "bag": "seed000001", "outcome": "success"})
    path.write_text("".join(json.dumps(r) + "\n" for r in lines) + '{"seed": 3, "ba')
    records = read_manifest(path)
    assert sorted(records) == [1, 2] and records[1]["outcome"] == "success"


def test_complete_bags_missing_from_the_manifest_are_adopted(tmp_path: Path) -> None:
    write_bags(tmp_path, [Episode(4, steps=5), Episode(5, steps=5, outcome="drop", onset=0.3)])
    adopted = adopt_orphan_bags(tmp_path, {4: {"seed": 4}})
    assert [(r["seed"], r["outcome"], r["bag"], r["adopted"]) for r in adopted] == [
        (5, "drop", "seed000005", True)
    ]
    assert adopted[0]["failure_onset_s"] == pytest.approx(0.3)


def test_bad_arguments_fail_before_anything_starts(tmp_path: Path, capsys) -> None:
    base = ["--bag-dir", str(tmp_path / "bags"), "--episodes", "2"]
    assert collect.main([*base, "--policy", "no_such_policy"]) == collect.EXIT_USAGE
    assert "no_such_policy" in capsys.readouterr().err
    assert collect.main([*base, "--inject", "wobble"]) == collect.EXIT_USAGE
    assert collect.main([*base, "--graph-arg", "seed:=4"]) == collect.EXIT_USAGE
    assert "salus-collect sets them" in capsys.readouterr().err
    assert not (tmp_path / "bags").exists()
