"""ChunkSchedule: when chunks are asked for, which action each step takes, what late chunks cost."""

from __future__ import annotations

import numpy as np
import pytest

from salus_vla.core.chunk_schedule import ChunkSchedule, ScheduleConfig, TimedChunk
from salus_vla.core.ensemble import EnsembleChunk

CHUNK, DIM = 8, 2


def chunk_from(start: int, offset: float = 0.0, latency_ms: float = 100.0) -> TimedChunk:
    """A chunk whose action i is (start + i + offset) in every dimension, K = 2 identical samples."""
    mean = (np.arange(CHUNK, dtype=np.float64)[:, None] + start + offset).repeat(DIM, axis=1)
    samples = np.stack([mean, mean])
    chunk = EnsembleChunk(
        samples=samples,
        mean=mean,
        std=np.zeros_like(mean),
        attention_entropy=np.zeros(1),
        prefix_hidden=np.zeros((1, 4)),
    )
    return TimedChunk(chunk, start, start * 100_000_000, latency_ms)


def test_the_next_chunk_is_asked_for_lookahead_actions_early():
    schedule = ChunkSchedule(ScheduleConfig(n_action_steps=4, chunk_size=CHUNK, lookahead=2))
    assert schedule.wants_chunk(0)
    schedule.accept(chunk_from(0), 0)
    assert [schedule.wants_chunk(t) for t in range(4)] == [False, False, True, True]


def test_a_late_chunk_skips_the_actions_already_past_and_no_tick_is_missed():
    schedule = ChunkSchedule(ScheduleConfig(n_action_steps=4, chunk_size=CHUNK, lookahead=2))
    schedule.accept(chunk_from(0), 0)
    actions = [schedule.action(t).action[0] for t in range(3)]
    late = chunk_from(2, offset=100.0)  # requested at step 2, arrives at step 5
    actions += [schedule.action(t).action[0] for t in (3, 4)]  # the old chunk goes on meanwhile
    assert schedule.accept(late, 5)
    step5 = schedule.action(5)
    assert (step5.index, step5.source is late, step5.action[0]) == (3, True, 105.0)
    assert actions == [0.0, 1.0, 2.0, 3.0, 4.0] and schedule.stats.missed_ticks == 0
    assert schedule.stats.latencies_ms == [100.0, 100.0]


def test_ticks_beyond_the_last_chunk_are_missed_and_stale_chunks_dropped():
    schedule = ChunkSchedule(ScheduleConfig(n_action_steps=4, chunk_size=CHUNK, max_age_steps=3))
    schedule.accept(chunk_from(0), 0)
    assert schedule.action(CHUNK - 1) is not None
    assert schedule.action(CHUNK) is None and schedule.stats.missed_ticks == 1
    assert not schedule.accept(chunk_from(4), 8)  # 4 steps old, more than max_age_steps
    assert (schedule.stats.dropped_chunks, schedule.stats.chunks) == (1, 1)


def test_blending_cross_fades_from_the_old_chunk_to_the_new():
    schedule = ChunkSchedule(ScheduleConfig(n_action_steps=4, chunk_size=CHUNK, lookahead=1, blend_steps=3))
    schedule.accept(chunk_from(0), 0)
    schedule.accept(chunk_from(3, offset=8.0), 4)
    got = [schedule.action(t).action[0] for t in (4, 5, 6, 7, 8)]
    old, new = np.array([4.0, 5.0, 6.0]), np.array([12.0, 13.0, 14.0])
    weights = np.array([1, 2, 3]) / 4
    np.testing.assert_allclose(got[:3], (1 - weights) * old + weights * new)
    assert got[3:] == [15.0, 16.0]  # blending over: the new chunk alone


@pytest.mark.parametrize(
    ("settings", "match"),
    [
        ({"n_action_steps": 9}, "n_action_steps"),
        ({"lookahead": 4}, "lookahead"),
        ({"blend_steps": -1}, ">= 0"),
    ],
)
def test_bad_settings_are_refused(settings, match):
    with pytest.raises(ValueError, match=match):
        ScheduleConfig(**{"n_action_steps": 4, "chunk_size": CHUNK, **settings})
