"""The one way SALUS nodes build their /diagnostics status: OK, or WARN with the problem named, and the
node's counters as key/value strings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue


def diagnostic_array(
    name: str, values: Mapping[str, str], problem: str | None, stamp: Any, hardware_id: str = ""
) -> DiagnosticArray:
    """A DiagnosticArray with one status: WARN and ``problem`` as its message, or OK."""
    status = DiagnosticStatus(
        level=DiagnosticStatus.WARN if problem else DiagnosticStatus.OK,
        name=name,
        message=problem or "ok",
        hardware_id=hardware_id,
        values=[KeyValue(key=k, value=v) for k, v in values.items()],
    )
    array = DiagnosticArray(status=[status])
    array.header.stamp = stamp
    return array
