"""The filter language: parsing, errors, the Python evaluator and the MongoDB translation."""
import socket
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from expt import dotted
from expt.filters import (MISSING, And, Compare, FilterError, Not, Or, compare, evaluate,
                          metric_pipeline, parse_filter, to_mongo)


@pytest.mark.parametrize("text, expected", [
    ("status=COMPLETED", Compare("status", "=", "COMPLETED", 0)),
    ("status == failed", Compare("status", "=", "FAILED", 0)),
    ("config.num_leaves>=40", Compare("config.num_leaves", ">=", 40, 0)),
    ("config.lr < 1e-2", Compare("config.lr", "<", 0.01, 0)),
    ("config.name='a b'", Compare("config.name", "=", "a b", 0)),
    ('comment~"big.*"', Compare("comment", "~", "big.*", 0)),
    ("config.flag=true", Compare("config.flag", "=", True, 0)),
    ("result=null", Compare("result", "=", None, 0)),
    ("start_time>=2026-11-01", Compare("start_time", ">=", datetime(2026, 11, 1), 0)),
    ("stop_time<2026-11-01T10:30:00", Compare("stop_time", "<", datetime(2026, 11, 1, 10, 30), 0)),
    ("metrics.valid.l2.last<3000", Compare("metrics.valid.l2.last", "<", 3000, 0)),
    ("tags=best", Compare("tags", "=", "best", 0)),
])
def test_parse_single_comparisons(text, expected):
    """Each comparison parses to the expected field, operator and typed value."""
    assert parse_filter(text) == expected


def test_parse_precedence_and_grouping():
    """'and' binds tighter than 'or'; parentheses and 'not' group as written."""
    text = "status=FAILED or config.a=1 and not (config.b=2 or config.c=3)"
    at = text.index
    assert parse_filter(text) == Or((
        Compare("status", "=", "FAILED", 0),
        And((Compare("config.a", "=", 1, at("config.a")),
             Not(Or((Compare("config.b", "=", 2, at("config.b")),
                     Compare("config.c", "=", 3, at("config.c")))))))))


def test_empty_filter_is_none():
    """An empty or blank filter matches everything."""
    assert parse_filter("") is None and parse_filter("   ") is None
    assert evaluate(None, lambda f: MISSING)


def test_metric_field_splits_name_and_aggregate():
    """metrics.valid.l2.min names metric 'valid.l2' and aggregate 'min'."""
    assert parse_filter("metrics.valid.l2.min>1").metric == ("valid.l2", "min")


@pytest.mark.parametrize("text, token, suggestions", [
    ("stauts=COMPLETED", "stauts", ["status"]),
    ("confg.lr=1", "confg.lr", ["config.lr"]),
    ("status=COMPLETD", "COMPLETD", ["COMPLETED"]),
    ("metrics.valid.l2.lst<3", "metrics.valid.l2.lst", ["metrics.valid.l2.last"]),
    ("config.x => 3", "=>", [">="]),
    ("config.x ! 3", "!", ["!="]),
    ("status=FAILED annd config.a=1", "annd", ["and"]),
    ("start_time>=yesterday", "yesterday", []),
    ("comment~'('", "'('", []),
])
def test_errors_name_the_token_and_suggest(text, token, suggestions):
    """A bad filter names the offending token and the nearest valid spelling."""
    with pytest.raises(FilterError) as info:
        parse_filter(text)
    err = info.value
    assert err.token == token
    assert err.suggestions[:len(suggestions)] == suggestions
    assert f"'{token}'" in str(err) and text in str(err)
    assert text[err.position:].startswith(token)



def test_a_status_far_from_all_lists_them():
    """A status with no near spelling: the error lists the statuses there are."""
    with pytest.raises(FilterError, match=r"unknown status \(one of QUEUED, RUNNING, COMPLETED"):
        parse_filter("status=DONE")

@pytest.mark.parametrize("text", ["(status=FAILED", "config.a=", "config.a"])
def test_incomplete_filters_say_what_was_expected(text):
    """A filter that stops early says what was expected at its end."""
    with pytest.raises(FilterError, match="expected"):
        parse_filter(text)


RUN = {"status": "COMPLETED", "config.num_leaves": 40, "config.lr": 0.1, "config.name": "gbm",
       "metrics.valid.l2.last": 2500.0, "tags": ["best", "v2"],
       "start_time": datetime(2026, 11, 2, 9, 0)}


@pytest.mark.parametrize("text, expected", [
    ("status=COMPLETED and config.num_leaves>=40", True),
    ("config.num_leaves>40", False),
    ("metrics.valid.l2.last<3000 and start_time>=2026-11-01", True),
    ("start_time>=2026-11-03", False),
    ("tags=best", True),
    ("tags=worst", False),
    ("tags!=worst", True),
    ("config.name~^g", True),
    ("config.missing=1", False),
    ("config.missing!=1", True),
    ("config.name>3", False),   # a string is never ordered against a number
    ("not status=FAILED", True),
    ("status=FAILED or config.lr=0.1", True),
])
def test_evaluate(text, expected):
    """The Python evaluator on one run's values."""
    assert evaluate(parse_filter(text), lambda f: RUN.get(f, MISSING)) is expected


def test_evaluate_checks_metrics_last_in_an_and():
    """Inside 'and', cheap comparisons run first, so metrics of excluded runs are never read."""
    asked = []

    def lookup(field):
        asked.append(field)
        return RUN.get(field, MISSING)

    evaluate(parse_filter("metrics.valid.l2.last<3000 and status=FAILED"), lookup)
    assert asked == ["status"]


@pytest.mark.parametrize("actual, op, expected, result", [
    (1, "=", 1.0, True), (True, "=", 1, False), (None, "=", None, True), (3, "<=", 3, True),
    ("b", ">", "a", True), ([1, 2], "=", 2, True), (MISSING, "<", 1, False),
])
def test_compare(actual, op, expected, result):
    """Comparisons follow MongoDB's habits (bools are not numbers; lists match any element)."""
    assert compare(actual, op, expected) is result


@pytest.mark.parametrize("text, query, exact", [
    ("status=COMPLETED", {"status": "COMPLETED"}, True),
    ("config.num_leaves>=40", {"config.num_leaves": {"$gte": 40}}, True),
    ("id=3", {"_id": 3}, True),
    ("experiment=train", {"experiment.name": "train"}, True),
    ("tags=best", {"omniboard.tags": "best"}, True),
    ("note~fast", {"omniboard.notes": {"$regex": "fast"}}, True),
    ("comment!=x", {"meta.comment": {"$ne": "x"}}, True),
    ("start_time>=2026-11-01", {"start_time": {"$gte": datetime(2026, 11, 1)}}, True),
    ("status=COMPLETED and config.lr<0.1",
     {"$and": [{"status": "COMPLETED"}, {"config.lr": {"$lt": 0.1}}]}, True),
    ("status=FAILED or config.lr<0.1",
     {"$or": [{"status": "FAILED"}, {"config.lr": {"$lt": 0.1}}]}, True),
    ("not status=FAILED", {"$nor": [{"status": "FAILED"}]}, True),
    # derived fields: a superset in the database, checked again in Python
    ("status=PROBABLY_DEAD", {"status": "RUNNING"}, False),
    ("status=RUNNING and config.lr<0.1",
     {"$and": [{"status": "RUNNING"}, {"config.lr": {"$lt": 0.1}}]}, False),
    ("not status=RUNNING", {}, False),
    ("status!=PROBABLY_DEAD", {}, False),
    ("duration>10 or status=FAILED", {}, False),
    ("metrics.valid.l2.last<3000 and status=COMPLETED", {"status": "COMPLETED"}, False),
])
def test_to_mongo(text, query, exact):
    """The MongoDB translation gives the expected query and says whether it is exact."""
    assert to_mongo(parse_filter(text)) == (query, exact)


@pytest.mark.parametrize("exact", [True, False])
def test_to_mongo_uses_the_metric_resolver(exact):
    """A metric resolver turns metric comparisons into conditions on the runs collection; a
    condition it marks inexact (a superset) makes the whole query inexact."""
    calls = []

    def resolver(name, agg, op, value):
        calls.append((name, agg, op, value))
        return {"_id": {"$in": [1, 2]}}, exact

    query, query_exact = to_mongo(parse_filter("status=COMPLETED and metrics.valid.l2.last<3000"),
                                  metric=resolver)
    assert calls == [("valid.l2", "last", "<", 3000)]
    assert query == {"$and": [{"status": "COMPLETED"}, {"_id": {"$in": [1, 2]}}]}
    assert query_exact is exact


@pytest.mark.parametrize("agg, reduce, group", [
    ("last", {"$arrayElemAt": ["$values", -1]}, "$last"),
    ("min", {"$min": "$values"}, "$min"),
    ("max", {"$max": "$values"}, "$max"),
])
def test_metric_pipeline(agg, reduce, group):
    """The aggregation reduces each metric document, then each run across its chunks."""
    per_doc = [{"$match": {"name": "valid.l2"}},
               {"$project": {"run_id": 1, "chunk": {"$ifNull": ["$chunk", 0]}, "v": reduce}}]
    assert metric_pipeline("valid.l2", agg, "<", 3000) == per_doc + [
        {"$unionWith": {"coll": "metrics_chunks", "pipeline": per_doc}},
        {"$sort": {"run_id": 1, "chunk": 1}},
        {"$group": {"_id": "$run_id", "v": {group: "$v"}}},
        {"$match": {"v": {"$lt": 3000}}}]
    assert metric_pipeline("valid.l2", agg, "<", 3000, chunks=None)[2]["$sort"]


# ------------------------------------------------- the same filters on a real MongoDB server
SERVER = Path(__file__).resolve().parents[1] / "scripts" / "mongo-server"
DOCS = [  # run documents as the MongoObserver writes them (the fields filters read)
    {"_id": 1, "status": "COMPLETED", "experiment": {"name": "train"}, "meta": {"comment": "base"},
     "config": {"num_leaves": 31, "lr": 0.1}, "start_time": datetime(2026, 10, 30, 12),
     "result": 3.1},
    {"_id": 2, "status": "COMPLETED", "experiment": {"name": "train"},
     "config": {"num_leaves": 40, "lr": 0.1}, "start_time": datetime(2026, 11, 2, 9),
     "omniboard": {"tags": ["best"], "notes": "fast"}, "result": 4.0},
    {"_id": 3, "status": "FAILED", "experiment": {"name": "train"},
     "config": {"num_leaves": 63, "lr": 0.05}, "start_time": datetime(2026, 11, 3, 9)},
    {"_id": 4, "status": "COMPLETED", "experiment": {"name": "eval"},
     "config": {"num_leaves": 63, "lr": 0.05, "opt": {"name": "adam"}},
     "start_time": datetime(2026, 11, 4, 9), "omniboard": {"tags": ["best", "v2"]}},
]
# run 2's series continues in two chunks, so its last value (2900) is in chunk 2
METRICS = [{"run_id": 1, "name": "valid.l2", "values": [5000, 3500]},
           {"run_id": 2, "name": "valid.l2", "values": [5000, 4000]},
           {"run_id": 3, "name": "valid.l2", "values": [float(v) for v in (4800, 2800)]},
           {"run_id": 4, "name": "train.loss", "values": [1.0, 0.5]}]
CHUNKS = [{"run_id": 2, "name": "valid.l2", "chunk": 1, "values": [2000, 3100]},
          {"run_id": 2, "name": "valid.l2", "chunk": 2, "values": [3000, 2900]}]
FIELD_PATHS = {"id": "_id", "experiment": "experiment.name", "comment": "meta.comment",
               "tags": "omniboard.tags", "note": "omniboard.notes"}


@pytest.fixture(scope="module")
def mongo_db(tmp_path_factory):
    """A database on a real SecantusDB server holding DOCS, METRICS and CHUNKS."""
    pymongo = pytest.importorskip("pymongo")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = subprocess.run([sys.executable, str(SERVER), "start", "--port", str(port)],
                         check=True, capture_output=True, text=True).stdout
    pid = out.strip().splitlines()[-1]
    client = pymongo.MongoClient(f"mongodb://127.0.0.1:{port}", serverSelectionTimeoutMS=10000)
    try:
        db = client["filters"]
        db.runs.insert_many([dict(d) for d in DOCS])
        db.metrics.insert_many([dict(m) for m in METRICS])
        db.metrics_chunks.insert_many([dict(c) for c in CHUNKS])
        yield db
    finally:
        client.close()
        subprocess.run([sys.executable, str(SERVER), "stop", pid], check=True)


def python_ids(node) -> list[int]:
    """The run ids the Python evaluator selects from DOCS/METRICS/CHUNKS."""
    ids = []
    for doc in DOCS:
        series = {}
        for m in METRICS + CHUNKS:
            if m["run_id"] == doc["_id"]:
                series.setdefault(m["name"], []).extend(m["values"])

        def lookup(field, doc=doc, series=series):
            if field.startswith("metrics."):
                name, _, agg = field[len("metrics."):].rpartition(".")
                values = series.get(name)
                if values is None:
                    return MISSING
                return {"last": values[-1], "min": min(values), "max": max(values)}[agg]
            return dotted.get(doc, FIELD_PATHS.get(field, field), MISSING)

        if evaluate(node, lookup):
            ids.append(doc["_id"])
    return ids


@pytest.mark.parametrize("text, ids", [
    ("status=COMPLETED", [1, 2, 4]),
    ("status!=COMPLETED", [3]),
    ("config.num_leaves>=40 and config.lr<0.1", [3, 4]),
    ("experiment=train and not config.num_leaves=31", [2, 3]),
    ("tags=best", [2, 4]),
    ("tags!=v2", [1, 2, 3]),
    ("note~^fa", [2]),
    ("comment=base or config.opt.name=adam", [1, 4]),
    ("start_time>=2026-11-01 and start_time<2026-11-04", [2, 3]),
    ("config.missing!=3", [1, 2, 3, 4]),
    ("result>3.5", [2]),
    ("metrics.valid.l2.last<3000", [2, 3]),
    ("metrics.valid.l2.min<2500 and status=COMPLETED", [2]),
    ("metrics.valid.l2.max>=5000", [1, 2]),
    ("metrics.train.loss.last<=0.5 or metrics.valid.l2.last>3400", [1, 4]),
    ("not metrics.valid.l2.last<3000", [1, 4]),
])
def test_mongo_query_and_python_evaluator_agree_on_a_real_server(mongo_db, text, ids):
    """to_mongo (with metric_pipeline as resolver) and evaluate select the same runs."""
    def resolver(name, agg, op, value):
        found = mongo_db.metrics.aggregate(metric_pipeline(name, agg, op, value))
        return {"_id": {"$in": sorted(d["_id"] for d in found)}}, True

    node = parse_filter(text)
    query, exact = to_mongo(node, metric=resolver)
    assert exact
    assert sorted(d["_id"] for d in mongo_db.runs.find(query, {"_id": 1})) == ids
    assert python_ids(node) == ids
