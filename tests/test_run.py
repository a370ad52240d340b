"""Tests for expt.run: statuses, event order, heartbeats, failures, artifacts and resources."""
import json
import time
from datetime import datetime

import numpy as np
import pytest

from expt import Experiment, Run
from expt.errors import ExptError
from expt.events import COMPLETED, FAILED, INTERRUPTED, QUEUED, RUNNING
from expt.run import format_user_traceback
from expt.testing import RecordingObserver

FAST = {"beat_interval": 0.02}


def experiment(main, **kwargs):
    """An experiment with `main` as its main function and a RecordingObserver attached."""
    ex = Experiment("run_test", save_git_info=False, **kwargs)

    @ex.config
    def cfg():
        size = 3
    ex.main(main)
    obs = RecordingObserver(run_id="rid-1")
    ex.observers.append(obs)
    return ex, obs


def wait_for(condition, timeout=5.0):
    """Poll `condition` until true; False on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return False


def test_completed_run_and_event_order():
    """A returning main function: started, heartbeat, completed, join; status COMPLETED."""
    def main(size):
        return size * 2
    ex, obs = experiment(main)
    run = ex.run()
    assert isinstance(run, Run)
    assert run.status == COMPLETED and run.result == 6 and run._id == "rid-1"
    assert obs.names() == ["started_event", "heartbeat_event", "completed_event", "join"]
    assert obs.last("completed_event")["result"] == 6
    assert obs.last("completed_event")["stop_time"] == run.stop_time
    assert isinstance(run.start_time, datetime) and run.start_time <= run.stop_time
    started = obs.last("started_event")
    assert started["command"] == "main" and started["config"]["size"] == 3
    assert started["start_time"] == run.start_time and started["_id"] is None
    assert started["meta_info"]["command"] == "main"
    assert started["ex_info"]["name"] == "run_test"
    assert "hostname" in started["host_info"]


def test_status_is_running_inside_main():
    """While the main function runs, the run's status is RUNNING and it has a start time."""
    def main(_run):
        return _run.status, _run.start_time is not None, _run.stop_time
    ex, _ = experiment(main)
    assert ex.run().result == (RUNNING, True, None)


def test_completed_run_with_metrics_event_order():
    """Metrics logged during the run arrive in log_metrics just before the final heartbeat."""
    def main(_run):
        _run.log_scalar("loss", 1.0)
    ex, obs = experiment(main)
    ex.run()
    assert obs.names() == ["started_event", "log_metrics", "heartbeat_event",
                           "completed_event", "join"]


def test_failed_run_propagates_and_trace_has_no_framework_frames():
    """An exception: status FAILED, fail_trace without expt frames, raised to run()'s caller."""
    def main():
        helper()

    def helper():
        raise ValueError("boom")
    ex, obs = experiment(main)
    with pytest.raises(ValueError, match="boom"):
        ex.run()
    assert obs.names() == ["started_event", "heartbeat_event", "failed_event", "join"]
    trace = obs.last("failed_event")["fail_trace"]
    text = "".join(trace)
    assert trace[0] == "Traceback (most recent call last):\n"
    assert trace[-1] == "ValueError: boom\n"
    assert "in main" in text and "in helper" in text
    assert "/expt/" not in text
    assert isinstance(obs.last("failed_event")["fail_time"], datetime)


def test_failed_run_status_and_fail_trace_on_run_object():
    """The Run left behind records the FAILED status and the trace."""
    runs = []

    def main(_run):
        runs.append(_run)
        raise RuntimeError("bad")
    ex, _ = experiment(main)
    with pytest.raises(RuntimeError):
        ex.run()
    assert runs[0].status == FAILED and runs[0].fail_trace[-1] == "RuntimeError: bad\n"
    assert runs[0].stop_time is not None


def test_keyboard_interrupt_makes_run_interrupted():
    """KeyboardInterrupt: status INTERRUPTED, interrupted_event, and it propagates."""
    runs = []

    def main(_run):
        runs.append(_run)
        raise KeyboardInterrupt
    ex, obs = experiment(main)
    with pytest.raises(KeyboardInterrupt):
        ex.run()
    assert runs[0].status == INTERRUPTED
    assert obs.names() == ["started_event", "heartbeat_event", "interrupted_event", "join"]
    assert obs.last("interrupted_event")["status"] == INTERRUPTED


def test_exception_with_custom_status_is_an_interruption():
    """An exception carrying a STATUS (e.g. TIMEOUT) ends the run with that status."""
    class TimeoutInterrupt(Exception):
        STATUS = "TIMEOUT"

    def main():
        raise TimeoutInterrupt()
    ex, obs = experiment(main)
    with pytest.raises(TimeoutInterrupt):
        ex.run()
    assert obs.last("interrupted_event")["status"] == "TIMEOUT"


def test_queued_run():
    """options={'--queue': True}: queued_event and join only; main is not run; QUEUED."""
    called = []
    ex, obs = experiment(lambda: called.append(1))
    run = ex.run(options={"--queue": True})
    assert run.status == QUEUED and called == []
    assert obs.names() == ["queued_event", "join"]
    assert sorted(obs.last("queued_event")) == ["_id", "command", "config", "ex_info",
                                                "host_info", "meta_info", "queue_time"]
    assert run._id == "rid-1"


def test_heartbeat_delivers_metrics_and_output_incrementally():
    """With a short beat interval, points and output arrive while main is still running."""
    seen = {}

    def main(_run):
        _run.log_scalar("loss", 1.0)
        print("first line", flush=True)
        seen["metric"] = wait_for(lambda: obs.metrics().get("loss", {}).get("values") == [1.0])
        seen["output"] = wait_for(lambda: "first line" in obs.output())
        _run.log_scalar("loss", 0.5)
        print("second line", flush=True)
        seen["second"] = wait_for(lambda: obs.metrics()["loss"]["values"] == [1.0, 0.5])
    ex, obs = experiment(main)
    ex.run(options=FAST)
    assert seen == {"metric": True, "output": True, "second": True}
    assert obs.output() == "first line\nsecond line\n"
    log_events = [kw["metrics_by_name"]["loss"]["values"] for name, kw in obs.events
                  if name == "log_metrics"]
    assert log_events == [[1.0], [0.5]]  # each point exactly once: only new points per event
    assert obs.names()[-2:] == ["completed_event", "join"]


def test_heartbeat_carries_info_result_and_whole_output():
    """heartbeat_event has info, result, beat_time, output_delta and the whole captured_out."""
    def main(_run):
        _run.info["progress"] = 0.5
        print("hello")
        return 7
    ex, obs = experiment(main)
    run = ex.run()
    beat = obs.last("heartbeat_event")
    assert beat["info"] == {"progress": 0.5}
    assert beat["result"] == 7
    assert beat["captured_out"] == "hello\n" == run.captured_out
    assert beat["output_delta"] == "hello\n"
    assert isinstance(beat["beat_time"], datetime)


def test_final_heartbeat_loses_nothing():
    """10,000 points logged right before returning all arrive, before the final event."""
    def main(_run):
        for i in range(10_000):
            _run.log_scalar("x", i)
        _run.log_scalar("y", 1.0, step=5)
    ex, obs = experiment(main)
    ex.run(options=FAST)
    metrics = obs.metrics()
    assert metrics["x"]["values"] == list(range(10_000))
    assert metrics["x"]["steps"] == list(range(10_000))
    assert metrics["y"]["steps"] == [5]
    names = obs.names()
    last_metrics = max(i for i, n in enumerate(names) if n == "log_metrics")
    assert last_metrics < names.index("completed_event")
    assert names[names.index("completed_event") - 1] == "heartbeat_event"


def test_numpy_scalars_accepted_by_log_scalar():
    """numpy scalars and 0-d arrays are stored as Python numbers."""
    def main(_run):
        _run.log_scalar("a", np.float32(0.25))
        _run.log_scalar("a", np.array(1.5))
        _run.log_scalar("a", np.int64(3))
    ex, obs = experiment(main)
    ex.run()
    values = obs.metrics()["a"]["values"]
    assert values == [0.25, 1.5, 3] and [type(v) for v in values] == [float, float, int]


def test_info_and_result_are_json_safe():
    """info and result reach observers converted by serialize's rule (numpy, tuples, Paths)."""
    from pathlib import Path

    def main(_run):
        _run.info["array"] = np.arange(3)
        _run.info["where"] = Path("/tmp/x")
        _run.info["pair"] = (1, 2)
        return {"score": np.float64(0.5), "shape": (2, 3)}
    ex, obs = experiment(main)
    run = ex.run()
    assert run.result["score"] == 0.5  # the Run keeps the original object
    result = obs.last("completed_event")["result"]
    info = obs.last("heartbeat_event")["info"]
    assert result == {"score": 0.5, "shape": [2, 3]} and type(result["score"]) is float
    assert info == {"array": [0, 1, 2], "where": "/tmp/x", "pair": [1, 2]}
    json.dumps([result, info, obs.last("heartbeat_event")["result"]])


def test_artifact_events(tmp_path):
    """add_artifact sends name, absolute filename, JSON-safe metadata and content type."""
    path = tmp_path / "model.bin"
    path.write_bytes(b"\0")

    def main(_run):
        _run.add_artifact(path)
        _run.add_artifact(str(path), name="renamed.bin", metadata={"epoch": np.int64(3)},
                          content_type="application/octet-stream")
    ex, obs = experiment(main)
    ex.run()
    events = [kw for name, kw in obs.events if name == "artifact_event"]
    assert events == [
        {"name": "model.bin", "filename": str(path), "metadata": None, "content_type": None},
        {"name": "renamed.bin", "filename": str(path), "metadata": {"epoch": 3},
         "content_type": "application/octet-stream"}]


def test_missing_artifact_is_an_error(tmp_path):
    """Adding an artifact that does not exist names the file and fails the run."""
    def main(_run):
        _run.add_artifact(tmp_path / "nope.txt")
    ex, obs = experiment(main)
    with pytest.raises(ExptError, match=r"Cannot add artifact '.*nope\.txt': no such file\."):
        ex.run()
    assert "artifact_event" not in obs.names()


def test_resource_events_once_per_file(tmp_path, monkeypatch):
    """add_resource/open_resource send one resource_event per file, with its absolute path."""
    data = tmp_path / "data.csv"
    data.write_text("a,b\n")
    monkeypatch.chdir(tmp_path)

    def main(_run):
        _run.add_resource("data.csv")
        with _run.open_resource(data) as f:
            return f.read()
    ex, obs = experiment(main)
    assert ex.run().result == "a,b\n"
    assert [kw for name, kw in obs.events if name == "resource_event"] == [
        {"filename": str(data)}]
    with pytest.raises(ExptError, match="Cannot add resource"):
        experiment(lambda _run: _run.add_resource(tmp_path / "missing"))[0].run()


def test_error_in_started_event_aborts_before_main():
    """An observer failing in started_event aborts the run: main never runs, join still does."""
    called = []

    class Broken(RecordingObserver):
        def started_event(self, **kwargs):
            raise ConnectionError("database down")
    ex, obs = experiment(lambda: called.append(1))
    broken = Broken()
    ex.observers.append(broken)
    with pytest.raises(ConnectionError, match="database down"):
        ex.run()
    assert called == []
    assert broken.names() == ["join"]
    assert obs.names()[-1] == "join"


def test_error_in_later_event_drops_that_observer_only(caplog):
    """An observer failing in a heartbeat is logged once, gets the final event, run completes."""
    class Flaky(RecordingObserver):
        def heartbeat_event(self, **kwargs):
            raise OSError("disk full")

    def main(_run):
        _run.log_scalar("a", 1)
        wait_for(lambda: len([n for n in obs.names() if n == "heartbeat_event"]) >= 3)
        _run.log_scalar("a", 2)
        return "done"
    ex, obs = experiment(main)
    flaky = Flaky()
    ex.observers.append(flaky)
    run = ex.run(options=FAST)
    assert run.status == COMPLETED
    assert flaky.names() == ["started_event", "log_metrics", "completed_event", "join"]
    assert obs.metrics()["a"]["values"] == [1, 2]
    errors = [r.getMessage() for r in caplog.records if r.name == "expt.observers"]
    assert errors == ["Observer Flaky failed in heartbeat_event; it receives no further events."]


def test_format_user_traceback_drops_expt_frames():
    """format_user_traceback keeps user frames and the exception line."""
    from expt import dotted
    try:
        dotted.get({}, "missing")
    except KeyError as exc:
        lines = format_user_traceback(exc)
    assert "test_run.py" in "".join(lines) and "dotted.py" not in "".join(lines)
    assert lines[-1] == "KeyError: 'missing'\n"


def test_user_frames_in_a_folder_named_like_expt_are_kept():
    """Only frames inside the expt package are dropped, not those of a sibling 'expt_*' folder."""
    import os
    import expt.run
    fake = os.path.join(os.path.dirname(expt.run.__file__) + "_plugins", "train.py")
    namespace = {}
    exec(compile("def boom():\n    raise ValueError('x')\n", fake, "exec"), namespace)
    try:
        namespace["boom"]()
    except ValueError as exc:
        lines = format_user_traceback(exc)
    assert any(fake in line for line in lines)


def test_heartbeat_carries_info_while_running():
    """Changes to _run.info reach observers with the next heartbeat, before the run ends."""
    seen = {}

    def main(_run):
        _run.info["epoch"] = 1
        seen["epoch1"] = wait_for(lambda: any(
            kw["info"] == {"epoch": 1} for name, kw in obs.events if name == "heartbeat_event"))
        _run.info["epoch"] = 2
    ex, obs = experiment(main)
    ex.run(options=FAST)
    assert seen == {"epoch1": True}
    beats = [kw for name, kw in obs.events if name == "heartbeat_event"]
    assert beats[0]["result"] is None and beats[-1]["info"] == {"epoch": 2}


def test_heartbeats_share_one_thread_and_keep_their_own_intervals():
    """Two heartbeats running at once both beat at their own pace from one shared thread, and
    none beats after its stop() returned."""
    import threading

    from expt.run import _Heartbeat

    fast, slow = [], []
    a = _Heartbeat(0.01, lambda: fast.append(threading.current_thread().name))
    b = _Heartbeat(0.05, lambda: slow.append(threading.current_thread().name))
    assert wait_for(lambda: len(slow) >= 3)
    a.stop()
    b.stop()
    counts = len(fast), len(slow)
    time.sleep(0.15)
    assert (len(fast), len(slow)) == counts
    assert len(fast) > 2 * len(slow)  # each at its own interval
    assert set(fast) == set(slow) == {"expt-heartbeat"}
    assert [t.name for t in threading.enumerate()].count("expt-heartbeat") == 1


def test_heartbeat_stop_waits_for_a_beat_in_progress():
    """stop() returns only after the beat running at that moment has finished."""
    from expt.run import _Heartbeat

    state = {"inside": False, "beats": 0}

    def beat():
        state["inside"] = True
        time.sleep(0.2)
        state["beats"] += 1
        state["inside"] = False

    hb = _Heartbeat(0.01, beat)
    assert wait_for(lambda: state["inside"])
    hb.stop()
    assert not state["inside"] and state["beats"] == 1
    time.sleep(0.05)
    assert state["beats"] == 1


def test_a_failing_beat_is_logged_and_the_next_one_comes(caplog):
    """An exception in beat() is logged; the heartbeat keeps going."""
    from expt.run import _Heartbeat

    calls = []

    def beat():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("first beat fails")

    hb = _Heartbeat(0.01, beat)
    assert wait_for(lambda: len(calls) >= 3)
    hb.stop()
    assert "Heartbeat failed." in caplog.text


def test_many_runs_use_one_heartbeat_thread():
    """Sequential runs do not start a heartbeat thread each."""
    import threading

    ex, obs = experiment(lambda size: size, beat_interval=0.005)
    for _ in range(20):
        ex.run()
    assert [t.name for t in threading.enumerate()].count("expt-heartbeat") == 1


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_heartbeats_work_in_a_forked_child():
    """A child forked while the parent's heartbeat thread exists gets beats of its own, and
    stopping a heartbeat inherited from the parent does not hang."""
    import os

    from expt.run import _Heartbeat

    parent_beats = []
    inherited = _Heartbeat(0.01, lambda: parent_beats.append(1))
    assert wait_for(lambda: parent_beats)
    pid = os.fork()
    if pid == 0:  # the child: exit code 0 only if everything worked
        ok = False
        try:
            inherited.stop()
            beats = []
            hb = _Heartbeat(0.01, lambda: beats.append(1))
            ok = wait_for(lambda: len(beats) >= 2, timeout=5)
            hb.stop()
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    inherited.stop()
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def test_background_work_finishes_before_the_run_ends():
    """run_in_background work runs beside the main function and completes before the final event."""
    import threading as _threading
    order = []
    release = _threading.Event()

    def slow_record():
        release.wait(5)
        order.append("background done")

    def main(_run):
        _run.run_in_background(slow_record, name="plot")
        order.append("main returned")
        release.set()

    ex, obs = experiment(main)
    run = ex.run()
    assert order == ["main returned", "background done"]
    assert obs.names()[-2:] == ["completed_event", "join"]
    assert run.status == "COMPLETED"


def test_background_work_runs_in_the_order_given():
    """Background work runs one piece after another in the order given, so a slow first write
    of an artifact never lands after a quick second one (the later write wins)."""
    import time as _time
    written = []

    def write(value, seconds):
        def work():
            _time.sleep(seconds)
            written.append(value)
        return work

    def main(_run):
        _run.run_in_background(write("first training's model", 0.2), name="model")
        _run.run_in_background(write("second training's model", 0.0), name="model")

    ex, _ = experiment(main)
    assert ex.run().status == "COMPLETED"
    assert written == ["first training's model", "second training's model"]


def test_failing_background_work_is_logged_not_fatal(caplog):
    """An exception in background work is logged; the run still completes."""
    def main(_run):
        _run.run_in_background(lambda: 1 / 0, name="broken")

    ex, _ = experiment(main)
    run = ex.run()
    assert run.status == "COMPLETED"
    assert "Background work 'broken'" in caplog.text
