"""StdoutObserver: one readable line per lifecycle event, for people watching a terminal.

    Run 3 started (lightgbm, command train) -> runs/3
    Run 3 completed in 1.2 s, result: 0.53
    Run 3 failed after 0.4 s: ValueError: bad input

Heartbeats and metrics print nothing. The observer has a low priority, so it runs after the
observers that assign the run id and receives that id.
"""
from __future__ import annotations

import os
import sys
from datetime import datetime
from typing import Any, Iterable, TextIO

from expt.events import RunObserver

DEFAULT_STDOUT_PRIORITY = -100
_MAX_RESULT = 80  # characters of the result's repr shown


def format_duration(seconds: float) -> str:
    """``0.4 s``, ``12.0 s``, ``2 min 05 s``, ``1 h 02 min``."""
    if round(seconds, 1) < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _short(value: Any) -> str:
    if hasattr(value, "dtype") and hasattr(value, "tolist"):  # numpy: 0.53, not np.float64(0.53)
        value = value.tolist()
    text = repr(value)
    return text if len(text) <= _MAX_RESULT else text[:_MAX_RESULT - 3] + "..."


def _error_line(fail_trace: list[str]) -> str:
    """The last non-empty line of a traceback: ``ValueError: ...``."""
    lines = "".join(fail_trace or ()).strip().splitlines()
    return lines[-1].strip() if lines else "unknown error"


class StdoutObserver(RunObserver):
    """Print one line per event to `stream` (standard error when None).

    `targets`: observers whose run folder (their ``dir`` attribute, set by
    FileStorageObserver) is shown after "started", e.g. ``-> runs/3``.
    """

    def __init__(self, stream: TextIO | None = None, *, targets: Iterable[object] = (),
                 priority: int = DEFAULT_STDOUT_PRIORITY):
        self.stream = stream
        self.targets = list(targets)
        self.priority = priority
        self.run_id: Any = None
        self.start_time: datetime | None = None

    def _print(self, text: str) -> None:
        stream = self.stream if self.stream is not None else sys.stderr
        print(text, file=stream, flush=True)

    def _name(self) -> str:
        return "Run" if self.run_id is None else f"Run {self.run_id}"

    def _elapsed(self, end: Any) -> str:
        try:
            return format_duration((end - self.start_time).total_seconds())
        except TypeError:  # no start time, or naive and aware datetimes mixed
            return "?"

    def _begin(self, verb: str, ex_info: dict, command: str, time: Any, _id: Any) -> None:
        self.run_id, self.start_time = _id, time
        line = f"{self._name()} {verb} ({ex_info.get('name', '?')}, command {command})"
        folders = [os.fspath(d) for d in (getattr(t, "dir", None) for t in self.targets) if d]
        if folders:
            line += " -> " + ", ".join(folders)
        self._print(line)

    def queued_event(self, ex_info: dict, command: str, queue_time: datetime, _id: Any) -> None:
        """``Run 4 queued (name, command main)``."""
        self._begin("queued", ex_info, command, queue_time, _id)

    def started_event(self, ex_info: dict, command: str, start_time: datetime,
                      _id: Any) -> None:
        """``Run 3 started (name, command main) -> runs/3``."""
        self._begin("started", ex_info, command, start_time, _id)

    def completed_event(self, stop_time: datetime, result: Any) -> None:
        """``Run 3 completed in 1.2 s, result: 0.53``."""
        line = f"{self._name()} completed in {self._elapsed(stop_time)}"
        if result is not None:
            line += f", result: {_short(result)}"
        self._print(line)

    def failed_event(self, fail_time: datetime, fail_trace: list[str]) -> None:
        """``Run 3 failed after 0.4 s: ValueError: ...``."""
        self._print(f"{self._name()} failed after {self._elapsed(fail_time)}: "
                    f"{_error_line(fail_trace)}")

    def interrupted_event(self, interrupt_time: datetime, status: str) -> None:
        """``Run 3 interrupted after 5.0 s (INTERRUPTED)``."""
        self._print(f"{self._name()} interrupted after {self._elapsed(interrupt_time)} "
                    f"({status})")

    def artifact_event(self, name: str, filename: str) -> None:
        """``Run 3 added artifact model.txt``."""
        self._print(f"{self._name()} added artifact {name}")

    def resource_event(self, filename: str) -> None:
        """``Run 3 read resource data.csv``."""
        self._print(f"{self._name()} read resource {filename}")
