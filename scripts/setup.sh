#!/usr/bin/env bash
# Idempotent set-up: Python 3.12 venv in .venv, pinned requirements, the ROS 2 workspace built with colcon
# against the venv's ament prefix. A second run checks two fingerprints and returns in about a second.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

find_python312() {
  # pyenv's shim may exist without resolving to 3.12, so check that each candidate really runs.
  local candidates=(python3.12)
  if command -v pyenv >/dev/null 2>&1; then
    candidates+=("$(pyenv root)"/versions/3.12*/bin/python3.12)
  fi
  candidates+=("$HOME"/.pyenv/versions/3.12*/bin/python3.12 /usr/bin/python3.12 /usr/local/bin/python3.12)
  local c
  for c in "${candidates[@]}"; do
    if "$c" -c 'import sys, venv; assert sys.version_info[:2] == (3, 12)' >/dev/null 2>&1; then
      command -v "$c" 2>/dev/null || echo "$c"
      return 0
    fi
  done
  return 1
}

fingerprint() { sha256sum "$@" | sha256sum | cut -c1-16; }

# 1. venv -------------------------------------------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  py=$(find_python312) || die "Python 3.12 not found (tried python3.12 on PATH and pyenv's versions). \
Install it (Ubuntu 24.04: apt install python3.12-venv; elsewhere: pyenv install 3.12) and rerun."
  say "creating .venv with $py"
  "$py" -m venv "$VENV"
fi

# 2. requirements ------------------------------------------------------------------------------------------
req_stamp="$VENV/.salus-requirements"
req_fp=$(fingerprint requirements.txt)
if [ "$(cat "$req_stamp" 2>/dev/null)" != "$req_fp" ]; then
  say "installing requirements.txt into .venv (first time: a few minutes, ~6 GB with CUDA torch)"
  # This workplace's pip config lists local index folders that may not exist; hide only those warnings.
  "$VENV/bin/python" -m pip install --quiet --upgrade pip 2>&1 | { grep -v "^WARNING: Location '" || true; }
  "$VENV/bin/python" -m pip install --quiet -r requirements.txt 2>&1 | { grep -v "^WARNING: Location '" || true; }
  echo "$req_fp" > "$req_stamp"
fi

# 3. headless rendering libraries ----------------------------------------------------------------------------
if ! ldconfig -p | grep -q 'libEGL.so.1'; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing EGL/Mesa for headless MuJoCo rendering"
    apt-get update -qq && apt-get install -y -qq libegl1 libgl1 libgl1-mesa-dri >/dev/null
  else
    die "libEGL.so.1 is missing: install libegl1 and Mesa (apt install libegl1 libgl1-mesa-dri)"
  fi
fi

# 4. workspace -----------------------------------------------------------------------------------------------
build_stamp="$ROOT/ros2_ws/install/.salus-build"
# --symlink-install links Python packages to their sources, so only build-relevant files need a rebuild.
src_fp=$(cd "$ROOT" && find ros2_ws/src ros2_ws/cmake -type f \( -name package.xml -o -name setup.py \
  -o -name setup.cfg -o -name CMakeLists.txt -o -name '*.msg' -o -name '*.srv' -o -name '*.cmake' \
  -o -path '*/resource/*' \) | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)
if [ "$(cat "$build_stamp" 2>/dev/null)" != "$src_fp-$req_fp" ]; then
  say "building ros2_ws with colcon"
  # shellcheck disable=SC1091
  (
    export AMENT_PREFIX_PATH="$VENV" CMAKE_PREFIX_PATH="$VENV" PATH="$VENV/bin:$PATH" VIRTUAL_ENV="$VENV"
    cd ros2_ws
    colcon --log-base log build --symlink-install \
      --event-handlers console_cohesion- summary+ status- \
      --cmake-args -DCMAKE_PROJECT_INCLUDE="$ROOT/ros2_ws/cmake/drop_missing_wheel_includes.cmake" \
        -DPython3_EXECUTABLE="$VENV/bin/python" -DBUILD_TESTING=OFF
  ) || die "colcon build failed; see ros2_ws/log/latest_build"
  echo "$src_fp-$req_fp" > "$build_stamp"
fi
say "ready (source scripts/env.sh for a shell in this environment)"
