"""Test cases every store backend must pass, on the runs tests/store_fixtures.py writes.

Each backend's test module defines a `store` fixture (the runs of store_fixtures.make_runs)
and a `fresh_location` fixture (an empty store's location and the observer flag that writes
there), and imports these functions, so pytest runs them once per backend: the folder store
and the MongoDB store answer the same questions the same way.
"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from expt.errors import UserInputError
from expt.store import (DEAD_AFTER_BEATS, DEAD_SLACK_SECONDS, PROBABLY_DEAD, NotInRunError,
                        RunNotFoundError, StoreNotFoundError, open_store)
from store_fixtures import write_experiment

FILTERS = [
    ("status=COMPLETED", [1, 2, 3]),
    ("status=FAILED", [4]),
    ("config.num_leaves>=40", [2, 3]),
    ("metrics.valid.l2.last<3000", [3]),
    ("metrics.valid.l2.max>=5000 and config.crash=true", [4]),
    ("not metrics.valid.l2.last<3000", [1, 2, 4]),
    ("metrics.valid.l2.last!=3400", [1, 3, 4]),
    ("metrics.nope.last!=1", [1, 2, 3, 4]),  # a run without the metric: != holds
    ("comment~big", [3]),
    ("start_time>=2000-01-01 and not config.num_leaves=31", [2, 3]),
    ("start_time<2000-01-01", []),
    ("experiment=train and (config.lr<0.1 or status=FAILED)", [3, 4]),
    ("result>3.5", [2]),
    ("status=RUNNING or duration>=0 and metrics.train.loss.min<0.5", [1, 2, 3, 4]),
]


@pytest.mark.parametrize("text, ids", FILTERS)
def test_filters(store, text, ids):
    """Filters on status, config, metrics, comment, times and result select the right runs."""
    assert [r.id for r in store.runs(text)] == ids


def test_unknown_run_id_suggests_existing_ids(store):
    """get() of a missing run raises RunNotFoundError naming the id."""
    with pytest.raises(RunNotFoundError, match="No run 9"):
        store.get(9)
    with pytest.raises(RunNotFoundError):
        store.get("../2")


def test_record_fields(store):
    """config, meta, host, experiment, status, result, output and sources are read back."""
    run = store.get(3)
    assert run.config["num_leaves"] == 63 and run.config["lr"] == 0.05
    assert run.meta["comment"] == "big trees" and run.meta["command"] == "main"
    assert run.host["hostname"] == os.uname().nodename
    assert run.experiment["name"] == "train" and run.command == "main"
    assert run.status == "COMPLETED" and run.result == pytest.approx(63 * 0.05)
    assert run.captured_out.splitlines()[:2] == ["step 0", "step 1"]
    assert run.start_time <= run.stop_time and run.duration >= 0
    assert run.sources == ["train.py"]
    assert 'Experiment("train")' in run.read_source("train.py")
    assert isinstance(run.info, dict)


def test_listed_runs_read_what_one_run_reads(store):
    """Every field of a listed run equals that of the same run opened alone."""
    for listed in store.runs():
        alone = store.get(listed.id)
        for field in ("experiment", "host", "meta", "comment", "command", "status", "result",
                      "fail_trace", "start_time", "stop_time", "heartbeat", "tags", "note",
                      "config", "info", "metric_summary", "sources", "captured_out"):
            assert getattr(listed, field) == getattr(alone, field), (listed.id, field)
        assert listed.artifacts.names() == alone.artifacts.names()


def test_failed_run_has_its_trace(store):
    """A failed run has status FAILED and the traceback."""
    run = store.get(4)
    assert run.status == "FAILED" and "ValueError: boom" in "".join(run.fail_trace)


def test_metrics_as_numpy_arrays(store):
    """run.metrics[name] gives steps, values and timestamps as numpy arrays."""
    run = store.get(2)
    assert sorted(run.metrics) == ["train.loss", "valid.l2"]
    assert repr(run.artifacts) == f"<Artifacts of {run.ref}: model.txt>"
    assert repr(run.metrics).startswith(f"<Metrics of {run.ref}: ")
    series = run.metrics["valid.l2"]
    assert series.steps.tolist() == [0, 1, 2, 3, 4]
    assert series.values.tolist() == [5000.0 - 400 * i for i in range(5)]
    assert series.timestamps.dtype == np.dtype("datetime64[us]") and len(series.timestamps) == 5
    frame = series.to_frame()
    assert list(frame.columns) == ["step", "value", "timestamp"] and len(frame) == 5
    assert run.metric_summary["valid.l2"] == {"last": 3400.0, "min": 3400.0, "max": 5000.0,
                                              "count": 5}


def test_unknown_metric_suggests_the_nearest(store):
    """A misspelt metric name is a NotInRunError with a suggestion."""
    with pytest.raises(NotInRunError, match="Did you mean 'valid.l2'"):
        store.get(1).metrics["valid.l3"]
    with pytest.raises(NotInRunError, match="Did you mean 'valid.l2'"):
        store.load_metric(1, "valid.l3")


def test_order_by_and_limit(store):
    """order_by sorts by any filter field ('-' descends); limit cuts the list."""
    assert [r.id for r in store.runs(order_by="-config.num_leaves")] == [3, 2, 1, 4]
    assert [r.id for r in store.runs(order_by=["status", "-id"], limit=2)] == [3, 2]
    assert [r.id for r in store.runs(order_by="metrics.valid.l2.last")] == [3, 2, 1, 4]
    assert [r.id for r in store.runs("status=COMPLETED", limit=2)] == [1, 2]
    assert list(store.runs(limit=0)) == []


@pytest.mark.parametrize("limit", [-1, 1.5, "2"])
def test_a_limit_that_is_not_a_count_is_refused(store, limit):
    """A negative or fractional limit is an error, not a list cut from its end."""
    with pytest.raises(UserInputError, match=r"limit of runs must be a whole number >= 0"):
        store.runs(limit=limit)


def test_order_by_a_field_no_run_has_names_the_nearest(store):
    """A misspelt or malformed sort field is an error naming what was meant, not an ignored key."""
    with pytest.raises(UserInputError, match="sort field 'config.num_leafs'. Did you mean "
                                             "'config.num_leaves'"):
        store.runs(order_by="-config.num_leafs")
    with pytest.raises(UserInputError, match="Did you mean 'metrics.valid.l2.last'"):
        store.runs(order_by="metrics.valid.l2")


def test_artifacts_list_open_download(store, tmp_path):
    """Artifacts are listed, opened as binary files and downloaded (reporting progress)."""
    arts = store.get(2).artifacts
    assert arts.names() == ["model.txt"]
    with arts.open("model.txt") as f:
        assert f.read() == b"model of 40"
    steps = []
    dest = arts.download("model.txt", tmp_path, progress=lambda *step: steps.append(step))
    assert Path(dest).read_bytes() == b"model of 40" and Path(dest).parent == tmp_path
    assert steps == [(11, 11)]  # (copied, size) after each block
    with pytest.raises(NotInRunError, match="Did you mean 'model.txt'"):
        arts.open("modle.txt")


def test_to_frame(store):
    """to_frame: one row per run with id, status, flattened config, last metric values, result."""
    frame = store.runs().to_frame()
    assert frame.shape[0] == 4
    for column in ("id", "experiment", "status", "start_time", "stop_time", "duration", "tags",
                   "config.num_leaves", "config.lr", "metrics.valid.l2", "metrics.train.loss",
                   "result"):
        assert column in frame.columns
    assert frame.loc[3, "config.num_leaves"] == 63
    assert frame.loc[3, "metrics.valid.l2"] == 5000.0 - 630 * 4
    assert frame.loc[1, "metrics.train.loss"] == pytest.approx(0.2)
    assert frame["status"].tolist() == ["COMPLETED"] * 3 + ["FAILED"]
    assert frame.loc[2, "result"] == pytest.approx(4.0)


def test_killed_run_becomes_probably_dead(fresh_location, tmp_path):
    """A run whose process was killed with SIGKILL turns from RUNNING into PROBABLY_DEAD."""
    location, flag = fresh_location
    script = write_experiment(tmp_path)
    proc = subprocess.Popen([sys.executable, str(script), flag, location, "-b", "0.2", "with",
                             "n=1000", "sleep=0.05"], cwd=tmp_path,
                            env={**os.environ, "EXPT_JOURNAL_DIR": str(tmp_path / "journal")},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        run = _first_run_once(location, lambda r: r.heartbeat is not None, seconds=30)
        assert run is not None and run.heartbeat is not None, "the run never beat"
        assert run.beat_interval == 0.2 and run.status == "RUNNING"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    limit = DEAD_AFTER_BEATS * 0.2 + DEAD_SLACK_SECONDS
    run = _first_run_once(location, lambda r: r.status == PROBABLY_DEAD, seconds=limit + 5)
    assert run.status == PROBABLY_DEAD and run.stored_status == "RUNNING"
    with open_store(location) as store:
        assert [r.id for r in store.runs("status=PROBABLY_DEAD")] == [1]
        assert store.runs("status=RUNNING") == []


def _first_run_once(location: str, accept, seconds: float):
    """Run 1 at `location` once ``accept(run)`` holds, polling for `seconds` (the last run
    read, or None, when it never does)."""
    deadline, run = time.monotonic() + seconds, None
    while time.monotonic() < deadline:
        try:
            with open_store(location) as store:
                run = store.get(1)
            if accept(run):
                break
        except (StoreNotFoundError, RunNotFoundError):  # not written yet
            pass
        time.sleep(0.05)
    return run
