"""The SALUS node graph as data: load ``config/graph.yaml``, validate it, resolve launch arguments.

Why: two front-ends start the same graph — ``launch/salus.launch.py`` (``ros2 launch``, full ROS 2
installs) and ``salus-launch`` (pip-only installs, one OS process per node). Both read one spec through
this module, so which nodes run, with which parameter files, overrides, remappings and environment, and
what a node's exit means for the graph, are decided once. Pure Python (PyYAML only): no rclpy, no launch.

Spec format (parameter file paths relative to the spec's own folder)::

    arguments:                  # NAME:=VALUE launch arguments, same names in both front-ends
      episodes: {default: "5", description: "...", sets: episode_runner.num_episodes}
      robot: {default: mujoco, choices: [mujoco, isaac], description: "..."}
      use_sim_time: {default: "true", description: "...", sets: "*.use_sim_time"}
      params_file: {default: "", description: "...", kind: params_file}
    profiles:                   # per argument value: parameter files applied to every selected node,
      robot:                    # and/or fixed overrides {NODE.param or *.param: VALUE}
        mujoco: {params: [robots/mujoco.yaml]}
      record:
        bag: {sets: {episode_runner.wait_for_recorder: true}}
    nodes:
      - {name: salus_sim, package: salus_sim, executable: sim_node, params: [sim.yaml],
         when: {robot: [mujoco]}, required: true, ends_graph: false,
         remap: {/joint_command: /joint_command_raw}, env: {MUJOCO_GL: egl}}

The file is loaded into the frozen dataclasses below by the strict typed loader
(``salus_common.config.from_dict``: unknown keys and ill-typed values fail naming the dotted key, e.g.
``nodes[2].params``); only the cross-references a type cannot state are checked here. Argument values,
``choices`` and ``when`` values are text even when written unquoted (``default: 5``); ``sets`` names one
target or a list of them.

Parameter files of a node apply in this order: profile files (in ``profiles`` order), the node's own
``params``, then every non-empty ``kind: params_file`` argument (relative to the current directory);
argument values mapped by ``sets`` come last as overrides keyed by the node's name, typed by YAML like
``ros2 launch`` does, followed by the ``sets`` of the selected profiles (values as written in the spec),
so one argument can both pick files and set parameters to values other than its own. rcl ranks
node-keyed entries above ``/**`` ones whatever the file order, so a later file overrides an earlier one
only where its keys are at least as specific (key extra files by node name).
"""

from __future__ import annotations

import enum
import os
import re
import shlex
import signal
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from salus_common.config import Scalar, ScalarText, from_dict

SPEC_ENV = "SALUS_GRAPH_SPEC"
SPEC_RELPATH = Path("config") / "graph.yaml"
PACKAGE = "salus_bringup"  # installs config/ to share/salus_bringup/config

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SpecError(ValueError):
    """The spec file itself is wrong (unknown key, bad type, missing file it names)."""


class ArgumentError(ValueError):
    """A launch argument given by the user is wrong (unknown name, value outside ``choices``)."""


# --------------------------------------------------------------------------- the spec file, typed
# Loaded by salus_common.config.from_dict: unknown keys and ill-typed values fail naming the dotted key.
# __post_init__ holds what one entry can check about itself; GraphFile.__post_init__ the cross-references.


@dataclass(frozen=True)
class ArgumentSpec:
    """One declared launch argument (``arguments.NAME``); ``default is None`` means the user must give it."""

    default: ScalarText | None = None
    description: str = ""
    choices: tuple[ScalarText, ...] | None = None
    sets: str | tuple[str, ...] = ()  # NODE.param or *.param targets; one may be written without a list
    kind: Literal["value", "params_file"] = "value"

    def __post_init__(self) -> None:
        if isinstance(self.sets, str):
            object.__setattr__(self, "sets", (self.sets,))
        if self.choices is not None and not self.choices:
            raise ValueError("choices must not be empty")
        if self.choices is not None and self.default is not None and self.default not in self.choices:
            raise ValueError(f"default {self.default!r} is not one of the choices {list(self.choices)}")
        if self.sets and self.kind == "params_file":
            raise ValueError("sets: a params_file argument cannot also set parameters")


@dataclass(frozen=True)
class ProfileSpec:
    """``profiles.ARGUMENT.VALUE``: files applied to every selected node, and fixed typed overrides."""

    params: tuple[str, ...] = ()
    sets: dict[str, Scalar | tuple[Scalar, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class NodeSpec:
    """One node as written in the spec (parameter files relative to the spec's folder)."""

    name: str
    package: str
    executable: str
    params: tuple[str, ...] = ()
    when: dict[str, tuple[ScalarText, ...]] = field(default_factory=dict)  # ARGUMENT: values it runs for
    required: bool = False
    ends_graph: bool = False
    remap: dict[str, str] = field(default_factory=dict)
    env: dict[str, ScalarText] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _NAME_RE.match(self.name):
            raise ValueError(f"name {self.name!r} is not a valid ROS node name")
        for key in ("package", "executable"):
            if not getattr(self, key):
                raise ValueError(f"{key} must not be empty")


@dataclass(frozen=True)
class GraphFile:
    """``graph.yaml`` as written; checks the names that refer to other entries of the file."""

    nodes: tuple[NodeSpec, ...]
    arguments: dict[str, ArgumentSpec] = field(default_factory=dict)
    profiles: dict[str, dict[ScalarText, ProfileSpec]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.nodes:
            raise ValueError("nodes must list at least one node")
        names: set[str] = set()
        for i, node in enumerate(self.nodes):
            if node.name in names:
                raise ValueError(f"nodes[{i}].name {node.name!r} is used twice")
            names.add(node.name)
            for argument, values in node.when.items():
                self._check_values(argument, values, f"nodes[{i}].when")
        for name, argument in self.arguments.items():
            if not _NAME_RE.match(name):
                raise ValueError(f"arguments.{name}: an argument name must be an identifier")
            for target in argument.sets:
                _check_target(target, names, f"arguments.{name}.sets")
        for argument, by_value in self.profiles.items():
            self._check_values(argument, tuple(by_value), "profiles")
            for value, profile in by_value.items():
                for target in profile.sets:
                    _check_target(target, names, f"profiles.{argument}.{value}.sets")

    def _check_values(self, argument: str, values: tuple[str, ...], where: str) -> None:
        if argument not in self.arguments:
            raise ValueError(
                f"{where}: unknown argument {argument!r} (declared: {', '.join(self.arguments)})"
            )
        if not values:
            raise ValueError(f"{where}.{argument}: list at least one value")
        choices = self.arguments[argument].choices
        for value in values:
            if choices is not None and value not in choices:
                raise ValueError(
                    f"{where}.{argument}: {value!r} is not a choice of argument {argument!r} {list(choices)}"
                )


def _check_target(target: str, names: set[str], where: str) -> None:
    node, _, param = target.partition(".")
    if not param or (node != "*" and node not in names):
        raise ValueError(
            f"{where}: {target!r} must be 'NODE.param' or '*.param' with NODE one of {sorted(names)}"
        )


@dataclass(frozen=True)
class GraphSpec:
    """A validated spec and where it was read from: arguments in declaration order, nodes in start order."""

    path: Path
    arguments: dict[str, ArgumentSpec]
    profiles: dict[str, dict[str, ProfileSpec]]
    nodes: tuple[NodeSpec, ...]

    @property
    def root(self) -> Path:
        """The folder the spec's parameter file paths are relative to."""
        return self.path.parent

    def argument(self, name: str) -> ArgumentSpec:
        """The argument called ``name``; ``ArgumentError`` listing the known ones otherwise."""
        if name not in self.arguments:
            known = ", ".join(self.arguments)
            raise ArgumentError(f"unknown launch argument {name!r} (known: {known})")
        return self.arguments[name]


@dataclass(frozen=True)
class NodeLaunch:
    """Everything a front-end needs to start one node process."""

    name: str
    package: str
    executable: str
    params_files: tuple[Path, ...]
    parameter_overrides: dict[str, Any] = field(default_factory=dict)
    remappings: tuple[tuple[str, str], ...] = ()
    required: bool = False
    ends_graph: bool = False
    env: dict[str, str] = field(default_factory=dict)


class ExitAction(enum.Enum):
    """What a node's exit means for the whole graph."""

    CONTINUE = "continue"  # log it, the graph goes on
    END = "end"  # the graph finished its job: stop the others, success
    FAIL = "fail"  # stop the others, failure


# --------------------------------------------------------------------------- loading


def find_spec(explicit: str | os.PathLike[str] | None = None, cwd: Path | None = None) -> Path:
    """Locate graph.yaml: explicit path, ``$SALUS_GRAPH_SPEC``, ``config/graph.yaml`` upward, the share dir.

    Why this order: inside a source checkout the launcher runs from anywhere in the repo and should use
    the files being edited; an installed workspace (``colcon build``, a full ROS 2 install) has the spec
    in ``share/salus_bringup/config``, found through the ament index.
    """
    if explicit is None:
        explicit = os.environ.get(SPEC_ENV) or None
    if explicit is not None:
        path = _absolute(Path(explicit).expanduser())
        if not path.is_file():
            raise SpecError(f"graph spec not found: {path}")
        return path
    start = (cwd or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        candidate = folder / SPEC_RELPATH
        if candidate.is_file():
            return candidate
    installed = installed_spec()
    if installed is not None:
        return installed
    raise SpecError(
        f"no {SPEC_RELPATH} above {start} and no installed {PACKAGE} share folder; "
        f"pass --spec or set ${SPEC_ENV}"
    )


def installed_spec() -> Path | None:
    """``share/salus_bringup/config/graph.yaml`` of the sourced workspace, if there is one."""
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_share_directory
    except ImportError:
        return None
    try:
        candidate = Path(get_package_share_directory(PACKAGE)) / SPEC_RELPATH
    except PackageNotFoundError:
        return None
    return _absolute(candidate) if candidate.is_file() else None


def load_spec(path: str | os.PathLike[str]) -> GraphSpec:
    """Read and validate a spec file; ``SpecError`` names the file and the offending entry."""
    path = _absolute(Path(path).expanduser())
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as err:
        raise SpecError(f"cannot read graph spec {path}: {err}") from err
    except yaml.YAMLError as err:
        raise SpecError(f"{path}: invalid YAML: {err}") from err
    return parse_spec(raw, path)


def parse_spec(raw: Any, path: Path) -> GraphSpec:
    """Validate already-parsed spec data (``path`` is the file: its folder roots the parameter files)."""
    try:
        body = from_dict(GraphFile, raw, "")
    except ValueError as err:
        raise SpecError(f"{path}: {err}") from err
    return GraphSpec(path=path, arguments=body.arguments, profiles=body.profiles, nodes=body.nodes)


def _absolute(path: Path) -> Path:
    """Absolute and normalized, symlinks kept: an installed (symlinked) share folder stays the root."""
    return Path(os.path.abspath(path))


# --------------------------------------------------------------------------- resolution


def parse_launch_arguments(tokens: Iterable[str]) -> dict[str, str]:
    """``["episodes:=20", "robot:=isaac"]`` → dict; ``ArgumentError`` for tokens without ``:=``."""
    values: dict[str, str] = {}
    for token in tokens:
        name, sep, value = token.partition(":=")
        if not sep or not _NAME_RE.match(name):
            raise ArgumentError(f"launch arguments look like NAME:=VALUE, got {token!r}")
        values[name] = value
    return values


def resolve_arguments(spec: GraphSpec, values: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every declared argument's value: given, else default; checks names, choices, required ones."""
    values = dict(values or {})
    for name in values:
        spec.argument(name)  # raises for unknown names
    resolved: dict[str, str] = {}
    for name, arg in spec.arguments.items():
        value = values.get(name, arg.default)
        if value is None:
            raise ArgumentError(f"launch argument {name!r} is required ({arg.description})")
        if arg.choices is not None and value not in arg.choices:
            raise ArgumentError(f"launch argument {name!r}: {value!r} is not one of {list(arg.choices)}")
        resolved[name] = value
    return resolved


def resolve(
    spec: GraphSpec, values: Mapping[str, str] | None = None, cwd: Path | None = None
) -> list[NodeLaunch]:
    """The nodes to start for these argument values, in spec order, with all files checked to exist."""
    args = resolve_arguments(spec, values)
    profile_files = _profile_files(spec, args)
    extra_files = _params_file_arguments(spec, args, cwd or Path.cwd())
    launches = []
    for node in spec.nodes:
        if not all(args[name] in allowed for name, allowed in node.when.items()):
            continue
        own = [_spec_file(spec, rel, f"node '{node.name}' params") for rel in node.params]
        launches.append(
            NodeLaunch(
                name=node.name,
                package=node.package,
                executable=node.executable,
                params_files=(*profile_files, *own, *extra_files),
                parameter_overrides=_overrides_for(spec, node.name, args),
                remappings=tuple(node.remap.items()),
                required=node.required,
                ends_graph=node.ends_graph,
                env=dict(node.env),
            )
        )
    return launches


def _profile_files(spec: GraphSpec, args: Mapping[str, str]) -> list[Path]:
    files = []
    for name, by_value in spec.profiles.items():
        profile = by_value.get(args[name])
        if profile is not None:
            files += [_spec_file(spec, rel, f"profiles.{name}.{args[name]}.params") for rel in profile.params]
    return files


def _params_file_arguments(spec: GraphSpec, args: Mapping[str, str], cwd: Path) -> list[Path]:
    files = []
    for name, arg in spec.arguments.items():
        text = args[name]
        if arg.kind != "params_file" or not text:
            continue
        path = _absolute(cwd / Path(text).expanduser())  # an absolute text replaces cwd
        if not path.is_file():
            raise ArgumentError(f"launch argument {name!r}: parameter file not found: {path}")
        _check_params_yaml(path, f"launch argument {name!r}", ArgumentError)
        files.append(path)
    return files


def _spec_file(spec: GraphSpec, rel: str, where: str) -> Path:
    path = _absolute(spec.root / rel)
    if not path.is_file():
        raise SpecError(f"parameter file not found: {path} (listed in {where} of {spec.path})")
    _check_params_yaml(path, f"{where} of {spec.path}", SpecError)
    return path


def _check_params_yaml(path: Path, where: str, error: type[ValueError]) -> None:
    """Fail now, naming the file, rather than inside rcl with a terse parser message."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise error(f"parameter file {path} ({where}) is not readable YAML: {err}") from err
    if data is not None and not isinstance(data, dict):
        raise error(f"parameter file {path} ({where}) must hold a mapping of node names")


def _overrides_for(spec: GraphSpec, node: str, args: Mapping[str, str]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for name, arg in spec.arguments.items():
        for target in arg.sets:
            target_node, _, param = target.partition(".")
            if target_node in ("*", node):
                overrides[param] = yaml_value(args[name])
    for name, by_value in spec.profiles.items():
        profile = by_value.get(args[name])
        for target, typed in (profile.sets if profile is not None else {}).items():
            target_node, _, param = target.partition(".")
            if target_node in ("*", node):
                overrides[param] = list(typed) if isinstance(typed, tuple) else typed
    return overrides


def yaml_value(text: str) -> Any:
    """Type an argument string as ROS does (YAML scalar rules); keep text that YAML would lose."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if value is None or isinstance(value, dict):
        return text
    return value


# --------------------------------------------------------------------------- process-level helpers


def ros_args(node: NodeLaunch) -> list[str]:
    """The ``--ros-args`` argv that rcl parses: node name, params files, overrides, remappings.

    Overrides are node-targeted (``-p NAME:param:=value``): a plain ``-p param:=value`` is a ``/**``
    wildcard, and rclpy lets a node-keyed entry of any params file beat a wildcard (checked with rclpy
    9.1.2), so ``episodes:=20`` would silently lose to ``num_episodes: 5`` in the node's own file.
    """
    argv = ["--ros-args", "-r", f"__node:={node.name}"]
    for path in node.params_files:
        argv += ["--params-file", str(path)]
    for name, value in node.parameter_overrides.items():
        argv += ["-p", f"{node.name}:{name}:={format_parameter_value(value)}"]
    for source, target in node.remappings:
        argv += ["-r", f"{source}:={target}"]
    return argv


def format_parameter_value(value: Any) -> str:
    """Render a typed value so rcl's YAML parser reads back the same type (``'5'`` stays a string)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=1 << 20)
    return text.removesuffix("\n...\n").strip()


def describe_returncode(returncode: int) -> str:
    """``1`` → ``code 1``; ``-9`` → ``code -9 (SIGKILL)`` as Popen reports deaths by signal."""
    if returncode < 0:
        try:
            return f"code {returncode} ({signal.Signals(-returncode).name})"
        except ValueError:
            pass
    return f"code {returncode}"


def exit_action(node: NodeLaunch, returncode: int) -> tuple[ExitAction, str]:
    """What a node's exit means for the graph, and the message to print (shared by both front-ends)."""
    code = describe_returncode(returncode)
    if node.ends_graph and returncode == 0:
        return ExitAction.END, f"node '{node.name}' finished ({code}) — ending the graph"
    if node.required:
        return ExitAction.FAIL, f"required node '{node.name}' exited with {code} — shutting down the graph"
    if node.ends_graph:
        return ExitAction.FAIL, f"node '{node.name}' ends the graph and exited with {code} — shutting down"
    return ExitAction.CONTINUE, f"node '{node.name}' exited with {code} (not required; the graph goes on)"


def describe(nodes: Sequence[NodeLaunch], args: Mapping[str, str]) -> str:
    """Human-readable resolved graph, for ``salus-launch --show``."""
    lines = ["arguments:"]
    lines += [f"  {name}:={value}" for name, value in args.items()]
    lines.append("nodes:")
    for node in nodes:
        flags = [f for f, on in (("required", node.required), ("ends_graph", node.ends_graph)) if on]
        lines.append(f"  {node.name}: {node.package}/{node.executable}  [{', '.join(flags) or 'optional'}]")
        lines += [f"    params file: {p}" for p in node.params_files]
        lines += [f"    override:    {k} = {v!r}" for k, v in node.parameter_overrides.items()]
        lines += [f"    remap:       {s} -> {t}" for s, t in node.remappings]
        lines += [f"    env:         {k}={v}" for k, v in node.env.items()]
        lines.append(f"    argv:        {shlex.join(ros_args(node))}")
    return "\n".join(lines)
