"""One stored run as read back: RunRecord, its metrics (Series), artifacts, and RunList.

A RunRecord reads its fields from the run document (Sacred's keys, the same for every backend:
``experiment``, ``command``, ``host``, ``start_time``, ``heartbeat``, ``stop_time``, ``meta``,
``status``, ``result``, ``fail_trace``, ``artifacts``, ``omniboard``; times are datetimes or ISO
strings, naive UTC) and asks its store (:class:`expt.store.Store`) for the rest on first use.

PROBABLY_DEAD: a run stored as RUNNING whose last heartbeat (its start when it never beat) is
older than ``DEAD_AFTER_BEATS`` (3) beat intervals plus ``DEAD_SLACK_SECONDS`` (2 s, for
writers that coalesce heartbeats and for clock differences) is reported as PROBABLY_DEAD.
The beat interval is read from ``meta.beat_interval`` or ``meta.options['--beat-interval']``
and is otherwise taken as ``DEFAULT_BEAT_INTERVAL`` (10 s, the Experiment's default).
"""
from __future__ import annotations

import functools
import os
from datetime import datetime, timedelta, timezone
from typing import IO, Any, Callable, Iterator, Mapping, Sequence

from . import dotted
from .errors import ExptError, UserInputError, did_you_mean, suggest
from .filters import MISSING
from .runref import RunId, RunRef

PROBABLY_DEAD = "PROBABLY_DEAD"
DEAD_AFTER_BEATS = 3
DEAD_SLACK_SECONDS = 2.0
DEFAULT_BEAT_INTERVAL = 10.0
# What a table of finished runs reads (status, times, duration, result, config, tags, experiment
# name): a backend may list runs with only these fields and read the rest of their documents
# when first needed (RunRecord's `complete`), e.g. a RUNNING run's heartbeat and beat interval.
LISTED_FIELDS = ("status", "command", "start_time", "stop_time", "result", "config",
                 "omniboard", "experiment.name")


class RunNotFoundError(UserInputError, KeyError):
    """No run with this id in the store; `run_id`, `suggestions`."""

    def __init__(self, location: str, run_id: Any, suggestions: Sequence[str] = ()):
        self.location, self.run_id, self.suggestions = location, run_id, list(suggestions)
        super().__init__(f"No run {run_id!r} in {location}.{did_you_mean(self.suggestions)}")

    def __str__(self) -> str:
        return self.args[0]


class BrokenRunError(ExptError):
    """A stored run that cannot be read (a file that is not valid JSON, say); listings skip
    such runs with a warning instead of failing."""


class NotInRunError(UserInputError, KeyError):
    """A metric, artifact or source name the run does not have; `name`, `suggestions`."""

    def __init__(self, what: str, name: str, run: Any, available: Sequence[str]):
        self.what, self.name, self.suggestions = what, name, suggest(name, available)
        listing = ", ".join(available) if available else "none"
        super().__init__(f"Run {run} has no {what} '{name}'.{did_you_mean(self.suggestions)} "
                         f"Its {what}s: {listing}.")

    def __str__(self) -> str:
        return self.args[0]


def utcnow() -> datetime:
    """Now as a naive UTC datetime, the way run documents store times."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def as_datetime(value: Any) -> datetime | None:
    """A stored time (datetime or ISO string) as a naive UTC datetime; None when absent."""
    if value is None or isinstance(value, datetime):
        return value.astimezone(timezone.utc).replace(tzinfo=None) \
            if isinstance(value, datetime) and value.tzinfo else value
    try:
        return as_datetime(datetime.fromisoformat(str(value)))
    except ValueError:
        return None


def _numpy():
    try:
        import numpy
    except ImportError:
        raise ImportError('Metric arrays need numpy: pip install "expt[numpy]"') from None
    return numpy


def _pandas():
    try:
        import pandas
    except ImportError:
        raise ImportError('to_frame() needs pandas: pip install "expt[pandas]"') from None
    return pandas


class Series:
    """One metric of one run: `steps`, `values`, `timestamps` as numpy arrays (made on use)."""

    def __init__(self, name: str, raw: Mapping[str, Sequence]):
        self.name = name
        self._raw = raw

    def __len__(self) -> int:
        return len(self._raw.get("values", ()))

    def __repr__(self) -> str:
        return f"<Series {self.name!r}: {len(self)} points>"

    @functools.cached_property
    def steps(self):
        return _numpy().asarray(self._raw.get("steps", []))

    @functools.cached_property
    def values(self):
        return _numpy().asarray(self._raw.get("values", []))

    @functools.cached_property
    def timestamps(self):
        # ISO strings (folders) and datetimes (MongoDB) both parse as datetime64.
        return _numpy().array(self._raw.get("timestamps", []), dtype="datetime64[us]")

    def to_frame(self):
        """A DataFrame with columns step, value, timestamp (needs pandas)."""
        return _pandas().DataFrame({"step": self.steps, "value": self.values,
                                    "timestamp": self.timestamps})


def summarize(raw: Mapping[str, Sequence]) -> dict:
    """``{last, min, max, count}`` of a series' values (min/max of the numbers, NaN ignored)."""
    values = raw.get("values") or []
    try:  # the common case, all numbers: C-speed min/max
        lo, hi = (min(values), max(values)) if values else (None, None)
        # a NaN first sticks in min/max (NaN compares false): then filter, ignoring NaN
        ok = isinstance(lo, (int, float)) and isinstance(hi, (int, float)) and lo == lo \
            and hi == hi
    except TypeError:  # None or text among the numbers
        ok = False
    if values and not ok:
        numbers = [v for v in values
                   if isinstance(v, (int, float)) and not isinstance(v, bool) and v == v]
        lo, hi = (min(numbers), max(numbers)) if numbers else (None, None)
    return {"last": values[-1] if values else None, "count": len(values), "min": lo, "max": hi}


class Metrics(Mapping):
    """``run.metrics[name]`` -> :class:`Series`; names are loaded once, series on access."""

    def __init__(self, record: "RunRecord"):
        self._record = record

    @functools.cached_property
    def _names(self) -> list[str]:
        return self._record.store.metric_names(self._record.id)

    def __getitem__(self, name: str) -> Series:
        if name not in self._names:
            raise NotInRunError("metric", name, self._record.ref, self._names)
        return Series(name, self._record.store.load_metric(self._record.id, name))

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __repr__(self) -> str:
        return f"<Metrics of {self._record.ref}: {', '.join(self._names) or 'none'}>"


class Artifacts:
    """A run's artifacts: ``names()``, ``open(name)`` (binary file), ``download(name, path)``."""

    def __init__(self, record: "RunRecord"):
        self._record = record

    def names(self) -> list[str]:
        return self._record.store.artifact_names(self._record.id)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def __repr__(self) -> str:
        return f"<Artifacts of {self._record.ref}: {', '.join(self.names()) or 'none'}>"

    def open(self, name: str) -> IO[bytes]:
        """The stored artifact as a binary file object (close it, or use ``with``)."""
        return self._record.store.open_artifact(self._record.id, name)

    @staticmethod
    def destination(name: str, path: str | os.PathLike) -> str:
        """Where :meth:`download` puts artifact `name` when asked for `path`."""
        dest = os.fspath(path)
        if os.path.isdir(dest) or dest.endswith(("/", os.sep)):
            dest = os.path.join(dest, os.path.basename(name.replace("\\", "/")))
        return dest

    def download(self, name: str, path: str | os.PathLike,
                 progress: Callable[[int, int], None] | None = None) -> str:
        """Copy artifact `name` to `path` and return where it went. A folder (an existing one,
        or a path ending in '/') keeps the artifact's file name; missing folders are made. The
        file appears complete or not at all. `progress(copied, size)` is called after each
        block (1 MiB), for progress bars."""
        dest = self.destination(name, path)
        os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
        partial = f"{dest}.part-{os.getpid()}"
        try:
            with self.open(name) as src, open(partial, "wb") as out:
                src.seek(0, os.SEEK_END)
                size = src.tell()
                src.seek(0)
                copied = 0
                while block := src.read(1 << 20):
                    out.write(block)
                    copied += len(block)
                    if progress is not None:
                        progress(copied, size)
            os.replace(partial, dest)
        except OSError as e:
            if e.filename != partial:
                raise
            raise type(e)(e.errno, e.strerror, dest) from None  # name the file asked for
        finally:
            if os.path.exists(partial):
                os.remove(partial)
        return dest


class RunRecord:
    """One stored run. Fields are read from the run document; config, info, metrics, output,
    artifacts and sources are loaded from the store on first use.

    A listed run may hold only :data:`LISTED_FIELDS` of its document: `complete` is then
    called with the record on the first use of another field and gives it the whole document
    (:meth:`fill`), typically for several listed runs at once."""

    def __init__(self, store: "Store", run_id: RunId, doc: dict,
                 complete: Callable[["RunRecord"], None] | None = None):
        self.store = store
        self.id = run_id
        self._doc = doc
        self._complete = complete

    def __repr__(self) -> str:
        return f"<RunRecord {self.ref} {self.experiment_name!r} {self.status}>"

    @property
    def doc(self) -> dict:
        """The whole run document."""
        if self._complete is not None:
            self._complete(self)
        return self._doc

    @property
    def partial(self) -> bool:
        """True while the record holds only the :data:`LISTED_FIELDS` of its document."""
        return self._complete is not None

    def fill(self, doc: dict | None) -> None:
        """Give a listed record its whole document (None: keep the listed fields, for a run
        deleted since it was listed)."""
        if doc is not None:
            self._doc = doc
        self._complete = None

    @property
    def ref(self) -> str:
        """The run reference that names this run (``runs/3``, ``mongodb://host/db#3``)."""
        return str(RunRef(self.store.location, self.id))

    # ------------------------------------------------------------------ document fields
    experiment = property(lambda self: self.doc.get("experiment") or {})
    host = property(lambda self: self.doc.get("host") or {})
    meta = property(lambda self: self.doc.get("meta") or {})
    fail_trace = property(lambda self: self.doc.get("fail_trace"))
    comment = property(lambda self: self.meta.get("comment"))
    heartbeat = property(lambda self: as_datetime(self.doc.get("heartbeat")))
    # listed fields: read without completing a listed record's document
    experiment_name = property(lambda self: (self._doc.get("experiment") or {}).get("name"))
    command = property(lambda self: self._doc.get("command"))
    result = property(lambda self: self._doc.get("result"))
    stored_status = property(lambda self: self._doc.get("status"))
    start_time = property(lambda self: as_datetime(self._doc.get("start_time")))
    stop_time = property(lambda self: as_datetime(self._doc.get("stop_time")))
    tags = property(lambda self: list((self._doc.get("omniboard") or {}).get("tags") or []))
    note = property(lambda self: (self._doc.get("omniboard") or {}).get("notes"))

    @property
    def beat_interval(self) -> float:
        """Seconds between heartbeats, as recorded in meta (see the module docstring)."""
        meta = self.meta
        options = meta.get("options") or {}
        for value in (meta.get("beat_interval"), options.get("--beat-interval"),
                      options.get("beat_interval")):
            try:
                if value is not None and float(value) > 0:
                    return float(value)
            except (TypeError, ValueError):
                continue
        return DEFAULT_BEAT_INTERVAL

    @property
    def status(self) -> str | None:
        """The stored status, or PROBABLY_DEAD for a RUNNING run whose heartbeat went stale."""
        status = self.stored_status
        if status != "RUNNING":
            return status
        last = self.heartbeat or self.start_time
        if last is None:
            return status
        limit = DEAD_AFTER_BEATS * self.beat_interval + DEAD_SLACK_SECONDS
        return PROBABLY_DEAD if utcnow() - last > timedelta(seconds=limit) else status

    @property
    def duration(self) -> float | None:
        """Seconds from start to stop (to the last heartbeat while running)."""
        start, end = self.start_time, self.stop_time or self.heartbeat
        return (end - start).total_seconds() if start and end else None

    @functools.cached_property
    def config(self) -> dict:
        return self.store.load_config(self.id)

    @functools.cached_property
    def info(self) -> dict:
        if self.store.info_in_document:
            return self.doc.get("info") or {}
        return self.store.load_info(self.id)

    @property
    def captured_out(self) -> str:
        return self.store.load_output(self.id)

    @functools.cached_property
    def metrics(self) -> Metrics:
        return Metrics(self)

    @functools.cached_property
    def metric_summary(self) -> dict[str, dict]:
        """``{name: {last, min, max, count}}`` for every metric."""
        return self.store.metric_summary(self.id)

    @property
    def artifacts(self) -> Artifacts:
        return Artifacts(self)

    @property
    def sources(self) -> list[str]:
        """Names of the stored source files (read one with :meth:`read_source`)."""
        return [entry[0] for entry in self.experiment.get("sources") or []]

    def read_source(self, name: str) -> str:
        """The stored text of source file `name` as it was when the run started."""
        if name not in self.sources:
            raise NotInRunError("source", name, self.ref, self.sources)
        return self.store.read_source(self.id, name)

    # ------------------------------------------------------------------------- changes
    def add_tag(self, tag: str) -> None:
        """Add `tag` to ``omniboard.tags`` (where Omniboard keeps tags)."""
        if not isinstance(tag, str) or not tag.strip():
            raise UserInputError(f"A tag is a non-empty text, not {tag!r}.")
        tags = self.tags
        if tag not in tags:
            tags.append(tag)
            self._set_omniboard("tags", tags)

    def remove_tag(self, tag: str) -> None:
        """Remove `tag` from ``omniboard.tags``."""
        tags = self.tags
        if tag in tags:
            tags.remove(tag)
            self._set_omniboard("tags", tags)

    def set_note(self, note: str) -> None:
        """Set ``omniboard.notes`` (Omniboard's notes field)."""
        self._set_omniboard("notes", note)

    def _set_omniboard(self, key: str, value: Any) -> None:
        self.store.set_omniboard(self.id, key, value)
        self._doc.setdefault("omniboard", {})[key] = value

    def delete(self) -> None:
        """Remove the run with its metrics, output and artifacts (shared sources stay)."""
        self.store.delete_run(self.id)

    # ------------------------------------------------------------------- filters, rows
    def lookup(self, field: str) -> Any:
        """The value a filter sees for `field` (see :mod:`expt.filters`), or MISSING."""
        if field in _SIMPLE_FIELDS:
            value = _SIMPLE_FIELDS[field](self)
            return MISSING if value is None and field != "result" else value
        head, _, rest = field.partition(".")
        if head == "metrics":
            name, _, agg = rest.rpartition(".")
            summary = self.metric_summary.get(name)
            return MISSING if summary is None else summary.get(agg, MISSING)
        tree = {"config": lambda: self.config, "info": lambda: self.info}.get(head)
        if tree:
            tree = tree()
        else:  # a listed field does not complete a listed record
            tree = (self._doc if head in _LISTED_HEADS else self.doc).get(head) or {}
        return dotted.get(tree, rest, MISSING)

    def row(self) -> dict:
        """A flat dict for tables and DataFrames: id, experiment, status, times, duration,
        tags, ``config.*``, ``metrics.<name>`` (last value), result."""
        row = {"id": self.id, "experiment": self.experiment_name, "status": self.status,
               "start_time": self.start_time, "stop_time": self.stop_time,
               "duration": self.duration, "tags": self.tags}
        row.update((f"config.{k}", v) for k, v in dotted.leaves(self.config))
        row.update((f"metrics.{k}", s["last"]) for k, s in self.metric_summary.items())
        row["result"] = self.result
        return row


_SIMPLE_FIELDS = {
    "id": lambda r: r.id, "status": lambda r: r.status,
    "experiment": lambda r: MISSING if r.experiment_name is None else r.experiment_name,
    "command": lambda r: r.command,
    "comment": lambda r: MISSING if r.comment is None else r.comment,
    "result": lambda r: r._doc.get("result", MISSING), "tags": lambda r: r.tags,
    "note": lambda r: r.note if r.note is not None else MISSING,
    "duration": lambda r: r.duration, "start_time": lambda r: r.start_time,
    "stop_time": lambda r: r.stop_time, "heartbeat": lambda r: r.heartbeat,
}

_LISTED_HEADS = {f for f in LISTED_FIELDS if "." not in f}


class RunList(list):
    """A list of :class:`RunRecord` with :meth:`to_frame`."""

    def to_frame(self):
        """One row per run (see :meth:`RunRecord.row`); needs pandas (``expt[pandas]``)."""
        pd = _pandas()
        frame = pd.DataFrame([r.row() for r in self])
        return frame.set_index("id", drop=False) if len(frame) else frame


