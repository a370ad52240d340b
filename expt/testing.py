"""Helpers for testing experiments: an observer that records every event it receives."""
from __future__ import annotations

import copy
from typing import Any

from .events import EVENT_NAMES


class RecordingObserver:
    """Keeps each event as ``(name, kwargs)`` in ``events``; returns ``run_id`` on start.

    >>> obs = RecordingObserver()
    >>> ex.observers.append(obs); ex.run()
    >>> obs.names()  # ['started_event', 'heartbeat_event', 'completed_event', 'join']
    """

    priority = 0

    def __init__(self, run_id: Any = None):
        self.run_id = run_id
        self.events: list[tuple[str, dict]] = []

    def names(self) -> list[str]:
        """Event names in the order received."""
        return [name for name, _ in self.events]

    def last(self, name: str) -> dict:
        """The arguments of the last event called `name`."""
        for event, kwargs in reversed(self.events):
            if event == name:
                return kwargs
        raise KeyError(f"No {name} was received; received: {self.names()}")

    def metrics(self) -> dict[str, dict[str, list]]:
        """Every metric point received, merged across log_metrics calls."""
        merged: dict[str, dict[str, list]] = {}
        for name, kwargs in self.events:
            if name == "log_metrics":
                for metric, series in kwargs["metrics_by_name"].items():
                    target = merged.setdefault(metric, {"steps": [], "values": [], "timestamps": []})
                    for key in target:
                        target[key].extend(series[key])
        return merged

    def output(self) -> str:
        """All output received through heartbeats' ``output_delta``."""
        return "".join(kwargs.get("output_delta", "") for name, kwargs in self.events
                       if name == "heartbeat_event")


def _recorder(event: str):
    def record(self, **kwargs: Any) -> Any:
        self.events.append((event, copy.deepcopy(kwargs)))
        if event in ("started_event", "queued_event"):
            return self.run_id
        return None
    record.__name__ = event
    return record


for _event in EVENT_NAMES:
    setattr(RecordingObserver, _event, _recorder(_event))
