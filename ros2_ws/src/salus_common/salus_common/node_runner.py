"""The standard ``main`` of every SALUS node: init, build, spin, and a plain message on start-up failure."""

from __future__ import annotations

import sys
from collections.abc import Callable

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node


def run_node(
    factory: Callable[[], Node],
    args: list[str] | None = None,
    work: Callable[[Node], int] | None = None,
) -> None:
    """Init rclpy, build the node, then spin until Ctrl-C (or run ``work(node)`` and exit with its code).

    A node that cannot start (bad parameters, missing model files) exits 1 with a clear message, so
    launchers see a failed required node instead of a traceback.

    Stopping is not failing: rclpy's signal handler shuts the context down from its own thread, which
    invalidates the node's handles under a callback that may still be running (a publish then raises
    ``InvalidHandle``). An exception raised once the context is shut down is therefore part of the stop
    and exits 0; one raised while the context is up is a real failure and exits 1.
    """
    rclpy.init(args=args)
    node: Node | None = None
    name = getattr(factory, "__name__", "node")
    exit_code = 0
    try:
        node = factory()
        name = node.get_name()
        if work is None:
            rclpy.spin(node)
        else:
            exit_code = work(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception as err:  # start-up or callback failure: report it plainly and fail the process
        if node is not None and not node.context.ok():
            print(f"[{name}] stopped during a callback ({type(err).__name__})", file=sys.stderr, flush=True)
        else:
            print(f"[{name}] fatal: {type(err).__name__}: {err}", file=sys.stderr, flush=True)
            exit_code = 1
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    sys.exit(exit_code)
