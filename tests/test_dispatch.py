"""Tests for expt.dispatch: event delivery, argument filtering and the failure policy."""
import logging

import pytest

from expt import ObserverError
from expt.dispatch import Dispatcher, Lazy


class Recorder:
    """Records (observer name, event, kwargs) into a shared list."""

    def __init__(self, name, log, priority=0, fail_on=()):
        self.name, self.log, self.priority, self.fail_on = name, log, priority, set(fail_on)

    def _record(self, event, **kwargs):
        self.log.append((self.name, event, kwargs))
        if event in self.fail_on:
            raise RuntimeError(f"{self.name} broke in {event}")

    def started_event(self, **kw):
        self._record("started_event", **kw)
        return f"id-{self.name}"

    def queued_event(self, **kw):
        self._record("queued_event", **kw)

    def heartbeat_event(self, **kw):
        self._record("heartbeat_event", **kw)

    def completed_event(self, **kw):
        self._record("completed_event", **kw)

    def failed_event(self, **kw):
        self._record("failed_event", **kw)

    def join(self):
        self._record("join")


def events_of(log, name):
    return [event for who, event, _ in log if who == name]


def test_priority_order_and_first_id_wins():
    """Higher priority observers go first; the first non-None id is passed to the others."""
    log = []
    low, high = Recorder("low", log, priority=0), Recorder("high", log, priority=10)
    dispatcher = Dispatcher([low, high])
    run_id = dispatcher.start("started_event", config={}, _id=None)
    assert run_id == "id-high"
    assert [(who, kw["_id"]) for who, _, kw in log] == [("high", None), ("low", "id-high")]


def test_given_id_is_kept():
    """An id given up front is passed to all observers and returned."""
    log = []
    dispatcher = Dispatcher([Recorder("a", log)])
    assert dispatcher.start("started_event", _id=7) == 7
    assert log[0][2]["_id"] == 7


@pytest.mark.parametrize("event", ["started_event", "queued_event"])
def test_error_in_start_event_propagates(event):
    """An error in queued_event/started_event is raised to abort the run."""
    log = []
    dispatcher = Dispatcher([Recorder("a", log, fail_on=[event])])
    with pytest.raises(RuntimeError, match=f"a broke in {event}"):
        dispatcher.start(event, _id=None)


def test_later_error_logged_once_then_observer_dropped_except_final(caplog):
    """A failing observer is logged once, gets no more events, still gets the final event."""
    log = []
    bad, good = Recorder("bad", log, fail_on=["heartbeat_event"]), Recorder("good", log)
    dispatcher = Dispatcher([bad, good])
    with caplog.at_level(logging.ERROR, logger="expt.observers"):
        for _ in range(3):
            dispatcher.emit("heartbeat_event", info={})
        dispatcher.emit("completed_event", result=1)
        dispatcher.join()
    assert events_of(log, "bad") == ["heartbeat_event", "completed_event", "join"]
    assert events_of(log, "good") == ["heartbeat_event"] * 3 + ["completed_event", "join"]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].getMessage() == ("Observer Recorder failed in heartbeat_event; it receives "
                                      "no further events.")
    assert "bad broke in heartbeat_event" in caplog.text


def test_final_event_reaches_everyone_even_if_one_raises(caplog):
    """An observer raising in the final event does not stop the others; join still runs."""
    log = []
    first = Recorder("first", log, priority=1, fail_on=["failed_event", "join"])
    second = Recorder("second", log)
    dispatcher = Dispatcher([first, second])
    with caplog.at_level(logging.ERROR, logger="expt.observers"):
        dispatcher.emit("failed_event", fail_trace=["x"])
        dispatcher.join()
    assert [(who, event) for who, event, _ in log] == [
        ("first", "failed_event"), ("second", "failed_event"), ("first", "join"),
        ("second", "join")]
    assert "Observer Recorder failed in join." in caplog.text


def test_observer_receives_only_the_arguments_it_names():
    """A method gets only the keyword arguments it declares; **kwargs gets all."""
    got = {}

    class Narrow:
        def heartbeat_event(self, info, result):
            got["narrow"] = (info, result)

    class Wide:
        def heartbeat_event(self, **kwargs):
            got["wide"] = kwargs
    Dispatcher([Narrow(), Wide()]).emit("heartbeat_event", info={"a": 1}, result=2,
                                        output_delta="new", captured_out="all")
    assert got["narrow"] == ({"a": 1}, 2)
    assert got["wide"] == {"info": {"a": 1}, "result": 2, "output_delta": "new",
                           "captured_out": "all"}


def test_missing_methods_are_skipped():
    """An observer without a method for an event simply does not receive it."""
    class OnlyJoin:
        joined = False

        def join(self):
            OnlyJoin.joined = True
    dispatcher = Dispatcher([OnlyJoin()])
    assert dispatcher.start("started_event", _id=None) is None
    dispatcher.emit("completed_event", result=None)
    dispatcher.join()
    assert OnlyJoin.joined


def test_lazy_argument_computed_once_and_only_when_taken():
    """A Lazy argument is computed at most once, and not at all if nobody takes it."""
    calls = []
    lazy = Lazy(lambda: calls.append(1) or "computed")

    class Skips:
        def heartbeat_event(self, info):
            pass

    Dispatcher([Skips()]).emit("heartbeat_event", info={}, captured_out=lazy)
    assert calls == []

    class Takes:
        def heartbeat_event(self, captured_out):
            self.out = captured_out
    a, b = Takes(), Takes()
    Dispatcher([a, b]).emit("heartbeat_event", info={}, captured_out=lazy)
    assert calls == [1] and a.out == b.out == "computed"


@pytest.mark.parametrize("method, suggestion", [
    ("complete_event", "completed_event"),
    ("start_event", "started_event"),
    ("heartbeat_events", "heartbeat_event"),
    ("log_metric_event", "log_metrics"),
    ("fail_event", "failed_event"),
    ("log_metric", "log_metrics"),
    ("artifact_events", "artifact_event"),
])
def test_misspelt_event_method_rejected_with_suggestion(method, suggestion):
    """A method that looks like a misspelt event is an ObserverError naming the right one."""
    Bad = type("Bad", (), {method: lambda self, **kw: None})
    with pytest.raises(ObserverError) as info:
        Dispatcher([Bad()])
    assert str(info.value) == (f"Bad.{method} is not an event and would never be called. "
                               f"Did you mean '{suggestion}'?")


def test_unrelated_helper_methods_are_fine():
    """Methods that do not look like events (or are private) are accepted."""
    class Fine:
        def save_metrics_to_disk(self):
            pass

        def _complete_event(self):
            pass

        def flush(self):
            pass
    Dispatcher([Fine()])
