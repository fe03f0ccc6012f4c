"""The error every input check raises: a stable ``reason`` (counted on ``/diagnostics``) and a detail."""

from __future__ import annotations


class InputRejectedError(ValueError):
    """A message (or field) a node refuses; the node counts ``reason`` and keeps running."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
