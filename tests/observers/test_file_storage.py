"""FileStorageObserver driven through its event methods, with real folders and processes."""
from __future__ import annotations

import hashlib
import json
import math
import multiprocessing
import os
import subprocess
import textwrap
from datetime import datetime, timedelta

import pytest

from expt.errors import ObserverError
from expt.events import check_observer
from expt.observer_options import ENTRY_POINT_GROUP, ObserverOption
from observers.file_storage import (FileStorageObserver, FileStorageOption, RunDirExistsError,
                                    UnsafePathError)
from observers.file_storage.metrics import MetricsFile
from tests.sacred_python import sacred_python

T0 = datetime(2026, 1, 2, 3, 4, 5, 600000)
SOURCE_TEXT = "print('hello')\n"


def make_ex_info(base_dir) -> dict:
    """An ex_info payload whose one source file really exists in `base_dir`."""
    src = base_dir / "train.py"
    if not src.exists():
        src.write_text(SOURCE_TEXT)
    md5 = hashlib.md5(src.read_bytes()).hexdigest()
    return {"name": "tiny", "base_dir": str(base_dir), "sources": [["train.py", md5]],
            "dependencies": ["numpy==2.0"], "repositories": [], "mainfile": "train.py"}


HOST = {"hostname": "vm", "os": ["Linux", "Linux-6"], "python_version": "3.11.7", "cpu": "x"}
META = {"command": "main", "options": {"--comment": None}}


def start(obs, tmp_path, _id=None, config=None):
    """Send started_event the way the run does and return the id it gives back."""
    return obs.started_event(ex_info=make_ex_info(tmp_path), command="main", host_info=HOST,
                             start_time=T0, config=config or {"a": 1, "seed": 7},
                             meta_info=META, _id=_id)


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def no_tmp_files(folder) -> bool:
    return not [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


def test_started_event_writes_run_config_cout_and_sources(tmp_path):
    """started_event claims folder 1 and writes run.json, config.json, cout.txt and the source."""
    store = tmp_path / "runs"
    obs = FileStorageObserver(store)
    assert start(obs, tmp_path) == 1
    run = load(store / "1" / "run.json")
    assert run["status"] == "RUNNING"
    assert run["start_time"] == T0.isoformat()
    assert run["command"] == "main" and run["host"] == HOST and run["meta"] == META
    assert run["resources"] == [] and run["artifacts"] == [] and run["heartbeat"] is None
    md5 = hashlib.md5(SOURCE_TEXT.encode()).hexdigest()
    stored = f"_sources/train_{md5}.py"
    assert run["experiment"]["sources"] == [["train.py", stored]]
    assert (store / stored).read_text() == SOURCE_TEXT
    assert run["experiment"]["name"] == "tiny"
    assert load(store / "1" / "config.json") == {"a": 1, "seed": 7}
    assert (store / "1" / "cout.txt").read_text() == ""
    assert obs.dir == os.path.join(str(store), "1")


def test_ids_count_up_and_sources_are_shared(tmp_path):
    """Consecutive runs get 1, 2, 3 and share the one stored copy of an unchanged source."""
    store = tmp_path / "runs"
    ids = [start(FileStorageObserver(store), tmp_path) for _ in range(3)]
    assert ids == [1, 2, 3]
    assert len(list((store / "_sources").iterdir())) == 1


def test_numbering_continues_after_existing_folders(tmp_path):
    """The next id follows the largest numeric folder; other folders are ignored."""
    store = tmp_path / "runs"
    for name in ("7", "12", "notes", "_sources"):
        (store / name).mkdir(parents=True)
    assert start(FileStorageObserver(store), tmp_path) == 13


def test_reused_observer_continues_after_other_writers(tmp_path):
    """A reused observer starts from its last id and steps over folders others created."""
    store = tmp_path / "runs"
    first, other = FileStorageObserver(store), FileStorageObserver(store)
    assert start(first, tmp_path) == 1
    assert start(other, tmp_path) == 2
    assert start(first, tmp_path) == 3  # 2 was taken meanwhile
    for n in range(4, 201):  # far ahead: the observer rescans instead of trying each number
        (store / str(n)).mkdir()
    assert start(first, tmp_path) == 201


def test_ex_info_is_not_modified(tmp_path):
    """The caller's ex_info keeps its [path, md5] sources for the observers that follow."""
    ex_info = make_ex_info(tmp_path)
    before = json.loads(json.dumps(ex_info))
    FileStorageObserver(tmp_path / "runs").started_event(
        ex_info=ex_info, command="main", host_info=HOST, start_time=T0, config={},
        meta_info=META, _id=None)
    assert ex_info == before


def test_given_id_names_the_folder(tmp_path):
    """An _id chosen elsewhere becomes the folder name and is returned unchanged."""
    store = tmp_path / "runs"
    obs = FileStorageObserver(store)
    assert start(obs, tmp_path, _id="baseline-2") == "baseline-2"
    assert load(store / "baseline-2" / "run.json")["status"] == "RUNNING"


def test_given_id_that_exists_is_refused(tmp_path):
    """Reusing an existing folder's id raises RunDirExistsError naming the folder."""
    store = tmp_path / "runs"
    start(FileStorageObserver(store), tmp_path, _id="x")
    with pytest.raises(RunDirExistsError, match="already exists") as info:
        start(FileStorageObserver(store), tmp_path, _id="x")
    assert info.value.run_id == "x"
    assert isinstance(info.value, FileExistsError)


@pytest.mark.parametrize("bad_id, reason", [
    ("../x", "path separators"),
    ("a/b", "path separators"),
    ("/tmp/evil", "path separators"),
    ("..", "parent"),
    (".", "folder itself"),
    ("", "empty"),
    ("_sources", "kept for the store"),
    ("a\\b", "path separators"),
])
def test_unsafe_run_ids_are_refused(tmp_path, bad_id, reason):
    """Ids that are not one plain folder name are refused before anything is written."""
    store = tmp_path / "store" / "runs"
    with pytest.raises(UnsafePathError, match=reason) as info:
        start(FileStorageObserver(store), tmp_path, _id=bad_id)
    assert info.value.value == bad_id
    assert not (tmp_path / "store" / "x").exists() and not (tmp_path / "evil").exists()


def test_heartbeat_appends_output_delta_and_writes_info(tmp_path, monkeypatch):
    """Heartbeats append only the new output and update heartbeat, result and info.json."""
    import observers.file_storage as fs

    monkeypatch.setattr(fs, "RUN_JSON_MIN_INTERVAL", 0.0)  # every beat may rewrite run.json
    store = tmp_path / "runs"
    obs = FileStorageObserver(store)
    start(obs, tmp_path)
    cout = store / "1" / "cout.txt"
    obs.heartbeat_event(info={"epoch": 1}, captured_out="one\n", beat_time=T0, result=None,
                        output_delta="one\n")
    cout.write_text(cout.read_text() + "[marker]")  # an append keeps it; a rewrite would not
    obs.heartbeat_event(info={"epoch": 2}, captured_out="one\ntwo\n",
                        beat_time=T0 + timedelta(seconds=10), result=0.5, output_delta="two\n")
    assert cout.read_text() == "one\n[marker]two\n"
    run = load(store / "1" / "run.json")
    assert run["heartbeat"] == (T0 + timedelta(seconds=10)).isoformat()
    assert run["result"] == 0.5
    assert load(store / "1" / "info.json") == {"epoch": 2}


def test_frequent_heartbeats_do_not_each_rewrite_run_json(tmp_path, monkeypatch):
    """A beat within RUN_JSON_MIN_INTERVAL of the last write leaves run.json alone (a new
    result too); a later beat or the final event writes the latest beat time and result."""
    import observers.file_storage as fs

    store = tmp_path / "runs"
    run_json = store / "1" / "run.json"
    obs = FileStorageObserver(store)
    start(obs, tmp_path)
    beats = [T0 + timedelta(seconds=s) for s in range(4)]
    inode = run_json.stat().st_ino  # an atomic replace gives run.json a new inode
    obs.heartbeat_event(info={}, captured_out="", beat_time=beats[0], result=None)
    obs.heartbeat_event(info={}, captured_out="", beat_time=beats[1], result=0.5)
    assert run_json.stat().st_ino == inode
    assert load(run_json)["heartbeat"] is None and "result" not in load(run_json)
    monkeypatch.setattr(fs, "RUN_JSON_MIN_INTERVAL", 0.0)
    obs.heartbeat_event(info={}, captured_out="", beat_time=beats[2], result=0.5)
    assert (load(run_json)["heartbeat"], load(run_json)["result"]) == (beats[2].isoformat(), 0.5)
    monkeypatch.undo()
    inode = run_json.stat().st_ino
    obs.heartbeat_event(info={}, captured_out="", beat_time=beats[3], result=0.7)
    assert run_json.stat().st_ino == inode  # the run's last beat, then its end: one write
    obs.completed_event(stop_time=beats[3], result=0.7)
    run = load(run_json)
    assert (run["heartbeat"], run["result"], run["status"]) == (beats[3].isoformat(), 0.7,
                                                               "COMPLETED")
    assert no_tmp_files(store)


def test_join_writes_a_beat_left_waiting(tmp_path):
    """A beat that waited for run.json is written by join() when no final event came."""
    store = tmp_path / "runs"
    obs = FileStorageObserver(store)
    start(obs, tmp_path)
    obs.heartbeat_event(info={}, captured_out="", beat_time=T0, result=3)
    assert "result" not in load(store / "1" / "run.json")
    obs.join()
    assert load(store / "1" / "run.json")["result"] == 3


@pytest.mark.parametrize("entry", [
    {"experiment": {"name": "x", "sources": [["a.py", "0" * 32]], "deps": []}, "status": "R"},
    {"host": {}, "meta": {"options": {"--id": None, "b": [1, 2.5, True]}}, "result": None},
    {"result": [1, {"z": float("nan"), "a": "é\n\u2028"}], "heartbeat": T0, "artifacts": []},
    {"zeta": (1, 2), "alpha": {"nested": {"deeper": [[], {}]}}},
    {"int": -12345678901234567890, "t": True, "f": False, "none": None, "zero": 0,
     "inf": float("inf"), "ninf": float("-inf"), "small": 0.1, "big": 1e300, "neg": -0.0,
     "text": 'q"uo\\te\t\u0001é€😀', "empty": "", "list": [], "dict": {}},
])
def test_run_json_text_equals_plain_encoding(entry):
    """The spliced run.json text is byte for byte json.dumps(sort_keys, indent=2), reused
    text included."""
    import observers.file_storage as fs

    expected = json.dumps(fs.to_json_safe(entry), sort_keys=True, indent=2)
    encoded: dict = {}
    assert fs._run_json_text(entry, encoded) == expected
    assert fs._run_json_text(entry, encoded) == expected  # again, from the cached parts


def test_fixed_parts_are_encoded_from_a_private_copy(tmp_path):
    """Changing the caller's ex_info, host or meta after the start does not reach run.json,
    whose text for them is reused: the observer encodes its own copy."""
    store = tmp_path / "runs"
    obs = FileStorageObserver(store)
    ex_info, host, meta = make_ex_info(tmp_path), dict(HOST), {"command": "main", "tags": []}
    obs.started_event(ex_info=ex_info, command="main", host_info=host, start_time=T0,
                      config={}, meta_info=meta, _id=None)
    ex_info["dependencies"].append("evil==1")
    host["hostname"] = "changed"
    meta["tags"].append("late")
    obs.completed_event(stop_time=T0, result=None)
    run = load(store / "1" / "run.json")
    assert run["experiment"]["dependencies"] == ["numpy==2.0"]
    assert run["host"]["hostname"] == "vm" and run["meta"]["tags"] == []


def test_heartbeat_without_delta_uses_captured_out(tmp_path):
    """A dispatcher sending only captured_out still gets each character written once."""
    store = tmp_path / "runs"
    obs = FileStorageObserver(store)
    start(obs, tmp_path)
    for out in ("a", "ab", "abc\n"):
        obs.heartbeat_event(info={}, captured_out=out, beat_time=T0, result=None)
    assert (store / "1" / "cout.txt").read_text() == "abc\n"
    assert not (store / "1" / "info.json").exists()  # as in Sacred: empty info is not written


@pytest.mark.parametrize("event, kwargs, expected", [
    ("completed_event", {"stop_time": T0, "result": {"acc": 0.9}},
     {"status": "COMPLETED", "result": {"acc": 0.9}}),
    ("failed_event", {"fail_time": T0, "fail_trace": ["Traceback\n", "ValueError: bad\n"]},
     {"status": "FAILED", "fail_trace": ["Traceback\n", "ValueError: bad\n"]}),
    ("interrupted_event", {"interrupt_time": T0, "status": "INTERRUPTED"},
     {"status": "INTERRUPTED"}),
    ("interrupted_event", {"interrupt_time": T0, "status": "TIMEOUT"}, {"status": "TIMEOUT"}),
])
def test_final_events_record_status_and_stop_time(tmp_path, event, kwargs, expected):
    """Each final event writes its status, stop_time and its own fields to run.json."""
    store = tmp_path / "runs"
    obs = FileStorageObserver(store)
    start(obs, tmp_path)
    getattr(obs, event)(**kwargs)
    obs.join()
    run = load(store / "1" / "run.json")
    assert run["stop_time"] == T0.isoformat()
    for key, value in expected.items():
        assert run[key] == value
    assert no_tmp_files(store)


def test_queued_event_writes_status_queued(tmp_path):
    """queued_event claims a folder and records status QUEUED with config and queue_time."""
    store = tmp_path / "runs"
    obs = FileStorageObserver(store)
    run_id = obs.queued_event(ex_info=make_ex_info(tmp_path), command="main", host_info=HOST,
                              queue_time=T0, config={"a": 2}, meta_info=META, _id=None)
    assert run_id == 1
    run = load(store / "1" / "run.json")
    assert run["status"] == "QUEUED" and run["queue_time"] == T0.isoformat()
    assert load(store / "1" / "config.json") == {"a": 2}


def test_log_metrics_merges_new_points(tmp_path):
    """Points from successive calls are appended per metric, in Sacred's metrics.json layout."""
    store = tmp_path / "runs"
    obs = FileStorageObserver(store)
    start(obs, tmp_path)
    t1, t2 = T0, T0 + timedelta(seconds=1)
    obs.log_metrics(metrics_by_name={"loss": {"steps": [0, 1], "values": [1.0, 0.5],
                                              "timestamps": [t1, t2]}}, info={})
    obs.log_metrics(metrics_by_name={"loss": {"steps": [2], "values": [float("nan")],
                                              "timestamps": [t2]},
                                     "acc": {"steps": [0], "values": [0.75],
                                             "timestamps": [t1]}}, info={})
    metrics = load(store / "1" / "metrics.json")
    assert set(metrics) == {"loss", "acc"}
    assert metrics["loss"]["steps"] == [0, 1, 2]
    assert metrics["loss"]["values"][:2] == [1.0, 0.5] and math.isnan(metrics["loss"]["values"][2])
    assert metrics["loss"]["timestamps"] == [t1.isoformat(), t2.isoformat(), t2.isoformat()]
    assert metrics["acc"] == {"steps": [0], "timestamps": [t1.isoformat()], "values": [0.75]}


def _random_batches(seed: int, n: int):
    """Batches of new points for a changing set of metrics (names appear over time)."""
    import random

    rnd = random.Random(seed)
    names = ["loss", "acc", "val/loss", "lr α", 'q"uote']
    step = 0
    for _ in range(n):
        batch = {}
        for name in rnd.sample(names, rnd.randint(0, len(names))):
            k = rnd.randint(0, 4)
            steps = list(range(step, step + k))
            step += k
            batch[name] = {"steps": steps, "values": [rnd.random() for _ in steps],
                           "timestamps": [T0 + timedelta(seconds=s) for s in steps]}
        yield batch


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("kernel_copy", [True, False])
def test_metrics_file_equals_plain_json_after_random_batches(tmp_path, monkeypatch, seed,
                                                             kernel_copy):
    """Spliced writes give the same JSON as merging the points in Python, at every step."""
    if not kernel_copy:  # the read/write path used where copy_file_range is missing
        monkeypatch.delattr(os, "copy_file_range", raising=False)
    path = tmp_path / "metrics.json"
    mf = MetricsFile(path)
    expected: dict = {}
    for i, batch in enumerate(_random_batches(seed, 60)):
        mf.add(batch)
        for name, series in batch.items():
            if not series["values"]:
                continue
            into = expected.setdefault(name, {"steps": [], "timestamps": [], "values": []})
            into["steps"] += series["steps"]
            into["values"] += series["values"]
            into["timestamps"] += [t.isoformat() for t in series["timestamps"]]
        if i % 3:  # several batches may wait for one write
            mf.write()
            assert load(path) == expected
    mf.write()
    assert load(path) == expected
    assert mf.points == sum(len(s["values"]) for s in expected.values())
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_metrics_file_keeps_old_file_when_write_fails(tmp_path, monkeypatch):
    """A failed write leaves the previous metrics.json and keeps the points for the next one."""
    path = tmp_path / "metrics.json"
    mf = MetricsFile(path)
    mf.add({"m": {"steps": [0], "values": [1.0], "timestamps": [T0]}})
    mf.write()
    mf.add({"m": {"steps": [1], "values": [2.0], "timestamps": [T0]}})

    def disk_full(*args):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", disk_full)
        with pytest.raises(OSError, match="No space"):
            mf.write()
    assert load(path)["m"]["values"] == [1.0]
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]  # no temporary file left
    mf.write()
    assert load(path)["m"]["values"] == [1.0, 2.0]


def test_metrics_file_changed_by_another_program_is_not_spliced(tmp_path):
    """If metrics.json was rewritten by someone else, adding points fails with a clear error."""
    path = tmp_path / "metrics.json"
    mf = MetricsFile(path)
    mf.add({"m": {"steps": [0], "values": [1.0], "timestamps": [T0]}})
    mf.write()
    path.write_text(json.dumps(load(path)))  # same content, other layout
    mf.add({"m": {"steps": [1], "values": [2.0], "timestamps": [T0]}})
    with pytest.raises(ObserverError, match="changed by another program"):
        mf.write()
    assert load(path)["m"]["values"] == [1.0]


def test_resources_are_stored_once_by_content(tmp_path):
    """A resource is copied into _resources as <stem>_<md5><ext> and listed in run.json."""
    store = tmp_path / "runs"
    data = tmp_path / "data.csv"
    data.write_text("x,y\n1,2\n")
    md5 = hashlib.md5(data.read_bytes()).hexdigest()
    for _ in range(2):
        obs = FileStorageObserver(store)
        start(obs, tmp_path)
        obs.resource_event(filename=str(data))
        obs.resource_event(filename=str(data))  # listed once
    stored = os.path.join(str(store), "_resources", f"data_{md5}.csv")
    assert load(store / "2" / "run.json")["resources"] == [[str(data), stored]]
    assert os.listdir(store / "_resources") == [f"data_{md5}.csv"]


def test_large_resource_is_stored_whole(tmp_path):
    """A resource larger than the copy chunk is stored byte for byte under its md5."""
    data = os.urandom(2_500_000)
    big = tmp_path / "big.bin"
    big.write_bytes(data)
    obs = FileStorageObserver(tmp_path / "runs")
    start(obs, tmp_path)
    obs.resource_event(filename=str(big))
    (stored,) = (tmp_path / "runs" / "_resources").iterdir()
    assert stored.name == f"big_{hashlib.md5(data).hexdigest()}.bin"
    assert stored.read_bytes() == data


def test_artifacts_are_copied_and_listed(tmp_path):
    """Artifacts, in sub-folders too, are copied into the run folder and named in run.json."""
    store = tmp_path / "runs"
    src = tmp_path / "model.txt"
    src.write_text("weights")
    obs = FileStorageObserver(store)
    start(obs, tmp_path)
    obs.artifact_event(name="model.txt", filename=str(src))
    obs.artifact_event(name="plots/loss.txt", filename=str(src), metadata={"k": 1},
                       content_type="text/plain")
    obs.artifact_event(name="model.txt", filename=str(src))  # again: listed once
    assert (store / "1" / "model.txt").read_text() == "weights"
    assert (store / "1" / "plots" / "loss.txt").read_text() == "weights"
    assert load(store / "1" / "run.json")["artifacts"] == ["model.txt", "plots/loss.txt"]
    assert no_tmp_files(store)


@pytest.mark.parametrize("bad_name, reason", [
    ("../../etc/passwd", "'..' would leave the run folder"),
    ("a/../../b", "'..' would leave the run folder"),
    ("..\\..\\x", "'..' would leave the run folder"),
    ("/etc/passwd", "absolute path"),
    ("C:\\x", "absolute path"),
    ("", "empty"),
    ("run.json", "reserved"),
    ("./metrics.json", "reserved"),
])
def test_unsafe_artifact_names_are_refused(tmp_path, bad_name, reason):
    """Artifact names that leave the run folder or replace the observer's files are refused."""
    store = tmp_path / "a" / "b" / "runs"
    src = tmp_path / "evil.txt"
    src.write_text("evil")
    obs = FileStorageObserver(store)
    start(obs, tmp_path)
    run_before = (store / "1" / "run.json").read_text()
    with pytest.raises(UnsafePathError, match=reason) as info:
        obs.artifact_event(name=bad_name, filename=str(src))
    assert info.value.value == bad_name
    assert (store / "1" / "run.json").read_text() == run_before
    copies = [p for p in tmp_path.rglob("*") if p.is_file() and p.read_bytes() == b"evil"]
    assert copies == [src]


def test_artifact_through_symlink_is_refused(tmp_path):
    """A sub-folder that is a link to outside the run folder cannot receive an artifact."""
    store = tmp_path / "runs"
    outside = tmp_path / "outside"
    outside.mkdir()
    src = tmp_path / "f.txt"
    src.write_text("data")
    obs = FileStorageObserver(store)
    start(obs, tmp_path)
    os.symlink(outside, store / "1" / "link")
    with pytest.raises(UnsafePathError, match="outside"):
        obs.artifact_event(name="link/f.txt", filename=str(src))
    assert list(outside.iterdir()) == []


def test_copy_flags_off_record_paths_without_copying(tmp_path):
    """copy_sources=False and copy_artifacts=False list files without copying them."""
    store = tmp_path / "runs"
    src = tmp_path / "model.txt"
    src.write_text("w")
    obs = FileStorageObserver(store, copy_sources=False, copy_artifacts=False)
    start(obs, tmp_path)
    obs.artifact_event(name="model.txt", filename=str(src))
    inside = store / "data.csv"  # a resource already in the store is referred to, as in Sacred
    inside.write_text("1,2\n")
    obs.resource_event(filename=str(inside))
    run = load(store / "1" / "run.json")
    assert run["experiment"]["sources"] == [["train.py", os.path.join("..", "train.py")]]
    assert run["artifacts"] == ["model.txt"]
    assert run["resources"] == [[str(inside), str(inside)]]
    assert not (store / "1" / "model.txt").exists() and not (store / "_sources").exists()
    assert not (store / "_resources").exists()


def test_custom_source_and_resource_dirs(tmp_path):
    """resource_dir and source_dir move the shared stores; paths in run.json follow them."""
    store, sources, resources = tmp_path / "runs", tmp_path / "src", tmp_path / "res"
    data = tmp_path / "d.bin"
    data.write_bytes(b"\x00\x01")
    obs = FileStorageObserver(store, source_dir=sources, resource_dir=resources)
    start(obs, tmp_path)
    obs.resource_event(filename=str(data))
    run = load(store / "1" / "run.json")
    assert run["experiment"]["sources"][0][1].startswith(os.path.join("..", "src", "train_"))
    assert run["resources"][0][1].startswith(str(resources))
    assert len(list(sources.iterdir())) == 1 and len(list(resources.iterdir())) == 1


def test_run_that_changes_directory_still_writes_into_the_store(tmp_path, monkeypatch):
    """A relative basedir is fixed when the observer is made; os.chdir in the run is harmless."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    art = tmp_path / "a.txt"
    art.write_text("a")
    obs = FileStorageObserver("runs")
    start(obs, tmp_path)
    monkeypatch.chdir(tmp_path / "elsewhere")
    obs.artifact_event(name="a.txt", filename=str(art))
    obs.resource_event(filename=str(art))
    obs.log_metrics(metrics_by_name={"m": {"steps": [0], "values": [1], "timestamps": [T0]}},
                    info={})
    obs.completed_event(stop_time=T0, result=1)
    assert list((tmp_path / "elsewhere").iterdir()) == []
    run = load(tmp_path / "runs" / "1" / "run.json")
    assert run["status"] == "COMPLETED" and (tmp_path / "runs" / "1" / "a.txt").exists()
    assert run["resources"][0][1].startswith(os.path.join("runs", "_resources", "a_"))
    assert (tmp_path / run["resources"][0][1]).read_text() == "a"


def test_observer_is_reusable_across_runs(tmp_path):
    """One observer instance records consecutive runs in separate folders with fresh state."""
    store = tmp_path / "runs"
    obs = FileStorageObserver(store)
    for expected_id in (1, 2):
        assert start(obs, tmp_path) == expected_id
        obs.heartbeat_event(info={}, captured_out=f"run{expected_id}\n", beat_time=T0,
                            result=None)
        obs.completed_event(stop_time=T0, result=expected_id)
    assert (store / "2" / "cout.txt").read_text() == "run2\n"
    assert load(store / "2" / "run.json")["result"] == 2


def test_values_are_made_json_safe(tmp_path):
    """Tuples, paths, datetimes and non-finite floats in config and result become JSON."""
    store = tmp_path / "runs"
    obs = FileStorageObserver(store)
    start(obs, tmp_path, config={"shape": (2, 3), "path": tmp_path, "lr": float("inf")})
    obs.completed_event(stop_time=T0, result=(1, T0))
    assert load(store / "1" / "config.json") == {"shape": [2, 3], "path": str(tmp_path),
                                                 "lr": float("inf")}
    assert load(store / "1" / "run.json")["result"] == [1, T0.isoformat()]


def test_option_and_entry_point():
    """-F/--file_storage is declared through the entry point and builds the observer."""
    assert isinstance(FileStorageOption, ObserverOption)
    assert (FileStorageOption.short, FileStorageOption.long) == ("-F", "--file_storage")
    from importlib.metadata import entry_points

    (ep,) = entry_points(group=ENTRY_POINT_GROUP, name="file_storage")
    assert ep.load() is FileStorageOption
    obs = FileStorageOption.factory("some/dir")
    assert isinstance(obs, FileStorageObserver) and obs.basedir == "some/dir"
    assert obs.priority == 20
    check_observer(obs)


def test_import_observers_is_light_and_mongo_is_lazy():
    """`import observers` loads neither pymongo nor observers.mongo; unknown names fail clearly."""
    import sys

    code = ("import sys, observers\n"
            "assert 'pymongo' not in sys.modules and 'observers.mongo' not in sys.modules\n"
            "assert 'MongoObserver' in observers.__all__ and 'MongoObserver' in dir(observers)\n"
            "try:\n    observers.NoSuchObserver\nexcept AttributeError as e:\n    print(e)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert proc.returncode == 0, proc.stderr
    assert "has no attribute 'NoSuchObserver'" in proc.stdout


# ------------------------------------------------------------------------------ concurrency
def _worker(store: str, base_dir: str, n_runs: int, barrier, results) -> None:
    """One process: wait for the others, then record n_runs complete runs."""
    from pathlib import Path

    barrier.wait()
    ids = []
    for i in range(n_runs):
        obs = FileStorageObserver(store)
        run_id = obs.started_event(ex_info=make_ex_info(Path(base_dir)), command="main",
                                   host_info=HOST, start_time=datetime.now(),
                                   config={"i": i, "pid": os.getpid()}, meta_info=META,
                                   _id=None)
        obs.log_metrics(metrics_by_name={"loss": {"steps": [0], "values": [1.0 / (i + 1)],
                                                  "timestamps": [datetime.now()]}}, info={})
        obs.heartbeat_event(info={"pid": os.getpid()}, captured_out=f"{os.getpid()}:{i}\n",
                            beat_time=datetime.now(), result=None)
        obs.completed_event(stop_time=datetime.now(), result=[os.getpid(), i])
        obs.join()
        ids.append(run_id)
    results.put((os.getpid(), ids))


def test_concurrent_processes_get_distinct_complete_runs(tmp_path):
    """8 processes x 25 runs started at once give 200 distinct, complete, valid run folders."""
    store = tmp_path / "runs"
    n_procs, n_runs = 8, 25
    make_ex_info(tmp_path)  # write the source once, before the workers read it concurrently
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(n_procs), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(str(store), str(tmp_path), n_runs, barrier,
                                               results)) for _ in range(n_procs)]
    for p in procs:
        p.start()
    reported = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    all_ids = [run_id for _, ids in reported for run_id in ids]
    assert sorted(all_ids) == list(range(1, n_procs * n_runs + 1))
    run_dirs = [d for d in store.iterdir() if d.name.isdigit()]
    assert len(run_dirs) == n_procs * n_runs
    seen_results = set()
    for d in run_dirs:
        run = load(d / "run.json")
        assert run["status"] == "COMPLETED"
        pid, i = run["result"]
        seen_results.add((pid, i))
        assert load(d / "config.json") == {"i": i, "pid": pid}
        assert load(d / "metrics.json")["loss"]["values"] == [1.0 / (i + 1)]
        assert load(d / "info.json") == {"pid": pid}
        assert (d / "cout.txt").read_text() == f"{pid}:{i}\n"
    assert len(seen_results) == n_procs * n_runs
    assert len(list((store / "_sources").iterdir())) == 1
    assert no_tmp_files(store)


# ------------------------------------------------------------------- Sacred 0.8.7 compatibility

SCRIPT = textwrap.dedent('''
    import os
    from sacred import Experiment
    from sacred.observers import FileStorageObserver

    ex = Experiment("tiny")
    ex.observers.append(FileStorageObserver(os.environ["STORE"]))

    @ex.config
    def cfg():
        a = 1
        b = "x"

    @ex.automain
    def main(_run, a):
        print("hello")
        _run.log_scalar("loss", 0.5, 1)
        _run.log_scalar("loss", 0.25, 2)
        _run.info["note"] = "hi"
        _run.add_artifact("art.txt")
        _run.open_resource("res.txt").close()
        return a * 2
''')


@pytest.fixture(scope="module")
def sacred_run(tmp_path_factory):
    """Run the small Sacred experiment once; return (workdir, store) with its run in store/1."""
    work = tmp_path_factory.mktemp("sacred")
    (work / "tiny.py").write_text(SCRIPT)
    (work / "art.txt").write_text("art")
    (work / "res.txt").write_text("res")
    store = work / "sacred_runs"
    proc = subprocess.run([str(sacred_python()), "tiny.py"], cwd=work, capture_output=True,
                          text=True, timeout=120,
                          env={**os.environ, "STORE": str(store), "PYTHONPATH": ""})
    assert proc.returncode == 0, proc.stderr
    return work, store


def replay_with_ours(work, sacred_store, store):
    """Send our observer the events of Sacred's run, with the payloads Sacred sent."""
    sac = load(sacred_store / "1" / "run.json")
    ex_info = dict(sac["experiment"])
    ex_info["sources"] = [[name, "md5"] for name, _ in sac["experiment"]["sources"]]
    start = datetime.fromisoformat(sac["start_time"])
    obs = FileStorageObserver(store)
    run_id = obs.started_event(ex_info=ex_info, command=sac["command"], host_info=sac["host"],
                               start_time=start, config=load(sacred_store / "1" / "config.json"),
                               meta_info=sac["meta"], _id=None)
    obs.log_metrics(metrics_by_name={"loss": {"steps": [1, 2], "values": [0.5, 0.25],
                                              "timestamps": [start, start]}}, info={})
    obs.artifact_event(name="art.txt", filename=str(work / "art.txt"))
    obs.resource_event(filename=str(work / "res.txt"))
    obs.heartbeat_event(info={"note": "hi"}, captured_out="hello\n",
                        beat_time=start + timedelta(seconds=1), result=2, output_delta="hello\n")
    obs.completed_event(stop_time=start + timedelta(seconds=1), result=2)
    obs.join()
    return run_id


def test_same_files_and_keys_as_sacred(sacred_run, tmp_path):
    """Same file names and the same keys in run.json, config.json, metrics.json, info.json."""
    work, sacred_store = sacred_run
    store = tmp_path / "ours"
    assert replay_with_ours(work, sacred_store, store) == 1
    ours, theirs = store / "1", sacred_store / "1"
    assert sorted(os.listdir(ours)) == sorted(os.listdir(theirs))
    assert sorted(os.listdir(store)) == sorted(os.listdir(sacred_store))
    run, sac = load(ours / "run.json"), load(theirs / "run.json")
    assert set(run) == set(sac)
    assert set(run["experiment"]) == set(sac["experiment"])
    for name in ("config.json", "info.json"):
        assert load(ours / name) == load(theirs / name)
    ours_metrics, sac_metrics = load(ours / "metrics.json"), load(theirs / "metrics.json")
    assert set(ours_metrics) == set(sac_metrics)
    for metric, series in sac_metrics.items():
        assert set(ours_metrics[metric]) == set(series)
        assert ours_metrics[metric]["values"] == series["values"]
        assert ours_metrics[metric]["steps"] == series["steps"]
    for key in ("status", "result", "artifacts", "command", "meta", "host"):
        assert run[key] == sac[key], key


def test_stored_source_and_resource_paths_match_sacred(sacred_run, tmp_path):
    """Sources are [name, '_sources/<stem>_<md5><ext>'] and resources [file, stored path]."""
    work, sacred_store = sacred_run
    store = tmp_path / "ours"
    replay_with_ours(work, sacred_store, store)
    run, sac = load(store / "1" / "run.json"), load(sacred_store / "1" / "run.json")
    assert run["experiment"]["sources"] == sac["experiment"]["sources"]
    (ours_res,), (sac_res,) = run["resources"], sac["resources"]
    assert ours_res[0] == sac_res[0]
    assert os.path.relpath(ours_res[1], store) == os.path.relpath(sac_res[1], sacred_store)
    for name in os.listdir(sacred_store / "_sources"):
        assert (store / "_sources" / name).read_bytes() == \
            (sacred_store / "_sources" / name).read_bytes()


# ------------------------------------------------------------- end to end, with real experiments
E2E_SCRIPT = textwrap.dedent('''
    """Runs used by the observer tests: `python e2e.py -F DIR [with a=N]` or `e2e.py loop DIR N`."""
    import os
    import sys
    import time

    from expt import Experiment
    from observers import FileStorageObserver

    ex = Experiment("e2e")

    @ex.config
    def cfg():
        a = 1

    @ex.main
    def main(_run, a):
        print("value", a)
        for step in range(3):
            _run.log_scalar("loss", 1.0 / (a + step + 1), step)
        _run.info["pid"] = os.getpid()
        art = f"art-{os.getpid()}-{a}.txt"
        with open(art, "w") as f:
            f.write(str(a))
        _run.add_artifact(art, name="art.txt")
        os.remove(art)
        return [os.getpid(), a]

    if __name__ == "__main__":
        if sys.argv[1:2] == ["loop"]:
            store, n = sys.argv[2], int(sys.argv[3])
            while not os.path.exists(os.path.join(os.path.dirname(store), "go")):
                time.sleep(0.005)
            ex.observers.append(FileStorageObserver(store))
            for i in range(n):
                ex.run(config_updates={"a": i})
        else:
            ex.run_commandline()
''')


def _core_ready() -> bool:
    try:
        from expt import Experiment  # noqa: F401
    except ImportError:
        return False
    return True


needs_core = pytest.mark.skipif(not _core_ready(), reason="expt.Experiment is not available")


def _write_once(script, text: str) -> None:
    """Write a script the first time only: rewriting it while a process started earlier is
    still reading it gives that process an empty file, which runs nothing and exits 0."""
    if not script.exists():
        script.write_text(text)


def _e2e(tmp_path, *args, **kwargs):
    import sys

    script = tmp_path / "e2e.py"
    _write_once(script, E2E_SCRIPT)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {**os.environ, "PYTHONPATH": root}
    return subprocess.Popen([sys.executable, str(script), *args], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


@needs_core
def test_command_line_flag_records_a_real_run(tmp_path):
    """`e2e.py -F runs with a=3` records config, output, metrics, info and the artifact."""
    proc = _e2e(tmp_path, "-F", "runs", "with", "a=3")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    run_dir = tmp_path / "runs" / "1"
    run = load(run_dir / "run.json")
    assert run["status"] == "COMPLETED" and run["result"][1] == 3
    assert run["artifacts"] == ["art.txt"] and (run_dir / "art.txt").read_text() == "3"
    assert load(run_dir / "config.json")["a"] == 3
    assert load(run_dir / "metrics.json")["loss"]["values"] == [1 / 4, 1 / 5, 1 / 6]
    assert load(run_dir / "info.json")["pid"] == run["result"][0]
    assert "value 3" in (run_dir / "cout.txt").read_text()
    assert run["experiment"]["sources"][0][0] == "e2e.py"
    assert (tmp_path / "runs" / run["experiment"]["sources"][0][1]).read_text() == E2E_SCRIPT


@needs_core
def test_command_line_id_that_escapes_is_refused(tmp_path):
    """`--id ../x` fails with the observer's message and creates nothing outside the store."""
    proc = _e2e(tmp_path, "-F", "store/runs", "--id", "../x")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode != 0
    assert "Refusing run id '../x'" in err
    assert not (tmp_path / "store" / "x").exists()


@needs_core
def test_concurrent_real_experiments_get_distinct_complete_runs(tmp_path):
    """8 processes x 25 real runs started at once give 200 distinct complete run folders."""
    n_procs, n_runs = 8, 25
    store = tmp_path / "runs"
    procs = [_e2e(tmp_path, "loop", str(store), str(n_runs)) for _ in range(n_procs)]
    (tmp_path / "go").touch()
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    run_dirs = [d for d in store.iterdir() if d.name.isdigit()]
    assert sorted(int(d.name) for d in run_dirs) == list(range(1, n_procs * n_runs + 1))
    results = set()
    for d in run_dirs:
        run = load(d / "run.json")
        assert run["status"] == "COMPLETED"
        pid, a = run["result"]
        results.add((pid, a))
        assert load(d / "config.json")["a"] == a
        assert load(d / "metrics.json")["loss"]["steps"] == [0, 1, 2]
        assert (d / "art.txt").read_text() == str(a)
        assert f"value {a}" in (d / "cout.txt").read_text()
    assert len(results) == n_procs * n_runs
    assert len({pid for pid, _ in results}) == n_procs
    assert no_tmp_files(store)


SLOW_SCRIPT = textwrap.dedent('''
    """A run that prints and logs over time: `python slow.py -F DIR -b 0.05 with lines=20`."""
    import time

    from expt import Experiment

    ex = Experiment("slow")

    @ex.config
    def cfg():
        lines = 5
        pause = 0.05
        forever = False
        per_line = 1

    @ex.automain
    def main(_run, lines, pause, forever, per_line):
        i = 0
        while i < lines or forever:
            print(f"line {i}", flush=True)
            for _ in range(per_line):
                _run.log_scalar("i", i)
            _run.info["lines"] = i
            time.sleep(pause)
            i += 1
''')


def _slow(tmp_path, *args):
    import sys

    _write_once(tmp_path / "slow.py", SLOW_SCRIPT)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return subprocess.Popen([sys.executable, "slow.py", *args], cwd=tmp_path,
                            env={**os.environ, "PYTHONPATH": root},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@needs_core
def test_heartbeats_of_a_real_run_write_each_line_once(tmp_path):
    """With many heartbeats, cout.txt and metrics.json hold every line and point exactly once."""
    proc = _slow(tmp_path, "-F", "runs", "-b", "0.02", "with", "lines=30", "pause=0.01")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    cout = (tmp_path / "runs" / "1" / "cout.txt").read_text()
    assert [l for l in cout.splitlines() if l.startswith("line")] == \
        [f"line {i}" for i in range(30)]
    metrics = load(tmp_path / "runs" / "1" / "metrics.json")
    assert metrics["i"]["values"] == list(range(30))
    assert load(tmp_path / "runs" / "1" / "run.json")["heartbeat"] is not None


@needs_core
def test_sigterm_records_interrupted(tmp_path):
    """A run stopped by SIGTERM ends with status INTERRUPTED and a stop_time in run.json."""
    import signal
    import time

    proc = _slow(tmp_path, "-F", "runs", "-b", "0.02", "with", "forever=True")
    cout = tmp_path / "runs" / "1" / "cout.txt"
    deadline = time.monotonic() + 60
    while not (cout.exists() and "line 0" in cout.read_text()):  # a heartbeat has happened
        assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read()
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM
    run = load(tmp_path / "runs" / "1" / "run.json")
    assert run["status"] == "INTERRUPTED" and run["stop_time"] >= run["start_time"]


@needs_core
def test_real_expt_run_has_sacreds_files_and_keys(sacred_run, tmp_path):
    """The same experiment run with expt and with Sacred gives the same files and JSON keys."""
    import sys

    _, sacred_store = sacred_run
    script = SCRIPT.replace("from sacred import Experiment", "from expt import Experiment")
    script = script.replace("from sacred.observers import", "from observers import")
    (tmp_path / "tiny.py").write_text(script)
    (tmp_path / "art.txt").write_text("art")
    (tmp_path / "res.txt").write_text("res")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    store = tmp_path / "expt_runs"
    proc = subprocess.run([sys.executable, "tiny.py"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120,
                          env={**os.environ, "STORE": str(store), "PYTHONPATH": root})
    assert proc.returncode == 0, proc.stderr
    ours, theirs = store / "1", sacred_store / "1"
    assert sorted(os.listdir(ours)) == sorted(os.listdir(theirs))
    assert sorted(os.listdir(store)) == sorted(os.listdir(sacred_store))
    run, sac = load(ours / "run.json"), load(theirs / "run.json")
    assert set(run) == set(sac)
    for key in ("experiment", "host"):
        assert set(run[key]) == set(sac[key]), key
    # meta: Sacred's keys, plus our one documented addition (the heartbeat interval readers use)
    assert set(run["meta"]) == set(sac["meta"]) | {"beat_interval"}
    for key in ("status", "result", "artifacts", "command"):
        assert run[key] == sac[key], key
    assert set(load(ours / "config.json")) == set(load(theirs / "config.json"))
    assert load(ours / "info.json") == load(theirs / "info.json")
    ours_m, sac_m = load(ours / "metrics.json"), load(theirs / "metrics.json")
    assert {k: {f: len(v) for f, v in s.items()} for k, s in ours_m.items()} == \
        {k: {f: len(v) for f, v in s.items()} for k, s in sac_m.items()}
    assert ours_m["loss"]["values"] == sac_m["loss"]["values"]
    (source_name, stored), = run["experiment"]["sources"]
    assert source_name == "tiny.py" and stored.startswith("_sources/tiny_")
    assert (store / stored).read_text() == script
    assert [os.path.basename(p) for p in run["resources"][0]] == \
        [os.path.basename(p) for p in sac["resources"][0]]


@needs_core
@pytest.mark.parametrize("delay", [0.3, 0.7, 1.1])
def test_sigkill_never_leaves_half_written_json(tmp_path, delay):
    """Killing a run mid-write (SIGKILL, no clean-up) leaves every JSON file complete."""
    import signal
    import time

    proc = _slow(tmp_path, "-F", "runs", "-b", "0.01",
                 "with", "forever=True", "pause=0.001", "per_line=2000")
    metrics = tmp_path / "runs" / "1" / "metrics.json"
    deadline = time.monotonic() + 60
    while not metrics.exists():
        assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read()
        time.sleep(0.01)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    run_dir = tmp_path / "runs" / "1"
    for name in ("run.json", "config.json", "metrics.json", "info.json"):
        load(run_dir / name)  # raises if half-written
    series = load(metrics)["i"]
    assert len(series["steps"]) == len(series["values"]) == len(series["timestamps"]) > 0
    assert load(run_dir / "run.json")["status"] == "RUNNING"  # killed: no final event


def test_stored_sources_follow_edits_between_runs(tmp_path):
    """A source stored by one run and edited before the next is stored again under its new
    MD5; a stored copy deleted meanwhile is written again."""
    import time as _time

    from observers.file_storage.paths import store_by_content

    src = tmp_path / "train.py"
    src.write_text("a = 1\n")
    past = _time.time() - 3600
    os.utime(src, (past, past))  # settled: remembered between calls
    store = tmp_path / "runs" / "_sources"
    first = store_by_content(str(src), str(store))
    assert first == store_by_content(str(src), str(store))
    src.write_text("a = 22\n")
    second = store_by_content(str(src), str(store))
    assert second != first
    assert second.endswith(f"train_{hashlib.md5(b'a = 22' + bytes([10])).hexdigest()}.py")
    os.utime(src, (past, past))
    os.remove(second)
    assert store_by_content(str(src), str(store)) == second
    assert open(second).read() == "a = 22\n"


def test_tag_added_by_a_reader_during_the_run_survives_the_end(tmp_path):
    """`expt tag` on a live run writes omniboard.tags; the observer's later rewrites keep it."""
    from expt import open_store

    obs = FileStorageObserver(tmp_path / "runs")
    run_id = start(obs, tmp_path)
    open_store(str(tmp_path / "runs")).get(run_id).add_tag("keep-me")
    obs.heartbeat_event(info={}, captured_out="", beat_time=datetime.now(), result=None)
    obs.completed_event(stop_time=datetime.now(), result=1)
    obs.join()
    run = load(tmp_path / "runs" / str(run_id) / "run.json")
    assert run["status"] == "COMPLETED"
    assert run["omniboard"]["tags"] == ["keep-me"]


@pytest.mark.parametrize("_id", [None, "named"])
def test_store_folder_removed_between_runs_is_made_again(tmp_path, _id):
    """A store folder deleted after a run (the observer no longer makes it before every run)
    is created again by the next run, numbered or named."""
    import shutil

    store = tmp_path / "runs"
    obs = FileStorageObserver(store)
    assert start(obs, tmp_path) == 1
    obs.completed_event(stop_time=T0, result=None)
    shutil.rmtree(store)
    run_id = start(obs, tmp_path, _id=_id)
    obs.completed_event(stop_time=T0, result=3)
    folder = store / str(run_id)
    assert load(folder / "run.json")["status"] == "COMPLETED"
    assert load(folder / "config.json") == {"a": 1, "seed": 7}
    assert no_tmp_files(store)
