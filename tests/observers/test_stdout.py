"""StdoutObserver prints one readable line per lifecycle event."""
from __future__ import annotations

import io
from datetime import datetime, timedelta

import pytest

from expt.events import check_observer
from observers import FileStorageObserver, StdoutObserver
from observers.stdout import format_duration

T0 = datetime(2026, 1, 2, 3, 4, 5)
EX_INFO = {"name": "lightgbm", "base_dir": "/x", "sources": []}


def started(obs, _id=3):
    obs.started_event(ex_info=EX_INFO, command="train", start_time=T0, _id=_id)


@pytest.mark.parametrize("seconds, text", [
    (0.04, "0.0 s"), (0.4, "0.4 s"), (1.25, "1.2 s"), (59.94, "59.9 s"),
    (59.97, "1 min 00 s"), (125, "2 min 05 s"), (3600 + 120, "1 h 02 min"),
    (90061, "25 h 01 min"),
])
def test_format_duration(seconds, text):
    """Durations read as seconds, minutes or hours."""
    assert format_duration(seconds) == text


@pytest.mark.parametrize("event, kwargs, line", [
    ("completed_event", {"stop_time": T0 + timedelta(seconds=1.2), "result": 0.53},
     "Run 3 completed in 1.2 s, result: 0.53"),
    ("completed_event", {"stop_time": T0 + timedelta(seconds=2), "result": None},
     "Run 3 completed in 2.0 s"),
    ("failed_event", {"fail_time": T0 + timedelta(seconds=0.4),
                      "fail_trace": ["Traceback (most recent call last):\n",
                                     '  File "x.py", line 1\n', "ValueError: bad input\n"]},
     "Run 3 failed after 0.4 s: ValueError: bad input"),
    ("failed_event", {"fail_time": T0, "fail_trace": []},
     "Run 3 failed after 0.0 s: unknown error"),
    ("interrupted_event", {"interrupt_time": T0 + timedelta(seconds=65), "status": "INTERRUPTED"},
     "Run 3 interrupted after 1 min 05 s (INTERRUPTED)"),
    ("artifact_event", {"name": "model.txt", "filename": "/tmp/m.txt"},
     "Run 3 added artifact model.txt"),
    ("resource_event", {"filename": "data.csv"}, "Run 3 read resource data.csv"),
])
def test_one_line_per_event(event, kwargs, line):
    """Each event after the start prints exactly its one line."""
    out = io.StringIO()
    obs = StdoutObserver(out)
    started(obs)
    getattr(obs, event)(**kwargs)
    assert out.getvalue().splitlines() == ["Run 3 started (lightgbm, command train)", line]


def test_long_result_is_shortened():
    """A result longer than a line is cut with an ellipsis."""
    out = io.StringIO()
    obs = StdoutObserver(out)
    started(obs)
    obs.completed_event(stop_time=T0, result=list(range(100)))
    last = out.getvalue().splitlines()[-1]
    assert last.startswith("Run 3 completed in 0.0 s, result: [0, 1, 2") and last.endswith("...")
    assert len(last) < 130


def test_numpy_result_reads_as_a_number():
    """A numpy scalar result prints as its number."""
    np = pytest.importorskip("numpy")
    out = io.StringIO()
    obs = StdoutObserver(out)
    started(obs)
    obs.completed_event(stop_time=T0, result=np.float64(0.53))
    assert out.getvalue().splitlines()[-1] == "Run 3 completed in 0.0 s, result: 0.53"


def test_queued_and_missing_id():
    """Queued runs print 'queued'; a run without an id is just 'Run'."""
    out = io.StringIO()
    obs = StdoutObserver(out)
    obs.queued_event(ex_info=EX_INFO, command="main", queue_time=T0, _id=None)
    assert out.getvalue() == "Run queued (lightgbm, command main)\n"


def test_default_stream_is_stderr(capsys):
    """Without a stream the lines go to standard error, nothing to standard output."""
    obs = StdoutObserver()
    started(obs, _id=7)
    captured = capsys.readouterr()
    assert captured.err == "Run 7 started (lightgbm, command train)\n" and captured.out == ""


def test_shows_file_storage_folder_and_runs_after_it(tmp_path):
    """With a FileStorageObserver as target, the start line ends with the run's folder."""
    (tmp_path / "t.py").write_text("x = 1\n")
    store = FileStorageObserver(tmp_path / "runs")
    out = io.StringIO()
    obs = StdoutObserver(out, targets=[store])
    assert obs.priority < store.priority  # dispatch runs it later, so it gets the id
    ex_info = {"name": "lightgbm", "base_dir": str(tmp_path), "sources": [["t.py", "0"]]}
    run_id = store.started_event(ex_info=ex_info, command="train", host_info={}, start_time=T0,
                                 config={}, meta_info={}, _id=None)
    assert obs.started_event(ex_info=ex_info, command="train", start_time=T0,
                             _id=run_id) is None
    folder = str(tmp_path / "runs" / "1")
    assert out.getvalue() == f"Run 1 started (lightgbm, command train) -> {folder}\n"


def test_heartbeats_and_metrics_are_silent():
    """Heartbeats and metrics print nothing (the base class ignores them)."""
    out = io.StringIO()
    obs = StdoutObserver(out)
    started(obs)
    obs.heartbeat_event(info={}, captured_out="x", beat_time=T0, result=None)
    obs.log_metrics(metrics_by_name={"loss": {"steps": [0], "values": [1.0],
                                              "timestamps": [T0]}}, info={})
    assert len(out.getvalue().splitlines()) == 1
    check_observer(obs)
