"""Recording SALUS episodes (docs/RECORDING.md).

Live LeRobot v3.0 demonstrations: ``frame_sync`` (stamp matching), ``session`` (episodes, what is kept) and
``lerobot_writer`` (crash-safe writer) are pure Python (no rclpy); the node ``lerobot_recorder_node`` and the
command ``record_demos`` wire them to the graph. The other modules document themselves.
"""
