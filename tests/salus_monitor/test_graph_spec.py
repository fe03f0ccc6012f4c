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

from salus_monitor.bringup import graph_spec as gs
from salus_monitor.bringup.graph_spec import ArgumentError, ExitAction, NodeLaunch, SpecError

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
                "mujoco": {"params": ["config/robots/mujoco.yaml"]},
                "isaac": {"params": ["config/robots/isaac.yaml"]},
            }
        },
        "nodes": [
            {
                "name": "sim",
                "package": "pkg",
                "executable": "sim_node",
                "params": ["config/sim.yaml"],
                "when": {"robot": ["mujoco"]},
                "required": True,
                "remap": {"/joint_command": "/joint_command_safe"},
                "env": {"MUJOCO_GL": "egl"},
            },
            {
                "name": "runner",
                "package": "pkg",
                "executable": "runner_node",
                "params": ["config/runner.yaml"],
                "required": True,
                "ends_graph": True,
            },
        ],
    }


def write_spec(root: Path, spec: dict[str, Any]) -> Path:
    """Write spec + every params file it names (as tiny valid files) under ``root``; return its path."""
    files = {f for n in spec.get("nodes", []) for f in n.get("params", [])}
    for by_value in spec.get("profiles", {}).values():
        files |= {f for body in by_value.values() for f in body.get("params", [])}
    for rel in files:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump({"/**": {"ros__parameters": {"from_file": rel}}}))
    spec_path = root / "config" / "graph.yaml"
    spec_path.parent.mkdir(parents=True, exist_ok=True)
    spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return spec_path


@pytest.fixture
def spec_path(tmp_path: Path) -> Path:
    return write_spec(tmp_path, base_spec())


def by_name(nodes: list[NodeLaunch]) -> dict[str, NodeLaunch]:
    return {n.name: n for n in nodes}


# --------------------------------------------------------------------------- resolution


def test_defaults_resolve_every_node_with_files_in_application_order(spec_path: Path) -> None:
    root = spec_path.parent.parent
    nodes = by_name(gs.resolve(gs.load_spec(spec_path), {}))
    assert list(nodes) == ["sim", "runner"]
    sim = nodes["sim"]
    assert sim.params_files == (root / "config/robots/mujoco.yaml", root / "config/sim.yaml")
    assert sim.required and not sim.ends_graph
    assert sim.remappings == (("/joint_command", "/joint_command_safe"),)
    assert sim.env == {"MUJOCO_GL": "egl"}
    assert nodes["runner"].ends_graph


def test_profile_and_when_follow_the_argument(spec_path: Path) -> None:
    root = spec_path.parent.parent
    nodes = by_name(gs.resolve(gs.load_spec(spec_path), {"robot": "isaac"}))
    assert list(nodes) == ["runner"], "the sim node runs only with robot:=mujoco"
    assert nodes["runner"].params_files[0] == root / "config/robots/isaac.yaml"


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
    root = spec_path.parent.parent
    sim = by_name(gs.resolve(gs.load_spec(spec_path), {}))["sim"]
    assert gs.ros_args(sim) == [
        "--ros-args",
        "-r", "__node:=sim",
        "--params-file", str(root / "config/robots/mujoco.yaml"),
        "--params-file", str(root / "config/sim.yaml"),
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
        (lambda s: s.update(extra=1), r"unknown key 'extra'"),
        (lambda s: s["nodes"][0].update(parms=[]), r"nodes\[0\] \(sim\): unknown key 'parms'"),
        (lambda s: s["arguments"]["robot"].update(choise=[]), r"arguments.robot: unknown key 'choise'"),
        (lambda s: s["arguments"]["episodes"].update(sets="runer.n"), r"'runer.n'"),
        (lambda s: s["arguments"]["episodes"].update(sets="runner"), r"'runner' must be 'NODE.param'"),
        (lambda s: s["nodes"][0].update(when={"robbot": ["mujoco"]}), r"unknown argument 'robbot'"),
        (
            lambda s: s["nodes"][0].update(when={"robot": ["mujco"]}),
            r"'mujco' is not a choice of argument 'robot'",
        ),
        (
            lambda s: s["profiles"]["robot"].update(ur5={"params": []}),
            r"'ur5' is not a choice of argument 'robot'",
        ),
        (lambda s: s["nodes"][1].update(name="sim"), r"'sim' is used twice"),
        (lambda s: s["nodes"][1].update(name="bad-name"), r"'bad-name' is not a valid ROS node name"),
        (lambda s: s["nodes"][1].update(required="yes"), r"\(runner\): 'required' must be true or false"),
        (lambda s: s["nodes"][1].pop("executable"), r"\(runner\): 'executable' is required"),
        (lambda s: s["arguments"]["robot"].update(default="ur5"), r"default 'ur5' is not one of the choices"),
        (lambda s: s["arguments"]["robot"].update(kind="path"), r"kind must be one of"),
        (lambda s: s.update(nodes=[]), r"at least one node"),
        (
            lambda s: s["profiles"]["robot"]["isaac"].update(sets={"runer.x": 1}),
            r"profiles.robot.isaac.sets: 'runer.x' must be 'NODE.param'",
        ),
        (
            lambda s: s["profiles"]["robot"]["isaac"].update(sets={"runner.x": {"a": 1}}),
            r"runner.x: expected a scalar or a list of scalars",
        ),
    ],
)
def test_spec_errors_name_the_culprit(
    tmp_path: Path, change: Callable[[dict[str, Any]], Any], pattern: str
) -> None:
    path = _mutated(tmp_path, change)
    with pytest.raises(SpecError, match=pattern) as err:
        gs.load_spec(path)
    assert str(path) in str(err.value)


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
    assert [a.name for a in spec.arguments] == [
        "robot",
        "policy",
        "checkpoint",
        "device",
        "episodes",
        "seed",
        "use_sim_time",
        "record",
        "dataset_root",
        "params_file",
        "bag_dir",
    ]
    default = by_name(gs.resolve(spec, {"checkpoint": "ckpt/pretrained_model", "device": "cuda"}))
    assert list(default) == ["salus_sim", "vla_ensemble", "episode_runner"]
    assert default["vla_ensemble"].parameter_overrides["checkpoint"] == "ckpt/pretrained_model"
    assert default["vla_ensemble"].parameter_overrides["device"] == "cuda"
    nodes = by_name(gs.resolve(spec, {"policy": "expert", "episodes": "20", "seed": "7"}))
    assert list(nodes) == ["salus_sim", "expert", "episode_runner"]
    runner = nodes["episode_runner"]
    assert runner.required and runner.ends_graph
    assert runner.parameter_overrides == {"num_episodes": 20, "base_seed": 7, "use_sim_time": True}
    assert all(n.params_files[0].name == "mujoco.yaml" for n in nodes.values())
    isaac = by_name(gs.resolve(spec, {"robot": "isaac", "policy": "expert"}))
    assert "salus_sim" not in isaac and isaac["expert"].params_files[0].name == "isaac.yaml"
    recording = by_name(gs.resolve(spec, {"record": "lerobot", "dataset_root": "/tmp/demos"}))
    assert recording["lerobot_recorder"].required
    assert recording["lerobot_recorder"].parameter_overrides["root"] == "/tmp/demos"
    assert recording["episode_runner"].parameter_overrides["wait_for_recorder"] is True
    bags = by_name(gs.resolve(spec, {"record": "bag", "bag_dir": "/tmp/bags"}))
    assert bags["bag_recorder"].required and "lerobot_recorder" not in bags
    assert bags["bag_recorder"].parameter_overrides["bag_dir"] == "/tmp/bags"
    assert bags["episode_runner"].parameter_overrides["wait_for_recorder"] is True


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
    root = spec_path.parent.parent
    sim, runner = (n.kwargs for n in nodes)
    assert sim["package"] == "pkg" and sim["executable"] == "sim_node" and sim["name"] == "sim"
    assert sim["namespace"] == "/", "a fully specified name makes launch_ros key the overrides by node"
    assert sim["parameters"] == [
        str(root / "config/robots/mujoco.yaml"),
        str(root / "config/sim.yaml"),
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
