"""The filter language: parsing, errors, the Python evaluator and the MongoDB translation."""
from datetime import datetime

import pytest

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


def test_to_mongo_uses_the_metric_resolver():
    """A metric resolver turns metric comparisons into conditions on the runs collection."""
    calls = []

    def resolver(name, agg, op, value):
        calls.append((name, agg, op, value))
        return {"_id": {"$in": [1, 2]}}

    query, exact = to_mongo(parse_filter("status=COMPLETED and metrics.valid.l2.last<3000"),
                            metric=resolver)
    assert calls == [("valid.l2", "last", "<", 3000)]
    assert query == {"$and": [{"status": "COMPLETED"}, {"_id": {"$in": [1, 2]}}]} and exact


@pytest.mark.parametrize("agg, reduce", [
    ("last", {"$arrayElemAt": ["$values", -1]}),
    ("min", {"$min": "$values"}),
    ("max", {"$max": "$values"}),
])
def test_metric_pipeline(agg, reduce):
    """The aggregation on `metrics` selects run ids by the metric's last/min/max value."""
    assert metric_pipeline("valid.l2", agg, "<", 3000) == [
        {"$match": {"name": "valid.l2"}},
        {"$project": {"_id": "$run_id", "v": reduce}},
        {"$match": {"v": {"$lt": 3000}}}]
