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
