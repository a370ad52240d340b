"""Tests for expt.events: the observer contract, Sacred compatibility, observer checks."""
import ast
import inspect
from pathlib import Path

import pytest

from expt import Experiment, ObserverError, RunObserver
from expt.events import (
    COMPLETED, EVENT_NAMES, FAILED, FINAL_EVENTS, FINAL_STATUSES, INTERRUPTED, QUEUED, RUNNING,
    accepted_arguments, check_observer,
)
from expt.testing import RecordingObserver
from tests.sacred_python import sacred_source


class SacredStyleBase:
    """An observer base with Sacred 0.8.7's exact method signatures (no output_delta)."""

    priority = 0

    def queued_event(self, ex_info, command, host_info, queue_time, config, meta_info, _id):
        pass

    def started_event(self, ex_info, command, host_info, start_time, config, meta_info, _id):
        pass

    def heartbeat_event(self, info, captured_out, beat_time, result):
        pass

    def completed_event(self, stop_time, result):
        pass

    def interrupted_event(self, interrupt_time, status):
        pass

    def failed_event(self, fail_time, fail_trace):
        pass

    def resource_event(self, filename):
        pass

    def artifact_event(self, name, filename, metadata=None, content_type=None):
        pass

    def log_metrics(self, metrics_by_name, info):
        pass

    def join(self):
        pass


def test_statuses_and_event_names():
    """Sacred's status strings and event names."""
    assert (QUEUED, RUNNING, COMPLETED, FAILED, INTERRUPTED) == (
        "QUEUED", "RUNNING", "COMPLETED", "FAILED", "INTERRUPTED")
    assert FINAL_STATUSES == (COMPLETED, FAILED, INTERRUPTED)
    assert set(FINAL_EVENTS) == {"completed_event", "failed_event", "interrupted_event"}
    assert set(EVENT_NAMES) == {n for n in vars(SacredStyleBase) if not n.startswith("_")} \
        - {"priority"}


def test_run_observer_has_sacreds_parameters():
    """Each RunObserver method takes at least Sacred's parameters, in Sacred's order."""
    for name in EVENT_NAMES:
        ours = list(inspect.signature(getattr(RunObserver, name)).parameters)
        sacred = list(inspect.signature(getattr(SacredStyleBase, name)).parameters)
        assert ours[:len(sacred)] == sacred, name


def test_sacred_style_base_matches_installed_sacred():
    """The signatures used here are those of the installed Sacred 0.8.7 RunObserver."""
    tree = ast.parse(sacred_source("sacred.observers.base").read_text())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "RunObserver")
    sacred = {f.name: [a.arg for a in f.args.args] for f in cls.body
              if isinstance(f, ast.FunctionDef)}
    ours = {name: list(inspect.signature(getattr(SacredStyleBase, name)).parameters)
            for name in EVENT_NAMES}
    assert sacred == ours


def test_accepted_arguments():
    """Named parameters are returned; **kwargs means 'all'."""
    class Obs:
        def a(self, x, y=1, *args, z):
            pass

        def b(self, x, **kwargs):
            pass
    assert accepted_arguments(Obs().a) == {"x", "y", "z"}
    assert accepted_arguments(Obs().b) is None


def test_check_observer_accepts_the_base_and_recording_observer():
    """The provided observers pass the check."""
    check_observer(RunObserver())
    check_observer(RecordingObserver())
    check_observer(SacredStyleBase())


def test_sacred_style_observer_receives_every_event(tmp_path):
    """A subclass of a Sacred-signature base works: all events arrive with Sacred's arguments."""
    received = []

    class MySacredObserver(SacredStyleBase):
        def started_event(self, ex_info, command, host_info, start_time, config, meta_info,
                          _id):
            received.append(("started_event", command, config["n"], _id))
            return "sacred-id"

        def heartbeat_event(self, info, captured_out, beat_time, result):
            received.append(("heartbeat_event", captured_out, result))

        def log_metrics(self, metrics_by_name, info):
            received.append(("log_metrics", metrics_by_name["m"]["values"]))

        def artifact_event(self, name, filename, metadata=None, content_type=None):
            received.append(("artifact_event", name))

        def resource_event(self, filename):
            received.append(("resource_event", Path(filename).name))

        def completed_event(self, stop_time, result):
            received.append(("completed_event", result))

        def join(self):
            received.append(("join",))

    ex = Experiment("sacred_style", save_git_info=False)
    ex.add_config(n=2)
    artifact = tmp_path / "a.txt"
    artifact.write_text("x")

    @ex.main
    def main(n, _run):
        print("out")
        _run.log_scalar("m", n)
        _run.add_artifact(artifact)
        _run.add_resource(artifact)
        return n + 1
    ex.observers.append(MySacredObserver())
    run = ex.run()
    assert run._id == "sacred-id"
    assert received == [
        ("started_event", "main", 2, None), ("artifact_event", "a.txt"),
        ("resource_event", "a.txt"), ("log_metrics", [2]), ("heartbeat_event", "out\n", 3),
        ("completed_event", 3), ("join",)]


def test_sacred_style_failed_and_interrupted_events():
    """failed_event and interrupted_event reach a Sacred-signature observer."""
    got = []

    class Obs(SacredStyleBase):
        def failed_event(self, fail_time, fail_trace):
            got.append(fail_trace[-1])

        def interrupted_event(self, interrupt_time, status):
            got.append(status)
    for exc, expected in [(ValueError("v"), "ValueError: v\n"),
                          (KeyboardInterrupt(), "INTERRUPTED")]:
        ex = Experiment("sacred_fail", save_git_info=False)
        ex.main(lambda: (_ for _ in ()).throw(exc))
        ex.observers.append(Obs())
        with pytest.raises(type(exc)):
            ex.run()
        assert got[-1] == expected


def test_misspelt_observer_rejected_when_run_starts():
    """A misspelt event method (complete_event) is rejected, naming the intended event."""
    class Typo(RunObserver):
        def complete_event(self, stop_time, result):
            pass
    called = []
    ex = Experiment("typo", save_git_info=False)
    ex.main(lambda: called.append(1))
    ex.observers.append(Typo())
    with pytest.raises(ObserverError) as info:
        ex.run()
    assert str(info.value) == ("Typo.complete_event is not an event and would never be called. "
                               "Did you mean 'completed_event'?")
    assert called == []
