"""MongoObserver against the real test server: every field of runs, metrics and GridFS files."""

import gridfs
import pytest
from pymongo import monitoring

from observers.mongo import MongoObserver, read_metric, read_output
from tests.observers.mongo_helpers import metrics, now, start

RUN_KEYS = {"_id", "experiment", "format", "command", "host", "start_time", "heartbeat",
            "stop_time", "config", "meta", "status", "resources", "artifacts", "captured_out",
            "info", "result", "metric_summaries"}


@pytest.fixture
def observer(mongo_server, mongo_db_name, tmp_path):
    """A MongoObserver on a fresh database with its journal in tmp_path."""
    def make(**kwargs):
        kwargs.setdefault("journal_dir", str(tmp_path / "journal"))
        return MongoObserver(mongo_server.url, mongo_db_name, **kwargs)
    return make


def test_completed_run_has_every_sacred_field(observer, mongo_client, mongo_db_name, tmp_path):
    """A completed run stores Sacred's run fields, metrics, sources, resources and artifacts."""
    obs = observer()
    meta = {"command": "main", "options": {"--mongo_db": "mongodb://alice:pw123@db.example/x"}}
    rid = start(obs, str(tmp_path), config={"lr": 0.1, "nested": {"a.b": 1}}, meta=meta)
    assert isinstance(rid, int)
    obs.log_metrics(metrics("loss", 0, 3), {})
    obs.heartbeat_event(info={"epoch": 1}, beat_time=now(), result=None, output_delta="hello\n")
    (tmp_path / "model.bin").write_bytes(b"\x00weights")
    obs.artifact_event("model.bin", str(tmp_path / "model.bin"), metadata={"acc": 0.9},
                       content_type="application/octet-stream")
    (tmp_path / "data.csv").write_text("a,b\n1,2\n")
    obs.resource_event(str(tmp_path / "data.csv"))
    obs.heartbeat_event(info={"epoch": 2}, beat_time=now(), result=None, output_delta="world\n")
    obs.completed_event(stop_time=now(), result={"acc": 0.9})
    obs.join()

    db = mongo_client[mongo_db_name]
    run = db.runs.find_one({"_id": rid})
    assert set(run) == RUN_KEYS
    assert run["status"] == "COMPLETED" and run["result"] == {"acc": 0.9}
    assert run["command"] == "main" and run["host"]["hostname"] == "testhost"
    assert run["config"] == {"lr": 0.1, "nested": {"a,b": 1}}  # Sacred's key mapping
    assert run["captured_out"] == "hello\nworld\n"
    assert run["info"]["epoch"] == 2
    assert run["start_time"] <= run["heartbeat"] <= run["stop_time"]
    exp = run["experiment"]
    assert set(exp) == {"name", "base_dir", "sources", "dependencies", "repositories", "mainfile"}
    fs = gridfs.GridFS(db)
    [[src_name, src_id]] = exp["sources"]
    assert src_name == "train.py" and fs.get(src_id).read() == b"print('hello')\n"
    # credentials never stored
    assert "pw123" not in str(run) and run["meta"]["options"]["--mongo_db"] == \
        "mongodb://***@db.example/x"
    # metrics: Sacred's document and reference
    [ref] = run["info"]["metrics"]
    mdoc = db.metrics.find_one({"run_id": rid, "name": "loss"})
    assert ref == {"name": "loss", "id": str(mdoc["_id"])}
    assert set(mdoc) == {"_id", "run_id", "name", "steps", "values", "timestamps"}
    assert mdoc["steps"] == [0, 1, 2] and mdoc["values"] == [0.0, 0.5, 1.0]
    assert run["metric_summaries"] == [{"name": "loss", "count": 3, "last": 1.0, "min": 0.0,
                                        "max": 1.0}]
    # artifact: name, content type, metadata
    [art] = run["artifacts"]
    f = fs.get(art["file_id"])
    assert art["name"] == "model.bin" and f.read() == b"\x00weights"
    assert f.filename == f"artifact://runs/{rid}/model.bin"
    assert f._file["contentType"] == "application/octet-stream" and f.metadata == {"acc": 0.9}
    # resource: recorded as [path, md5] and uploaded
    [[res_path, res_md5]] = run["resources"]
    assert res_path == str(tmp_path / "data.csv")
    assert fs.find_one({"filename": res_path, "md5": res_md5}).read() == b"a,b\n1,2\n"
    assert not (tmp_path / "journal").exists() or not any((tmp_path / "journal").iterdir())


def test_failed_and_interrupted_runs(observer, mongo_client, mongo_db_name, tmp_path):
    """failed_event stores FAILED and fail_trace; interrupted_event the given status."""
    obs = observer()
    rid = start(obs, str(tmp_path))
    obs.failed_event(fail_time=now(), fail_trace=["Traceback", "ValueError: x"])
    obs.join()
    obs2 = observer()
    rid2 = start(obs2, str(tmp_path))
    obs2.interrupted_event(interrupt_time=now(), status="INTERRUPTED")
    obs2.join()
    runs = mongo_client[mongo_db_name].runs
    failed, interrupted = runs.find_one({"_id": rid}), runs.find_one({"_id": rid2})
    assert failed["status"] == "FAILED" and failed["fail_trace"] == ["Traceback", "ValueError: x"]
    assert interrupted["status"] == "INTERRUPTED" and interrupted["stop_time"] is not None
    assert rid2 == rid + 1


def test_queued_run_has_sacred_queued_fields(observer, mongo_client, mongo_db_name, tmp_path):
    """queued_event stores Sacred's QUEUED document."""
    from tests.observers.mongo_helpers import ex_info

    obs = observer()
    rid = obs.queued_event(ex_info=ex_info(str(tmp_path)), command="main", host_info={},
                           queue_time=now(), config={"a": 1}, meta_info={}, _id=None)
    obs.join()
    run = mongo_client[mongo_db_name].runs.find_one({"_id": rid})
    assert set(run) == {"_id", "experiment", "command", "host", "config", "meta", "status"}
    assert run["status"] == "QUEUED"


def test_given_id_is_used(observer, mongo_client, mongo_db_name, tmp_path):
    """An id chosen by an earlier observer is used as the document's _id."""
    obs = observer()
    assert start(obs, str(tmp_path), _id=777) == 777
    obs.join()
    assert mongo_client[mongo_db_name].runs.find_one({"_id": 777}) is not None


def test_sources_stored_once_per_content(observer, mongo_client, mongo_db_name, tmp_path):
    """Two runs with the same source file share one GridFS file (dedup by name and md5)."""
    ids = []
    for _ in range(2):
        obs = observer()
        ids.append(start(obs, str(tmp_path)))
        obs.join()
    db = mongo_client[mongo_db_name]
    srcs = [db.runs.find_one({"_id": i})["experiment"]["sources"][0][1] for i in ids]
    assert srcs[0] == srcs[1]
    assert db.fs.files.count_documents({"filename": str(tmp_path / "train.py")}) == 1


def test_collection_prefix(observer, mongo_client, mongo_db_name, tmp_path):
    """collection_prefix='p' writes p_runs and p_metrics, as Sacred names them."""
    obs = observer(collection_prefix="p")
    rid = start(obs, str(tmp_path))
    obs.log_metrics(metrics("m", 0, 2), {})
    obs.completed_event(stop_time=now(), result=None)
    obs.join()
    db = mongo_client[mongo_db_name]
    assert {"p_runs", "p_metrics"} <= set(db.list_collection_names())
    assert "runs" not in db.list_collection_names()
    assert read_metric(db, rid, "m", collection_prefix="p")["steps"] == [0, 1]


def test_indexes_for_readers(observer, mongo_client, mongo_db_name, tmp_path):
    """Indexes exist for metrics by run and name, and runs by status, name and start time."""
    obs = observer()
    start(obs, str(tmp_path))
    obs.log_metrics(metrics("m", 0, 1), {})
    obs.join()
    db = mongo_client[mongo_db_name]
    run_keys = [list(ix["key"]) for ix in db.runs.list_indexes()]
    assert ["status"] in run_keys and ["experiment.name"] in run_keys and ["start_time"] in run_keys
    assert ["run_id", "name"] in [list(ix["key"]) for ix in db.metrics.list_indexes()]


def wait_until_written(obs, timeout=10.0):
    """Wait until the observer's background writer has applied everything queued."""
    import time

    deadline = time.monotonic() + timeout
    while obs._writer.pending() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not obs._writer.pending()


def test_writer_merges_queued_writes_when_behind(observer, mongo_client, mongo_db_name,
                                                 tmp_path):
    """Many beats queued at once reach the database as fewer writes with the same result."""
    listener = _Updates()
    obs = observer(event_listeners=[listener], metric_first_points=10_000)
    rid = start(obs, str(tmp_path))
    for b in range(50):
        obs.log_metrics(metrics("loss", b * 10, 10), {})
        obs.heartbeat_event(info={"b": b}, beat_time=now(), result=b, output_delta=f"{b}\n")
    obs.completed_event(stop_time=now(), result="end")
    obs.join()
    db = mongo_client[mongo_db_name]
    run = db.runs.find_one({"_id": rid})
    assert run["info"]["b"] == 49 and run["result"] == "end" and run["status"] == "COMPLETED"
    assert run["captured_out"] == "".join(f"{b}\n" for b in range(50))
    assert read_metric(db, rid, "loss")["steps"] == list(range(500))
    assert len(listener.updates) < 52  # unmerged: 50 heartbeat $sets, info.metrics, final $set


class _Updates(monitoring.CommandListener):
    def __init__(self):
        self.updates = []

    def started(self, event):
        if event.command_name == "update" and "runs" == event.command.get("update"):
            self.updates.extend(u["u"] for u in event.command["updates"])

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def test_heartbeats_set_only_what_changed(observer, tmp_path):
    """A heartbeat $sets the beat time, new output and changed info/result, nothing else."""
    listener = _Updates()
    obs = observer(event_listeners=[listener])
    start(obs, str(tmp_path))
    for info, delta in (({"a": 1}, "x"), ({"a": 1}, ""), ({"a": 2}, "y")):
        obs.heartbeat_event(info=info, beat_time=now(), result=None, output_delta=delta)
        wait_until_written(obs)  # else the writer, being behind, merges the three $sets
    obs.join()
    beats = [u["$set"] for u in listener.updates if "heartbeat" in u.get("$set", {})]
    assert [sorted(b) for b in beats] == [["captured_out", "heartbeat", "info", "result"],
                                          ["heartbeat"], ["captured_out", "heartbeat", "info"]]
    assert beats[2]["captured_out"] == "xy"


def test_long_metric_and_output_continue_outside_the_run_document(observer, mongo_client,
                                                                  mongo_db_name, tmp_path):
    """Beyond the bounds, metric points go to metrics_chunks and output to a GridFS log."""
    obs = observer(metric_first_points=100, metric_chunk_points=100, output_tail_chars=50)
    rid = start(obs, str(tmp_path))
    text = "".join(f"line {i}\n" for i in range(200))
    for i in range(7):
        obs.log_metrics(metrics("loss", i * 45, 45), {})
        obs.heartbeat_event(info={}, beat_time=now(), result=None,
                            output_delta=text[i * 300:(i + 1) * 300])
    obs.log_metrics(metrics("loss", 315, 250), {})  # one batch larger than a chunk
    obs.heartbeat_event(info={}, beat_time=now(), result=None, output_delta=text[2100:])
    obs.completed_event(stop_time=now(), result=None)
    obs.join()
    db = mongo_client[mongo_db_name]
    m = read_metric(db, rid, "loss")
    assert m["steps"] == list(range(565)) and m["values"] == [s * 0.5 for s in range(565)]
    assert len(m["timestamps"]) == 565
    assert len(db.metrics.find_one({"run_id": rid})["steps"]) == 100
    # after the first 100: 35 + 4 x 45 (one document per batch), then 250 as 100 + 100 + 50
    sizes = [len(d["steps"]) for d in db.metrics_chunks.find({"run_id": rid}).sort("chunk", 1)]
    assert sizes == [35, 45, 45, 45, 45, 100, 100, 50]
    run = db.runs.find_one({"_id": rid})
    assert run["captured_out"] == text[-50:]
    assert read_output(db, rid) == text
    assert gridfs.GridFS(db).get(run["captured_out_file"]["file_id"]).read().decode() == text


def test_unreachable_strict_observer_refuses_to_start(tmp_path):
    """strict=True: a server that does not answer aborts the start with ObserverError."""
    from expt.errors import ObserverError
    from tests.mongo_server import free_port

    obs = MongoObserver(f"127.0.0.1:{free_port()}", strict=True, connect_timeout=0.3,
                        journal_dir=str(tmp_path))
    with pytest.raises(ObserverError, match="did not answer within 0.3 s"):
        start(obs, str(tmp_path))


def test_url_and_client_together_is_an_error():
    """Passing both url and client is refused."""
    import pymongo
    from expt.errors import ObserverError

    with pytest.raises(ObserverError, match="either"):
        MongoObserver("localhost:1", client=pymongo.MongoClient(connect=False))


def test_one_observer_records_several_runs(observer, mongo_client, mongo_db_name, tmp_path):
    """The same observer object records consecutive runs, each under its own id."""
    obs = observer()
    ids = []
    for k in range(3):
        ids.append(start(obs, str(tmp_path)))
        obs.log_metrics(metrics("m", 0, 2), {})
        obs.completed_event(stop_time=now(), result=k)
        obs.join()
    obs.close()
    db = mongo_client[mongo_db_name]
    assert len(set(ids)) == 3
    assert [db.runs.find_one({"_id": i})["result"] for i in ids] == [0, 1, 2]
    assert all(read_metric(db, i, "m")["steps"] == [0, 1] for i in ids)


def test_sacred_constructor_spellings(mongo_server, tmp_path):
    """MongoObserver.create and failure_dir work; overwrite/collection are refused clearly."""
    from expt.errors import ObserverError

    obs = MongoObserver.create(mongo_server.url, "x", failure_dir=str(tmp_path / "fail"))
    assert str(obs.journal_root) == str(tmp_path / "fail")
    for kwargs, hint in (({"overwrite": 3}, "start a new run"),
                         ({"collection": "my_runs"}, "collection_prefix")):
        with pytest.raises(ObserverError, match=hint):
            MongoObserver(mongo_server.url, **kwargs)


def test_artifact_is_the_file_as_it_was_at_the_event(observer, mongo_client, mongo_db_name,
                                                     tmp_path):
    """Rewriting the artifact's file in place right after artifact_event does not change what
    is stored (the file is copied at the event, as Sacred reads it at the event)."""
    obs = observer()
    rid = start(obs, str(tmp_path))
    path = tmp_path / "model.pt"
    for epoch in range(3):
        with open(path, "wb") as f:  # same inode, truncated and rewritten, like torch.save
            f.write(f"weights of epoch {epoch}".encode())
        obs.artifact_event(f"model_{epoch}.pt", str(path))
    obs.join()
    db = mongo_client[mongo_db_name]
    fs = gridfs.GridFS(db)
    arts = db.runs.find_one({"_id": rid})["artifacts"]
    assert [fs.get(a["file_id"]).read() for a in arts] == [
        f"weights of epoch {e}".encode() for e in range(3)]
