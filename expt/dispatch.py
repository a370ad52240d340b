"""Delivering events to observers, with the failure policy in one place.

- ``queued_event``/``started_event``: an error aborts the run before the main function starts.
- any later event: an error is logged once and that observer receives no further events,
  except the final event, which every observer is still offered;
- the final event (completed/failed/interrupted) reaches every observer even if one raises;
- ``join()`` always runs, for every observer.
"""
from __future__ import annotations

import logging
from typing import Any, Iterable

from .events import FINAL_EVENTS, accepted_arguments, check_observer

log = logging.getLogger("expt.observers")
# The arguments each observer method takes, per class: inspecting a signature costs ~20 us.
_arguments: dict[tuple[type, str], frozenset[str] | None] = {}


class Dispatcher:
    """Sends each event to every observer, highest priority first."""

    def __init__(self, observers: Iterable[object]):
        self.observers = sorted(observers, key=lambda o: getattr(o, "priority", 0), reverse=True)
        for observer in self.observers:
            check_observer(observer)
        self._failed: set[int] = set()

    def start(self, event: str, **kwargs: Any) -> Any:
        """Send queued_event or started_event; returns the run id. Errors propagate."""
        run_id = kwargs.pop("_id", None)
        for observer in self.observers:
            returned = self._call(observer, event, dict(kwargs, _id=run_id))
            if run_id is None and returned is not None:
                run_id = returned
        return run_id

    def emit(self, event: str, **kwargs: Any) -> None:
        """Send an event after the start; a failing observer is dropped (see module doc)."""
        final = event in FINAL_EVENTS
        for observer in self.observers:
            if id(observer) in self._failed and not final:
                continue
            try:
                self._call(observer, event, kwargs)
            except Exception:
                if id(observer) not in self._failed:
                    self._failed.add(id(observer))
                    log.exception("Observer %s failed in %s; it receives no further events.",
                                  type(observer).__name__, event)

    def join(self) -> None:
        """Let every observer finish its writes; errors are logged, never raised."""
        for observer in self.observers:
            try:
                self._call(observer, "join", {})
            except Exception:
                log.exception("Observer %s failed in join.", type(observer).__name__)

    def _call(self, observer: object, event: str, kwargs: dict) -> Any:
        method = getattr(observer, event, None)
        if method is None:
            return None
        key = (type(observer), event)
        if key not in _arguments:
            _arguments[key] = accepted_arguments(method)
        names = _arguments[key]
        if names is not None:
            kwargs = {k: v for k, v in kwargs.items() if k in names}
        return method(**{k: v() if isinstance(v, Lazy) else v for k, v in kwargs.items()})


class Lazy:
    """An event argument computed only if some observer takes it, at most once."""

    __slots__ = ("_compute", "_value", "_done")

    def __init__(self, compute):
        self._compute = compute
        self._done = False

    def __call__(self) -> Any:
        if not self._done:
            self._value = self._compute()
            self._done = True
        return self._value
