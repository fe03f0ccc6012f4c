"""VLA ensemble benchmark: chunk latency and rate, shared-prefix ensemble vs K separate policy calls.

    ./salus exec python bench/vla_bench.py                                   # tiny preset on the CPU
    ./salus exec python bench/vla_bench.py --ks 1,5 --iters 5                # quicker
    python bench/vla_bench.py --preset smolvla-450m --device cuda --dtype bfloat16
    python bench/vla_bench.py --preset smolvla-450m --device cuda --dtype bfloat16 --compile default

For each K it times ``EnsembleSampler.sample`` (one VLM-prefix pass, K noise draws denoised as one batch)
and ``EnsembleSampler.sample_separately`` (K calls of lerobot's ``predict_action_chunk``), each from a raw
observation (two cameras, the joint state, the task) through the policy's pre- and post-processors, after
warm-up iterations, with the device synchronised around every timing. It also reports the backbone build,
random-init, checkpoint save and ``load_policy`` times, the peak GPU memory per K, and the control rate one
chunk per ``n_action_steps`` actions would allow, and the largest difference between the ensemble and the
separate calls for the same noise (same draws, so it should be ~0). Weights are random (performance only).
``--compile`` wraps SmolVLA's ``denoise_step`` (run ``num_steps`` times per chunk) in ``torch.compile``.
Prints a Markdown table with the machine and date.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import torch

from salus_vla.core.backbone import build_backbone
from salus_vla.core.ensemble import EnsembleSampler, make_observation
from salus_vla.core.param_count import count_parameters
from salus_vla.core.policy_factory import make_policy, make_smolvla_config
from salus_vla.core.policy_loader import load_policy, resolve_dtype
from salus_vla.core.presets import PRESETS, get_preset

Q_READY = np.array([0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785, 0.04, 0.04], dtype=np.float32)
TASK = "pick up the red cube and place it in the bin"


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device: torch.device, warmup: int, iters: int) -> tuple[list[float], list]:
    """Milliseconds of ``iters`` calls after ``warmup`` untimed ones (device synchronised around each call),
    and the timed calls' results."""
    for _ in range(warmup):
        fn()
    sync(device)
    times, outs = [], []
    for _ in range(iters):
        sync(device)
        t0 = time.perf_counter()
        outs.append(fn())
        sync(device)
        times.append((time.perf_counter() - t0) * 1e3)
    return times, outs


def spread(times: list[float]) -> str:
    """'median (min / p90)' of millisecond timings."""
    med, low, p90 = statistics.median(times), min(times), float(np.percentile(times, 90))
    return f"{med:.1f} ({low:.1f} / {p90:.1f})"


def machine(device: torch.device) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    text = f"{cpu}, {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}"
    if device.type == "cuda":
        text = f"{torch.cuda.get_device_name(device)} + {text}"
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--preset", default="tiny", choices=sorted(PRESETS), help="backbone preset")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    parser.add_argument(
        "--dtype", default="float32", help="VLM dtype: float32 or bfloat16 (expert stays fp32)"
    )
    parser.add_argument(
        "--compile",
        default="none",
        choices=("none", "default", "max-autotune-no-cudagraphs"),
        help="torch.compile mode for denoise_step (CUDA-graph modes fail: lerobot crops the KV cache in "
        "place, keeping views of outputs that the next graph replay overwrites)",
    )
    parser.add_argument("--ks", default="1,5,10,16", help="comma-separated ensemble sizes")
    parser.add_argument("--iters", type=int, default=10, help="timed iterations per measurement")
    parser.add_argument("--warmup", type=int, default=3, help="untimed iterations before each measurement")
    parser.add_argument("--camera-hw", default="224,224", help="camera frame size H,W (sim default 224x224)")
    parser.add_argument(
        "--backbone-dir", default=None, help="use/build the backbone here (default: a temp dir)"
    )
    parser.add_argument("--skip-separate", action="store_true", help="time only the shared-prefix ensemble")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("vla_bench: CUDA is not available here", file=sys.stderr)
        return 2
    preset = get_preset(args.preset)
    ks = [int(k) for k in args.ks.split(",") if k.strip()]
    h, w = (int(v) for v in args.camera_hw.split(","))
    vlm_dtype = resolve_dtype(args.dtype)

    with tempfile.TemporaryDirectory(prefix="vla_bench-") as tmp:
        setup: dict[str, float] = {}
        t0 = time.perf_counter()
        backbone = build_backbone(Path(args.backbone_dir or Path(tmp) / "backbone"), preset.name)
        setup["backbone build"] = time.perf_counter() - t0

        config = make_smolvla_config(backbone, device=device.type, camera_hw=(h, w))
        stats = {
            "observation.state": {"mean": torch.from_numpy(Q_READY), "std": torch.full((9,), 0.2)},
            "action": {"mean": torch.from_numpy(Q_READY), "std": torch.full((9,), 0.5)},
        }
        t0 = time.perf_counter()
        random_policy = make_policy(config, seed=0, dataset_stats=stats)
        sync(device)
        setup["random init"] = time.perf_counter() - t0
        ckpt = Path(tmp) / "checkpoint"
        t0 = time.perf_counter()
        random_policy.policy.save_pretrained(ckpt)
        random_policy.preprocessor.save_pretrained(ckpt)
        random_policy.postprocessor.save_pretrained(ckpt)
        setup["checkpoint save"] = time.perf_counter() - t0
        del random_policy
        if device.type == "cuda":
            torch.cuda.empty_cache()
        t0 = time.perf_counter()
        loaded = load_policy(ckpt, device=device, dtype=vlm_dtype)
        sync(device)
        setup["load_policy"] = time.perf_counter() - t0

        if args.compile != "none":
            # One compiled variant per ensemble size and cache layout (contiguous on the first flow step,
            # a cropped view afterwards): more than dynamo's default limit of 8 across all Ks.
            torch._dynamo.config.recompile_limit = 64
            model = loaded.policy.model
            model.denoise_step = torch.compile(model.denoise_step, mode=args.compile)

        rng = np.random.default_rng(0)
        frames = {c: rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for c in loaded.camera_names}
        obs = make_observation(frames, Q_READY + rng.normal(0, 0.05, 9).astype(np.float32), TASK)

        rows = []
        for k in ks:
            sampler = EnsembleSampler(loaded, k, seed=0)
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            t0 = time.perf_counter()
            sampler.sample(obs)  # first call (compilation, allocator growth), reported separately
            sync(device)
            first_ms = (time.perf_counter() - t0) * 1e3
            shared, chunks = timed(lambda s=sampler: s.sample(obs), device, args.warmup, args.iters)
            stages = {
                name: statistics.median(c.timing_ms[name] for c in chunks) for name in ("prefix", "denoise")
            }
            peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else float("nan")
            noise = sampler.draw_noise()
            diff = np.abs(
                sampler.sample(obs, noise=noise).samples - sampler.sample_separately(obs, noise)
            ).max()
            separate = []
            if not args.skip_separate:
                separate, _ = timed(
                    lambda s=sampler: s.sample_separately(obs), device, args.warmup, args.iters
                )
            rows.append((k, first_ms, shared, separate, peak, stages, float(diff)))

    import lerobot
    import transformers

    n_params = count_parameters(preset)["total"]
    n_steps = loaded.n_action_steps
    cfg = loaded.config
    versions = (
        f"torch {torch.__version__}, lerobot {lerobot.__version__}, transformers {transformers.__version__}"
    )
    print(
        f"## VLA ensemble benchmark: preset `{preset.name}` ({n_params / 1e6:.2f} M params), {date.today()}\n"
    )
    print(f"- machine: {machine(device)}; device `{device}`")
    print(f"- VLM dtype {args.dtype} (expert fp32); compile: {args.compile}; {versions}")
    print(
        f"- observation: {len(loaded.camera_names)} cameras {h}x{w} (resized to {preset.image_size} px), "
        f"state 9, task '{TASK}'; chunk {loaded.chunk_size} x 9, {cfg.num_steps} flow steps, "
        f"{cfg.num_vlm_layers} VLM layers"
    )
    print(f"- {args.iters} timed iterations after {args.warmup} warm-up; times in ms: median (min / p90)")
    print("- setup: " + ", ".join(f"{name} {sec:.2f} s" for name, sec in setup.items()) + "\n")
    header = (
        "K",
        "shared prefix",
        "chunks/s",
        "prefix / denoise (median)",
        "K separate calls",
        "speed-up",
        f"control Hz at {n_steps} actions/chunk",
        "peak GPU GiB",
        "first call",
        "max abs diff vs separate",
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for k, first_ms, shared, separate, peak, stages, diff in rows:
        med = statistics.median(shared)
        cells = [str(k), spread(shared), f"{1e3 / med:.1f}"]
        cells.append(f"{stages['prefix']:.1f} / {stages['denoise']:.1f}")
        if separate:
            sep_med = statistics.median(separate)
            cells += [spread(separate), f"{sep_med / med:.2f}x"]
        else:
            cells += ["-", "-"]
        cells += [f"{n_steps * 1e3 / med:.0f}", "-" if np.isnan(peak) else f"{peak:.2f}", f"{first_ms:.0f}"]
        cells.append(f"{diff:.1e}")
        print("| " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
