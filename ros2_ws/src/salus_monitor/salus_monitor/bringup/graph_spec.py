"""The SALUS node graph as data: load ``config/graph.yaml``, validate it, resolve launch arguments.

Why: two front-ends start the same graph — ``launch/salus.launch.py`` (``ros2 launch``, full ROS 2
installs) and ``salus-launch`` (pip-only installs, one OS process per node). Both read one spec through
this module, so which nodes run, with which parameter files, overrides, remappings and environment, and
what a node's exit means for the graph, are decided once. Pure Python (PyYAML only): no rclpy, no launch.

Spec format (paths relative to the repo root, i.e. the parent of the spec's folder)::

    arguments:                  # NAME:=VALUE launch arguments, same names in both front-ends
      episodes: {default: "5", description: "...", sets: episode_runner.num_episodes}
      robot: {default: mujoco, choices: [mujoco, isaac], description: "..."}
      use_sim_time: {default: "true", description: "...", sets: "*.use_sim_time"}
      params_file: {default: "", description: "...", kind: params_file}
    profiles:                   # per argument value: parameter files applied to every selected node,
      robot:                    # and/or fixed overrides {NODE.param or *.param: VALUE}
        mujoco: {params: [config/robots/mujoco.yaml]}
      record:
        lerobot: {sets: {episode_runner.wait_for_recorder: true}}
    nodes:
      - {name: salus_sim, package: salus_sim, executable: sim_node, params: [config/sim.yaml],
         when: {robot: [mujoco]}, required: true, ends_graph: false,
         remap: {/joint_command: /joint_command_raw}, env: {MUJOCO_GL: egl}}

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
from typing import Any

import yaml

SPEC_ENV = "SALUS_GRAPH_SPEC"
SPEC_RELPATH = Path("config") / "graph.yaml"

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ARGUMENT_KEYS = frozenset({"default", "description", "choices", "sets", "kind"})
_ARGUMENT_KINDS = ("value", "params_file")
_NODE_KEYS = frozenset(
    {"name", "package", "executable", "params", "when", "required", "ends_graph", "remap", "env"}
)
_PROFILE_KEYS = frozenset({"params", "sets"})
_TOP_KEYS = frozenset({"arguments", "profiles", "nodes"})


class SpecError(ValueError):
    """The spec file itself is wrong (unknown key, bad type, missing file it names)."""


class ArgumentError(ValueError):
    """A launch argument given by the user is wrong (unknown name, value outside ``choices``)."""


@dataclass(frozen=True)
class ArgumentSpec:
    """One declared launch argument; ``default is None`` means the user must give it."""

    name: str
    default: str | None
    description: str
    choices: tuple[str, ...] | None = None
    sets: tuple[str, ...] = ()
    kind: str = "value"


@dataclass(frozen=True)
class NodeSpec:
    """One node as written in the spec (paths still relative to the repo root)."""

    name: str
    package: str
    executable: str
    params: tuple[str, ...] = ()
    when: tuple[tuple[str, tuple[str, ...]], ...] = ()
    required: bool = False
    ends_graph: bool = False
    remap: tuple[tuple[str, str], ...] = ()
    env: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class GraphSpec:
    """A validated spec: arguments in declaration order, profiles, nodes in start order."""

    path: Path
    root: Path
    arguments: tuple[ArgumentSpec, ...]
    profiles: tuple[tuple[str, tuple[tuple[str, tuple[str, ...]], ...]], ...]
    nodes: tuple[NodeSpec, ...]
    # (argument, value, ((NODE.param, value), ...)): overrides applied when the argument has that value
    profile_sets: tuple[tuple[str, str, tuple[tuple[str, Any], ...]], ...] = ()

    def argument(self, name: str) -> ArgumentSpec:
        """The argument called ``name``; ``ArgumentError`` listing the known ones otherwise."""
        for arg in self.arguments:
            if arg.name == name:
                return arg
        known = ", ".join(a.name for a in self.arguments)
        raise ArgumentError(f"unknown launch argument {name!r} (known: {known})")


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


# --------------------------------------------------------------------------- loading and validation


def find_spec(explicit: str | os.PathLike[str] | None = None, cwd: Path | None = None) -> Path:
    """Locate graph.yaml: explicit path, ``$SALUS_GRAPH_SPEC``, then ``config/graph.yaml`` upward.

    Why upward from both the current directory and this file: the launcher runs from anywhere in the
    repo, and from an installed workspace this file no longer sits inside the repo.
    """
    if explicit is None:
        explicit = os.environ.get(SPEC_ENV) or None
    if explicit is not None:
        path = Path(explicit).expanduser().resolve()
        if not path.is_file():
            raise SpecError(f"graph spec not found: {path}")
        return path
    starts = [(cwd or Path.cwd()).resolve(), Path(__file__).resolve().parent]
    for start in starts:
        for folder in (start, *start.parents):
            candidate = folder / SPEC_RELPATH
            if candidate.is_file():
                return candidate
    raise SpecError(
        f"no {SPEC_RELPATH} found above {starts[0]} or {starts[1]}; pass --spec or set ${SPEC_ENV}"
    )


def load_spec(path: str | os.PathLike[str]) -> GraphSpec:
    """Read and validate a spec file; ``SpecError`` names the file and the offending entry."""
    path = Path(path).expanduser().resolve()
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as err:
        raise SpecError(f"cannot read graph spec {path}: {err}") from err
    except yaml.YAMLError as err:
        raise SpecError(f"{path}: invalid YAML: {err}") from err
    return parse_spec(raw, path)


def parse_spec(raw: Any, path: Path) -> GraphSpec:
    """Validate already-parsed spec data (``path`` locates the repo root and error messages)."""
    where = str(path)
    mapping = _mapping(raw, where)
    _check_keys(mapping, _TOP_KEYS, where)
    arguments = tuple(
        _parse_argument(name, body, f"{where}: arguments.{name}")
        for name, body in _mapping(mapping.get("arguments") or {}, f"{where}: arguments").items()
    )
    by_name = {a.name: a for a in arguments}
    nodes = tuple(
        _parse_node(body, by_name, f"{where}: nodes[{i}]")
        for i, body in enumerate(_sequence(mapping.get("nodes"), f"{where}: nodes"))
    )
    if not nodes:
        raise SpecError(f"{where}: 'nodes' must list at least one node")
    _check_unique_names(nodes, where)
    _check_sets_targets(arguments, nodes, where)
    profiles, profile_sets = _parse_profiles(mapping.get("profiles") or {}, by_name, f"{where}: profiles")
    node_names = {n.name for n in nodes}
    for name, value, sets in profile_sets:
        for target, _ in sets:
            _check_target(target, node_names, f"{where}: profiles.{name}.{value}.sets")
    return GraphSpec(
        path=path,
        root=path.parent.parent,
        arguments=arguments,
        profiles=profiles,
        nodes=nodes,
        profile_sets=profile_sets,
    )


def _parse_argument(name: Any, body: Any, where: str) -> ArgumentSpec:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise SpecError(f"{where}: argument name must be an identifier, got {name!r}")
    body = _mapping(body, where)
    _check_keys(body, _ARGUMENT_KEYS, where)
    kind = body.get("kind", "value")
    if kind not in _ARGUMENT_KINDS:
        raise SpecError(f"{where}: kind must be one of {list(_ARGUMENT_KINDS)}, got {kind!r}")
    default = None if body.get("default") is None else _scalar_text(body["default"], f"{where}.default")
    choices = None
    if "choices" in body:
        choices = tuple(_scalar_text(c, f"{where}.choices") for c in _sequence(body["choices"], where))
        if not choices:
            raise SpecError(f"{where}: 'choices' must not be empty")
        if default is not None and default not in choices:
            raise SpecError(f"{where}: default {default!r} is not one of the choices {list(choices)}")
    sets = _strings(body.get("sets", ()), f"{where}.sets")
    if sets and kind == "params_file":
        raise SpecError(f"{where}: a params_file argument cannot also 'sets' parameters")
    description = body.get("description", "")
    if not isinstance(description, str):
        raise SpecError(f"{where}.description must be a string")
    return ArgumentSpec(name, default, description, choices, sets, kind)


def _parse_node(body: Any, arguments: Mapping[str, ArgumentSpec], where: str) -> NodeSpec:
    body = _mapping(body, where)
    label = f"{where} ({body.get('name', '?')})"
    _check_keys(body, _NODE_KEYS, label)
    for key in ("name", "package", "executable"):
        if not isinstance(body.get(key), str) or not body[key]:
            raise SpecError(f"{label}: '{key}' is required and must be a non-empty string")
    if not _NAME_RE.match(body["name"]):
        raise SpecError(f"{label}: node name {body['name']!r} is not a valid ROS node name")
    flags = {key: body.get(key, False) for key in ("required", "ends_graph")}
    for key, value in flags.items():
        if not isinstance(value, bool):
            raise SpecError(f"{label}: '{key}' must be true or false, got {value!r}")
    return NodeSpec(
        name=body["name"],
        package=body["package"],
        executable=body["executable"],
        params=_strings(body.get("params", ()), f"{label}.params"),
        when=_parse_when(body.get("when") or {}, arguments, f"{label}.when"),
        required=flags["required"],
        ends_graph=flags["ends_graph"],
        remap=_string_pairs(body.get("remap") or {}, f"{label}.remap"),
        env=_string_pairs(body.get("env") or {}, f"{label}.env"),
    )


def _parse_when(
    raw: Any, arguments: Mapping[str, ArgumentSpec], where: str
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    conditions = []
    for name, values in _mapping(raw, where).items():
        arg = _known_argument(name, arguments, where)
        allowed = tuple(_scalar_text(v, f"{where}.{name}") for v in _listify(values))
        if not allowed:
            raise SpecError(f"{where}.{name}: list at least one value")
        _check_choices(arg, allowed, f"{where}.{name}")
        conditions.append((name, allowed))
    return tuple(conditions)


def _parse_profiles(
    raw: Any, arguments: Mapping[str, ArgumentSpec], where: str
) -> tuple[
    tuple[tuple[str, tuple[tuple[str, tuple[str, ...]], ...]], ...],
    tuple[tuple[str, str, tuple[tuple[str, Any], ...]], ...],
]:
    profiles = []
    profile_sets = []
    for name, by_value in _mapping(raw, where).items():
        arg = _known_argument(name, arguments, where)
        entries = []
        for value, body in _mapping(by_value, f"{where}.{name}").items():
            text = _scalar_text(value, f"{where}.{name}")
            _check_choices(arg, (text,), f"{where}.{name}")
            body = _mapping(body, f"{where}.{name}.{text}")
            _check_keys(body, _PROFILE_KEYS, f"{where}.{name}.{text}")
            entries.append((text, _strings(body.get("params", ()), f"{where}.{name}.{text}.params")))
            sets = _parameter_values(body.get("sets") or {}, f"{where}.{name}.{text}.sets")
            if sets:
                profile_sets.append((name, text, sets))
        profiles.append((name, tuple(entries)))
    return tuple(profiles), tuple(profile_sets)


def _parameter_values(raw: Any, where: str) -> tuple[tuple[str, Any], ...]:
    """``{NODE.param: value}`` with YAML-typed scalar (or list of scalars) values."""
    pairs = []
    for target, value in _mapping(raw, where).items():
        if not isinstance(target, str):
            raise SpecError(f"{where}: keys must be 'NODE.param' strings, got {target!r}")
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(v, (str, int, float, bool)) for v in items):
            raise SpecError(f"{where}.{target}: expected a scalar or a list of scalars, got {value!r}")
        pairs.append((target, value))
    return tuple(pairs)


def _check_unique_names(nodes: Sequence[NodeSpec], where: str) -> None:
    seen: set[str] = set()
    for node in nodes:
        if node.name in seen:
            raise SpecError(f"{where}: node name {node.name!r} is used twice")
        seen.add(node.name)


def _check_sets_targets(arguments: Iterable[ArgumentSpec], nodes: Sequence[NodeSpec], where: str) -> None:
    names = {n.name for n in nodes}
    for arg in arguments:
        for target in arg.sets:
            _check_target(target, names, f"{where}: arguments.{arg.name}.sets")


def _check_target(target: str, names: set[str], where: str) -> None:
    node, _, param = target.partition(".")
    if not param or (node != "*" and node not in names):
        raise SpecError(
            f"{where}: {target!r} must be 'NODE.param' or '*.param' with NODE one of {sorted(names)}"
        )


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
    for arg in spec.arguments:
        value = values.get(arg.name, arg.default)
        if value is None:
            raise ArgumentError(f"launch argument {arg.name!r} is required ({arg.description})")
        if arg.choices is not None and value not in arg.choices:
            raise ArgumentError(f"launch argument {arg.name!r}: {value!r} is not one of {list(arg.choices)}")
        resolved[arg.name] = value
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
        if not all(args[name] in allowed for name, allowed in node.when):
            continue
        own = [_spec_file(spec, rel, f"node '{node.name}' params") for rel in node.params]
        launches.append(
            NodeLaunch(
                name=node.name,
                package=node.package,
                executable=node.executable,
                params_files=(*profile_files, *own, *extra_files),
                parameter_overrides=_overrides_for(spec, node.name, args),
                remappings=node.remap,
                required=node.required,
                ends_graph=node.ends_graph,
                env=dict(node.env),
            )
        )
    return launches


def _profile_files(spec: GraphSpec, args: Mapping[str, str]) -> list[Path]:
    files = []
    for name, entries in spec.profiles:
        for value, params in entries:
            if args[name] == value:
                files += [_spec_file(spec, rel, f"profiles.{name}.{value}.params") for rel in params]
    return files


def _params_file_arguments(spec: GraphSpec, args: Mapping[str, str], cwd: Path) -> list[Path]:
    files = []
    for arg in spec.arguments:
        text = args[arg.name]
        if arg.kind != "params_file" or not text:
            continue
        path = Path(text).expanduser()
        path = (path if path.is_absolute() else cwd / path).resolve()
        if not path.is_file():
            raise ArgumentError(f"launch argument {arg.name!r}: parameter file not found: {path}")
        _check_params_yaml(path, f"launch argument {arg.name!r}", ArgumentError)
        files.append(path)
    return files


def _spec_file(spec: GraphSpec, rel: str, where: str) -> Path:
    path = (spec.root / rel).resolve()
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
    for arg in spec.arguments:
        for target in arg.sets:
            target_node, _, param = target.partition(".")
            if target_node in ("*", node):
                overrides[param] = yaml_value(args[arg.name])
    for name, value, sets in spec.profile_sets:
        if args[name] != value:
            continue
        for target, typed in sets:
            target_node, _, param = target.partition(".")
            if target_node in ("*", node):
                overrides[param] = typed
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


# --------------------------------------------------------------------------- small validators


def _mapping(value: Any, where: str) -> dict[Any, Any]:
    if not isinstance(value, dict):
        raise SpecError(f"{where}: expected a mapping, got {type(value).__name__}")
    return value


def _sequence(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise SpecError(f"{where}: expected a list, got {type(value).__name__}")
    return value


def _listify(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _check_keys(mapping: Mapping[Any, Any], allowed: frozenset[str], where: str) -> None:
    unknown = [k for k in mapping if k not in allowed]
    if unknown:
        raise SpecError(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")


def _scalar_text(value: Any, where: str) -> str:
    """Argument values are text on the command line; accept YAML scalars written unquoted."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise SpecError(f"{where}: expected a scalar, got {value!r}")


def _strings(value: Any, where: str) -> tuple[str, ...]:
    items = _listify(value) if not isinstance(value, tuple) else list(value)
    for item in items:
        if not isinstance(item, str) or not item:
            raise SpecError(f"{where}: expected non-empty strings, got {item!r}")
    return tuple(items)


def _string_pairs(value: Any, where: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for key, item in _mapping(value, where).items():
        if not isinstance(key, str) or not key:
            raise SpecError(f"{where}: keys must be non-empty strings, got {key!r}")
        pairs.append((key, _scalar_text(item, f"{where}.{key}")))
    return tuple(pairs)


def _known_argument(name: Any, arguments: Mapping[str, ArgumentSpec], where: str) -> ArgumentSpec:
    if name not in arguments:
        raise SpecError(f"{where}: unknown argument {name!r} (declared: {', '.join(arguments)})")
    return arguments[name]


def _check_choices(arg: ArgumentSpec, values: Iterable[str], where: str) -> None:
    if arg.choices is None:
        return
    for value in values:
        if value not in arg.choices:
            raise SpecError(
                f"{where}: {value!r} is not a choice of argument {arg.name!r} {list(arg.choices)}"
            )
