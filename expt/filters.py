"""A small filter language for runs, shared by Python and the command line.

Syntax (keywords are case-insensitive)::

    filter     := term ("or" term)*
    term       := factor ("and" factor)*
    factor     := "not" factor | "(" filter ")" | FIELD OP VALUE
    OP         := "=" | "==" | "!=" | "<" | "<=" | ">" | ">=" | "~"      ("~": regex search)
    VALUE      := number | true | false | null | "quoted text" | 'quoted text' | word

Fields:
    id, status, experiment, command, comment, result, tags, note,
    start_time, stop_time, heartbeat (values are dates: 2026-11-01 or 2026-11-01T10:30:00, UTC),
    duration (seconds), config.<path>, info.<path>, meta.<path>, host.<path>,
    experiment.<path>, omniboard.<path>, metrics.<name>.last | .min | .max

Example: ``status=COMPLETED and config.num_leaves>=40 and metrics.valid.l2.last<3000``.

``tags=best`` is true when "best" is one of the run's tags. A missing field makes every
comparison false except ``!=`` (as in MongoDB). ``status`` is the derived status, so
``status=PROBABLY_DEAD`` finds running runs whose heartbeat stopped (see :mod:`expt.store`).

:func:`parse_filter` gives a small AST; :func:`evaluate` runs it against a run in Python (folder
store); :func:`to_mongo` translates it to a MongoDB query (MongoDB store).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterable, Union

from .errors import UserInputError, did_you_mean, suggest

OPERATORS = ("=", "==", "!=", "<", "<=", ">", ">=", "~")
TIME_FIELDS = ("start_time", "stop_time", "heartbeat")
SIMPLE_FIELDS = ("id", "status", "experiment", "command", "comment", "result", "tags", "note",
                 "duration") + TIME_FIELDS
PREFIXES = ("config", "info", "meta", "host", "experiment", "omniboard", "metrics")
METRIC_AGGREGATES = ("last", "min", "max")
# words meant as an aggregate we do not have: suggest replacing them, not appending .last
_OTHER_AGGREGATES = {"mean", "avg", "average", "median", "first", "final", "best", "std",
                     "sum", "count", "minimum", "maximum", "latest", "end"}
STATUSES = ("QUEUED", "RUNNING", "COMPLETED", "FAILED", "INTERRUPTED", "TIMEOUT",
            "PROBABLY_DEAD")
MISSING = object()  # what a run returns for a field it does not have

_TOKEN = re.compile(r"""\s*(?:(?P<paren>[()])|(?P<op><=|>=|!=|==|=>|=<|<>|=|<|>|~)
                        |(?P<quoted>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
                        |(?P<word>[^\s()<>=!~"']+)|(?P<bad>\S))""", re.X)
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*(e[+-]?\d+)?|\.\d+(e[+-]?\d+)?)$", re.I)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$")


class FilterError(UserInputError, ValueError):
    """A filter that cannot be parsed or names an unknown field.

    Fields: `token` (the offending text), `position` (its index), `suggestions`."""

    def __init__(self, text: str, token: str, position: int, reason: str,
                 suggestions: Iterable[str] = ()):
        self.text, self.token, self.position, self.reason = text, token, position, reason
        self.suggestions = list(suggestions)
        where = f" at '{token}' (character {position + 1})" if token else ""
        super().__init__(f"Bad filter{where}: {reason}.{did_you_mean(self.suggestions)}"
                         f"\n  {text}\n  {' ' * position}^")


@dataclass(frozen=True)
class Compare:
    """``field op value``; `position` is where `field` starts in the filter text."""

    field: str
    op: str
    value: Any
    position: int = 0

    @property
    def metric(self) -> tuple[str, str] | None:
        """(metric name, aggregate) for a ``metrics.<name>.<agg>`` field, else None."""
        if not self.field.startswith("metrics."):
            return None
        name, _, agg = self.field[len("metrics."):].rpartition(".")
        return name, agg


@dataclass(frozen=True)
class And:
    items: tuple


@dataclass(frozen=True)
class Or:
    items: tuple


@dataclass(frozen=True)
class Not:
    item: Any


Node = Union[Compare, And, Or, Not]


# ------------------------------------------------------------------------------------ parsing
def parse_filter(text: str | None) -> Node | None:
    """The AST of `text`, or None for an empty filter; FilterError on any mistake."""
    if text is None or not text.strip():
        return None
    tokens = _tokenize(text)
    parser = _Parser(text, tokens)
    node = parser.parse_or()
    if parser.i < len(tokens):
        kind, tok, pos = tokens[parser.i]
        raise FilterError(text, tok, pos, "expected 'and', 'or' or the end of the filter",
                          suggest(tok.lower(), ("and", "or"), n=1))
    return node


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:  # only trailing whitespace is left
            break
        kind = m.lastgroup
        tok = m.group(kind)
        start = m.start(kind)
        if kind == "bad":
            raise FilterError(text, tok, start, "unexpected character",
                              ["!="] if tok == "!" else [])
        tokens.append((kind, tok, start))
        pos = m.end()
    return tokens


class _Parser:
    def __init__(self, text: str, tokens: list[tuple[str, str, int]]):
        self.text, self.tokens, self.i = text, tokens, 0

    def _peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def _keyword(self, word: str) -> bool:
        tok = self._peek()
        if tok and tok[0] == "word" and tok[1].lower() == word:
            self.i += 1
            return True
        return False

    def _fail(self, reason: str, suggestions: Iterable[str] = ()) -> FilterError:
        tok = self._peek()
        if tok is None:
            return FilterError(self.text, "", len(self.text), reason + ", found the end",
                               suggestions)
        return FilterError(self.text, tok[1], tok[2], reason, suggestions)

    def parse_or(self) -> Node:
        items = [self.parse_and()]
        while self._keyword("or"):
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def parse_and(self) -> Node:
        items = [self.parse_factor()]
        while self._keyword("and"):
            items.append(self.parse_factor())
        return items[0] if len(items) == 1 else And(tuple(items))

    def parse_factor(self) -> Node:
        if self._keyword("not"):
            return Not(self.parse_factor())
        tok = self._peek()
        if tok and tok[:2] == ("paren", "("):
            self.i += 1
            node = self.parse_or()
            tok = self._peek()
            if not tok or tok[:2] != ("paren", ")"):
                raise self._fail("expected ')'")
            self.i += 1
            return node
        return self.parse_compare()

    def parse_compare(self) -> Compare:
        tok = self._peek()
        if tok is None or tok[0] != "word":
            raise self._fail("expected a field such as status or config.lr")
        field, fpos = tok[1], tok[2]
        _check_field(self.text, field, fpos)
        self.i += 1
        tok = self._peek()
        if tok is None or tok[0] != "op":
            raise self._fail("expected an operator (=, !=, <, <=, >, >=, ~)",
                             _suggest_operator(tok[1] if tok else ""))
        if tok[1] not in OPERATORS:  # '=>', '=<', '<>'
            raise self._fail("not an operator", _suggest_operator(tok[1]))
        op = "=" if tok[1] == "==" else tok[1]
        self.i += 1
        tok = self._peek()
        if tok is None or tok[0] not in ("word", "quoted"):
            raise self._fail(f"expected a value after '{op}'")
        self.i += 1
        value = _value(self.text, field, op, tok)
        return Compare(field, op, value, fpos)


def _suggest_operator(tok: str) -> list[str]:
    aliases = {"eq": "=", "ne": "!=", "lt": "<", "le": "<=", "lte": "<=", "gt": ">", "ge": ">=",
               "gte": ">=", "=>": ">=", "=<": "<=", "<>": "!=", "is": "=", "like": "~"}
    return [aliases[tok.lower()]] if tok.lower() in aliases else []


def _check_field(text: str, field: str, pos: int) -> None:
    head, _, rest = field.partition(".")
    if not rest:
        if field not in SIMPLE_FIELDS:  # often a config entry written without its prefix
            raise FilterError(text, field, pos, "unknown field",
                              suggest(field, SIMPLE_FIELDS) + [f"config.{field}"])
        return
    if head not in PREFIXES:
        close = suggest(head, PREFIXES + SIMPLE_FIELDS, n=1)
        raise FilterError(text, field, pos, f"unknown field prefix '{head}'",
                          [f"{c}.{rest}" for c in close])
    if head == "metrics":
        name, _, agg = rest.rpartition(".")
        if not name or agg not in METRIC_AGGREGATES:
            close = suggest(agg, METRIC_AGGREGATES, n=1)
            if name and close:
                fixes = [f"metrics.{name}.{close[0]}"]
            elif name and agg.lower() in _OTHER_AGGREGATES:  # "valid.l2.mean": replace it
                fixes = [f"metrics.{name}.{a}" for a in METRIC_AGGREGATES]
            else:  # "valid.l2": the aggregate was left out
                fixes = [f"metrics.{rest}.{a}" for a in METRIC_AGGREGATES]
            raise FilterError(text, field, pos,
                              "a metric field ends in .last, .min or .max", fixes)


def check_field_name(field: str, what: str = "field") -> None:
    """UserInputError unless `field` is written as a filter field (used for sort keys and
    table columns, which name the same fields)."""
    try:
        _check_field(field, field, 0)
    except FilterError as e:
        raise UserInputError(f"Bad {what} '{field}': {e.reason}."
                             f"{did_you_mean(e.suggestions)}") from None


def _value(text: str, field: str, op: str, tok: tuple[str, str, int]) -> Any:
    kind, raw, pos = tok
    if kind == "quoted":
        value: Any = re.sub(r"\\(.)", r"\1", raw[1:-1])
    else:
        low = raw.lower()
        if _NUMBER.match(raw):
            value = float(raw) if any(c in raw for c in ".eE") else int(raw)
        elif low in ("true", "false"):
            value = low == "true"
        elif low in ("null", "none"):
            value = None
        else:
            value = raw
    if op in ("<", "<=", ">", ">=") and kind == "word" and isinstance(value, str) \
            and field not in TIME_FIELDS:
        raise FilterError(text, raw, pos, f"'{op}' compares numbers or dates, and '{raw}' is "
                                          "neither; quote it to compare text",
                          [f'{field}{op}"{raw}"'])
    if op == "~":
        try:
            re.compile(str(value))
        except re.error as e:
            raise FilterError(text, raw, pos, f"not a valid regular expression ({e})") from None
        return str(value)
    if field in TIME_FIELDS:
        if not isinstance(value, str) or not _DATE.match(value):
            raise FilterError(text, raw, pos, f"{field} takes a date such as 2026-11-01 or "
                                              "2026-11-01T10:30:00")
        return datetime.fromisoformat(value.replace(" ", "T"))
    if field == "status" and isinstance(value, str) and value.upper() not in STATUSES:
        close = suggest(value.upper(), STATUSES)
        raise FilterError(text, raw, pos, "unknown status" if close else
                          f"unknown status (one of {', '.join(STATUSES)})", close)
    if field == "status" and isinstance(value, str):
        return value.upper()
    return value


# --------------------------------------------------------------------------------- evaluation
def fields_of(node: Node | None) -> list[Compare]:
    """Every comparison in the AST, in text order."""
    if node is None:
        return []
    if isinstance(node, Compare):
        return [node]
    if isinstance(node, Not):
        return fields_of(node.item)
    return [c for item in node.items for c in fields_of(item)]


def evaluate(node: Node | None, lookup: Callable[[str], Any]) -> bool:
    """Whether a run matches; `lookup(field)` gives the run's value or :data:`MISSING`.

    Metric comparisons are evaluated last inside an ``and``, since they are the costly ones.
    """
    if node is None:
        return True
    if isinstance(node, Compare):
        return compare(lookup(node.field), node.op, node.value)
    if isinstance(node, Not):
        return not evaluate(node.item, lookup)
    if isinstance(node, And):
        return all(evaluate(i, lookup) for i in sorted(node.items, key=_cost))
    return any(evaluate(i, lookup) for i in node.items)


def _cost(node: Node) -> int:
    return sum(1 for c in fields_of(node) if c.metric)


def compare(actual: Any, op: str, expected: Any) -> bool:
    """One comparison, with MongoDB's habits: lists match when any element does; values of
    different kinds are never ordered (``'a' < 3`` is false, not an error)."""
    if actual is MISSING:
        return op == "!="
    if isinstance(actual, list) and op in ("=", "~", "!="):
        hit = any(compare(a, "~" if op == "~" else "=", expected) for a in actual)
        return not hit if op == "!=" else hit
    if op == "=":
        return _kind(actual) == _kind(expected) and actual == expected
    if op == "!=":
        return not (_kind(actual) == _kind(expected) and actual == expected)
    if op == "~":
        return isinstance(actual, str) and re.search(expected, actual) is not None
    if _kind(actual) != _kind(expected) or actual is None:
        return False
    if op == "<":
        return actual < expected
    if op == "<=":
        return actual <= expected
    if op == ">":
        return actual > expected
    return actual >= expected


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, datetime):
        return "time"
    return type(value).__name__


# ------------------------------------------------------------------------------ MongoDB query
_MONGO_OPS = {"!=": "$ne", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte", "~": "$regex"}
_MONGO_FIELDS = {"id": "_id", "experiment": "experiment.name", "comment": "meta.comment",
                 "tags": "omniboard.tags", "note": "omniboard.notes"}
MetricResolver = Callable[[str, str, str, Any], "tuple[dict | None, bool]"]


def to_mongo(node: Node | None, *, metric: MetricResolver | None = None
             ) -> tuple[dict, bool]:
    """(query on the ``runs`` collection, exact).

    When `exact` is False the query matches a superset of the runs (derived fields such as
    ``status=PROBABLY_DEAD``, ``duration`` or metrics without a resolver), and the store must
    check each fetched run with :func:`evaluate`. `metric(name, agg, op, value)` returns
    ``(condition on the runs collection or None, exact)``: None matches every run, and a
    condition that is not exact may match more runs than the comparison does.
    """
    query, exact = _to_mongo(node, metric)
    return (query if query is not None else {}), exact


def _to_mongo(node: Node | None, metric: MetricResolver | None) -> tuple[dict | None, bool]:
    # None stands for "matches everything", so an inexact part never narrows a negation.
    if node is None:
        return None, True
    if isinstance(node, Compare):
        return _compare_to_mongo(node, metric)
    if isinstance(node, Not):
        query, exact = _to_mongo(node.item, metric)
        if not exact:  # the negation of a superset is not a superset: match all, check later
            return None, False
        if query is None:  # not (everything) -> nothing
            return {"_id": {"$exists": False}}, True
        return {"$nor": [query]}, True
    parts = [_to_mongo(i, metric) for i in node.items]
    exact = all(e for _, e in parts)
    queries = [q for q, _ in parts]
    if isinstance(node, And):
        queries = [q for q in queries if q is not None]
        if not queries:
            return None, exact
        return (queries[0] if len(queries) == 1 else {"$and": queries}), exact
    if any(q is None for q in queries):
        return None, exact
    return {"$or": queries}, exact


def _compare_to_mongo(c: Compare, metric: MetricResolver | None) -> tuple[dict | None, bool]:
    if c.metric:
        name, agg = c.metric
        return metric(name, agg, c.op, c.value) if metric else (None, False)
    if c.field == "duration":
        return None, False
    if c.field == "status" and c.value in ("RUNNING", "PROBABLY_DEAD"):
        # Both are stored as RUNNING; the heartbeat's age decides, per run, in Python.
        return ({"status": "RUNNING"} if c.op == "=" else None), False
    return {_MONGO_FIELDS.get(c.field, c.field): mongo_condition(c.op, c.value)}, True


def mongo_condition(op: str, value: Any) -> Any:
    """The MongoDB condition for ``op value`` (``{"$lt": 3}``, or the value itself for =)."""
    if op == "=":
        return value
    return {_MONGO_OPS[op]: value}


def metric_pipeline(name: str, agg: str, op: str, value: Any, *,
                    chunks: str | None = "metrics_chunks") -> list[dict]:
    """An aggregation to run on the ``metrics`` collection; its output documents
    ``{_id: run_id, v}`` are the runs whose metric `name` has its `agg` (last/min/max) value
    satisfying ``op value``.

    Series continue from Sacred's ``{run_id, name, values}`` document into the `chunks`
    collection (``{run_id, name, chunk: 1, 2, ..., values}``, see ``observers.mongo.series``);
    each document is reduced on its own, then per run: the highest chunk's last value, the
    least minimum, the greatest maximum. ``chunks=None`` reads Sacred's documents alone.
    """
    reduce = {"last": {"$arrayElemAt": ["$values", -1]}, "min": {"$min": "$values"},
              "max": {"$max": "$values"}}[agg]
    per_doc = [{"$match": {"name": name}},
               {"$project": {"run_id": 1, "chunk": {"$ifNull": ["$chunk", 0]}, "v": reduce}}]
    pipeline = list(per_doc)
    if chunks:
        pipeline.append({"$unionWith": {"coll": chunks, "pipeline": per_doc}})
    pipeline += [{"$sort": {"run_id": 1, "chunk": 1}},
                 {"$group": {"_id": "$run_id", "v": {{"last": "$last", "min": "$min",
                                                      "max": "$max"}[agg]: "$v"}}},
                 {"$match": {"v": mongo_condition(op, value)}}]
    return pipeline
