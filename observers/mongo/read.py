"""Reading back what the MongoObserver wrote, in full: metric series and captured output."""
from __future__ import annotations

from typing import Any, Sequence

from .ops import Names


SERIES_FIELDS = ("steps", "values", "timestamps")


def read_metric(db, run_id: Any, name: str, *, collection_prefix: str = "",
                fields: Sequence[str] = SERIES_FIELDS) -> dict[str, list]:
    """All points of metric `name` of run `run_id`: ``{"steps", "values", "timestamps"}``
    (only `fields` of them, to transfer less), joining the first (Sacred) document and its
    ``metrics_chunks`` continuations in order."""
    names = Names(collection_prefix)
    projection = {f: 1 for f in fields}
    first = db[names.metrics].find_one({"run_id": run_id, "name": name}, projection)
    out: dict[str, list] = {f: [] for f in fields}
    if first is None:
        return out
    docs = [first] + list(db[names.metric_chunks].find({"metric_id": first["_id"]}, projection)
                          .sort("chunk", 1))
    for doc in docs:
        for key in out:
            out[key].extend(doc.get(key, []))
    return out


def read_output(db, run_id: Any, *, collection_prefix: str = "") -> str:
    """The whole captured output of run `run_id` (GridFS log when it outgrew the run document)."""
    import gridfs

    names = Names(collection_prefix)
    run = db[names.runs].find_one({"_id": run_id}, {"captured_out": 1, "captured_out_file": 1})
    if run is None:
        raise KeyError(f"no run with _id {run_id!r} in {db.name}.{names.runs}")
    ref = run.get("captured_out_file")
    if not ref:
        return run.get("captured_out", "")
    data = gridfs.GridFS(db, collection=names.fs).get(ref["file_id"]).read()
    return data.decode("utf-8")
