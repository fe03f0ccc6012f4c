"""The closed-loop numbers of the action filter: the same seeds run with the filter off, on, and as a
stop-on-alert baseline. Pure logic over per-episode results (from ``salus-collect`` manifests and the bags'
``/salus/intervention`` messages), free of ROS, so it is tested on hand-made episodes.

Definitions (docs/MONITOR.md repeats them beside the report):

* **failure rate**: share of episodes whose outcome is not ``success``; per type the same for each type;
* **relative failure reduction** of a condition: ``1 - failure_rate(condition) / failure_rate(off)``;
* **false-intervention rate**: of the seeds that succeed with the filter off, the share whose run under
  the condition had at least one intervention (a replaced action, or a hold);
* **safe yield**: of the replaced actions (manifold candidates chosen), the share not followed by a
  failure onset within ``horizon_s`` (the predictor's longest horizon, 0.5 s);
* **latency**: per node, the median over episodes of each episode's p50 and the worst episode's p99.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from statistics import median

from salus_common.episode_summary import OUTCOMES

# condition name -> the graph's filter:= argument
CONDITIONS: dict[str, str] = {"off": "watchdog", "on": "manifold", "stop": "stop"}
FAILURE_TYPES = tuple(o for o in OUTCOMES if o != "success")
# (report key, node report, p50 field, p99 field)
LATENCY_FIELDS = (
    ("vla_chunk", "policy_timing", "chunk_latency_p50_ms", "chunk_latency_p99_ms"),
    ("predictor", "monitor", "latency_p50_ms", "latency_p99_ms"),
    ("filter_decision", "action_filter", "decision_latency_p50_ms", "decision_latency_p99_ms"),
)


@dataclass(frozen=True)
class EpisodeResult:
    """One seed under one condition."""

    seed: int
    condition: str
    outcome: str
    scenario: str = ""
    onset_s: float | None = None  # seconds since the start; None for successes
    replaced_s: tuple[float, ...] = ()  # times of the filter's replaced actions [s since the start]
    held_s: tuple[float, ...] = ()  # times of its holds
    reports: dict = field(default_factory=dict)  # the nodes' episode reports (manifest record)

    @property
    def failed(self) -> bool:
        return self.outcome != "success"

    @property
    def intervened(self) -> bool:
        return bool(self.replaced_s or self.held_s)


@dataclass(frozen=True)
class ConditionSummary:
    condition: str
    episodes: int
    success_rate: float
    failure_rate: float
    failure_rate_by_type: dict[str, float]
    intervened_episodes: int
    replaced_steps: int
    held_steps: int
    relative_failure_reduction: float  # NaN for off, or when off has no failures
    false_intervention_rate: float  # NaN for off, or when no seed succeeds with the filter off
    safe_yield: float  # NaN without replaced actions
    rescued: int  # seeds failing with the filter off and succeeding here
    broken: int  # seeds succeeding with the filter off and failing here
    latency_ms: dict[str, tuple[float, float]]  # node -> (median p50, worst p99)


def rate(count: int, total: int) -> float:
    return count / total if total else math.nan


def safe_yield(results: Iterable[EpisodeResult], horizon_s: float) -> float:
    """Share of replaced actions not followed by a failure onset within ``horizon_s``."""
    safe = total = 0
    for r in results:
        for t in r.replaced_s:
            total += 1
            unsafe = r.onset_s is not None and 0.0 <= r.onset_s - t <= horizon_s
            safe += not unsafe
    return rate(safe, total)


def latency(results: Sequence[EpisodeResult]) -> dict[str, tuple[float, float]]:
    out: dict[str, tuple[float, float]] = {}
    for key, report, p50_field, p99_field in LATENCY_FIELDS:
        p50 = [_number(r.reports.get(report, {}).get(p50_field)) for r in results]
        p99 = [_number(r.reports.get(report, {}).get(p99_field)) for r in results]
        p50 = [v for v in p50 if math.isfinite(v)]
        p99 = [v for v in p99 if math.isfinite(v)]
        if p50 and p99:
            out[key] = (median(p50), max(p99))
    return out


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def summarize(results: Sequence[EpisodeResult], horizon_s: float = 0.5) -> dict[str, ConditionSummary]:
    """Per condition, on the seeds every condition ran (a paired comparison)."""
    by_condition: dict[str, dict[int, EpisodeResult]] = {}
    for r in results:
        by_condition.setdefault(r.condition, {})[r.seed] = r
    if not by_condition:
        return {}
    common = set.intersection(*(set(runs) for runs in by_condition.values()))
    baseline = by_condition.get("off")
    summaries: dict[str, ConditionSummary] = {}
    for condition, runs in by_condition.items():
        rows = [runs[s] for s in sorted(common)]
        n = len(rows)
        failures = sum(r.failed for r in rows)
        by_type = {t: rate(sum(r.outcome == t for r in rows), n) for t in FAILURE_TYPES}
        reduction = false_rate = math.nan
        rescued = broken = 0
        if baseline is not None and condition != "off":
            base_rows = [baseline[s] for s in sorted(common)]
            base_failures = sum(r.failed for r in base_rows)
            if base_failures:
                reduction = 1.0 - failures / base_failures
            base_successes = [s for s in sorted(common) if not baseline[s].failed]
            false_rate = rate(sum(runs[s].intervened for s in base_successes), len(base_successes))
            rescued = sum(baseline[s].failed and not runs[s].failed for s in common)
            broken = sum(not baseline[s].failed and runs[s].failed for s in common)
        summaries[condition] = ConditionSummary(
            condition=condition,
            episodes=n,
            success_rate=rate(n - failures, n),
            failure_rate=rate(failures, n),
            failure_rate_by_type=by_type,
            intervened_episodes=sum(r.intervened for r in rows),
            replaced_steps=sum(len(r.replaced_s) for r in rows),
            held_steps=sum(len(r.held_s) for r in rows),
            relative_failure_reduction=reduction,
            false_intervention_rate=false_rate,
            safe_yield=safe_yield(rows, horizon_s),
            rescued=rescued,
            broken=broken,
            latency_ms=latency(rows),
        )
    return summaries
