"""expt.integrations.datasets: fingerprints tell equal data from changed data."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest

pd = pytest.importorskip("pandas")

from expt.integrations.datasets import fingerprint, log_dataset  # noqa: E402
from tests.integrations import record  # noqa: E402

BASE = np.arange(24, dtype=np.float64).reshape(6, 4)
FRAME = pd.DataFrame(BASE, columns=list("abcd"))


def _changed(array):
    array = array.copy()
    array[2, 1] += 1e-9
    return array


@pytest.mark.parametrize("a, b, same", [
    (BASE, BASE.copy(), True),
    (BASE, np.asfortranarray(BASE), True),  # memory layout is not content
    (BASE, BASE.tolist(), True),
    (BASE, _changed(BASE), False),
    (BASE, BASE.astype(np.float32), False),
    (BASE, BASE.reshape(4, 6), False),
    (BASE, BASE.T, False),
    (FRAME, FRAME.copy(), True),
    (FRAME, FRAME.rename(columns={"a": "z"}), False),
    (FRAME, FRAME[["b", "a", "c", "d"]], False),
    (FRAME, FRAME.astype({"a": "float32"}), False),
    (FRAME, FRAME.set_axis(range(10, 16)), False),
    (FRAME, pd.DataFrame(_changed(BASE), columns=list("abcd")), False),
    (FRAME["a"], FRAME["a"].copy(), True),
    (FRAME["a"], FRAME["b"], False),
    (np.array(["x", None, 3], dtype=object), np.array(["x", None, 3], dtype=object), True),
    (np.array(["x", None, 3], dtype=object), np.array(["x", None, 4], dtype=object), False),
])
def test_fingerprint_equal_only_for_equal_data(a, b, same):
    """Equal data gives equal hashes; a changed value, dtype, shape or name does not."""
    assert (fingerprint(a)["sha256"] == fingerprint(b)["sha256"]) is same


def test_fingerprint_fields():
    """Shape, columns and dtypes are recorded beside the hash."""
    frame = FRAME.assign(e=["p", "q", "r", "s", "t", "u"])
    fp = fingerprint(frame)
    assert fp["kind"] == "DataFrame" and fp["shape"] == [6, 5]
    assert fp["columns"] == ["a", "b", "c", "d", "e"]
    assert fp["dtypes"]["a"] == "float64" and fp["dtypes"]["e"] in ("object", "str", "string")
    assert fingerprint(BASE) == {"kind": "ndarray", "shape": [6, 4], "dtype": "<f8",
                                 "sha256": fingerprint(BASE.copy())["sha256"]}


def test_fingerprint_file_is_sha256_of_content(tmp_path):
    """A file's hash is the SHA-256 of its bytes; missing files raise FileNotFoundError."""
    path = tmp_path / "data.csv"
    path.write_bytes(b"a,b\n1,2\n" * 1000)
    fp = fingerprint(path)
    assert fp["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert fp["size"] == 8000 and fp["kind"] == "file"
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        fingerprint(tmp_path / "nope.csv")


def test_fingerprint_lightgbm_dataset():
    """A LightGBM Dataset is fingerprinted by its raw data and label."""
    lgb = pytest.importorskip("lightgbm")
    label = np.arange(6.0)
    fp = fingerprint(lgb.Dataset(BASE, label=label))
    assert fp["data"] == fingerprint(BASE) and fp["label"] == fingerprint(label)
    assert fp["sha256"] != fingerprint(lgb.Dataset(BASE, label=label + 1))["sha256"]


def test_log_dataset_stores_in_info(tmp_path):
    """log_dataset puts each fingerprint in info["datasets"][name] of the run."""
    def body(run, values):
        log_dataset(run, "train", FRAME)
        log_dataset(None, "test", BASE)  # None: the current run
    rec = record(body, tmp_path)
    assert rec.info["datasets"] == {"train": fingerprint(FRAME), "test": fingerprint(BASE)}
