#!/usr/bin/env bash
# Record SALUS episodes through the real graph (salus-collect: sim, VLA ensemble, runner and bag recorder as
# separate processes over DDS, timing:=sync) on a GPU machine that has Python 3.12 and torch but no ROS and
# no network: the ROS 2 wheels, lerobot & co. come as wheel folders, the colcon workspace built on the
# development machine comes with them (same x86-64, same Python). The graph runs in sync mode so the
# episodes do not depend on the machine's speed; the VLA runs on CUDA.
#
#   bash bench/collect_gpu.sh venv WHEELDIR...      # .venv at /work/main/.venv (a link to this checkout)
#   bash bench/collect_gpu.sh collect OUT EPISODES WORKERS SCENARIO...   # bags in /tmp/bags, resumable
#   bash bench/collect_gpu.sh export OUT            # bags -> Zarr without images, tarred into OUT (parts)
#
# Why /work/main: the workspace's setup files and entry points hold the absolute paths of the checkout
# they were built in; a link there makes them valid on the GPU machine too.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo="$PWD"
if [ "$repo" != /work/main ]; then
  mkdir -p /work
  [ -L /work/main ] || [ -e /work/main ] || ln -s "$repo" /work/main
fi
cd /work/main

case "${1:-}" in
  venv)
    shift
    if [ ! -x .venv/bin/python ]; then
      python3 -m venv .venv
      # torch, numpy & co. of the machine's image, behind the wheels installed into the venv
      python3 -c 'import site; print(site.getsitepackages()[0])' > .venv/lib/python3.12/site-packages/zz_image.pth
    fi
    for dir in "$@"; do
      .venv/bin/python -m pip install -q --no-index --no-deps --no-compile --no-cache-dir "$dir"/*.whl
    done
    .venv/bin/python -c "import torch, mujoco; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'mujoco', mujoco.__version__)"
    ;;
  collect)
    out="$2"; episodes="$3"; workers="$4"; shift 4
    for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
    export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
    set +u; source scripts/env.sh; set -u
    export PYTHONUNBUFFERED=1
    mkdir -p "$out"
    # Eight graphs importing torch at once start slowly: give the runner time to find the sim and recorder.
    printf 'episode_runner:\n  ros__parameters:\n    service_wait_s: 400.0\n    recorder_wait_s: 400.0\n' > /tmp/wait.yaml
    salus-collect --bag-dir /tmp/bags --episodes "$episodes" --seed 20000 --inject "$@" --workers "$workers" \
      --real-time-factor 4 --graph-arg timing:=sync --graph-arg device:=cuda --domain-id 10 --no-progress \
      --params-file /tmp/wait.yaml \
      2>&1 | tee -a "$out/collect.log" | grep -v "^episode" | tail -40 || true
    ;;
  export)
    out="$2"; mkdir -p "$out"
    set +u; source scripts/env.sh; set -u
    rm -rf /tmp/vla.zarr
    salus-bag2zarr /tmp/bags -o /tmp/vla.zarr --no-images --workers 8 2>&1 | tail -3
    cp /tmp/bags/manifest.jsonl "$out/"
    # files come back at most 16 MiB each: the store's tarball in 15 MiB parts (cat vla_zarr.tgz.* | tar -xz)
    tar -czf - -C /tmp vla.zarr | split -b 15m -d -a 1 - "$out/vla_zarr.tgz."
    # a few whole bags (videos, inspection): the first of each outcome
    python3 - "$out" <<'PY'
import json, sys, shutil, tarfile, pathlib
out = pathlib.Path(sys.argv[1]); seen = {}
for line in open("/tmp/bags/manifest.jsonl"):
    d = json.loads(line)
    seen.setdefault(d["outcome"], d["bag"])
with tarfile.open(out / "sample_bags.tgz", "w:gz") as tar:
    for bag in seen.values():
        p = pathlib.Path("/tmp/bags") / pathlib.Path(bag).name
        tar.add(p, arcname=p.name)
print("sample bags:", seen)
PY
    ls -la "$out"
    ;;
  *) sed -n 2,13p "$0"; exit 2 ;;
esac
