"""run_node: a stop that lands while a callback runs exits 0; a real callback failure exits 1 with its reason.

The stop race is made deterministic: the callback shuts the context down from another thread (as rclpy's
signal handler does on Ctrl-C) and then publishes, which the invalidated handle refuses.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.ros

NODE = textwrap.dedent(
    """
    import threading
    import sys
    from rclpy.node import Node
    from std_msgs.msg import String
    from salus_common.node_runner import run_node

    MODE = sys.argv[1]

    class Ticking(Node):
        def __init__(self):
            super().__init__("ticking")
            self.pub = self.create_publisher(String, "/ticking", 10)
            self.create_timer(0.05, self.tick)

        def tick(self):
            if MODE == "stop":
                stopper = threading.Thread(target=self.context.try_shutdown)
                stopper.start()
                stopper.join()
                self.pub.publish(String(data="after the stop"))
            else:
                raise RuntimeError("the model file vanished")

    run_node(Ticking)
    """
)


def run(mode: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", NODE, mode],
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ.copy(),
    )


def test_a_stop_during_a_callback_is_a_clean_exit():
    result = run("stop")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "stopped during a callback" in result.stderr


def test_a_failing_callback_fails_the_process_naming_the_error():
    result = run("fail")
    assert result.returncode == 1, result.stderr
    assert "[ticking] fatal: RuntimeError: the model file vanished" in result.stderr
