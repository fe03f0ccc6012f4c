"""Per-episode records and the summary table the main job prints; plain data, no ROS."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass, field

OUTCOMES = ("success", "collision", "drop", "timeout", "other")


@dataclass(frozen=True)
class EpisodeRecord:
    episode_id: str
    seed: int
    outcome: str
    duration_s: float
    failure_onset_s: float  # NaN for successes
    perturbations: tuple[str, ...]
    wall_s: float
    perturbation_params: dict = field(default_factory=dict)  # every sampled value, as the sim reported it
    policy_timing: dict = field(default_factory=dict)  # the VLA node's final diagnostics of the episode
    monitor: dict = field(default_factory=dict)  # the failure predictor's final diagnostics (first alert)
    action_filter: dict = field(default_factory=dict)  # the action filter's final diagnostics (by source)

    @property
    def first_alert_s(self) -> float:
        """When the predictor first alerted [s since the start], NaN if it did not (or did not run)."""
        value = self.monitor.get("first_alert_s", "")
        return float(value) if value else math.nan

    def to_json_dict(self) -> dict:
        record = asdict(self)
        record["perturbations"] = list(self.perturbations)
        record["failure_onset_s"] = None if math.isnan(self.failure_onset_s) else self.failure_onset_s
        return record


def format_episode_line(index: int, total: int, record: EpisodeRecord) -> str:
    onset = "" if math.isnan(record.failure_onset_s) else f"  onset {record.failure_onset_s:5.2f} s"
    injected = ",".join(record.perturbations) or "none"
    timing = record.policy_timing
    policy = (
        f"  missed ticks {timing['missed_ticks']}, chunk p50/p99 {timing['chunk_latency_p50_ms']}/"
        f"{timing['chunk_latency_p99_ms']} ms"
        if timing
        else ""
    )
    return (
        f"episode {index:>3}/{total}  seed {record.seed:<6} {record.outcome:<9} "
        f"{record.duration_s:6.2f} s sim  {record.wall_s:6.1f} s wall{onset}  [{injected}]{policy}"
        f"{format_alert(record)}{format_filter(record)}"
    )


def format_filter(record: EpisodeRecord) -> str:
    """What the action filter did in one episode ('' when none ran)."""
    f = record.action_filter
    if not f:
        return ""
    forwarded, replaced, held = (f.get(f"steps_{k}", 0) for k in ("vla", "manifold", "hold"))
    return f"  filter: {forwarded} forwarded, {replaced} replaced, {held} held"


def format_filter_summary(records: list[EpisodeRecord]) -> str | None:
    """One line on the action filter over the episodes (None when none ran)."""
    filtered = [r.action_filter for r in records if r.action_filter]
    if not filtered:
        return None

    def total(key: str) -> int:
        return sum(int(f.get(key, 0)) for f in filtered)

    held_in = sum(int(f.get("steps_holds_started", 0)) > 0 for f in filtered)
    return (
        f"filter ({filtered[0].get('mode', '?')}): {total('steps_vla')} steps forwarded, "
        f"{total('steps_manifold')} replaced, {total('steps_hold')} held "
        f"({total('steps_holds_started')} holds in {held_in}/{len(filtered)} episodes), "
        f"{total('steps_limited')} limited, "
        f"{total('rejected_inputs')} inputs rejected"
    )


def format_alert(record: EpisodeRecord) -> str:
    """The predictor's verdict on one episode, relative to the onset ('' when no predictor ran)."""
    if not record.monitor:
        return ""
    alert = record.first_alert_s
    failed = not math.isnan(record.failure_onset_s)
    if math.isnan(alert):
        return "  no alert" + (" (missed)" if failed else "")
    if not failed:
        return f"  alert at {alert:.1f} s (false alarm)"
    lead = record.failure_onset_s - alert
    return (
        f"  alert at {alert:.1f} s ({lead:.1f} s before onset)"
        if lead > 0
        else f"  alert at {alert:.1f} s (late, {-lead:.1f} s after onset)"
    )


def format_monitor(records: list[EpisodeRecord]) -> str | None:
    """One line on the predictor's alerts over the episodes (None when no predictor ran)."""
    watched = [r for r in records if r.monitor]
    if not watched:
        return None
    failed = [r for r in watched if not math.isnan(r.failure_onset_s)]
    succeeded = [r for r in watched if math.isnan(r.failure_onset_s)]
    leads = sorted(r.failure_onset_s - r.first_alert_s for r in failed if r.first_alert_s < r.failure_onset_s)
    false_alarms = sum(not math.isnan(r.first_alert_s) for r in succeeded)
    median = f", median lead {leads[len(leads) // 2]:.1f} s" if leads else ""
    p99 = max(float(r.monitor.get("latency_p99_ms", "nan")) for r in watched)
    return (
        f"predictor: alerted before the onset in {len(leads)}/{len(failed)} failed episodes{median}; "
        f"false alarms in {false_alarms}/{len(succeeded)} successes; latency p99 {p99:.2f} ms (worst episode)"
    )


def format_policy_timing(records: list[EpisodeRecord]) -> str | None:
    """One line on the VLA's timing over the episodes that report it (None when no VLA ran)."""
    timed = [r.policy_timing for r in records if r.policy_timing]
    if not timed:
        return None

    def total(key: str) -> int:
        return sum(int(t.get(key, 0)) for t in timed)

    p50 = sorted(float(t["chunk_latency_p50_ms"]) for t in timed)[len(timed) // 2]
    p99 = max(float(t["chunk_latency_p99_ms"]) for t in timed)
    return (
        f"policy ({timed[0].get('mode', '?')}): missed ticks {total('missed_ticks')} "
        f"in {len(timed)} episodes "
        f"(max {max(int(t['missed_ticks']) for t in timed)} per episode), chunk latency p50 {p50:.0f} ms "
        f"(median episode), p99 {p99:.0f} ms (worst episode), dropped chunks {total('dropped_chunks')}, "
        f"non-finite actions {total('non_finite_actions')}, limited targets {total('limited_targets')}"
    )


def format_summary(records: list[EpisodeRecord]) -> str:
    """A fixed-width table: count, share and mean duration per outcome, then the success rate."""
    total = len(records)
    counts = Counter(r.outcome for r in records)
    lines = [
        f"{'outcome':<10} {'episodes':>8} {'share':>7} {'mean sim s':>11}",
        "-" * 39,
    ]
    for outcome in OUTCOMES:
        durations = [r.duration_s for r in records if r.outcome == outcome]
        mean = f"{sum(durations) / len(durations):.2f}" if durations else "-"
        share = f"{100.0 * counts[outcome] / total:.1f}%" if total else "-"
        lines.append(f"{outcome:<10} {counts[outcome]:>8} {share:>7} {mean:>11}")
    lines.append("-" * 39)
    rate = 100.0 * counts["success"] / total if total else 0.0
    lines.append(f"success rate {counts['success']}/{total} = {rate:.1f}%")
    if timing := format_policy_timing(records):
        lines.append(timing)
    if monitor := format_monitor(records):
        lines.append(monitor)
    if filtered := format_filter_summary(records):
        lines.append(filtered)
    return "\n".join(lines)
