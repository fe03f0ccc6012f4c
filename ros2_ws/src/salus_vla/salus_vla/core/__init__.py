"""ROS-free logic of salus_vla: backbone building, policy loading, the shared-prefix ensemble, signals."""
