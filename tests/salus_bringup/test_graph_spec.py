"""graph_spec: spec validation, argument resolution, ros-args argv; and the launch_ros front-end's pure path.

No rclpy, no launch: specs are written to tmp_path; the launch file runs against stand-in launch modules.
One optional test (needs rclpy) checks that rcl itself reads our argv the way we mean it.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from salus_bringup import graph_spec as gs
from salus_bringup.graph_spec import ArgumentError, ExitAction, NodeLaunch, SpecError

REPO = Path(__file__).resolve().parents[2]
LAUNCH_FILE = REPO / "launch" / "salus.launch.py"


def base_spec() -> dict[str, Any]:
    """A small spec shaped like config/graph.yaml."""
    return {
        "arguments": {
            "robot": {"default": "mujoco", "choices": ["mujoco", "isaac"], "description": "robot side"},
            "episodes": {"default": "5", "description": "episodes", "sets": "runner.num_episodes"},
            "use_sim_time": {"default": "true", "description": "sim time", "sets": "*.use_sim_time"},
            "params_file": {"default": "", "kind": "params_file", "description": "extra file"},
        },
        "profiles": {
            "robot": {
                "mujoco": {"params": ["robots/mujoco.yaml"]},
                "isaac": {"params": ["robots/isaac.yaml"]},
            }
        },
        "nodes": [
            {
                "name": "sim",
                "package": "pkg",
                "executable": "sim_node",
                "params": ["sim.yaml"],
                "when": {"robot": ["mujoco"]},
                "required": True,
                "remap": {"/joint_command": "/joint_command_safe"},
                "env": {"MUJOCO_GL": "egl"},
            },
            {
                "name": "runner",
                "package": "pkg",
                "executable": "runner_node",
                "params": ["runner.yaml"],
                "required": True,
                "ends_graph": True,
            },
        ],
    }


def write_spec(root: Path, spec: dict[str, Any]) -> Path:
    """Write ``root/config/graph.yaml`` + every params file it names (tiny valid files, relative to it)."""
    config = root / "config"
    files = {f for n in spec.get("nodes", []) for f in _listed(n.get("params"))}
    for by_value in spec.get("profiles", {}).values():
        files |= {f for body in by_value.values() for f in _listed(body.get("params"))}
    for rel in files:
        path = config / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump({"/**": {"ros__parameters": {"from_file": rel}}}))
    spec_path = config / "graph.yaml"
    spec_path.parent.mkdir(parents=True, exist_ok=True)
    spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return spec_path


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


@pytest.fixture
def spec_path(tmp_path: Path) -> Path:
    return write_spec(tmp_path, base_spec())


def by_name(nodes: list[NodeLaunch]) -> dict[str, NodeLaunch]:
    return {n.name: n for n in nodes}


# --------------------------------------------------------------------------- resolution


def test_defaults_resolve_every_node_with_files_in_application_order(spec_path: Path) -> None:
    root = spec_path.parent
    nodes = by_name(gs.resolve(gs.load_spec(spec_path), {}))
    assert list(nodes) == ["sim", "runner"]
    sim = nodes["sim"]
    assert sim.params_files == (root / "robots/mujoco.yaml", root / "sim.yaml")
    assert sim.required and not sim.ends_graph
    assert sim.remappings == (("/joint_command", "/joint_command_safe"),)
    assert sim.env == {"MUJOCO_GL": "egl"}
    assert nodes["runner"].ends_graph


def test_profile_and_when_follow_the_argument(spec_path: Path) -> None:
    root = spec_path.parent
    nodes = by_name(gs.resolve(gs.load_spec(spec_path), {"robot": "isaac"}))
    assert list(nodes) == ["runner"], "the sim node runs only with robot:=mujoco"
    assert nodes["runner"].params_files[0] == root / "robots/isaac.yaml"


def test_params_file_argument_comes_last_and_is_relative_to_cwd(spec_path: Path, tmp_path: Path) -> None:
    extra = tmp_path / "elsewhere" / "mine.yaml"
    extra.parent.mkdir()
    extra.write_text("runner:\n  ros__parameters: {num_episodes: 1}\n")
    nodes = gs.resolve(gs.load_spec(spec_path), {"params_file": "mine.yaml"}, cwd=extra.parent)
    assert all(n.params_files[-1] == extra for n in nodes)


def test_sets_become_yaml_typed_overrides_on_the_right_nodes(spec_path: Path) -> None:
    nodes = by_name(gs.resolve(gs.load_spec(spec_path), {"episodes": "20", "use_sim_time": "false"}))
    assert nodes["runner"].parameter_overrides == {"num_episodes": 20, "use_sim_time": False}
    assert nodes["sim"].parameter_overrides == {"use_sim_time": False}


def test_profile_sets_apply_typed_overrides_after_argument_sets(tmp_path: Path) -> None:
    spec = base_spec()
    spec["profiles"]["robot"]["isaac"]["sets"] = {
        "runner.wait_for_robot": True,
        "runner.num_episodes": 3,
        "*.robot_names": ["a", "b"],
    }
    nodes = by_name(
        gs.resolve(gs.load_spec(write_spec(tmp_path, spec)), {"robot": "isaac", "episodes": "20"})
    )
    assert nodes["runner"].parameter_overrides == {
        "num_episodes": 3,  # the profile's value, applied after the argument's
        "use_sim_time": True,
        "wait_for_robot": True,
        "robot_names": ["a", "b"],
    }
    plain = by_name(gs.resolve(gs.load_spec(write_spec(tmp_path, spec)), {"episodes": "20"}))
    assert plain["runner"].parameter_overrides == {"num_episodes": 20, "use_sim_time": True}


@pytest.mark.parametrize(
    ("text", "value"),
    [("5", 5), ("1.5", 1.5), ("true", True), ("abc", "abc"), ("", ""), ("[1, 2]", [1, 2]), ("a: b", "a: b")],
)
def test_yaml_value_types_like_ros(text: str, value: Any) -> None:
    assert gs.yaml_value(text) == value
    assert type(gs.yaml_value(text)) is type(value)


def test_ros_args_argv(spec_path: Path) -> None:
    root = spec_path.parent
    sim = by_name(gs.resolve(gs.load_spec(spec_path), {}))["sim"]
    assert gs.ros_args(sim) == [
        "--ros-args",
        "-r", "__node:=sim",
        "--params-file", str(root / "robots/mujoco.yaml"),
        "--params-file", str(root / "sim.yaml"),
        "-p", "sim:use_sim_time:=true",
        "-r", "/joint_command:=/joint_command_safe",
    ]  # fmt: skip


@pytest.mark.parametrize("value", [5, 1.5, True, "abc", "5", "true", "", "a b", [1, 2], ["x", "y"]])
def test_parameter_values_render_back_to_the_same_yaml_value(value: Any) -> None:
    assert yaml.safe_load(gs.format_parameter_value(value)) == value


def test_parse_launch_arguments() -> None:
    assert gs.parse_launch_arguments(["episodes:=20", "params_file:=a:=b.yaml", "x:="]) == {
        "episodes": "20",
        "params_file": "a:=b.yaml",
        "x": "",
    }
    with pytest.raises(ArgumentError, match="episodes=20"):
        gs.parse_launch_arguments(["episodes=20"])


# --------------------------------------------------------------------------- errors name the culprit


def test_unknown_argument_is_named(spec_path: Path) -> None:
    with pytest.raises(ArgumentError, match=r"'episdoes'.*known: robot, episodes"):
        gs.resolve(gs.load_spec(spec_path), {"episdoes": "3"})


def test_value_outside_choices_is_named(spec_path: Path) -> None:
    with pytest.raises(ArgumentError, match=r"'robot'.*'ur5'.*\['mujoco', 'isaac'\]"):
        gs.resolve(gs.load_spec(spec_path), {"robot": "ur5"})


def test_argument_without_default_is_required(tmp_path: Path) -> None:
    spec = base_spec()
    spec["arguments"]["episodes"]["default"] = None
    path = write_spec(tmp_path, spec)
    with pytest.raises(ArgumentError, match="'episodes' is required"):
        gs.resolve(gs.load_spec(path), {})
    assert (
        by_name(gs.resolve(gs.load_spec(path), {"episodes": "2"}))["runner"].parameter_overrides[
            "num_episodes"
        ]
        == 2
    )


def _mutated(tmp_path: Path, change: Callable[[dict[str, Any]], Any]) -> Path:
    spec = base_spec()
    change(spec)
    return write_spec(tmp_path, spec)


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        # the typed loader: unknown keys, missing keys and ill-typed values, named by their dotted key
        (lambda s: s.update(extra=1), r": unknown key\(s\) extra; allowed: arguments, nodes, profiles"),
        (lambda s: s.pop("nodes"), r": missing key\(s\) nodes"),
        (lambda s: s["nodes"][0].update(parms=[]), r"unknown key\(s\) nodes\[0\]\.parms; allowed: "),
        (lambda s: s["arguments"]["robot"].update(choise=[]), r"unknown key\(s\) arguments\.robot\.choise"),
        (lambda s: s["nodes"][1].pop("executable"), r"missing key\(s\) nodes\[1\]\.executable"),
        (
            lambda s: s["nodes"][1].update(required="yes"),
            r"nodes\[1\]\.required must be true/false, got 'yes'",
        ),
        (lambda s: s["nodes"][0].update(params="sim.yaml"), r"nodes\[0\]\.params must be a list"),
        (
            lambda s: s["nodes"][0].update(env={"MUJOCO_GL": ["egl"]}),
            r"nodes\[0\]\.env\.MUJOCO_GL must be a scalar",
        ),
        (lambda s: s["nodes"][0].update(remap={"/a": 1}), r"nodes\[0\]\.remap\./a must be a string"),
        (lambda s: s["arguments"]["episodes"].update(sets=5), r"arguments\.episodes\.sets must be a string"),
        (
            lambda s: s["arguments"]["episodes"].update(sets=["runner.a", 5]),
            r"arguments\.episodes\.sets\[1\] must be a string, got 5",
        ),
        (
            lambda s: s["arguments"]["robot"].update(kind="path"),
            r"arguments\.robot\.kind must be one of \['value', 'params_file'\], got 'path'",
        ),
        (
            lambda s: s["profiles"]["robot"]["isaac"].update(sets={"runner.x": {"a": 1}}),
            r"profiles\.robot\.isaac\.sets\.runner\.x must be a scalar .*; or .* must be a list",
        ),
        # what one entry checks about itself
        (
            lambda s: s["nodes"][1].update(name="bad-name"),
            r"nodes\[1\]\.name 'bad-name' is not a valid ROS node name",
        ),
        (lambda s: s["nodes"][1].update(executable=""), r"nodes\[1\]\.executable must not be empty"),
        (
            lambda s: s["arguments"]["robot"].update(default="ur5"),
            r"arguments\.robot\.default 'ur5' is not one of the choices \['mujoco', 'isaac'\]",
        ),
        (
            lambda s: s["arguments"]["robot"].update(choices=[]),
            r"arguments\.robot\.choices must not be empty",
        ),
        (
            lambda s: s["arguments"]["params_file"].update(sets="runner.x"),
            r"arguments\.params_file\.sets: a params_file argument cannot also set parameters",
        ),
        # cross-references between entries
        (lambda s: s.update(nodes=[]), r": nodes must list at least one node"),
        (lambda s: s["nodes"][1].update(name="sim"), r"nodes\[1\]\.name 'sim' is used twice"),
        (
            lambda s: s["arguments"].update({"bad-name": {"default": "1"}}),
            r"arguments\.bad-name: an argument name must be an identifier",
        ),
        (
            lambda s: s["arguments"]["episodes"].update(sets="runer.n"),
            r"arguments\.episodes\.sets: 'runer.n' must be 'NODE.param' or '\*.param' with NODE one of "
            r"\['runner', 'sim'\]",
        ),
        (lambda s: s["arguments"]["episodes"].update(sets="runner"), r"'runner' must be 'NODE.param'"),
        (
            lambda s: s["nodes"][0].update(when={"robbot": ["mujoco"]}),
            r"nodes\[0\]\.when: unknown argument 'robbot' \(declared: robot, episodes",
        ),
        (
            lambda s: s["nodes"][0].update(when={"robot": ["mujco"]}),
            r"nodes\[0\]\.when\.robot: 'mujco' is not a choice of argument 'robot'",
        ),
        (
            lambda s: s["nodes"][0].update(when={"robot": []}),
            r"nodes\[0\]\.when\.robot: list at least one value",
        ),
        (
            lambda s: s["profiles"]["robot"].update(ur5={"params": []}),
            r"profiles\.robot: 'ur5' is not a choice of argument 'robot'",
        ),
        (lambda s: s["profiles"].update(robbot={}), r"profiles: unknown argument 'robbot'"),
        (
            lambda s: s["profiles"]["robot"]["isaac"].update(sets={"runer.x": 1}),
            r"profiles\.robot\.isaac\.sets: 'runer.x' must be 'NODE.param'",
        ),
    ],
)
def test_spec_errors_name_the_file_and_the_culprit(
    tmp_path: Path, change: Callable[[dict[str, Any]], Any], pattern: str
) -> None:
    path = _mutated(tmp_path, change)
    with pytest.raises(SpecError, match=pattern) as err:
        gs.load_spec(path)
    assert str(err.value).startswith(f"{path}: ")


def test_spec_that_is_not_a_mapping_is_named(tmp_path: Path) -> None:
    path = tmp_path / "graph.yaml"
    path.write_text("- just\n- a list\n")
    with pytest.raises(SpecError, match=rf"{path}: .*must be a mapping, got list"):
        gs.load_spec(path)


def test_unquoted_scalars_are_text_and_sets_may_name_several_targets(tmp_path: Path) -> None:
    spec = base_spec()
    spec["arguments"]["episodes"]["sets"] = ["runner.num_episodes", "sim.episodes"]
    spec["arguments"]["level"] = {"default": 2, "choices": [1, 2, True], "description": "unquoted"}
    spec["nodes"][1]["when"] = {"level": [2, True]}
    spec["nodes"][1]["env"] = {"OMP_NUM_THREADS": 1, "FLAG": False}
    loaded = gs.load_spec(write_spec(tmp_path, spec))
    level = loaded.argument("level")
    assert (level.default, level.choices) == ("2", ("1", "2", "true"))
    assert loaded.argument("episodes").sets == ("runner.num_episodes", "sim.episodes")
    assert loaded.argument("use_sim_time").sets == ("*.use_sim_time",)  # one target, written without a list
    nodes = by_name(gs.resolve(loaded, {"episodes": "4"}))
    assert nodes["sim"].parameter_overrides == {"episodes": 4, "use_sim_time": True}
    assert nodes["runner"].parameter_overrides == {"num_episodes": 4, "use_sim_time": True}
    assert nodes["runner"].env == {"OMP_NUM_THREADS": "1", "FLAG": "false"}
    assert list(by_name(gs.resolve(loaded, {"level": "true"}))) == ["sim", "runner"]
    assert list(by_name(gs.resolve(loaded, {"level": "1"}))) == ["sim"]


def test_missing_params_file_is_named_at_resolve(spec_path: Path) -> None:
    missing = spec_path.parent / "sim.yaml"
    missing.unlink()
    spec = gs.load_spec(spec_path)  # loading does not need the files of unselected nodes
    assert [n.name for n in gs.resolve(spec, {"robot": "isaac"})] == ["runner"]
    with pytest.raises(SpecError, match=rf"not found: {missing}.*node 'sim' params"):
        gs.resolve(spec, {})


def test_missing_params_file_argument_is_named(spec_path: Path, tmp_path: Path) -> None:
    with pytest.raises(ArgumentError, match=r"'params_file'.*not found: .*nope.yaml"):
        gs.resolve(gs.load_spec(spec_path), {"params_file": "nope.yaml"}, cwd=tmp_path)


def test_params_file_that_is_not_a_mapping_is_named(spec_path: Path) -> None:
    bad = spec_path.parent / "sim.yaml"
    bad.write_text("- just\n- a list\n")
    with pytest.raises(SpecError, match=rf"{bad}.*must hold a mapping"):
        gs.resolve(gs.load_spec(spec_path), {})


def test_invalid_yaml_spec_is_named(tmp_path: Path) -> None:
    path = tmp_path / "config" / "graph.yaml"
    path.parent.mkdir()
    path.write_text("nodes: [\n")
    with pytest.raises(SpecError, match=rf"{path}: invalid YAML"):
        gs.load_spec(path)


# --------------------------------------------------------------------------- exits and spec lookup


def _node(required: bool, ends_graph: bool) -> NodeLaunch:
    return NodeLaunch("n", "p", "e", (), required=required, ends_graph=ends_graph)


@pytest.mark.parametrize(
    ("required", "ends_graph", "code", "action"),
    [
        (True, False, 0, ExitAction.FAIL),
        (True, False, 1, ExitAction.FAIL),
        (True, True, 0, ExitAction.END),
        (True, True, 3, ExitAction.FAIL),
        (False, True, 0, ExitAction.END),
        (False, True, 2, ExitAction.FAIL),
        (False, False, 0, ExitAction.CONTINUE),
        (False, False, -9, ExitAction.CONTINUE),
    ],
)
def test_exit_action(required: bool, ends_graph: bool, code: int, action: ExitAction) -> None:
    assert gs.exit_action(_node(required, ends_graph), code)[0] is action


def test_exit_messages() -> None:
    assert gs.exit_action(_node(True, False), 1)[1] == (
        "required node 'n' exited with code 1 — shutting down the graph"
    )
    assert "code -9 (SIGKILL)" in gs.exit_action(_node(False, False), -9)[1]


def test_find_spec_explicit_env_and_upward(
    spec_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(gs.SPEC_ENV, raising=False)
    deep = spec_path.parent.parent / "a" / "b"
    deep.mkdir(parents=True)
    assert gs.find_spec(cwd=deep) == spec_path
    assert gs.find_spec(spec_path) == spec_path
    monkeypatch.setenv(gs.SPEC_ENV, str(spec_path))
    assert gs.find_spec(cwd=Path("/")) == spec_path
    with pytest.raises(SpecError, match="not found: .*nope.yaml"):
        gs.find_spec(tmp_path / "nope.yaml")


def test_repo_spec_resolves() -> None:
    """The real config/graph.yaml: valid, and the documented arguments do what they say."""
    spec = gs.load_spec(REPO / "config" / "graph.yaml")
    assert list(spec.arguments) == [
        "robot",
        "policy",
        "checkpoint",
        "device",
        "monitor",
        "predictor",
        "filter",
        "filter_checkpoint",
        "viz",
        "episodes",
        "seed",
        "use_sim_time",
        "timing",
        "record",
        "params_file",
        "bag_dir",
    ]
    synchronous = by_name(gs.resolve(spec, {"timing": "sync"}))
    assert synchronous["salus_sim"].parameter_overrides["stepping"] == "sync"
    assert synchronous["vla_ensemble"].parameter_overrides["blocking"] is True
    default = by_name(gs.resolve(spec, {"checkpoint": "ckpt/pretrained_model", "device": "cuda"}))
    assert list(default) == [
        "salus_sim",
        "vla_ensemble",
        "action_filter",
        "failure_predictor",
        "risk_markers",
        "episode_runner",
    ]
    # the VLA proposes on its own topic; the action filter alone publishes /joint_command
    assert default["vla_ensemble"].remappings == (("/joint_command", "/salus/vla_command"),)
    assert default["action_filter"].required
    assert default["action_filter"].parameter_overrides["mode"] == "watchdog"
    manifold = by_name(gs.resolve(spec, {"filter": "manifold"}))
    assert manifold["action_filter"].parameter_overrides["mode"] == "manifold"
    assert manifold["action_filter"].parameter_overrides["checkpoint"] == "models/filter"
    assert default["failure_predictor"].required and not default["risk_markers"].required
    assert default["failure_predictor"].parameter_overrides["checkpoint"] == "models/predictor"
    rviz = by_name(gs.resolve(spec, {"viz": "rviz"}))
    assert not rviz["robot_state_publisher"].required
    assert rviz["robot_state_publisher"].params_files[-1].name == "robot_description.yaml"
    unmonitored = by_name(gs.resolve(spec, {"monitor": "none"}))
    assert list(unmonitored) == ["salus_sim", "vla_ensemble", "action_filter", "episode_runner"]
    assert default["vla_ensemble"].parameter_overrides["checkpoint"] == "ckpt/pretrained_model"
    assert default["vla_ensemble"].parameter_overrides["device"] == "cuda"
    assert default["salus_sim"].params_files == (spec.root / "robots/mujoco.yaml", spec.root / "sim.yaml")
    nodes = by_name(gs.resolve(spec, {"policy": "expert", "episodes": "20", "seed": "7"}))
    assert list(nodes) == ["salus_sim", "expert", "episode_runner"]
    runner = nodes["episode_runner"]
    assert runner.required and runner.ends_graph
    assert runner.parameter_overrides == {"num_episodes": 20, "base_seed": 7, "use_sim_time": True}
    assert all(n.params_files[0].name == "mujoco.yaml" for n in nodes.values())
    isaac = by_name(gs.resolve(spec, {"robot": "isaac", "policy": "expert"}))
    assert "salus_sim" not in isaac and isaac["expert"].params_files[0].name == "isaac.yaml"
    bags = by_name(gs.resolve(spec, {"record": "bag", "bag_dir": "/tmp/bags"}))
    assert list(bags) == [
        "salus_sim",
        "vla_ensemble",
        "action_filter",
        "failure_predictor",
        "risk_markers",
        "episode_runner",
        "bag_recorder",
    ]
    assert bags["bag_recorder"].required
    assert bags["bag_recorder"].parameter_overrides["bag_dir"] == "/tmp/bags"
    assert bags["episode_runner"].parameter_overrides["wait_for_recorder"] is True
    assert "wait_for_recorder" not in default["episode_runner"].parameter_overrides


def _listed_files(spec: gs.GraphSpec) -> set[str]:
    """Every parameter file path the spec names (nodes' and profiles'), as written."""
    files = {rel for node in spec.nodes for rel in node.params}
    return files | {rel for by_value in spec.profiles.values() for p in by_value.values() for rel in p.params}


def test_find_spec_falls_back_to_the_installed_share_copy_which_resolves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outside a checkout, the spec is share/salus_bringup/config/graph.yaml and its files lie beside it."""
    packages = pytest.importorskip("ament_index_python.packages")
    try:
        share = Path(packages.get_package_share_directory("salus_bringup"))
    except packages.PackageNotFoundError:
        pytest.skip("salus_bringup is not installed (the built workspace is not sourced)")
    monkeypatch.delenv(gs.SPEC_ENV, raising=False)
    assert not any((d / gs.SPEC_RELPATH).exists() for d in (tmp_path, *tmp_path.parents))

    found = gs.find_spec(cwd=tmp_path)

    config = share / "config"
    assert found == config / "graph.yaml"
    spec = gs.load_spec(found)
    assert spec.root == config
    resolved: set[str] = set()
    for values in ({}, {"robot": "isaac", "policy": "expert", "record": "bag", "viz": "rviz"}):
        for node in gs.resolve(spec, values):
            resolved |= {path.relative_to(config).as_posix() for path in node.params_files}
            assert all(path.is_file() for path in node.params_files), node.params_files
    assert resolved == _listed_files(spec), "the two argument sets should select every file listed"
    assert {"sim.yaml", "robots/mujoco.yaml", "robots/isaac.yaml"} <= resolved


# --------------------------------------------------------------------------- rcl reads our argv


@pytest.mark.ros
def test_rcl_parses_the_argv(tmp_path: Path) -> None:
    """Name, params-file order, typed -p overrides and remaps, read by the real rcl arg parser."""
    rclpy = pytest.importorskip("rclpy")  # tests/conftest.py isolates the DDS domain
    spec = base_spec()
    spec["arguments"]["label"] = {"default": "5", "sets": "runner.label"}
    spec["nodes"][1]["remap"] = {"/joint_command": "/safe/joint_command"}
    spec_file = write_spec(tmp_path, spec)
    (spec_file.parent / "runner.yaml").write_text(
        "runner:\n  ros__parameters: {num_episodes: 3, label: from_node_file, from_file: node}\n"
    )
    runner = by_name(gs.resolve(gs.load_spec(spec_file), {"episodes": "9", "label": "'5'"}))["runner"]
    context = rclpy.Context()
    rclpy.init(args=["prog", *gs.ros_args(runner)], context=context)
    try:
        node = rclpy.create_node(
            "default_name",
            context=context,
            allow_undeclared_parameters=True,
            automatically_declare_parameters_from_overrides=True,
        )
        assert node.get_name() == "runner"
        assert node.get_parameter("num_episodes").value == 9  # the node-keyed -p beats the node file
        assert node.get_parameter("from_file").value == "node"  # node file beats the profile file
        assert node.get_parameter("label").value == "5"  # quoted: stays a string
        assert node.get_parameter("use_sim_time").value is True
        assert node.resolve_topic_name("/joint_command") == "/safe/joint_command"
        node.destroy_node()
    finally:
        rclpy.shutdown(context=context)


# --------------------------------------------------------------------------- launch/salus.launch.py


def test_launch_file_compiles_and_imports_no_launch_at_module_level() -> None:
    source = LAUNCH_FILE.read_text()
    tree = ast.parse(source, str(LAUNCH_FILE))
    compile(tree, str(LAUNCH_FILE), "exec")
    top_level = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    modules = {a.name for n in top_level if isinstance(n, ast.Import) for a in n.names}
    modules |= {n.module for n in top_level if isinstance(n, ast.ImportFrom) and n.module}
    assert not {m for m in modules if m.split(".")[0] in {"launch", "launch_ros", "rclpy"}}


class _Recorded:
    """Stand-in for a launch class: remembers its constructor arguments."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args, self.kwargs = args, kwargs


class _LaunchConfiguration(_Recorded):
    def perform(self, context: Any) -> str:
        return context.launch_configurations[self.args[0]]


def _stub_launch_modules(monkeypatch: pytest.MonkeyPatch) -> dict[str, types.ModuleType]:
    """Minimal ``launch``/``launch_ros`` with the names the launch file imports (shapes, not behaviour)."""
    names = {
        "launch": {"LaunchDescription": type("LaunchDescription", (_Recorded,), {})},
        "launch.actions": {
            n: type(n, (_Recorded,), {})
            for n in ("DeclareLaunchArgument", "OpaqueFunction", "LogInfo", "Shutdown")
        },
        "launch.substitutions": {"LaunchConfiguration": _LaunchConfiguration},
        "launch_ros": {},
        "launch_ros.actions": {"Node": type("Node", (_Recorded,), {})},
    }
    modules = {}
    for name, attrs in names.items():
        module = types.ModuleType(name)
        module.__dict__.update(attrs)
        monkeypatch.setitem(sys.modules, name, module)
        modules[name] = module
    return modules


def _load_launch_file() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("salus_launch_under_test", LAUNCH_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_launch_file_declares_arguments_and_builds_nodes(
    spec_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stub_launch_modules(monkeypatch)
    monkeypatch.setenv(gs.SPEC_ENV, str(spec_path))
    launch_file = _load_launch_file()
    description = launch_file.generate_launch_description()
    *declared, opaque = description.args[0]
    assert [d.kwargs["name"] for d in declared] == ["robot", "episodes", "use_sim_time", "params_file"]
    robot = declared[0].kwargs
    assert robot == {"name": "robot", "description": "robot side", "default_value": "mujoco",
                     "choices": ["mujoco", "isaac"]}  # fmt: skip

    context = types.SimpleNamespace(
        launch_configurations={
            "robot": "mujoco",
            "episodes": "20",
            "use_sim_time": "true",
            "params_file": "",
        },
        is_shutdown=False,
    )
    nodes = opaque.kwargs["function"](context, *opaque.kwargs["args"])
    root = spec_path.parent
    sim, runner = (n.kwargs for n in nodes)
    assert sim["package"] == "pkg" and sim["executable"] == "sim_node" and sim["name"] == "sim"
    assert sim["namespace"] == "/", "a fully specified name makes launch_ros key the overrides by node"
    assert sim["parameters"] == [
        str(root / "robots/mujoco.yaml"),
        str(root / "sim.yaml"),
        {"use_sim_time": True},
    ]
    assert sim["remappings"] == [("/joint_command", "/joint_command_safe")]
    assert sim["additional_env"] == {"MUJOCO_GL": "egl"} and runner["additional_env"] is None
    assert runner["parameters"][-1] == {"num_episodes": 20, "use_sim_time": True}

    exited = types.SimpleNamespace(returncode=1)
    actions = sim["on_exit"](exited, context)
    assert [type(a).__name__ for a in actions] == ["LogInfo", "Shutdown"]
    assert actions[1].kwargs["reason"] == "required node 'sim' exited with code 1 — shutting down the graph"
    assert [type(a).__name__ for a in runner["on_exit"](types.SimpleNamespace(returncode=0), context)] == [
        "LogInfo",
        "Shutdown",
    ]
    context.is_shutdown = True
    assert [type(a).__name__ for a in sim["on_exit"](exited, context)] == ["LogInfo"]


def test_launch_file_rejects_bad_argument_values(spec_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _stub_launch_modules(monkeypatch)
    monkeypatch.setenv(gs.SPEC_ENV, str(spec_path))
    launch_file = _load_launch_file()
    opaque = launch_file.generate_launch_description().args[0][-1]
    context = types.SimpleNamespace(
        launch_configurations={
            "robot": "mujoco",
            "episodes": "2",
            "use_sim_time": "true",
            "params_file": "x.yaml",
        }
    )
    with pytest.raises(ArgumentError, match="params_file"):
        opaque.kwargs["function"](context, *opaque.kwargs["args"])
