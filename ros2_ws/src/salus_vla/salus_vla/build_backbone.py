"""salus-build-backbone: write a local SmolVLM backbone folder so SmolVLA builds with no hub access.

Usage::

    salus-build-backbone OUT_DIR [--preset tiny|small|smolvla-450m] [--overwrite]
    salus-build-backbone --list

    salus-build-backbone models/backbone-tiny                         # CI / CPU (~1 M parameter policy)
    salus-build-backbone models/backbone-small --preset small         # GPU training from scratch
    salus-build-backbone models/backbone-450m --preset smolvla-450m   # real SmolVLA size, timing only

The folder holds a SmolVLMConfig, a locally trained byte-level BPE tokenizer with SmolVLM's special tokens,
and the processor files; point ``SmolVLAConfig.vlm_model_name`` at it with ``load_vlm_weights=False``
(``salus_vla.core.policy_factory.make_smolvla_config`` does this). Building again into the same folder is a
no-op (same bytes). Exit status: 0 built or already up to date, 2 bad arguments or a folder that holds
something else.
"""

from __future__ import annotations

import argparse
import sys

from salus_vla.core.backbone import build_backbone, folder_digest
from salus_vla.core.param_count import count_parameters
from salus_vla.core.presets import PRESETS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="salus-build-backbone",
        description="Write a local SmolVLM backbone folder for SmolVLA (no Hugging Face hub needed).",
        epilog="Presets: " + "; ".join(f"{p.name}: {p.description}" for p in PRESETS.values()),
    )
    parser.add_argument("out_dir", nargs="?", help="folder to write (created if missing)")
    parser.add_argument(
        "--preset", default="tiny", choices=sorted(PRESETS), help="backbone size (default: tiny)"
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace a folder built here for another preset"
    )
    parser.add_argument("--list", action="store_true", help="list the presets with parameter counts and exit")
    args = parser.parse_args(argv)

    if args.list:
        for p in PRESETS.values():
            total = count_parameters(p)["total"]
            print(f"{p.name:14s} {total / 1e6:8.2f} M policy parameters  {p.description}")
        return 0
    if not args.out_dir:
        parser.print_usage(sys.stderr)
        print("salus-build-backbone: error: OUT_DIR is required (or --list)", file=sys.stderr)
        return 2
    try:
        out = build_backbone(args.out_dir, args.preset, overwrite=args.overwrite)
    except (FileExistsError, ValueError) as e:
        print(f"salus-build-backbone: error: {e}", file=sys.stderr)
        return 2
    total = count_parameters(args.preset)["total"]
    digest = folder_digest(out)[:16]
    print(f"{out}: preset {args.preset}, {total / 1e6:.2f} M policy parameters, digest {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
