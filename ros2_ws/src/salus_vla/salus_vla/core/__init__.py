"""ROS-free logic of salus_vla.

``presets`` (backbone sizes), ``backbone`` (building and reading a local SmolVLM folder), ``param_count``
(policy size from a preset), ``policy_loader``
(checkpoints and their processors), ``policy_factory`` (SmolVLA config and random-init policy), ``ensemble``
(the shared-prefix K-sample ensemble), ``signals`` (the 12 signals), ``controller`` (per-step control).
"""
