"""The observer contract: one method per lifecycle event, with Sacred's names and arguments.

Events are sent as keyword arguments, and each observer method receives only the arguments it
names (a method with ``**kwargs`` receives all), so arguments added later never break an
observer written for an older contract -- Sacred observers included.

Order of events for one run::

    queued_event (only for --queue)  or  started_event
    heartbeat_event / log_metrics / artifact_event / resource_event   (any number, any order)
    completed_event | failed_event | interrupted_event                (exactly one)
    join

Payloads:
- ``ex_info``: ``{name, base_dir, sources: [[path, md5]], dependencies: ["pkg==ver"],
  repositories: [{url, commit, dirty}], mainfile}``
- ``host_info``: ``{hostname, os, python_version, cpu, ...}``
- ``meta_info``: ``{command, options, comment?, ...}``
- ``metrics_by_name``: ``{name: {"steps": [...], "values": [...], "timestamps": [...]}}``, only
  the points logged since the previous call.
- ``heartbeat_event``: ``captured_out`` is the whole (filtered) output so far, as in Sacred;
  ``output_delta`` is only what was added since the previous heartbeat.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from .errors import ObserverError, did_you_mean, suggest
from .parameters import parameters_of

QUEUED, RUNNING, COMPLETED, FAILED, INTERRUPTED = (
    "QUEUED", "RUNNING", "COMPLETED", "FAILED", "INTERRUPTED")
FINAL_STATUSES = (COMPLETED, FAILED, INTERRUPTED)

EVENT_NAMES = (
    "queued_event", "started_event", "heartbeat_event", "completed_event", "interrupted_event",
    "failed_event", "resource_event", "artifact_event", "log_metrics", "join",
)
FINAL_EVENTS = ("completed_event", "interrupted_event", "failed_event")


class RunObserver:
    """Base class for observers; every method is optional and does nothing here.

    ``priority``: observers with a higher priority receive each event first.
    ``started_event`` may return an id; the first non-None id becomes the run's id.
    """

    priority = 0

    def queued_event(self, ex_info: dict, command: str, host_info: dict, queue_time: datetime,
                     config: dict, meta_info: dict, _id: Any) -> Any:
        """The run was recorded without being started (``--queue``)."""

    def started_event(self, ex_info: dict, command: str, host_info: dict, start_time: datetime,
                      config: dict, meta_info: dict, _id: Any) -> Any:
        """The run starts; return its id if this observer assigns one."""

    def heartbeat_event(self, info: dict, captured_out: str, beat_time: datetime,
                        result: Any) -> None:
        """Periodic update (and one last update before the final event)."""

    def completed_event(self, stop_time: datetime, result: Any) -> None:
        """The main function returned ``result``."""

    def interrupted_event(self, interrupt_time: datetime, status: str) -> None:
        """The run was stopped by KeyboardInterrupt or a signal."""

    def failed_event(self, fail_time: datetime, fail_trace: list[str]) -> None:
        """The main function raised; ``fail_trace`` is the formatted traceback."""

    def resource_event(self, filename: str) -> None:
        """The run read the file ``filename``."""

    def artifact_event(self, name: str, filename: str, metadata: dict | None = None,
                       content_type: str | None = None) -> None:
        """The run produced the file ``filename``, to be stored as ``name``."""

    def log_metrics(self, metrics_by_name: dict, info: dict) -> None:
        """New metric points since the previous call."""

    def join(self) -> None:
        """Wait until everything has been written; called last, always."""


def accepted_arguments(method) -> frozenset[str] | None:
    """The keyword names `method` takes, or None when it takes ``**kwargs`` (all of them)."""
    try:
        params = parameters_of(method)
    except (TypeError, ValueError):
        return None
    if params.var_keyword:
        return None
    return frozenset(params.positional + params.keyword_only)


_checked_classes: set[type] = set()
_EVENT_STEMS = frozenset(word[:4] for name in EVENT_NAMES for word in name.split("_"))


def _shares_event_word(attr: str) -> bool:
    """Whether a word of `attr` starts like a word of an event name ('complete', 'heartbeat')."""
    return any(word[:4] in _EVENT_STEMS for word in attr.split("_") if len(word) >= 3)


def check_observer(observer: object) -> None:
    """Refuse an observer with a method that looks like a misspelt event name."""
    cls = type(observer)
    if cls in _checked_classes:  # classes are checked once per process, not once per run
        return
    for attr in dir(cls):
        if attr.startswith("_") or attr in EVENT_NAMES or not _shares_event_word(attr):
            continue
        import difflib  # only for names that could be a misspelt event

        looks_like_event = attr.endswith(("_event", "_events", "_metrics", "_metric")) \
            or difflib.get_close_matches(attr, EVENT_NAMES, n=1, cutoff=0.85)
        if not looks_like_event:
            continue
        if not callable(getattr(type(observer), attr, None)):
            continue
        close = suggest(attr, EVENT_NAMES, n=1)
        if close:
            raise ObserverError(
                f"{type(observer).__name__}.{attr} is not an event and would never be called."
                f"{did_you_mean(close)}")
    _checked_classes.add(cls)
