# Source this file to enter the SALUS environment: the repo's venv (ROS 2 wheels as ament prefix) plus
# the built workspace overlay. `./salus` does it for every command; source it yourself for a shell:
#   source scripts/env.sh
# shellcheck shell=bash
SALUS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export SALUS_ROOT
export VIRTUAL_ENV="$SALUS_ROOT/.venv"
export PATH="$VIRTUAL_ENV/bin:$PATH"
# The ROS 2 wheels install an ament prefix into the venv itself.
export AMENT_PREFIX_PATH="$VIRTUAL_ENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
export CMAKE_PREFIX_PATH="$VIRTUAL_ENV${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
export RMW_IMPLEMENTATION="${RMW_IMPLEMENTATION:-rmw_fastrtps_cpp}"
# A fresh graph is private to this machine: DDS discovery stays on localhost unless the user says otherwise
# (ROS_AUTOMATIC_DISCOVERY_RANGE=SUBNET to reach a robot or Isaac Sim on another host; docs/ROBOTS.md).
export ROS_AUTOMATIC_DISCOVERY_RANGE="${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}"
# Headless rendering: EGL (Mesa) by default; osmesa also works where libosmesa6 is installed.
export MUJOCO_GL="${MUJOCO_GL:-egl}"
export PYOPENGL_PLATFORM="${PYOPENGL_PLATFORM:-$MUJOCO_GL}"
if [ -f "$SALUS_ROOT/ros2_ws/install/setup.bash" ]; then
  # colcon's setup scripts read unset variables; relax nounset while sourcing them.
  _salus_nounset=$(set +o | grep nounset)
  set +u
  # shellcheck disable=SC1091
  source "$SALUS_ROOT/ros2_ws/install/setup.bash"
  eval "$_salus_nounset"
  unset _salus_nounset
  # ament_python puts console scripts in lib/<package>; the user-facing SALUS commands go on PATH.
  for _salus_pkg in salus_bringup salus_data salus_monitor salus_vla; do
    export PATH="$SALUS_ROOT/ros2_ws/install/$_salus_pkg/lib/$_salus_pkg:$PATH"
  done
  unset _salus_pkg
fi
