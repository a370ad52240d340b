"""Growing data of a run, turned into bounded writes: metric series and the captured output.

Neither ever rewrites what is already stored, and no document grows past a bound, so a run can
log for days without meeting MongoDB's 16 MB document limit:

- a metric's first ``first_points`` points live in Sacred's document in ``metrics``
  (``{_id, run_id, name, steps, values, timestamps}``: Omniboard and incense read it); later
  points continue in ``metrics_chunks`` documents ``{metric_id, run_id, name, chunk, ...}``,
  ``chunk`` = 1, 2, ..., one per batch of new points, inserted and never updated
  (:func:`observers.mongo.read.read_metric` joins them in order);
- each metric's ``{name, count, last, min, max}`` is kept in the run document's
  ``metric_summaries`` list (:meth:`MetricSeries.summaries`), so that listing runs by a
  metric's final or best value is one query on ``runs``, not a pass over every series;
- the output stays whole in the run's ``captured_out`` while it is at most ``tail_chars``
  characters; beyond that ``captured_out`` keeps the last ``tail_chars`` characters and the
  whole log grows in a GridFS file (standard chunks, readable by any GridFS client) named in
  ``captured_out_file``.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from .ops import CHUNK_SIZE, Names


class MetricSeries:
    """Write state of every metric of one run.

    The first document grows by guarded ``$push`` up to ``first_points`` points; after that
    every batch of new points is inserted as its own ``metrics_chunks`` document (at most
    ``chunk_points`` points each), so no write ever rewrites a large document.
    """

    def __init__(self, names: Names, run_id: Any, first_points: int, chunk_points: int):
        self.names, self.run_id = names, run_id
        self.first_points, self.chunk_points = first_points, chunk_points
        self.refs: list[dict] = []  # info.metrics: [{"name", "id"}], Sacred's references
        self._state: dict[str, list] = {}  # name -> [first_id, points in first doc, chunks]
        self._summaries: dict[str, dict] = {}  # name -> {name, count, last, min, max}

    def add(self, name: str, steps: list, values: list, timestamps: list) -> list[list]:
        """Ops that store these new points of metric `name`."""
        from bson import ObjectId

        ops: list[list] = []
        n, pos = len(steps), 0
        if n:
            _summarize(self._summaries.setdefault(name, {"name": name, "count": 0, "last": None,
                                                          "min": None, "max": None}), values)
        state = self._state.get(name)
        if state is None:
            first = ObjectId()
            take = min(n, self.first_points)
            ops.append(["insert", self.names.metrics, {
                "_id": first, "run_id": self.run_id, "name": name, "steps": list(steps[:take]),
                "values": list(values[:take]), "timestamps": list(timestamps[:take])}])
            self._state[name] = state = [first, take, 0]
            self.refs.append({"name": name, "id": str(first)})
            pos = take
        while pos < n:
            first, in_first, chunks = state
            if in_first < self.first_points:
                take = min(n - pos, self.first_points - in_first)
                ops.append(["push", self.names.metrics, first, in_first, {
                    "steps": list(steps[pos:pos + take]), "values": list(values[pos:pos + take]),
                    "timestamps": list(timestamps[pos:pos + take])}])
                state[1] = in_first + take
            else:
                take = min(n - pos, self.chunk_points)
                state[2] = chunks + 1
                ops.append(["insert", self.names.metric_chunks, {
                    "_id": ObjectId(), "metric_id": first, "run_id": self.run_id, "name": name,
                    "chunk": chunks + 1, "steps": list(steps[pos:pos + take]),
                    "values": list(values[pos:pos + take]),
                    "timestamps": list(timestamps[pos:pos + take])}])
            pos += take
        return ops

    def summaries(self) -> list[dict]:
        """``[{name, count, last, min, max}]`` of every metric, in the order first logged."""
        return [dict(s) for s in self._summaries.values()]


def _summarize(summary: dict, values: list) -> None:
    """Fold new `values` into `summary`: min/max of the numbers (NaN, bools and text ignored,
    as :func:`expt.run_record.summarize` does), last and count of all values."""
    summary["count"] += len(values)
    summary["last"] = values[-1]
    numbers = [v for v in values
               if isinstance(v, (int, float)) and not isinstance(v, bool) and v == v]
    if numbers:
        lo, hi = min(numbers), max(numbers)
        if summary["min"] is None or lo < summary["min"]:
            summary["min"] = lo
        if summary["max"] is None or hi > summary["max"]:
            summary["max"] = hi


class OutputLog:
    """Write state of the captured output of one run."""

    def __init__(self, names: Names, run_id: Any, tail_chars: int):
        self.names, self.run_id, self.tail_chars = names, run_id, tail_chars
        self.tail = ""           # whole output until it outgrows tail_chars, then its end
        self.total_chars = 0
        self.file_id = None      # GridFS file holding the whole log, once there is one
        self._chunk_n = 0        # index of the chunk being filled
        self._pending = bytearray()  # bytes of that chunk
        self._length = 0         # bytes in the GridFS file

    def add(self, delta: str) -> tuple[dict, list[list]]:
        """Run-document fields to ``$set`` and GridFS ops for `delta`, the new output."""
        if not delta:
            return {}, []
        self.total_chars += len(delta)
        ops: list[list] = []
        if self.file_id is None and self.total_chars > self.tail_chars:
            ops += self._start_file(self.tail + delta)
        elif self.file_id is not None:
            ops += self._append(delta.encode("utf-8"))
        self.tail = (self.tail + delta)[-self.tail_chars:]
        fields: dict = {"captured_out": self.tail}
        if self.file_id is not None:
            fields["captured_out_file"] = {"file_id": self.file_id, "length": self._length,
                                           "chars": self.total_chars}
        return fields, ops

    def _start_file(self, text: str) -> list[list]:
        from bson import ObjectId

        self.file_id = ObjectId()
        files_doc = {"_id": self.file_id, "length": 0, "chunkSize": CHUNK_SIZE,
                     "uploadDate": datetime.now(timezone.utc),
                     "filename": f"captured_out://{self.names.runs}/{self.run_id}",
                     "contentType": "text/plain; charset=utf-8",
                     "metadata": {"run_id": self.run_id, "kind": "captured_out"}}
        return [["insert", f"{self.names.fs}.files", files_doc]] + self._append(
            text.encode("utf-8"))

    def _append(self, data: bytes) -> list[list]:
        from bson import Binary

        ops: list[list] = []
        chunks = f"{self.names.fs}.chunks"
        self._pending += data
        while len(self._pending) >= CHUNK_SIZE:
            piece = bytes(self._pending[:CHUNK_SIZE])
            ops.append(["upsert", chunks, {"files_id": self.file_id, "n": self._chunk_n},
                        {"files_id": self.file_id, "n": self._chunk_n, "data": Binary(piece)}])
            del self._pending[:CHUNK_SIZE]
            self._chunk_n += 1
        if self._pending:  # the last, partial chunk is rewritten until it is full
            ops.append(["upsert", chunks, {"files_id": self.file_id, "n": self._chunk_n},
                        {"files_id": self.file_id, "n": self._chunk_n,
                         "data": Binary(bytes(self._pending))}])
        self._length += len(data)
        ops.append(["set", f"{self.names.fs}.files", {"_id": self.file_id},
                    {"length": self._length}])
        return ops
