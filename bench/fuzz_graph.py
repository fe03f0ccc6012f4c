"""Fuzz every subscriber of the graph with N randomized malformed messages per topic (default 10 000), over
DDS, against the real nodes (sim, action filter in manifold mode, failure predictor, risk markers); prints
per node whether it survived, its rejection counters, and whether any command left the joint range.

    ./salus exec python bench/fuzz_graph.py [--per-topic 10000 --seed 0]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.integration.fuzz_harness import run_fuzz  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--per-topic", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = run_fuzz(Path(tmp), args.per_topic, args.seed)
    print(f"sent {sum(result.sent.values())} messages in {result.seconds:.1f} s: {dict(result.sent)}")
    for name, alive in result.alive.items():
        counters = {
            k: v for k, v in result.diagnostics.get(name, {}).items() if "reject" in k or "withheld" in k
        }
        state = "alive" if alive else "DEAD"
        print(f"  {name}: {state}, exit {result.exit_codes[name]}, {json.dumps(counters)}")
    print(f"filter outputs: {result.interventions}, outside the joint range: {result.outside_limits}")
    ok = all(result.alive.values()) and result.outside_limits == 0
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
