"""Pure parts of the MongoObserver: error classes, $set folding, journal encoding, placeholders,
metric summaries."""
from datetime import datetime

import pytest
from bson import Binary, ObjectId
from pymongo.errors import (AutoReconnect, DocumentTooLarge, NetworkTimeout, OperationFailure,
                            ServerSelectionTimeoutError)

from expt.run_record import summarize
from observers.mongo.journal import dump_op, load_op
from observers.mongo.ops import RUN_ID, Names, bind
from observers.mongo.series import MetricSeries
from observers.mongo.writer import _fold, is_retryable

ERRORS = [
    (AutoReconnect("connection closed"), True),
    (NetworkTimeout("timed out"), True),
    (ServerSelectionTimeoutError("no servers"), True),
    (OperationFailure("internal", code=1), True),
    (OperationFailure("shutting down", code=91), True),
    (OperationFailure("auth failed", code=18), False),
    (OperationFailure("unauthorized", code=13), False),
    (DocumentTooLarge("too big"), False),
    (ValueError("bug"), False),
    (OSError("staged file gone"), False),
]


@pytest.mark.parametrize("exc,retry", ERRORS)
def test_retryable_errors(exc, retry):
    """Network and server failures are retried; rejected documents, auth and bugs are not."""
    assert is_retryable(exc) is retry


FOLDS = [
    ({"heartbeat": 1, "info": {"a": 1}}, {"heartbeat": 2}, {"heartbeat": 2, "info": {"a": 1}}),
    ({"info.metrics": [1]}, {"info": {"metrics": [1, 2]}}, {"info": {"metrics": [1, 2]}}),
    ({"info": {"a": 1}}, {"info.metrics": [1]}, None),
    ({"status": "RUNNING"}, {"status": "COMPLETED", "stop_time": 3},
     {"status": "COMPLETED", "stop_time": 3}),
]


@pytest.mark.parametrize("earlier,later,expected", FOLDS)
def test_fold_sets(earlier, later, expected):
    """Two $sets fold into one equal to applying them in order, or refuse (None)."""
    assert _fold(earlier, later) == expected


def test_journal_lines_keep_bson_types():
    """ObjectIds, bytes and datetimes survive a journal line unchanged."""
    op = ["upsert", "fs.chunks", {"files_id": ObjectId(), "n": 3},
          {"data": Binary(b"\x00\xff"), "at": datetime(2026, 1, 2, 3, 4, 5, 6000)}]
    back = load_op(dump_op(op))
    assert back[2] == op[2] and back[3]["data"] == b"\x00\xff"
    assert back[3]["at"].replace(tzinfo=None) == op[3]["at"]


def test_bind_fills_run_id_in_filters_names_and_metadata_not_data():
    """The placeholder becomes the id in dict values and strings; data arrays are untouched."""
    op = ["insert", "metrics", {"run_id": RUN_ID, "name": "loss", "steps": [1, 2],
                                "filename": f"captured_out://runs/{RUN_ID}",
                                "metadata": {"run_id": RUN_ID}}]
    bound = bind(op, 7)
    assert bound[2]["run_id"] == 7 and bound[2]["metadata"] == {"run_id": 7}
    assert bound[2]["filename"] == "captured_out://runs/7" and bound[2]["steps"] == [1, 2]


@pytest.mark.parametrize("batches, expected", [
    ([[3.0, 1.0], [2.0]], {"count": 3, "last": 2.0, "min": 1.0, "max": 3.0}),
    ([[float("nan"), 5], [True, None, "text", -1]],
     {"count": 6, "last": -1, "min": -1, "max": 5}),  # NaN, bools and text are not numbers
    ([[None, "a"]], {"count": 2, "last": "a", "min": None, "max": None}),
])
def test_metric_summaries_fold_every_batch(batches, expected):
    """MetricSeries keeps count, last, min and max of each metric over all its batches, the
    way expt.run_record.summarize reads a whole series."""
    series = MetricSeries(Names(), 1, first_points=2, chunk_points=2)
    step = 0
    for values in batches:
        steps = list(range(step, step + len(values)))
        series.add("m", steps, values, [None] * len(values))
        step += len(values)
    assert series.summaries() == [{"name": "m", **expected}]
    assert summarize({"values": [v for b in batches for v in b]}) == expected
