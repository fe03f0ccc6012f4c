import numpy as np
import pytest

from salus_common.names import FAILURE_TYPES, HORIZONS_S, SIGNAL_NAMES
from salus_common.rejection import InputRejectedError
from salus_common.risk_colors import risk_rgba
from salus_monitor.core.risk_grid import grid_cells, header_positions
from salus_monitor.core.signal_check import LatencyWindow, check_stamp, checked_signals


@pytest.mark.parametrize(
    ("names", "values", "reason"),
    [
        (SIGNAL_NAMES, [0.1] * 11, "wrong_length"),
        (SIGNAL_NAMES, [0.1] * 11 + [float("nan")], "non_finite"),
        (SIGNAL_NAMES, [0.1] * 11 + [float("inf")], "non_finite"),
        (("x",) * 12, [0.1] * 12, "names_mismatch"),
    ],
)
def test_malformed_signals_are_rejected_with_a_reason(names, values, reason):
    with pytest.raises(InputRejectedError) as err:
        checked_signals(names, values, SIGNAL_NAMES)
    assert err.value.reason == reason


def test_good_signals_pass_and_empty_names_are_accepted():
    row = checked_signals([], np.arange(12.0), SIGNAL_NAMES)
    assert row.tolist() == list(range(12))


def test_stale_and_future_stamps():
    check_stamp(1_000, newest_ns=1_200, now_ns=1_300, max_age_ns=500)
    with pytest.raises(InputRejectedError, match="stale"):
        check_stamp(100, newest_ns=1_000, now_ns=1_000, max_age_ns=500)
    with pytest.raises(InputRejectedError, match="future_stamp"):
        check_stamp(5_000, newest_ns=None, now_ns=1_000, max_age_ns=500)


def test_latency_window_percentiles():
    window = LatencyWindow()
    for v in range(1, 101):
        window.add(v / 1000)
    assert window.percentile_ms(50) == pytest.approx(50.5)
    assert np.isnan(LatencyWindow().percentile_ms(99))


def test_grid_cells_layout_and_colours():
    probs = np.zeros((len(HORIZONS_S), len(FAILURE_TYPES)))
    probs[0, 1] = 1.0
    cells = grid_cells(probs, HORIZONS_S, FAILURE_TYPES)
    assert len(cells) == 16 and len({c.position for c in cells}) == 16
    hot = next(c for c in cells if (c.row, c.col) == (0, 1))
    assert hot.rgba[:2] == (1.0, 0.0) and hot.text == "1.00"
    assert risk_rgba(0.0)[:2] == (0.0, 1.0)
    top_row = {c.position[2] for c in cells if c.row == 0}
    assert len(top_row) == 1 and top_row.pop() > cells[-1].position[2]  # shortest horizon on top
    assert [label for label, _ in header_positions(HORIZONS_S, FAILURE_TYPES)][:4] == list(FAILURE_TYPES)
    with pytest.raises(ValueError):
        grid_cells(np.zeros((2, 2)), HORIZONS_S, FAILURE_TYPES)
