"""Tests for expt.metrics: the log_scalar buffer."""
import threading
from datetime import datetime

import numpy as np
import pytest

from expt.metrics import MetricsBuffer


def test_steps_auto_increment_per_metric():
    """Without a step, each metric counts its own steps from 0 (after an explicit step, +1)."""
    buf = MetricsBuffer()
    for value in (1, 2):
        buf.log_scalar("loss", value)
    buf.log_scalar("acc", 0.5)
    buf.log_scalar("loss", 3, step=10)
    buf.log_scalar("loss", 4)
    drained = buf.drain()
    assert drained["loss"]["steps"] == [0, 1, 10, 11]
    assert drained["loss"]["values"] == [1, 2, 3, 4]
    assert drained["acc"]["steps"] == [0]
    assert all(isinstance(t, datetime) and t.tzinfo is None
               for t in drained["loss"]["timestamps"])


def test_drain_returns_only_new_points():
    """A drain empties the buffer; the next drain has only later points; steps continue."""
    buf = MetricsBuffer()
    buf.log_scalar("x", 1)
    assert len(buf) == 1
    assert buf.drain()["x"]["values"] == [1]
    assert buf.drain() == {} and len(buf) == 0
    buf.log_scalar("x", 2)
    later = buf.drain()["x"]
    assert (later["steps"], later["values"], len(later["timestamps"])) == ([1], [2], 1)


@pytest.mark.parametrize("value, expected", [
    (np.float32(0.5), 0.5), (np.float64(1.25), 1.25), (np.int64(7), 7), (np.array(3.5), 3.5),
    (np.array(2), 2), (np.bool_(True), True), (1, 1), (2.5, 2.5),
])
def test_numpy_scalars_and_0d_arrays_become_python_numbers(value, expected):
    """numpy scalars and 0-d arrays are stored as plain Python numbers."""
    buf = MetricsBuffer()
    buf.log_scalar("m", value)
    stored = buf.drain()["m"]["values"][0]
    assert stored == expected and type(stored) is type(expected)


def test_concurrent_logging_and_draining_loses_nothing():
    """Points logged while another thread drains all arrive exactly once, in order."""
    buf = MetricsBuffer()
    n = 20000
    received = []
    done = threading.Event()

    def drainer():
        while not done.is_set():
            received.extend(buf.drain().get("x", {}).get("values", []))
        received.extend(buf.drain().get("x", {}).get("values", []))
    thread = threading.Thread(target=drainer)
    thread.start()
    for i in range(n):
        buf.log_scalar("x", i)
    done.set()
    thread.join()
    assert received == list(range(n))


def test_numpy_steps_become_python_ints_and_keep_counting():
    """A numpy integer step is stored as an int, and the next automatic step follows it."""
    buf = MetricsBuffer()
    for step in np.arange(2):
        buf.log_scalar("x", 1.0, step)
    buf.log_scalar("x", 1.0)
    steps = buf.drain()["x"]["steps"]
    assert steps == [0, 1, 2] and [type(s) for s in steps] == [int, int, int]
