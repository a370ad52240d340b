"""The in-memory buffer behind ``log_scalar``: cheap appends, drained by the heartbeat.

Timestamps are naive UTC datetimes with millisecond resolution (what MongoDB stores): points
logged within the same millisecond share one datetime object, which makes draining a million
points about ten times cheaper than converting each time stamp.
"""
from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta
from time import time
from typing import Any


_EPOCH = datetime(1970, 1, 1)


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
        last_ms, when = None, None
        for _ in range(len(self._points)):  # deque.popleft is atomic: appends may go on
            name, step, value, stamp = popleft()
            ms = int(stamp * 1000)
            if ms != last_ms:
                last_ms, when = ms, _EPOCH + timedelta(milliseconds=ms)
            series = by_name.get(name)
            if series is None:
                series = by_name[name] = {"steps": [], "values": [], "timestamps": []}
            series["steps"].append(_number(step))  # steps from np.arange are numpy ints
            series["values"].append(_number(value))
            series["timestamps"].append(when)
        return by_name

    def __len__(self) -> int:
        return len(self._points)


def _number(value: Any) -> Any:
    """numpy scalars and 0-d arrays as Python numbers; other values unchanged."""
    item = getattr(value, "item", None)
    if item is not None and getattr(value, "ndim", 0) == 0:
        return item()
    return value
