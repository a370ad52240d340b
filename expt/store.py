"""Reading runs back: the Store interface every backend implements.

A backend (the folder store in ``observers.file_storage.store``, the MongoDB store in
``observers.mongo.store``) is found through the ``expt.stores`` entry-point group under the
location kind it serves (``folder``, ``mongo``), so this module never imports ``observers``.
A backend subclasses :class:`Store` and implements the methods marked "backend"; records,
derived status, filters, ordering and DataFrames are shared (see :mod:`expt.run_record`).
A MongoDB backend overrides :meth:`Store.runs` to query with :func:`expt.filters.to_mongo`,
checking the fetched runs with :func:`expt.filters.evaluate` when the query is not exact.
"""
from __future__ import annotations

import importlib
import logging
import os
from typing import IO, Any, Iterable, Iterator, Sequence

from . import dotted
from .errors import UserInputError, did_you_mean, suggest
from .filters import (MISSING, SIMPLE_FIELDS, FilterError, Node, check_field_name, evaluate,
                      fields_of, parse_filter)
from .observer_options import entry_points
from .run_record import (DEAD_AFTER_BEATS, DEAD_SLACK_SECONDS, DEFAULT_BEAT_INTERVAL,
                         LISTED_FIELDS, PROBABLY_DEAD, Artifacts, BrokenRunError, Metrics,
                         NotInRunError, RunList, RunNotFoundError, RunRecord, Series,
                         as_datetime, summarize, utcnow)
from .runref import FOLDER, Location, RunId, RunRef, parse_location, parse_runref

ENTRY_POINT_GROUP = "expt.stores"
__all__ = ["Store", "RunRecord", "RunList", "Series", "Metrics", "Artifacts", "open_store",
           "get_run", "records_by_ref", "sort_records", "check_limit", "sort_key", "backends",
           "RunNotFoundError", "NotInRunError", "BrokenRunError", "StoreNotFoundError",
           "PROBABLY_DEAD", "DEAD_AFTER_BEATS", "DEAD_SLACK_SECONDS", "DEFAULT_BEAT_INTERVAL",
           "ENTRY_POINT_GROUP", "LISTED_FIELDS", "as_datetime", "summarize", "utcnow"]


class StoreNotFoundError(UserInputError, FileNotFoundError):
    """The location names no store, or no installed backend serves its kind."""


class Store:
    """Runs in one place. Backends implement the methods marked "backend"; :meth:`runs` may be
    overridden to evaluate filters in the database (see :func:`expt.filters.to_mongo`)."""

    location: Location
    # backend: True when the run document holds info (MongoDB): a record then reads it from
    # the document, so listed runs get it with the rest of their documents
    info_in_document = False

    # -------------------------------------------------------------------- backend methods
    def run_ids(self) -> list[RunId]:
        """backend: every run id."""
        raise NotImplementedError

    def load_run(self, run_id: RunId) -> dict:
        """backend: the run document; RunNotFoundError when absent."""
        raise NotImplementedError

    def load_config(self, run_id: RunId) -> dict:
        """backend: the run's config."""
        raise NotImplementedError

    def load_info(self, run_id: RunId) -> dict:
        """backend: the run's info dict."""
        raise NotImplementedError

    def metric_names(self, run_id: RunId) -> list[str]:
        """backend: names of the run's metrics."""
        raise NotImplementedError

    def load_metric(self, run_id: RunId, name: str) -> dict[str, Sequence]:
        """backend: ``{"steps", "values", "timestamps"}`` of the whole series, in order."""
        raise NotImplementedError

    def metric_summary(self, run_id: RunId) -> dict[str, dict]:
        """``{name: {last, min, max, count}}``; backends may compute it more cheaply."""
        return {n: summarize(self.load_metric(run_id, n)) for n in self.metric_names(run_id)}

    def load_output(self, run_id: RunId, offset: int = 0) -> str:
        """backend: captured output from character `offset` on (for ``logs --follow``)."""
        raise NotImplementedError

    def artifact_names(self, run_id: RunId) -> list[str]:
        """backend: names of the run's artifacts."""
        raise NotImplementedError

    def open_artifact(self, run_id: RunId, name: str) -> IO[bytes]:
        """backend: the artifact as a binary file; unknown or unsafe names are refused."""
        raise NotImplementedError

    def read_source(self, run_id: RunId, name: str) -> str:
        """backend: the stored text of source `name`."""
        raise NotImplementedError

    def set_omniboard(self, run_id: RunId, key: str, value: Any) -> None:
        """backend: set ``omniboard.<key>`` in the run document (tags, notes)."""
        raise NotImplementedError

    def delete_run(self, run_id: RunId) -> None:
        """backend: remove the run with its metrics, output and artifacts."""
        raise NotImplementedError

    def close(self) -> None:
        """Release connections; nothing to do for folders."""

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --------------------------------------------------------------------- shared reading
    def get(self, run_id: RunId) -> RunRecord:
        """The run with id `run_id`; RunNotFoundError names the nearest ids."""
        return RunRecord(self, run_id, self.load_run(run_id))

    def records(self) -> Iterator[RunRecord]:
        """Every run, in id order (backends may stream them faster)."""
        for run_id in self.run_ids():
            try:
                yield self.get(run_id)
            except RunNotFoundError:  # deleted meanwhile
                continue
            except BrokenRunError as e:
                warn_skipped(e)

    def runs(self, filter: str | Node | None = None, *, order_by: str | Sequence[str] | None = None,
             limit: int | None = None) -> RunList:
        """Runs matching `filter` (text in the :mod:`expt.filters` syntax, or its AST), sorted
        by `order_by` (field names; ``-field`` for descending; id by default), at most `limit`."""
        node = parse_filter(filter) if isinstance(filter, str) else filter
        order_by = order_keys(order_by)
        check_limit(limit)
        seen: set[str] = set()
        matched = []
        compares = fields_of(node)
        for record in self.records():
            try:
                for c in compares:
                    if c.field not in seen and record.lookup(c.field) is not MISSING:
                        seen.add(c.field)
                if evaluate(node, record.lookup):
                    matched.append(record)
            except BrokenRunError as e:  # its config.json or metrics.json, say
                warn_skipped(e)
        if not matched and compares:  # nothing matched: maybe a misspelt field
            check_fields_exist(filter if isinstance(filter, str) else "", compares, seen,
                               self.records)
        return sort_records(matched, order_by, limit)


def warn_skipped(error: BrokenRunError) -> None:
    """Warn about a run left out of a listing: one unreadable run must not hide the others."""
    logging.getLogger("expt").warning("Skipped an unreadable run: %s", error)


def check_fields_exist(text: str, compares: Sequence, seen: set[str], records) -> None:
    """Raise FilterError for a config/info/metrics field that no run has (a likely typo)."""
    for c in compares:
        if c.field in seen or c.op == "!=" or not c.field.startswith(("config.", "metrics.")):
            continue
        known = set().union(*(record_fields(r) for r in records())) - set(SIMPLE_FIELDS)
        if not known:
            return
        raise FilterError(text, c.field, c.position, "no run has this field",
                          suggest(c.field, known))


def record_fields(record: RunRecord) -> set[str]:
    """The filter fields `record` has values for: simple fields, config, metric aggregates."""
    fields = set(SIMPLE_FIELDS)
    fields.update(f"config.{k}" for k, _ in dotted.leaves(record.config))
    fields.update(f"metrics.{n}.{a}" for n in record.metric_summary for a in ("last", "min", "max"))
    return fields


def check_fields(fields: Sequence[str], records: Sequence[RunRecord], what: str) -> None:
    """UserInputError for a field (a sort key, a table column) that is not written as a field
    or that no record has (a likely typo), naming the nearest fields the records have."""
    fields = [f for f in fields if f not in SIMPLE_FIELDS]  # id, status...: every run has them
    if not fields:  # the usual sort by id: no run needs reading
        return
    sample = records[:200]
    names = set().union(*(r.row() for r in sample), *map(record_fields, sample))
    for field in fields:
        if field in names:
            continue
        close = suggest(field, names)
        try:
            check_field_name(field, what)
        except UserInputError:
            if not close:  # say how such a name is written
                raise
        else:
            if not records or any(r.lookup(field) is not MISSING for r in records):
                continue
        reason = "" if close else ": no run here has it"
        raise UserInputError(f"Unknown {what} '{field}'{reason}.{did_you_mean(close)}")


def order_keys(order_by: str | Sequence[str] | None) -> list[str]:
    """`order_by` as a list of keys (``field`` or ``-field``); UserInputError for a key that
    is not a field name (``metrics.loss`` without ``.last``, an unknown field)."""
    keys = [order_by] if isinstance(order_by, str) else list(order_by or ["id"])
    for key in keys:
        check_field_name(key.lstrip("-+"), "sort field")
    return keys


def check_limit(limit: int | None) -> None:
    """UserInputError for a `limit` of runs that is not a whole number >= 0 (None: no limit)."""
    if limit is not None and (type(limit) is not int or limit < 0):
        raise UserInputError(f"The limit of runs must be a whole number >= 0, not {limit!r}.")


def sort_records(records: list, order_by: str | Sequence[str] | None, limit: int | None
                 ) -> RunList:
    """`records` sorted by the fields in `order_by` (``-field``: descending), missing last.
    A field no record has is a UserInputError naming the nearest fields (a likely typo)."""
    keys = order_keys(order_by)
    check_fields([key.lstrip("-+") for key in keys], records, "sort field")
    for key in reversed(keys):  # stable sorts, last key first
        field = key.lstrip("-+")
        pairs = [(r.lookup(field), r) for r in records]
        present = [p for p in pairs if p[0] not in (MISSING, None)]
        present.sort(key=lambda p: sort_key(p[0]), reverse=key.startswith("-"))
        records = [r for _, r in present] + [r for v, r in pairs if v in (MISSING, None)]
    return RunList(records[:limit] if limit is not None else records)


def sort_key(value: Any) -> tuple:
    """Sort key for run fields of mixed types: numbers, then booleans, then the rest as text
    (for run ids, numbers before text, as MongoDB sorts them)."""
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, (int, float)):
        return (0, value)
    return (2, str(value))


# ------------------------------------------------------------------------- opening stores
def backends() -> dict[str, str]:
    """Location kind -> ``module:Class`` of the installed store backends."""
    found: dict[str, str] = {}
    for name, target in entry_points(ENTRY_POINT_GROUP):
        found.setdefault(name, target)
    return found


def open_store(location: str | os.PathLike | Location) -> Store:
    """The store at `location`: a run folder root (a path) or a MongoDB URL (see
    :mod:`expt.runref`)."""
    loc = location if isinstance(location, Location) else parse_location(os.fspath(location))
    target = backends().get(loc.kind)
    if target is None:
        what = "run folders" if loc.kind == FOLDER else "MongoDB locations"
        raise StoreNotFoundError(
            f"No store backend for {what} is installed (entry point '{loc.kind}' in group "
            f"'{ENTRY_POINT_GROUP}'). Reinstall expt (pip install -e .) or install the "
            f"extra it needs{' (expt[mongo])' if loc.kind != FOLDER else ''}.")
    module, _, attribute = target.partition(":")
    try:
        cls = getattr(importlib.import_module(module.strip()), attribute.strip())
    except (ImportError, AttributeError) as e:
        raise StoreNotFoundError(f"The store backend for {loc.kind} locations ({target}) "
                                 f"could not be loaded: {e}") from e
    return cls(loc)


def get_run(ref: str | os.PathLike | RunRef) -> RunRecord:
    """One run from a reference such as ``runs/3`` or ``mongodb://host/db#3``."""
    ref = ref if isinstance(ref, RunRef) else parse_runref(os.fspath(ref))
    return open_store(ref.location).get(ref.run_id)


def records_by_ref(refs: Iterable[str]) -> list[RunRecord]:
    """Runs named by references, opening each store once."""
    stores: dict[Location, Store] = {}
    out = []
    for text in refs:
        ref = parse_runref(text)
        if ref.location not in stores:
            stores[ref.location] = open_store(ref.location)
        out.append(stores[ref.location].get(ref.run_id))
    return out
