"""salus-eval-filter: the action filter's closed-loop evaluation — the same seeds with the filter off
(``filter:=watchdog``), on (``filter:=manifold``) and as a stop-on-alert baseline (``filter:=stop``).

Each condition is one resumable ``salus-collect`` run (the real graph, recorded as bags) into
``OUT/<condition>/bags``; then the manifests (outcomes, the nodes' episode reports) and the bags'
``/salus/intervention`` messages give the numbers of :mod:`salus_data.filter_metrics`, written as
``OUT/report.md`` (+ ``results.json``, PNG plots and a few episode videos with the interventions drawn).

Usage::

    salus-eval-filter --out runs/filter_eval --episodes 40 --seed 90000 --workers 2
    salus-eval-filter --out runs/filter_eval --report-only          # re-read what is recorded
    salus-eval-filter --out runs/filter_rt --episodes 8 --timing realtime   # the real-time figure beside

``--timing sync`` (the default) steps the sim with the graph, so the figures do not depend on the machine's
speed; ``realtime`` is how a user runs the stack: label the two apart.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from salus_data.bag_reader import BagReadError, read_episodes
from salus_data.collect import read_manifest
from salus_data.filter_metrics import CONDITIONS, FAILURE_TYPES, ConditionSummary, EpisodeResult, summarize

NS = 1e9
DEFAULT_SCENARIOS = [
    "none",
    "push",
    "action_noise",
    "friction+mass",
    "obstacle",
    "gripper_fault",
    "action_delay+action_noise",
    "push+action_noise",
]


def collect_condition(opts: argparse.Namespace, condition: str, domain_id: int) -> int:
    """One condition's episodes through ``salus-collect`` (resumes what is already recorded)."""
    command = [
        sys.executable, "-m", "salus_data.collect",
        "--bag-dir", str(opts.out / condition / "bags"),
        "--episodes", str(opts.episodes), "--seed", str(opts.seed),
        "--inject", *opts.inject, "--block-size", str(opts.block_size), "--workers", str(opts.workers),
        "--domain-id", str(domain_id),
        "--graph-arg", f"filter:={CONDITIONS[condition]}", "--graph-arg", f"timing:={opts.timing}",
    ]  # fmt: skip
    for arg in opts.graph_arg:
        command += ["--graph-arg", arg]
    if opts.no_progress:
        command.append("--no-progress")
    print(f"salus-eval-filter: condition {condition} (filter:={CONDITIONS[condition]})", flush=True)
    return subprocess.call(command)


def load_condition(out: Path, condition: str) -> list[EpisodeResult]:
    """The recorded episodes of one condition: the manifest's outcome and reports, the bag's
    interventions (a bag that cannot be read is reported and left out)."""
    bag_dir = out / condition / "bags"
    results = []
    for seed, record in sorted(read_manifest(bag_dir / "manifest.jsonl").items()):
        replaced: tuple[float, ...] = ()
        held: tuple[float, ...] = ()
        try:
            episodes = read_episodes(bag_dir / record["bag"], images="none")
        except (BagReadError, FileNotFoundError) as err:
            print(f"salus-eval-filter: {condition} seed {seed}: {err} (left out)", file=sys.stderr)
            continue
        if episodes:
            episode = episodes[0]
            start = episode.info.start_ns
            replaced = tuple((episode.interventions.stamps_of("manifold") - start) / NS)
            held = tuple((episode.interventions.stamps_of("hold") - start) / NS)
        onset = record.get("failure_onset_s")
        results.append(
            EpisodeResult(
                seed=seed,
                condition=condition,
                outcome=record["outcome"],
                scenario=record.get("scenario", ""),
                onset_s=None if onset is None else float(onset),
                replaced_s=replaced,
                held_s=held,
                reports={k: record.get(k, {}) for k in ("policy_timing", "monitor", "action_filter")},
            )
        )
    return results


# --------------------------------------------------------------------------- report
def _pct(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{100 * value:.1f} %"


def report_markdown(
    summaries: dict[str, ConditionSummary], opts: argparse.Namespace, videos: list[str]
) -> str:
    order = [c for c in CONDITIONS if c in summaries]
    n = summaries[order[0]].episodes if order else 0
    lines = [
        "# Action filter: closed-loop evaluation",
        "",
        f"Seeds {opts.seed}..{opts.seed + opts.episodes - 1} (the {n} every condition ran), scenarios "
        f"{' '.join(opts.inject)} in blocks of {opts.block_size}, timing `{opts.timing}`"
        + (" (lockstep: the sim waits for each command)" if opts.timing == "sync" else " (real time)")
        + f", extra graph arguments: {' '.join(opts.graph_arg) or 'none'}.",
        "Conditions: " + ", ".join(f"**{c}** = `filter:={CONDITIONS[c]}`" for c in order) + ".",
        f"Rerun: `salus-eval-filter --out {opts.out} --episodes {opts.episodes} --seed {opts.seed} "
        f"--timing {opts.timing}` (resumes; `--report-only` re-reads).",
        "",
        "| | " + " | ".join(order) + " |",
        "|---|" + "---|" * len(order),
    ]

    def row(label: str, values: list[str]) -> None:
        lines.append(f"| {label} | " + " | ".join(values) + " |")

    s = [summaries[c] for c in order]
    row("episodes", [str(x.episodes) for x in s])
    row("success rate", [_pct(x.success_rate) for x in s])
    row("failure rate", [_pct(x.failure_rate) for x in s])
    for t in FAILURE_TYPES:
        row(f"  {t}", [_pct(x.failure_rate_by_type[t]) for x in s])
    row("relative failure reduction (goal ≥ 50 %)", [_pct(x.relative_failure_reduction) for x in s])
    row("false-intervention rate (goal ≤ 5 %)", [_pct(x.false_intervention_rate) for x in s])
    row(f"safe yield, {opts.horizon:g} s (goal ≥ 80 %)", [_pct(x.safe_yield) for x in s])
    row("episodes with an intervention", [str(x.intervened_episodes) for x in s])
    row("replaced / held steps", [f"{x.replaced_steps} / {x.held_steps}" for x in s])
    row(
        "rescued / broken seeds (vs off)",
        [f"{x.rescued} / {x.broken}" if x.condition != "off" else "" for x in s],
    )
    for key in ("vla_chunk", "predictor", "filter_decision"):
        row(
            f"{key} latency p50 / p99 [ms]",
            [
                f"{x.latency_ms[key][0]:.2f} / {x.latency_ms[key][1]:.2f}" if key in x.latency_ms else "n/a"
                for x in s
            ],
        )
    lines += [
        "",
        "Definitions: failure rate = share of episodes not ending in success; relative failure reduction ="
        " 1 − failures(condition) / failures(off) on the same seeds; false-intervention rate = of the seeds"
        " that succeed with the filter off, the share with any intervention (a replaced action or a hold);"
        f" safe yield = of the replaced actions, the share not followed by a failure onset within"
        f" {opts.horizon:g} s; latency = median over episodes of each episode's p50, and the worst"
        " episode's p99 (the nodes' own /diagnostics reports).",
        "",
        "![outcomes](outcomes.png)",
        "",
    ]
    if videos:
        lines += ["Episode videos (front camera, risk grid, interventions): " + ", ".join(videos), ""]
    return "\n".join(lines)


def plot_outcomes(summaries: dict[str, ConditionSummary], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = [c for c in CONDITIONS if c in summaries]
    fig, ax = plt.subplots(figsize=(6, 3.4))
    bottom = [0.0] * len(order)
    colours = {"success": "#3a9d4a", "collision": "#c0392b", "drop": "#e67e22", "timeout": "#7f8c8d"}
    for outcome in ("success", *FAILURE_TYPES):
        values = [
            summaries[c].success_rate if outcome == "success" else summaries[c].failure_rate_by_type[outcome]
            for c in order
        ]
        ax.bar(order, values, bottom=bottom, label=outcome, color=colours.get(outcome, "#8e44ad"))
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set(ylabel="share of episodes", ylim=(0, 1), title="outcomes by condition (same seeds)")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1, 1))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_videos(out: Path, results: list[EpisodeResult], count: int) -> list[str]:
    """Videos of the 'on' runs with the most replaced actions (rescued seeds first)."""
    from salus_data.episode_video import write_timeline, write_video

    off = {r.seed: r for r in results if r.condition == "off"}
    on = [r for r in results if r.condition == "on" and r.replaced_s]
    on.sort(key=lambda r: (not (r.seed in off and off[r.seed].failed and not r.failed), -len(r.replaced_s)))
    written = []
    (out / "videos").mkdir(exist_ok=True)
    for r in on[:count]:
        bag = out / "on" / "bags" / f"seed{r.seed:06d}"
        try:
            episode = read_episodes(bag, cameras=["front"])[0]
        except (BagReadError, IndexError) as err:
            print(f"salus-eval-filter: no video of seed {r.seed}: {err}", file=sys.stderr)
            continue
        name = f"videos/on_seed{r.seed:06d}"
        write_video(episode, "front", out / f"{name}.mp4")
        write_timeline(episode, out / f"{name}_risk.png")
        written.append(f"[{name}.mp4]({name}.mp4) ({r.outcome}, {len(r.replaced_s)} replaced)")
    return written


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="salus-eval-filter", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True, help="folder of the runs and the report")
    parser.add_argument("--episodes", type=int, default=40, help="seeds per condition (default 40)")
    parser.add_argument("--seed", type=int, default=90000, help="first seed (default 90000: held out)")
    parser.add_argument("--inject", nargs="+", default=DEFAULT_SCENARIOS, help="scenarios (salus-collect)")
    parser.add_argument("--block-size", type=int, default=5, help="seeds per scenario block (default 5)")
    parser.add_argument("--workers", type=int, default=1, help="graphs at once per condition (default 1)")
    parser.add_argument("--timing", choices=("sync", "realtime"), default="sync", help="graph timing")
    parser.add_argument("--conditions", nargs="+", choices=tuple(CONDITIONS), default=list(CONDITIONS))
    parser.add_argument("--graph-arg", action="append", default=[], metavar="NAME:=VALUE")
    parser.add_argument("--horizon", type=float, default=0.5, help="safe-yield horizon [s] (default 0.5)")
    parser.add_argument("--videos", type=int, default=3, help="episode videos of the 'on' runs (default 3)")
    parser.add_argument("--domain-id", type=int, default=40, help="first ROS_DOMAIN_ID (default 40)")
    parser.add_argument("--report-only", action="store_true", help="no new episodes: report what is recorded")
    parser.add_argument("--no-progress", action="store_true", help="one line per episode")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    opts = build_parser().parse_args(argv)
    if opts.episodes < 1 or opts.workers < 1 or opts.block_size < 1 or opts.horizon <= 0:
        print(
            "salus-eval-filter: error: --episodes, --workers, --block-size >= 1, --horizon > 0",
            file=sys.stderr,
        )
        return 2
    opts.out = opts.out.expanduser().resolve()
    opts.out.mkdir(parents=True, exist_ok=True)
    if not opts.report_only:
        for i, condition in enumerate(opts.conditions):
            code = collect_condition(opts, condition, opts.domain_id + i * opts.workers)
            if code != 0:
                print(
                    f"salus-eval-filter: condition {condition}: salus-collect exited {code}", file=sys.stderr
                )
                return code
    results = [r for c in opts.conditions for r in load_condition(opts.out, c)]
    summaries = summarize(results, opts.horizon)
    if not summaries:
        print(f"salus-eval-filter: error: nothing recorded under {opts.out}", file=sys.stderr)
        return 1
    plot_outcomes(summaries, opts.out / "outcomes.png")
    videos = write_videos(opts.out, results, opts.videos) if opts.videos else []
    report = report_markdown(summaries, opts, videos)
    (opts.out / "report.md").write_text(report)
    (opts.out / "results.json").write_text(
        json.dumps(
            {
                "summaries": {c: asdict(s) for c, s in summaries.items()},
                "episodes": [asdict(r) for r in results],
            },
            indent=1,
        )
    )
    print(report)
    print(f"\nreport: {opts.out / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
