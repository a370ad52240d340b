"""Database writes as small, idempotent operations that can wait in a queue or a journal file.

Every event of a run becomes a list of ops (plain lists, BSON/JSON-serializable), applied in
order by the writer thread or later by ``expt sync``. Each op can be applied twice without
harm, which is what makes retries after a lost reply, and a second sync, safe:

- ``["run", doc]``                 insert the run document, allocating an id if it has none
- ``["set", coll, filter, fields]`` ``$set`` (repeating it changes nothing)
- ``["insert", coll, doc]``         insert with a client-chosen ``_id``; a duplicate means done
- ``["push", coll, _id, size, arrays]``  ``$push`` only while ``steps`` has ``size`` items
- ``["upsert", coll, filter, doc]`` replace-or-insert (GridFS chunks of the growing output log)
- ``["file", path, file_id, fields]`` upload a staged file to GridFS under a chosen id
- ``["dedup", path, md5, fields, target]`` upload a file unless GridFS has it (same name+md5),
  then ``$set`` its id into the run document (sources)
- ``["indexes"]``                   create the indexes readers need

A run recorded offline has no id yet: its ops hold :data:`RUN_ID` where the id goes, and
:func:`bind` fills it in once the ``run`` op has allocated one.
"""
from __future__ import annotations

from typing import Any

RUN_ID = "$$expt-run-id$$"
CHUNK_SIZE = 255 * 1024  # GridFS default, so standard GridFS readers read our output log


class Names:
    """Collection names for one database and prefix (Sacred's ``PREFIX_runs`` scheme)."""

    def __init__(self, prefix: str = ""):
        p = f"{prefix}_" if prefix else ""
        self.runs = f"{p}runs"
        self.metrics = f"{p}metrics"
        self.metric_chunks = f"{p}metrics_chunks"
        self.counters = f"{p}counters"
        self.fs = "fs"  # Sacred and Omniboard read artifacts from the default bucket


def bind(value: Any, run_id: Any) -> Any:
    """`value` with :data:`RUN_ID` replaced by `run_id` (dicts and strings; lists of data skipped)."""
    if isinstance(value, str):
        if value == RUN_ID:
            return run_id
        return value.replace(RUN_ID, str(run_id)) if RUN_ID in value else value
    if isinstance(value, dict):
        return {k: bind(v, run_id) for k, v in value.items()}
    if isinstance(value, list) and value and isinstance(value[0], (str, dict)):
        return [bind(v, run_id) for v in value]
    return value


def apply(db, names: Names, op: list, run_id: Any, run_uuid: str) -> Any:
    """Apply one op to database `db`; return the run id when the op allocated one."""
    from pymongo.errors import DuplicateKeyError

    kind = op[0]
    if run_id is not None and kind != "run":
        op = bind(op, run_id)
    if kind == "set":
        db[op[1]].update_one(op[2], {"$set": op[3]})
    elif kind == "insert":
        try:
            db[op[1]].insert_one(op[2])
        except DuplicateKeyError:
            pass
    elif kind == "push":
        _, coll, _id, size, arrays = op
        db[coll].update_one({"_id": _id, "steps": {"$size": size}},
                            {"$push": {k: {"$each": v} for k, v in arrays.items()}})
        # matched nothing: an earlier attempt was applied and only its reply was lost
    elif kind == "upsert":
        db[op[1]].replace_one(op[2], op[3], upsert=True)
    elif kind == "file":
        _upload_file(db, names, op[1], op[2], op[3])
    elif kind == "dedup":
        _upload_dedup(db, names, op)
    elif kind == "run":
        from .ids import insert_run
        return insert_run(db[names.runs], db[names.counters], op[1], run_uuid)
    elif kind == "indexes":
        create_indexes(db, names)
    else:
        raise ValueError(f"unknown journal op {kind!r}")
    return None


def _upload_file(db, names: Names, path: str, file_id, fields: dict) -> None:
    import gridfs

    fs_files = db[f"{names.fs}.files"]
    if fs_files.find_one({"_id": file_id}, {"_id": 1}) is not None:
        return  # uploaded by an earlier attempt
    db[f"{names.fs}.chunks"].delete_many({"files_id": file_id})  # leftovers of a broken attempt
    with open(path, "rb") as f:
        gridfs.GridFS(db, collection=names.fs).put(f, _id=file_id, **fields)


def _upload_dedup(db, names: Names, op: list) -> None:
    import gridfs

    _, path, md5, fields, target = op
    found = db[f"{names.fs}.files"].find_one({"filename": fields["filename"], "md5": md5},
                                             {"_id": 1})
    if found is None:
        with open(path, "rb") as f:
            file_id = gridfs.GridFS(db, collection=names.fs).put(f, md5=md5, **fields)
    else:
        file_id = found["_id"]
    if target:  # ["runs", {"_id": id}, "experiment.sources.3.1"]
        coll, flt, field = target
        db[coll].update_one(flt, {"$set": {field: file_id}})


def create_indexes(db, names: Names) -> None:
    """Indexes for the queries readers make; creating an existing index is a no-op."""
    from pymongo import ASCENDING as A, DESCENDING as D
    from pymongo.errors import OperationFailure

    specs = [
        (names.runs, [("status", A)], {}),
        (names.runs, [("experiment.name", A)], {}),
        (names.runs, [("start_time", D)], {}),
        (names.runs, [("meta.expt_uuid", A)], {"sparse": True}),
        (names.metrics, [("run_id", A), ("name", A)], {}),
        (names.metric_chunks, [("metric_id", A), ("chunk", A)], {"unique": True}),
        (names.metric_chunks, [("run_id", A), ("name", A)], {}),
        (f"{names.fs}.files", [("filename", A), ("md5", A)], {}),
        (f"{names.fs}.files", [("metadata.run_id", A)], {"sparse": True}),
        (f"{names.fs}.chunks", [("files_id", A), ("n", A)], {"unique": True}),
    ]
    for coll, keys, opts in specs:
        try:
            db[coll].create_index(keys, **opts)
        except OperationFailure:  # same keys, other options (e.g. made by another tool): keep it
            pass
