"""MongoObserver: every run in MongoDB, in Sacred 0.8.7's layout, without stalling the run.

Where things go (``P_`` is the optional collection prefix):

- ``P_runs``: one document per run with Sacred's fields; integer ``_id`` (:mod:`.ids`); and
  ``metric_summaries`` (last/min/max/count of each metric, for metric filters);
- ``P_metrics`` / ``P_metrics_chunks``: metric series in bounded documents (:mod:`.series`);
- GridFS ``fs``: sources (once per file name and md5), resources, artifacts
  (``artifact://P_runs/<id>/<name>`` with ``contentType`` and ``metadata``) and, for long
  output, the whole captured output (``captured_out_file`` in the run document).

Behaviour when the database is slow or away:

- ``started_event`` tries the server for at most ``connect_timeout`` seconds (default 3). If it
  does not answer, the run starts anyway without a database id, one message on stderr says so,
  and everything is recorded for later (``strict=True`` raises :class:`ObserverError` instead);
- every later write goes to a background thread (:mod:`.writer`), retried until the server is
  back; the training thread never waits on the database;
- while the server stays away longer than ``spill_after`` seconds, queued records are also
  appended to the journal as they come, so a killed process leaves them on disk;
- ``join`` waits up to ``join_timeout`` seconds; while the server is unreachable, only until
  it has been so for ``connect_timeout`` + 1 s, counted from the first failed attempt (a server
  away since the start is not waited for again); what is still unwritten is kept in the
  journal folder (``journal_dir``, default ``$EXPT_JOURNAL_DIR`` or ``~/.expt/journal``) and
  ``expt sync`` uploads it later.
"""
from __future__ import annotations

import os
import sys
import threading
import time
import uuid
from typing import Any

from expt.errors import ObserverError
from expt.events import COMPLETED, FAILED, QUEUED, RUNNING, RunObserver

from . import ops as ops_mod
from .documents import bson_safe, content_type as guess_content_type, redact_strings, run_document
from .journal import RunJournal, default_root
from .series import MetricSeries, OutputLog
from .url import parse_url, redact, uri_options
from .writer import Writer, is_retryable

DEFAULT_PRIORITY = 30  # Sacred's: the MongoObserver assigns the run id before file observers
_indexed: set[tuple] = set()  # (address, db, prefix) whose indexes this process created


class MongoObserver(RunObserver):
    """Record runs in MongoDB (``url`` in any form :func:`.url.parse_url` accepts)."""

    def __init__(self, url: str | None = None, db_name: str | None = None, *,
                 collection_prefix: str = "", client=None, priority: int = DEFAULT_PRIORITY,
                 connect_timeout: float = 3.0, strict: bool = False,
                 journal_dir: str | os.PathLike | None = None, join_timeout: float = 60.0,
                 metric_first_points: int = 20_000, metric_chunk_points: int = 100_000,
                 output_tail_chars: int = 200_000,
                 retry_max: float = 5.0, spill_after: float = 2.0, **client_kwargs: Any):
        try:
            import pymongo
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ImportError('MongoObserver needs pymongo: pip install "expt[mongo]"') from exc
        if client is not None and url is not None:
            raise ObserverError("Pass either a MongoDB url or a client, not both.")
        if "failure_dir" in client_kwargs:  # Sacred's name for where failed runs go
            failure_dir = client_kwargs.pop("failure_dir")
            journal_dir = journal_dir if journal_dir is not None else failure_dir
        for unsupported, instead in (("overwrite", "start a new run"),
                                     ("collection", "use collection_prefix")):
            if client_kwargs.get(unsupported) is not None:
                raise ObserverError(f"MongoObserver does not support Sacred's "
                                    f"'{unsupported}' argument: {instead}.")
        target = parse_url(url or "localhost:27017", db_name) if client is None else None
        self.db_name = target.db_name if target else (db_name or "sacred")
        self.url = target.redacted if target else "<client>"
        self._uri = target.uri if target else None
        self.collection_prefix = collection_prefix
        self.names = ops_mod.Names(collection_prefix)
        self.priority = priority
        self.connect_timeout = connect_timeout
        self.strict = strict
        self.journal_root = journal_dir if journal_dir is not None else default_root()
        self.join_timeout = join_timeout
        self.metric_first_points = metric_first_points
        self.metric_chunk_points = metric_chunk_points
        self.output_tail_chars = output_tail_chars
        self.retry_max = retry_max
        self.spill_after = spill_after
        self._own_client = client is None
        if client is None:
            opts = uri_options(self._uri)
            ms = int(connect_timeout * 1000)
            defaults = {"serverselectiontimeoutms": ms, "connecttimeoutms": ms,
                        "sockettimeoutms": 120_000}
            kwargs = {k: v for k, v in defaults.items()
                      if k not in opts and k not in {c.lower() for c in client_kwargs}}
            client = pymongo.MongoClient(self._uri, **kwargs, **client_kwargs)
        self.client = client
        self.db = client[self.db_name]
        self.run_id: Any = None
        self.journal: RunJournal | None = None
        self._writer: Writer | None = None
        self._lock = threading.Lock()
        self._warned_offline = False

    @classmethod
    def create(cls, *args: Any, **kwargs: Any) -> "MongoObserver":
        """Sacred's old constructor spelling, kept so existing scripts run unchanged."""
        return cls(*args, **kwargs)

    # -- start --
    def queued_event(self, ex_info, command, host_info, queue_time, config, meta_info, _id):
        """Record a QUEUED run."""
        doc = run_document(status=QUEUED, ex_info=ex_info, command=command, host_info=host_info,
                           config=config, meta_info=meta_info, start_time=None)
        return self._start(doc, ex_info, _id)

    def started_event(self, ex_info, command, host_info, start_time, config, meta_info, _id):
        """Insert the run document and return its integer id (None when recording offline)."""
        doc = run_document(status=RUNNING, ex_info=ex_info, command=command, host_info=host_info,
                           config=config, meta_info=meta_info, start_time=start_time)
        return self._start(doc, ex_info, _id)

    def _start(self, doc: dict, ex_info: dict, _id: Any) -> Any:
        from .ids import insert_run

        run_uuid = uuid.uuid4().hex
        self.journal = RunJournal(self.journal_root, run_uuid)
        self.run_id = None  # this observer may have recorded an earlier run
        self._warned_offline = False  # one message per run
        if _id is not None:
            doc["_id"] = _id
        first_ops: list[list] = []
        offline_since = None
        tried_at = time.monotonic()
        try:
            self.run_id = insert_run(self.db[self.names.runs], self.db[self.names.counters],
                                     doc, run_uuid, check_existing=False)
        except Exception as exc:  # noqa: BLE001 - sorted below
            if not is_retryable(exc):  # wrong password, no rights: the user must fix it
                raise ObserverError(f"MongoObserver could not write to {self.url} "
                                    f"(database '{self.db_name}'): {redact(str(exc))}") from exc
            if self.strict:
                raise ObserverError(
                    f"MongoDB at {self.url} did not answer within {self.connect_timeout:g} s "
                    f"or failed ({type(exc).__name__}: {redact(str(exc))[:200]}) and the "
                    "MongoObserver is strict: the run is not started.") from exc
            self._tell_offline(exc)
            offline_since = tried_at
            doc.setdefault("_id", ops_mod.RUN_ID)
            first_ops.append(["run", doc])
        rid = self.run_id if self.run_id is not None else ops_mod.RUN_ID
        self._rid = rid
        self._metrics = MetricSeries(self.names, rid, self.metric_first_points,
                                     self.metric_chunk_points)
        self._output = OutputLog(self.names, rid, self.output_tail_chars)
        self._last = {}
        self._resources: list = []
        self._staged: dict[str, str] = {}  # source/resource path -> its copy in the journal
        self._artifacts: list = []
        key = (self._uri or id(self.client), self.db_name, self.collection_prefix)
        if key not in _indexed:
            _indexed.add(key)
            first_ops.append(["indexes"])
        base = ex_info.get("base_dir", "")
        for i, (name, md5) in enumerate(ex_info.get("sources", [])):
            path = os.path.join(base, name)
            first_ops.append(["dedup", path, md5, {"filename": path},
                              [self.names.runs, {"_id": rid}, f"experiment.sources.{i}.1"]])
        self._writer = Writer(self.db, self.names, run_uuid=run_uuid, run_id=self.run_id,
                              retry_max=self.retry_max, on_state=self._on_state,
                              spill=self._spill, spill_after=self.spill_after,
                              offline_since=offline_since)
        self._writer.submit(first_ops)
        return self.run_id

    # -- during the run (never waits on the database) --
    def heartbeat_event(self, info, beat_time, result, output_delta=""):
        """``$set`` only what changed; new output goes to the tail and, if long, to GridFS.

        Only ``output_delta`` (the output added since the last beat) is taken, never the whole
        ``captured_out``, so a long log costs nothing more per beat.
        """
        with self._lock:
            fields, new_ops = self._output.add(output_delta or "")
            fields["heartbeat"] = beat_time
            self._changed(fields, "info", self._info_doc(info))
            self._changed(fields, "result", bson_safe(result))
            new_ops.append(self._set(fields))
            self._writer.submit(new_ops)

    def log_metrics(self, metrics_by_name, info):
        """Append the new points of each metric (bounded documents, never rewritten) and
        update the run's ``metric_summaries`` (what metric filters query)."""
        with self._lock:
            new_ops: list[list] = []
            known = len(self._metrics.refs)
            for name, series in metrics_by_name.items():
                new_ops += self._metrics.add(name, series["steps"], series["values"],
                                             series["timestamps"])
            fields: dict = {"metric_summaries": self._metrics.summaries()}
            if len(self._metrics.refs) != known:
                refs = [dict(r) for r in self._metrics.refs]
                fields["info.metrics"] = refs
                if "info" in self._last:
                    self._last["info"] = dict(self._last["info"], metrics=refs)
            new_ops.append(self._set(fields))
            self._writer.submit(new_ops)

    def artifact_event(self, name, filename, metadata=None, content_type=None):
        """Upload a copy of `filename` to GridFS as ``artifact://<runs>/<id>/<name>``."""
        from bson import ObjectId

        ctype = content_type or guess_content_type(filename)
        with self._lock:
            file_id = ObjectId()
            staged = self.journal.stage(filename, f"artifact-{file_id}")
            fields = {"filename": f"artifact://{self.names.runs}/{self._rid}/{name}",
                      "metadata": redact_strings(bson_safe(metadata)),
                      "contentType": ctype}
            self._artifacts.append({"name": name, "file_id": file_id})
            self._writer.submit([["file", staged, file_id, fields],
                                 self._set({"artifacts": list(self._artifacts)})])

    def resource_event(self, filename):
        """Record ``[filename, md5]`` and upload the file to GridFS once per content."""
        from expt.sources import file_md5

        md5 = file_md5(filename)
        with self._lock:
            entry = [filename, md5]
            if entry in self._resources:
                return
            self._resources.append(entry)
            self._writer.submit([["dedup", filename, md5, {"filename": filename}, None],
                                 self._set({"resources": list(self._resources)})])

    # -- end --
    def completed_event(self, stop_time, result):
        self._final({"stop_time": stop_time, "result": bson_safe(result), "status": COMPLETED})

    def interrupted_event(self, interrupt_time, status):
        self._final({"stop_time": interrupt_time, "status": status})

    def failed_event(self, fail_time, fail_trace):
        self._final({"stop_time": fail_time, "status": FAILED, "fail_trace": fail_trace})

    def _final(self, fields: dict) -> None:
        with self._lock:
            self._writer.submit([self._set(fields)])

    def join(self):
        """Wait (bounded) for the writes; keep what is left in the journal for ``expt sync``."""
        if self._writer is None:
            return
        left = self._writer.close(self.join_timeout, offline_grace=self.connect_timeout + 1)
        run_id = self._writer.run_id
        if left:
            self._keep(left, run_id)
        elif self.journal is not None:
            self.journal.discard()
        self._writer = None  # the client stays open: one observer may record several runs
        if left and self.strict:
            raise ObserverError(f"{len(left)} writes did not reach MongoDB at {self.url}; "
                                f"kept in {self.journal.dir}.")

    def close(self) -> None:
        """Close the MongoDB client this observer created (after its last run)."""
        if self._own_client:
            self.client.close()

    def _keep(self, left: list[list], run_id: Any) -> None:
        left = [self._stage_sources(op) for op in left]
        self.journal.write(url=self.url, db_name=self.db_name, prefix=self.collection_prefix,
                           run_id=run_id, ops=left)
        what = f"run {run_id}" if run_id is not None else "this run"
        print(f"expt: {len(left)} writes of {what} did not reach MongoDB at {self.url}; they "
              f"are kept in {self.journal.dir}. Upload them with: expt sync", file=sys.stderr)

    def _spill(self, pending: list[list], run_id: Any) -> None:
        # writer thread, server away for a while: put the records on disk as they come
        self.journal.append(url=self.url, db_name=self.db_name, prefix=self.collection_prefix,
                            run_id=run_id, ops=[self._stage_sources(op) for op in pending])

    def _stage_sources(self, op: list) -> list:
        # source and resource files may change before the sync: keep today's bytes
        if op[0] == "dedup" and os.path.isfile(op[1]):
            op = list(op)
            staged = self._staged.get(op[1])
            if staged is None:
                staged = self._staged[op[1]] = self.journal.stage(
                    op[1], f"file-{uuid.uuid4().hex}")
            op[1] = staged
        return op

    # -- helpers --
    def _set(self, fields: dict) -> list:
        return ["set", self.names.runs, {"_id": self._rid}, fields]

    def _info_doc(self, info: dict) -> dict:
        doc = redact_strings(bson_safe(dict(info or {})))
        if self._metrics.refs:
            doc["metrics"] = [dict(r) for r in self._metrics.refs]
        return doc

    def _changed(self, fields: dict, key: str, value: Any) -> None:
        if key not in self._last or self._last[key] != value:
            self._last[key] = value
            fields[key] = value

    def _tell_offline(self, exc: BaseException) -> None:
        if not self._warned_offline:
            self._warned_offline = True
            from pymongo.errors import ConnectionFailure

            why = (f"did not answer within {self.connect_timeout:g} s"
                   if isinstance(exc, ConnectionFailure)
                   else f"failed ({type(exc).__name__}: {redact(str(exc))[:120]})")
            print(f"expt: MongoDB at {self.url} {why}; "
                  "the run goes on, its records are retried in the background and whatever is "
                  f"not written by the end is kept in {self.journal.dir} for `expt sync`.",
                  file=sys.stderr)

    def _on_state(self, state: str, exc: BaseException | None) -> None:
        if state == "caught_up":  # a replay of older journaled $sets would undo newer ones
            self.journal.clear_ops()
            return
        if state == "offline" and not self._warned_offline and self.run_id is not None:
            self._warned_offline = True
            print(f"expt: lost MongoDB at {self.url} ({type(exc).__name__}); the run goes on and "
                  "its records are retried in the background.", file=sys.stderr)
