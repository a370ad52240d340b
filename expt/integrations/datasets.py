"""Dataset fingerprints: shape, columns, dtypes and a content hash, stored in ``info["datasets"]``.

    from expt.integrations.datasets import log_dataset
    log_dataset(_run, "train", X_train)         # numpy array, DataFrame, Series, list, file path

Two runs used the same data when their fingerprints' ``sha256`` are equal. The hash covers
the values, the dtypes and the shape (and, for pandas, the column names and the index), so a
reordered, retyped or relabelled copy gets a different hash. Files are hashed by content;
the path is kept for reference only. Nothing is copied: add the file as a resource too
(``_run.add_resource(path)``) if the run should store it.
"""
from __future__ import annotations

import hashlib
import os
from typing import Any

from . import resolve_run

_CHUNK = 1 << 20


def _file_fingerprint(path: str) -> dict:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            digest.update(block)
    return {"kind": "file", "path": os.path.abspath(path), "size": os.path.getsize(path),
            "sha256": digest.hexdigest()}


def _array_fingerprint(array: Any) -> dict:
    import numpy as np

    array = np.asarray(array)
    digest = hashlib.sha256(f"{array.dtype.str}|{array.shape}|".encode())
    if array.dtype.hasobject:  # objects have no stable bytes: hash their text
        for item in array.ravel(order="C"):
            digest.update(repr(item).encode("utf-8", "replace") + b"\0")
    else:
        digest.update(np.ascontiguousarray(array).view(np.uint8).data)
    return {"kind": "ndarray", "shape": list(array.shape), "dtype": array.dtype.str,
            "sha256": digest.hexdigest()}


def _pandas_fingerprint(data: Any) -> dict:
    import pandas as pd

    frame = data.to_frame() if isinstance(data, pd.Series) else data
    columns = [str(c) for c in frame.columns]
    dtypes = {str(c): str(t) for c, t in frame.dtypes.items()}
    digest = hashlib.sha256(repr((columns, list(dtypes.values()), frame.shape)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    for column in frame.columns:  # row hashes combine columns; add each column's own too
        digest.update(pd.util.hash_pandas_object(frame[column], index=False).to_numpy()
                      .tobytes())
    return {"kind": type(data).__name__, "shape": list(data.shape), "columns": columns,
            "dtypes": dtypes, "sha256": digest.hexdigest()}


def fingerprint(data: Any) -> dict:
    """The fingerprint of an array, DataFrame, Series, list, LightGBM Dataset or file path."""
    if isinstance(data, (str, os.PathLike)):
        path = os.fspath(data)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"Cannot fingerprint {path!r}: no such file.")
        return _file_fingerprint(path)
    module = type(data).__module__.split(".")[0]
    if module == "pandas":
        return _pandas_fingerprint(data)
    if module == "lightgbm":  # a Dataset: its raw data and label, while LightGBM keeps them
        raw = getattr(data, "data", None)
        if raw is None:
            raise ValueError("This lightgbm.Dataset no longer holds its raw data "
                             "(free_raw_data=True after construction): fingerprint the "
                             "array or DataFrame it was made from.")
        result = {"kind": "lightgbm.Dataset", "data": fingerprint(raw)}
        label = data.get_label() if data.label is not None else None
        if label is not None:
            result["label"] = fingerprint(label)
        digest = hashlib.sha256(result["data"]["sha256"].encode())
        digest.update(result.get("label", {}).get("sha256", "").encode())
        result["sha256"] = digest.hexdigest()
        return result
    if module == "scipy" and hasattr(data, "tocsr"):
        csr = data.tocsr()
        parts = [_array_fingerprint(a)["sha256"] for a in (csr.data, csr.indices, csr.indptr)]
        digest = hashlib.sha256(f"{csr.dtype.str}|{csr.shape}|{'|'.join(parts)}".encode())
        return {"kind": "sparse", "shape": list(csr.shape), "dtype": csr.dtype.str,
                "nnz": int(csr.nnz), "sha256": digest.hexdigest()}
    return _array_fingerprint(data)


def log_dataset(run: Any, name: str, data: Any) -> dict:
    """Record `data`'s fingerprint as ``run.info["datasets"][name]`` and return it.

    `run` may be None for the current run; outside a run the fingerprint is only returned.
    """
    record = fingerprint(data)
    run = resolve_run(run)
    if run is not None:
        section = dict(run.info.get("datasets") or {})  # copy-on-write: see ExptCallback
        section[str(name)] = record
        run.info["datasets"] = section
    return record
