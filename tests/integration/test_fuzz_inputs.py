"""CI-sized fuzzing of the graph's subscribers (200 randomized malformed messages per topic; the run of
10 000 per subscriber is bench/fuzz_graph.py): no node crashes, rejections are counted on /diagnostics, and
the action filter never commands the robot outside its joint range."""

from __future__ import annotations

from tests.integration.fuzz_harness import run_fuzz
from tests.integration.graph_harness import require_workspace


def test_malformed_messages_on_every_input_crash_nothing(tmp_path):
    require_workspace()
    result = run_fuzz(tmp_path, per_topic=200, seed=0)
    assert all(result.alive.values()), {n: result.logs[n] for n, ok in result.alive.items() if not ok}
    assert set(result.exit_codes.values()) == {0}, result.exit_codes
    assert min(result.sent.values()) == 200 and len(result.sent) == 7
    d = result.diagnostics
    assert int(d["salus_sim"]["rejected_commands"]) > 0
    assert int(d["action_filter"]["rejected_inputs"]) > 0
    assert int(d["failure_predictor"]["withheld"]) > 0
    assert int(d["risk_markers"]["rejected"]) > 0
    assert result.interventions >= 40 and result.outside_limits == 0  # 40 extreme commands, then holds
    assert int(d["action_filter"]["steps_manifold"]) > 0 and int(d["action_filter"]["steps_vla"]) > 0
