"""MongoStore: reading back the runs a MongoObserver (or Sacred's) wrote to a MongoDB database.

Registered as the ``mongo`` backend of the ``expt.stores`` entry-point group. Locations are
``mongodb://[user:pw@]host[:port]/db``, ``mongodb+srv://...`` and ``host:port[:db]`` (database
``sacred`` when none is named, like ``-m``). Filters are evaluated in the database by one
``runs`` query (:func:`expt.filters.to_mongo`), metric comparisons on the ``metric_summaries``
the observer keeps in each run; runs without them (Sacred's) are answered by an aggregation on
``metrics`` and ``metrics_chunks`` (:func:`expt.filters.metric_pipeline`). Only runs fetched by
a query that is not exact (derived status, duration) are checked again in Python. A listing
fetches only the fields a table needs (:data:`LISTING`); the rest of a listed run's document is
read when first used, for a batch of listed runs at once (:class:`_Completion`). Metric series
and output are read in full by :mod:`.read`. Tags and notes are ``omniboard.tags`` /
``omniboard.notes`` in the run document, where Omniboard keeps them.
"""
from __future__ import annotations

import itertools
import re
from typing import IO, Any, Callable, Iterable, Iterator, Mapping, Sequence

from expt.errors import UserInputError, suggest
from expt.filters import (And, Compare, FilterError, Node, Not, evaluate, fields_of,
                          metric_pipeline, mongo_condition, parse_filter, to_mongo)
from expt.redact import driver_error_text
from expt.runref import MONGO, Location, RunId
from expt.store import (LISTED_FIELDS, NotInRunError, RunList, RunNotFoundError, RunRecord,
                        Store, StoreNotFoundError, check_limit, order_keys, sort_key,
                        sort_records)

from .ops import Names
from .read import read_metric, read_output
from .url import MongoUrlError, parse_url, redact, uri_options

CONNECT_TIMEOUT_MS = 5000
AUTHENTICATION_FAILED = 18  # MongoDB's error code for a wrong user or password
IN_LIMIT = 200  # longer id lists are matched in Python (SecantusDB scans $in lists linearly)
SUMMARIES = "metric_summaries"  # {name, count, last, min, max} per metric, kept by the observer
# what runs() fetches per run; the rest of a document (experiment, host, info, artifacts...,
# often most of it) is read when first used (_Completion)
LISTING = dict.fromkeys(LISTED_FIELDS + (SUMMARIES,), 1)


class MongoStore(Store):
    """Runs stored in MongoDB in Sacred's layout (see :mod:`observers.mongo.observer`)."""

    info_in_document = True

    def __init__(self, location: Location | str, *, collection_prefix: str = "",
                 client: Any = None):
        import pymongo
        from pymongo.errors import OperationFailure, PyMongoError

        if isinstance(location, str):
            location = Location(MONGO, location)
        self.location = location
        target = parse_url(location.target)
        self.url = target.redacted
        self.names = Names(collection_prefix)
        self.collection_prefix = collection_prefix
        self._own_client = client is None
        if client is None:
            opts = uri_options(target.uri)
            kwargs = {} if "serverselectiontimeoutms" in opts else {
                "serverSelectionTimeoutMS": CONNECT_TIMEOUT_MS}
            try:
                client = pymongo.MongoClient(target.uri, **kwargs)
            except (ValueError, PyMongoError) as e:  # e.g. port 99999, an unknown option
                raise MongoUrlError(target.redacted, str(e).rstrip(".")) from None
        self.client = client
        self.db = client[target.db_name]
        try:
            existing = client.list_database_names()
        except OperationFailure as e:
            if e.code == AUTHENTICATION_FAILED:
                self.close()
                raise StoreNotFoundError(f"MongoDB at {self.url} refused the login: check the "
                                         "user name, password and authSource.") from None
            existing = None  # a user without listDatabases rights: trust the name
        except PyMongoError as e:
            self.close()
            reason = redact(driver_error_text(e))
            raise StoreNotFoundError(f"Cannot reach MongoDB at {self.url}: {reason}. Is the "
                                     "server running?") from None
        if existing is not None and target.db_name not in existing:
            self.close()
            user_dbs = [d for d in existing if d not in ("admin", "config", "local")]
            close = suggest(target.db_name, user_dbs) if target.db_given else []
            if close:
                hint = f" Did you mean {' or '.join(repr(c) for c in close)}?"
            elif user_dbs:  # a name far from all, or the default 'sacred' of host:port
                hint = f" Its databases: {', '.join(sorted(user_dbs)[:20])}."
            else:
                hint = ""
            default = "" if target.db_given else " (the default when the URL names none)"
            raise StoreNotFoundError(f"No database {target.db_name!r}{default} at {self.url}: "
                                     f"it holds no runs.{hint}")
        self._runs = self.db[self.names.runs]
        self._metrics = self.db[self.names.metrics]
        self._chunks = self.db[self.names.metric_chunks]
        # for the runs of the last runs() result: the summaries their documents carried, and
        # those computed in bulk for the runs without (_pending until then)
        self._doc_summaries: dict[RunId, list] = {}
        self._summaries: dict[RunId, dict] = {}
        self._pending: set[RunId] = set()
        self._completion = _Completion(self._runs, [])

    def __repr__(self) -> str:
        return f"MongoStore({self.url!r}, db={self.db.name!r})"

    def _missing(self, run_id: RunId) -> RunNotFoundError:
        ids = [str(d["_id"]) for d in self._runs.find({}, {"_id": 1}).limit(100_000)]
        return RunNotFoundError(self.location.target, run_id, suggest(str(run_id), ids))

    def _find(self, run_id: RunId, fields: Sequence[str] | None = None) -> dict:
        doc = self._runs.find_one({"_id": run_id}, list(fields) if fields else None)
        if doc is None:
            raise self._missing(run_id)
        return doc

    # ---------------------------------------------------------------------- backend API
    def run_ids(self) -> list[RunId]:
        """Every run id in id order (numbers before text, as MongoDB sorts them)."""
        return [d["_id"] for d in self._runs.find({}, {"_id": 1}).sort("_id", 1)]

    def load_run(self, run_id: RunId) -> dict:
        return self._find(run_id)

    def load_config(self, run_id: RunId) -> dict:
        return self._find(run_id, ["config"]).get("config") or {}

    def load_info(self, run_id: RunId) -> dict:
        return self._find(run_id, ["info"]).get("info") or {}

    def metric_names(self, run_id: RunId) -> list[str]:
        """Names in the order the metrics were first logged."""
        docs = self._metrics.find({"run_id": run_id}, {"name": 1}).sort("_id", 1)
        return list(dict.fromkeys(d["name"] for d in docs))

    def load_metric(self, run_id: RunId, name: str) -> Mapping[str, Sequence]:
        """Steps and values of the whole series now; its timestamps when first asked for
        (datetimes cost the most to transfer and decode, and most readers never use them)."""
        series = read_metric(self.db, run_id, name, collection_prefix=self.collection_prefix,
                             fields=("steps", "values"))
        if not series["values"] and self._metrics.find_one(
                {"run_id": run_id, "name": name}, {"_id": 1}) is None:
            raise NotInRunError("metric", name, f"{self.location.target}#{run_id}",
                                self.metric_names(run_id))
        return _SeriesData(series, lambda: read_metric(
            self.db, run_id, name, collection_prefix=self.collection_prefix,
            fields=("timestamps",))["timestamps"])

    def metric_summary(self, run_id: RunId) -> dict[str, dict]:
        """``{name: {last, min, max, count}}``: the run's ``metric_summaries``, or for a run
        without them (Sacred's) computed in the database (one aggregation serves every such
        run of the last :meth:`runs` result, for tables and DataFrames)."""
        if run_id in self._doc_summaries:
            return _summary_map(self._doc_summaries.pop(run_id))
        if run_id in self._summaries:
            return self._summaries.pop(run_id)
        if run_id in self._pending:
            ids, self._pending = self._pending, set()
            self._summaries.update(self._summarize(ids))
            return self._summaries.pop(run_id, {})
        doc = self._find(run_id, [SUMMARIES])
        if doc.get(SUMMARIES) is not None:
            return _summary_map(doc[SUMMARIES])
        return self._summarize({run_id}).get(run_id, {})

    def _summarize(self, run_ids: set[RunId]) -> dict[RunId, dict]:
        per_doc = [{"$match": _ids_condition("run_id", run_ids)},
                   {"$project": {"run_id": 1, "name": 1, "chunk": {"$ifNull": ["$chunk", 0]},
                                 "last": {"$arrayElemAt": ["$values", -1]},
                                 "min": {"$min": "$values"}, "max": {"$max": "$values"},
                                 "count": {"$size": {"$ifNull": ["$values", []]}}}}]
        pipeline = per_doc + [{"$unionWith": {"coll": self.names.metric_chunks,
                                              "pipeline": per_doc}}]
        # Each document is reduced in the database (its arrays never leave the server); the
        # few reduced documents of a series are combined here.
        parts: dict[tuple, list] = {}
        for d in self._metrics.aggregate(pipeline):
            if d["run_id"] in run_ids:
                parts.setdefault((d["run_id"], d["name"]), []).append(d)
        out: dict[RunId, dict] = {}
        for docs in parts.values():
            docs.sort(key=lambda d: d["chunk"])
        # names in the order they were first logged: by the _id of their first document
        for (run_id, name), docs in sorted(parts.items(), key=lambda kv: kv[1][0]["_id"]):
            out.setdefault(run_id, {})[name] = {
                "last": docs[-1].get("last"), "count": sum(d["count"] for d in docs),
                "min": _extreme(min, [d.get("min") for d in docs]),
                "max": _extreme(max, [d.get("max") for d in docs])}
        return out

    def load_output(self, run_id: RunId, offset: int = 0) -> str:
        try:
            return read_output(self.db, run_id, collection_prefix=self.collection_prefix)[offset:]
        except KeyError:
            raise self._missing(run_id) from None

    def _artifact_entries(self, run_id: RunId) -> list[dict]:
        return [a for a in self._find(run_id, ["artifacts"]).get("artifacts") or []
                if isinstance(a, dict) and "name" in a]

    def artifact_names(self, run_id: RunId) -> list[str]:
        return [a["name"] for a in self._artifact_entries(run_id)]

    def open_artifact(self, run_id: RunId, name: str) -> IO[bytes]:
        """The GridFS file of artifact `name`; names that could leave a folder when downloaded
        (absolute, ``..``) are refused, as in the folder store."""
        import gridfs

        from observers.file_storage.paths import safe_relative_name

        safe_relative_name(name)
        entries = self._artifact_entries(run_id)
        for entry in entries:
            if entry["name"] == name:
                return gridfs.GridFS(self.db, collection=self.names.fs).get(entry["file_id"])
        raise NotInRunError("artifact", name, f"{self.location.target}#{run_id}",
                            [a["name"] for a in entries])

    def read_source(self, run_id: RunId, name: str) -> str:
        import gridfs

        sources = self._find(run_id, ["experiment.sources"]).get("experiment", {}).get(
            "sources") or []
        file_id = dict((e[0], e[1]) for e in sources if len(e) >= 2).get(name)
        if file_id is None:
            raise UserInputError(f"Source {name!r} of run {run_id} is not uploaded to "
                                 f"{self.url} (yet): its writer may still be running or "
                                 "offline; `expt sync` uploads journals.")
        data = gridfs.GridFS(self.db, collection=self.names.fs).get(file_id).read()
        return data.decode("utf-8", errors="replace")

    def set_omniboard(self, run_id: RunId, key: str, value: Any) -> None:
        if self._runs.update_one({"_id": run_id},
                                 {"$set": {f"omniboard.{key}": value}}).matched_count == 0:
            raise self._missing(run_id)

    def delete_run(self, run_id: RunId) -> None:
        """Remove the run's metric documents, its GridFS files (artifacts, output log), then
        the run document last, so an interrupted delete can simply be repeated. Sources and
        resources are shared between runs (stored once per content) and stay."""
        import gridfs

        doc = self._find(run_id, ["artifacts", "captured_out_file"])
        self._metrics.delete_many({"run_id": run_id})
        self._chunks.delete_many({"run_id": run_id})
        file_ids = {a["file_id"] for a in doc.get("artifacts") or []
                    if isinstance(a, dict) and a.get("file_id") is not None}
        if (doc.get("captured_out_file") or {}).get("file_id") is not None:
            file_ids.add(doc["captured_out_file"]["file_id"])
        prefix = re.escape(f"artifact://{self.names.runs}/{run_id}/")
        files = self.db[f"{self.names.fs}.files"]
        file_ids.update(d["_id"] for d in files.find(
            {"$or": [{"metadata.run_id": run_id}, {"filename": {"$regex": f"^{prefix}"}}]},
            {"_id": 1}))
        fs = gridfs.GridFS(self.db, collection=self.names.fs)
        for file_id in file_ids:
            fs.delete(file_id)
        self._runs.delete_one({"_id": run_id})
        self._summaries.pop(run_id, None)
        self._doc_summaries.pop(run_id, None)

    def close(self) -> None:
        if self._own_client:
            self.client.close()

    # -------------------------------------------------------------------- in the database
    def records(self) -> Iterable[RunRecord]:
        """Every run in id order, fetched in one query."""
        return self._fetch({}, None)

    def runs(self, filter: str | Node | None = None, *, order_by: str | Sequence[str] | None = None,
             limit: int | None = None) -> RunList:
        """Runs matching `filter`, selected by the database; see :meth:`Store.runs`.

        One ``runs`` query selects by config and other fields, and by metric values through
        the ``metric_summaries`` the MongoObserver keeps in each run document. Runs written
        without summaries (by Sacred) are fetched too and checked against an aggregation on
        ``metrics`` (:func:`metric_pipeline`), made only when such a run is among them.
        """
        node = parse_filter(filter) if isinstance(filter, str) else filter
        order_by = order_keys(order_by)
        check_limit(limit)
        query, exact = to_mongo(node, metric=_summary_condition)
        by_id = order_by in (["id"], ["+id"])
        if node is None or not any(c.metric for c in fields_of(node)):
            matched = self._fetch(query, limit if exact and by_id else None)
            if not exact:
                matched = [r for r in matched if evaluate(node, r.lookup)]
        else:
            query, exact = _metric_query(node)
            matched = self._fetch(query, None)
            hits, legacy = _LegacyHits(self), set(self._pending)

            def keep(r: RunRecord) -> bool:
                if r.id not in legacy:
                    return exact or evaluate(node, r.lookup)
                return _holds(node, r, hits)
            matched = [r for r in matched if keep(r)]
        if not matched and node is not None:
            self._check_fields(filter if isinstance(filter, str) else "", node)
        if by_id:
            listed = RunList(matched[:limit] if limit is not None else matched)
        else:
            listed = sort_records(matched, order_by, limit)
        self._completion.records = listed  # batches follow the order the runs are read in
        return listed

    def _fetch(self, query: dict, limit: int | None) -> list[RunRecord]:
        cursor = self._runs.find(query, LISTING)
        if limit is not None:
            cursor = cursor.sort("_id", 1).limit(limit)
        out: list[RunRecord] = []
        complete = self._completion = _Completion(self._runs, out)
        self._doc_summaries, self._summaries, self._pending = {}, {}, set()
        for doc in cursor:
            record = RunRecord(self, doc["_id"], doc, complete)
            # config and metric summaries came with the document: no query per run
            record.__dict__["config"] = doc.get("config") or {}
            summaries = doc.get(SUMMARIES)
            if summaries is None:
                self._pending.add(record.id)
            else:
                self._doc_summaries[record.id] = summaries
            out.append(record)
        if limit is None:  # sorted here: SecantusDB's sort took ~10% of a 7,000-run listing
            out.sort(key=lambda r: sort_key(r.id))
        return out

    def legacy_metric_hits(self, name: str, agg: str, op: str, value: Any) -> set[RunId]:
        """Ids of the runs whose metric `name` has its `agg` value ``op value``, computed from
        the series themselves (for runs without ``metric_summaries``)."""
        pipeline = metric_pipeline(name, agg, op, value, chunks=self.names.metric_chunks)
        pipeline.append({"$project": {"_id": 1}})
        return {d["_id"] for d in self._metrics.aggregate(pipeline)}

    def _check_fields(self, text: str, node: Node) -> None:
        """FilterError for a config or metric field that no run has (a likely typo)."""
        for c in fields_of(node):
            if c.op == "!=":
                continue
            if c.metric:
                name = c.metric[0]
                if self._metrics.find_one({"name": name}, {"_id": 1}) is None:
                    known = self._metrics.distinct("name")
                    if known:
                        raise FilterError(text, c.field, c.position, "no run has this metric",
                                          suggest(c.field, [f"metrics.{n}.{c.metric[1]}"
                                                            for n in known]))
            elif c.field.startswith("config."):
                if self._runs.find_one({c.field: {"$exists": True}}, {"_id": 1}) is None:
                    from expt import dotted

                    known = {f"config.{k}" for d in self._runs.find({}, {"config": 1}).limit(200)
                             for k, _ in dotted.leaves(d.get("config") or {})}
                    if known:
                        raise FilterError(text, c.field, c.position, "no run has this field",
                                          suggest(c.field, known))


def _extreme(pick: Callable, values: list) -> Any:
    """min or max of the per-document extremes (numbers; None and text ignored)."""
    numbers = [v for v in values
               if isinstance(v, (int, float)) and not isinstance(v, bool) and v == v]
    return pick(numbers) if numbers else None


def _summary_condition(name: str, agg: str, op: str, value: Any) -> tuple[dict | None, bool]:
    """The runs query for one metric comparison (see :func:`expt.filters.to_mongo`), exact
    for runs with ``metric_summaries``."""
    if op == "!=":  # a run without the metric satisfies it too: no narrowing
        return None, False
    return {SUMMARIES: {"$elemMatch": {"name": name, agg: mongo_condition(op, value)}}}, True


def _metric_query(node: Node) -> tuple[dict, bool]:
    """(runs query, exact for runs with summaries) for a filter with metric comparisons.

    Runs with ``metric_summaries`` are selected by them; runs without (Sacred's) by the other
    comparisons only, their metric comparisons then answered by aggregations on the series
    (_LegacyHits). The comparisons without metrics, ANDed at the top, are taken out of the
    ``$or`` so the database evaluates them once per run."""
    items = node.items if isinstance(node, And) else (node,)
    common = tuple(i for i in items if not any(c.metric for c in fields_of(i)))
    rest = And(tuple(i for i in items if i not in common))
    common_query, common_exact = to_mongo(And(common) if common else None)
    summary_query, summary_exact = to_mongo(rest, metric=_summary_condition)
    legacy_query, _ = to_mongo(rest, metric=lambda *_: (None, False))
    # a run without summaries that the first branch lets through is checked in Python anyway
    either = {"$or": [summary_query, _and({SUMMARIES: {"$exists": False}}, legacy_query)]
              } if summary_query else {}
    return _and(common_query, either), common_exact and summary_exact


def _and(first: dict, second: dict) -> dict:
    if not first:
        return second
    return {"$and": [first, second]} if second else first


def _ids_condition(field: str, ids: Iterable[RunId]) -> dict:
    """A query matching at least the documents whose `field` is one of `ids`: ``$in`` for a few,
    else a range or everything (SecantusDB scans long ``$in`` lists linearly); callers keep
    only the documents of their ids."""
    ids = list(ids)
    if len(ids) <= IN_LIMIT:
        return {field: {"$in": ids}}
    if all(type(i) is int for i in ids):
        return {field: {"$gte": min(ids), "$lte": max(ids)}}
    return {}


class _Completion:
    """Gives listed records (fetched with :data:`LISTING` only) their whole documents when
    one is first needed: that record's and the next partial ones in `records`, wrapping
    around, ``IN_LIMIT`` per query. So reading a listing in any order costs a query per
    ``IN_LIMIT`` runs, and one run's host one small query."""

    def __init__(self, runs: Any, records: list[RunRecord]):
        self.runs, self.records = runs, records

    def __call__(self, record: RunRecord) -> None:
        i = next((i for i, r in enumerate(self.records) if r is record), None)
        following = [record] if i is None else self.records[i:] + self.records[:i]
        partial = (r for r in following if r.partial)
        batch = {r.id: r for r in itertools.islice(partial, max(IN_LIMIT, 1))}
        # captured_out (up to 200,000 characters per run) is read by load_output when asked
        for doc in self.runs.find(_ids_condition("_id", batch), {"captured_out": 0}):
            if doc["_id"] in batch:
                batch.pop(doc["_id"]).fill(doc)
        for gone in batch.values():  # deleted since it was listed
            gone.fill(None)


def _summary_map(summaries: list) -> dict[str, dict]:
    """``{name: {last, min, max, count}}`` from a run document's ``metric_summaries``."""
    return {s["name"]: {"last": s.get("last"), "min": s.get("min"), "max": s.get("max"),
                        "count": s.get("count", 0)}
            for s in summaries if isinstance(s, dict) and "name" in s}


class _LegacyHits:
    """Per metric comparison, the ids of the runs satisfying it, computed on first need."""

    def __init__(self, store: MongoStore):
        self.store, self._ids = store, {}

    def holds(self, run_id: RunId, c: Compare) -> bool:
        if c.op == "!=":  # also true for a run without the metric, which no aggregation lists
            return not self.holds(run_id, Compare(c.field, "=", c.value))
        key = (c.field, c.op, repr(c.value))
        if key not in self._ids:
            self._ids[key] = self.store.legacy_metric_hits(*c.metric, c.op, c.value)
        return run_id in self._ids[key]


def _holds(node: Node | None, record: RunRecord, hits: _LegacyHits) -> bool:
    """:func:`expt.filters.evaluate` for a run without metric summaries: its metric
    comparisons are answered by the database's aggregations (`hits`)."""
    if node is None:
        return True
    if isinstance(node, Compare):
        if node.metric:
            return hits.holds(record.id, node)
        return evaluate(node, record.lookup)
    if isinstance(node, Not):
        return not _holds(node.item, record, hits)
    if isinstance(node, And):
        return all(_holds(i, record, hits) for i in node.items)
    return any(_holds(i, record, hits) for i in node.items)


class _SeriesData(Mapping):
    """``{"steps", "values", "timestamps"}`` of one series, timestamps read on first use (cut
    to the length of the values, in case the run logged more meanwhile)."""

    def __init__(self, data: dict, timestamps: Callable[[], list]):
        self._data, self._timestamps = data, timestamps

    def __getitem__(self, key: str) -> list:
        if key == "timestamps" and key not in self._data:
            self._data[key] = self._timestamps()[:len(self._data["values"])]
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(("steps", "values", "timestamps"))

    def __len__(self) -> int:
        return 3
