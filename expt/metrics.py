"""The in-memory buffer behind ``log_scalar``: cheap appends, drained by the heartbeat."""
from __future__ import annotations

from collections import deque
from datetime import datetime, timezone
from time import time
from typing import Any


class MetricsBuffer:
    """Collects (name, step, value, time) points; thread-safe between one writer and a drainer."""

    def __init__(self) -> None:
        self._points: deque = deque()
        self._next_step: dict[str, int] = {}

    def log_scalar(self, name: str, value: Any, step: int | None = None) -> None:
        """Record `value` for metric `name`; `step` defaults to the metric's previous step + 1."""
        if step is None:
            step = self._next_step.get(name, 0)
        self._next_step[name] = step + 1
        self._points.append((name, step, value, time()))

    def drain(self) -> dict[str, dict[str, list]]:
        """The points logged since the last drain, as Sacred's ``metrics_by_name``."""
        by_name: dict[str, dict[str, list]] = {}
        popleft = self._points.popleft
        for _ in range(len(self._points)):  # deque.popleft is atomic: appends may go on
            name, step, value, stamp = popleft()
            series = by_name.get(name)
            if series is None:
                series = by_name[name] = {"steps": [], "values": [], "timestamps": []}
            series["steps"].append(_number(step))  # steps from np.arange are numpy ints
            series["values"].append(_number(value))
            series["timestamps"].append(
                datetime.fromtimestamp(stamp, timezone.utc).replace(tzinfo=None))
        return by_name

    def __len__(self) -> int:
        return len(self._points)


def _number(value: Any) -> Any:
    """numpy scalars and 0-d arrays as Python numbers; other values unchanged."""
    item = getattr(value, "item", None)
    if item is not None and getattr(value, "ndim", 0) == 0:
        return item()
    return value
