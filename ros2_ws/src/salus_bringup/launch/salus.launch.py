"""``ros2 launch`` front-end of the SALUS graph described by ``config/graph.yaml``.

Why a thin file: which nodes run, with which parameter files, overrides, remappings and environment, is
decided by ``salus_bringup.graph_spec`` for this file and for the pip-mode ``salus-launch`` alike,
so the two cannot drift. Needs a full ROS 2 install (launch, launch_ros) and the sourced workspace::

    source ros2_ws/install/setup.bash
    ros2 launch salus_bringup salus.launch.py episodes:=20 robot:=isaac
    ros2 launch salus_bringup salus.launch.py --show-args

The spec is the one installed beside this file (``share/salus_bringup/config/graph.yaml``); run from a
source checkout (``ros2 launch launch/salus.launch.py``) it is ``config/graph.yaml`` of the checkout.
Nothing from ``launch``/``launch_ros`` is imported at module level: the pure helpers below are unit-tested
where only the pip wheels exist. ``$SALUS_GRAPH_SPEC`` points at another spec file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from types import ModuleType

    from salus_bringup.graph_spec import GraphSpec, NodeLaunch

# share/salus_bringup/{launch,config} once installed; ros2_ws/src/salus_bringup/{launch,config} in a checkout.
SPEC_PATH = Path(__file__).resolve().parent.parent / "config" / "graph.yaml"


def graph_spec_module() -> ModuleType:
    """Import the shared spec logic from the sourced workspace, with a hint when it is not sourced."""
    try:
        from salus_bringup import graph_spec
    except ImportError as err:
        raise ImportError(
            "salus_bringup is not importable: build the workspace and `source ros2_ws/install/setup.bash`"
        ) from err
    return graph_spec


def spec_path() -> Path:
    """The spec this launch file reads: ``$SALUS_GRAPH_SPEC`` or ``config/graph.yaml`` of this repo."""
    return Path(os.environ.get("SALUS_GRAPH_SPEC") or SPEC_PATH)


def argument_declarations(spec: GraphSpec) -> list[dict[str, Any]]:
    """Keyword arguments of one ``DeclareLaunchArgument`` per spec argument (no default = required)."""
    declarations = []
    for name, arg in spec.arguments.items():
        kwargs: dict[str, Any] = {"name": name, "description": arg.description or name}
        if arg.default is not None:
            kwargs["default_value"] = arg.default
        if arg.choices is not None:
            kwargs["choices"] = list(arg.choices)
        declarations.append(kwargs)
    return declarations


def node_kwargs(node: NodeLaunch) -> dict[str, Any]:
    """Keyword arguments of ``launch_ros.actions.Node`` for one resolved node (``on_exit`` aside).

    Parameter files come first in application order, then one dict of overrides, as launch_ros applies
    its ``parameters`` list in order (the same order ``salus-launch`` passes on the command line).
    ``namespace="/"`` makes the node name fully specified, so launch_ros keys the overrides dict by
    ``/<name>`` instead of ``/**``; a ``/**`` entry would lose to the node-keyed entries of the params
    files (rcl ranks node-specific keys above wildcards whatever the order).
    """
    parameters: list[Any] = [str(path) for path in node.params_files]
    if node.parameter_overrides:
        parameters.append(dict(node.parameter_overrides))
    return {
        "package": node.package,
        "executable": node.executable,
        "name": node.name,
        "namespace": "/",
        "parameters": parameters,
        "remappings": [tuple(pair) for pair in node.remappings],
        "additional_env": dict(node.env) or None,
        "output": "screen",
    }


def exit_handler(node: NodeLaunch) -> Any:
    """``on_exit`` callable: log the exit and emit ``Shutdown`` when graph_spec says the graph ends.

    launch_ros calls it as ``on_exit(ProcessExited, LaunchContext)``; ``Shutdown`` stops every other
    node with SIGINT → SIGTERM → SIGKILL, like ``salus-launch`` does.
    """
    graph_spec = graph_spec_module()

    def on_exit(event: Any, context: Any) -> list[Any]:
        from launch.actions import LogInfo, Shutdown

        action, message = graph_spec.exit_action(node, event.returncode)
        if getattr(context, "is_shutdown", False):  # stopping anyway: no second "required" alarm
            code = graph_spec.describe_returncode(event.returncode)
            return [LogInfo(msg=f"node '{node.name}' exited with {code}")]
        if action is graph_spec.ExitAction.CONTINUE:
            return [LogInfo(msg=message)]
        return [LogInfo(msg=message), Shutdown(reason=message)]

    return on_exit


def launch_nodes(context: Any, spec: GraphSpec) -> list[Any]:
    """OpaqueFunction body: resolve the spec with the argument values, one ``Node`` action per node."""
    from launch.substitutions import LaunchConfiguration
    from launch_ros.actions import Node

    graph_spec = graph_spec_module()
    values = {name: LaunchConfiguration(name).perform(context) for name in spec.arguments}
    return [
        Node(**node_kwargs(node), on_exit=exit_handler(node)) for node in graph_spec.resolve(spec, values)
    ]


def generate_launch_description() -> Any:
    """Declare every spec argument, then start the nodes once their values are known."""
    from launch import LaunchDescription
    from launch.actions import DeclareLaunchArgument, OpaqueFunction

    spec = graph_spec_module().load_spec(spec_path())
    declared = [DeclareLaunchArgument(**kwargs) for kwargs in argument_declarations(spec)]
    return LaunchDescription([*declared, OpaqueFunction(function=launch_nodes, args=[spec])])
