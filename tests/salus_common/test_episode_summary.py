import math

from salus_common.episode_summary import EpisodeRecord, format_episode_line, format_summary


def record(outcome: str, duration: float, onset: float = math.nan) -> EpisodeRecord:
    return EpisodeRecord("ep", 3, outcome, duration, onset, ("cube_pose",), 1.0)


def test_summary_counts_shares_and_success_rate():
    table = format_summary([record("success", 8.0), record("success", 10.0), record("drop", 5.0, 4.2)])
    rows = [line.split() for line in table.splitlines()]
    lines = {row[0]: row for row in rows if len(row) == 4 and row[0].isalpha()}
    assert lines["success"][1:] == ["2", "66.7%", "9.00"]
    assert lines["drop"][1:] == ["1", "33.3%", "5.00"]
    assert lines["collision"][1:] == ["0", "0.0%", "-"]
    assert table.splitlines()[-1] == "success rate 2/3 = 66.7%"


def test_episode_line_shows_onset_only_for_failures():
    assert "onset" not in format_episode_line(1, 2, record("success", 8.0))
    assert "onset  4.20 s" in format_episode_line(2, 2, record("drop", 5.0, 4.2))


def test_json_record_turns_nan_onset_into_null():
    assert record("success", 1.0).to_json_dict()["failure_onset_s"] is None


def watched(outcome: str, onset: float, first_alert: str) -> EpisodeRecord:
    return EpisodeRecord(
        "ep", 3, outcome, 9.0, onset, (), 1.0, monitor={"first_alert_s": first_alert, "latency_p99_ms": "0.4"}
    )


def test_alert_relative_to_the_onset_in_each_episode_line():
    assert "alert at 3.0 s (1.2 s before onset)" in format_episode_line(1, 1, watched("drop", 4.2, "3.000"))
    assert "no alert (missed)" in format_episode_line(1, 1, watched("drop", 4.2, ""))
    assert "late, 0.8 s after onset" in format_episode_line(1, 1, watched("drop", 4.2, "5.000"))
    assert "(false alarm)" in format_episode_line(1, 1, watched("success", math.nan, "2.000"))
    assert "alert" not in format_episode_line(1, 1, record("success", 8.0))  # no predictor ran


def test_summary_line_of_the_predictor():
    records = [
        watched("drop", 4.2, "3.000"),
        watched("collision", 2.0, ""),
        watched("success", math.nan, "1.000"),
        watched("success", math.nan, ""),
    ]
    line = format_summary(records).splitlines()[-1]
    assert line.startswith("predictor: alerted before the onset in 1/2 failed episodes, median lead 1.2 s")
    assert "false alarms in 1/2 successes" in line
    assert "predictor" not in format_summary([record("success", 8.0)])


def test_the_action_filter_in_each_episode_line_and_the_summary():
    def filtered(vla: int, hold: int, holds: int) -> EpisodeRecord:
        report = {"mode": "watchdog", "steps_vla": str(vla), "steps_manifold": "0", "steps_hold": str(hold)}
        report |= {"steps_holds_started": str(holds), "steps_limited": "2", "rejected_inputs": "1"}
        return EpisodeRecord("ep", 3, "success", 9.0, math.nan, (), 1.0, action_filter=report)

    assert "filter: 90 forwarded, 0 replaced, 4 held" in format_episode_line(1, 1, filtered(90, 4, 1))
    line = format_summary([filtered(90, 4, 1), filtered(95, 0, 0)]).splitlines()[-1]
    assert line == (
        "filter (watchdog): 185 steps forwarded, 0 replaced, 4 held (1 holds in 1/2 episodes), 4 limited, "
        "2 inputs rejected"
    )
    assert "filter" not in format_summary([record("success", 8.0)])
