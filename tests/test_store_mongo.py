"""The MongoDB store read API and `expt` command on runs written by real experiment processes
(-m) to the real SecantusDB server: the cases of test_store_folder.py, for MongoDB."""
import os
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pymongo
import pytest
from pymongo import monitoring

import expt
from expt.filters import FilterError, parse_filter
from expt.store import RunNotFoundError, Store, StoreNotFoundError, open_store
from observers.file_storage import UnsafePathError
from observers.mongo import store as store_module
from observers.mongo.store import MongoStore
from tests.mongo_server import free_port

sys.path.insert(0, os.path.dirname(__file__))
from store_fixtures import write_experiment  # noqa: E402
from store_cases import (  # noqa: E402,F401  the cases every store passes
    FILTERS, test_artifacts_list_open_download, test_failed_run_has_its_trace, test_filters,
    test_killed_run_becomes_probably_dead, test_listed_runs_read_what_one_run_reads,
    test_metrics_as_numpy_arrays, test_order_by_a_field_no_run_has_names_the_nearest,
    test_order_by_and_limit, test_a_limit_that_is_not_a_count_is_refused, test_record_fields,
    test_to_frame, test_unknown_metric_suggests_the_nearest,
    test_unknown_run_id_suggests_existing_ids)

EXPT = str(Path(sys.executable).parent / "expt")


def run_experiment(script: Path, url: str, *updates: str, flags: tuple[str, ...] = (),
                   ) -> subprocess.CompletedProcess:
    """Run the store test experiment once with ``-m url`` and ``with updates``."""
    cmd = [sys.executable, str(script), "-m", url, *flags]
    if updates:
        cmd += ["with", *updates]
    proc = subprocess.run(cmd, cwd=script.parent, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": "",
                               "EXPT_JOURNAL_DIR": str(script.parent / "journal")})
    assert proc.returncode in (0, 1), proc.stderr
    return proc


def make_runs(folder: Path, server) -> str:
    """Four runs in a fresh database (as store_fixtures.make_runs): 1 num_leaves=31,
    2 num_leaves=40 (artifact), 3 num_leaves=63 lr=0.05 comment, 4 failed; its URL."""
    url = f"{server.url}/t_{uuid.uuid4().hex[:12]}"
    script = write_experiment(folder)
    run_experiment(script, url)
    run_experiment(script, url, "num_leaves=40", "artifact=model.txt")
    run_experiment(script, url, "num_leaves=63", "lr=0.05", flags=("-c", "big trees"))
    run_experiment(script, url, "crash=True")
    return url


def expt_cmd(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([EXPT, *args], cwd=cwd, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": "200"})


@pytest.fixture(scope="module")
def store_url(tmp_path_factory, mongo_server) -> str:
    return make_runs(tmp_path_factory.mktemp("mstore"), mongo_server)


@pytest.fixture
def store(store_url):
    with open_store(store_url) as s:
        yield s


@pytest.fixture
def own_store(tmp_path, mongo_server):
    """A store this test may change."""
    with open_store(make_runs(tmp_path, mongo_server)) as s:
        yield s


def test_open_store_finds_the_mongo_backend_by_entry_point(store):
    """open_store on a mongodb:// URL gives the MongoStore registered in expt.stores."""
    assert isinstance(store, MongoStore)
    assert [r.id for r in store.runs()] == [1, 2, 3, 4]


def test_short_form_location(store_url):
    """host:port:db (the -m short form) opens the same database."""
    host_port, _, db = store_url.split("//")[1].partition("/")
    with open_store(f"{host_port}:{db}") as s:
        assert s.run_ids() == [1, 2, 3, 4]


def test_missing_database_is_a_clear_error(store_url):
    """A database that does not exist names itself and the nearest existing one."""
    base, _, db = store_url.rpartition("/")
    with pytest.raises(StoreNotFoundError, match=f"No database '{db[:-1]}x'.*Did you mean '{db}'"):
        open_store(f"{base}/{db[:-1]}x")


def test_default_database_without_runs_lists_the_databases(store_url):
    """host:port names no database, so 'sacred' (Sacred's default) is opened; when it does not
    exist, the error lists the databases that do."""
    import pymongo

    host_port = store_url.split("//")[1].partition("/")[0]
    with pytest.raises(StoreNotFoundError, match=r"No database 'sacred' \(the default when the "
                                                 r"URL names none\).*Its databases: ") as info:
        open_store(host_port)
    listed = str(info.value).split("Its databases: ")[1].rstrip(".").split(", ")
    with pymongo.MongoClient(f"mongodb://{host_port}") as client:
        assert listed and set(listed) <= set(client.list_database_names())


def test_unreachable_server_is_a_clear_error():
    """A server that does not answer is a StoreNotFoundError naming the URL, credentials hidden."""
    url = f"mongodb://user:secret@127.0.0.1:{free_port()}/db?serverSelectionTimeoutMS=300"
    with pytest.raises(StoreNotFoundError, match="Cannot reach MongoDB") as info:
        open_store(url)
    assert "secret" not in str(info.value)




def test_refused_login_is_a_clear_error(store_url):
    """A user name or password the server refuses: one message naming the URL, password
    hidden, instead of the driver's error after its timeout."""
    url = store_url.replace("mongodb://", "mongodb://nobody:wrongpw@")
    with pytest.raises(StoreNotFoundError, match="refused the login") as info:
        open_store(url)
    assert "wrongpw" not in str(info.value) and "mongodb://***@" in str(info.value)


def copy_without_summaries(store_url: str, mongo_client, suffix: str, run_ids=None) -> str:
    """The URL of a copy of the store's database whose runs `run_ids` (all by default) have
    no ``metric_summaries``, as Sacred writes runs."""
    source = mongo_client[store_url.rsplit("/", 1)[1]]
    name = f"{source.name}_{suffix}"
    for coll in ("runs", "metrics", "metrics_chunks"):
        docs = list(source[coll].find())
        for doc in docs:
            if coll == "runs" and (run_ids is None or doc["_id"] in run_ids):
                doc.pop("metric_summaries", None)
        if docs:
            mongo_client[name][coll].insert_many(docs)
    return f"{store_url.rsplit('/', 1)[0]}/{name}"


@pytest.fixture(scope="module")
def sacred_store_url(store_url, mongo_client) -> str:
    return copy_without_summaries(store_url, mongo_client, "sacred")


@pytest.fixture(scope="module")
def mixed_store_url(store_url, mongo_client) -> str:
    """Runs 2 and 4 as Sacred writes them, 1 and 3 as expt does."""
    return copy_without_summaries(store_url, mongo_client, "mixed", run_ids={2, 4})


@pytest.mark.parametrize("text, ids", FILTERS)
@pytest.mark.parametrize("writer", ["expt", "sacred", "mixed"])
def test_filters_agree_in_database_and_python(store_url, sacred_store_url, mixed_store_url,
                                              writer, text, ids):
    """Filters on status, config, metrics, comment, times and result select the right runs,
    the same runs as the Python evaluator over every run of the store, for runs with metric
    summaries (expt's), without (Sacred's, checked by an aggregation on the series), and a
    database holding both."""
    url = {"expt": store_url, "sacred": sacred_store_url, "mixed": mixed_store_url}[writer]
    with open_store(url) as store:
        assert [r.id for r in store.runs(text)] == ids
        assert [r.id for r in Store.runs(store, text)] == ids


@pytest.mark.parametrize("text, ids", [(t, i) for t, i in FILTERS if "metrics." in t])
def test_metric_filters_are_answered_by_the_runs_query(store, text, ids, monkeypatch):
    """For runs with metric summaries, the runs query alone selects exactly the matches of a
    config or metric filter, and no series is aggregated."""
    monkeypatch.setattr(MongoStore, "legacy_metric_hits", None)  # a call would fail
    query, exact = store_module._metric_query(parse_filter(text))
    # a derived field, and != (true for runs without the metric), are checked in Python
    assert exact == ("duration" not in text and "!=" not in text)
    if exact:
        assert [d["_id"] for d in store._runs.find(query, {"_id": 1}).sort("_id", 1)] == ids
    assert [r.id for r in store.runs(text)] == ids


def test_observer_keeps_metric_summaries(store):
    """The MongoObserver stores each metric's count, last, min and max in the run document,
    the figures computed from the series themselves."""
    for run in store.runs():
        summaries = store._runs.find_one({"_id": run.id})["metric_summaries"]
        assert [s["name"] for s in summaries] == ["valid.l2", "train.loss"]
        assert store_module._summary_map(summaries) == store._summarize({run.id})[run.id]


class RunsFinds(monitoring.CommandListener):
    """The find commands sent to the runs collection."""

    def __init__(self):
        self.commands = []

    def started(self, event):
        if event.command_name == "find" and event.command["find"] == "runs":
            self.commands.append(event.command)

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def test_listed_runs_read_the_rest_of_their_documents_in_batches(store_url, monkeypatch):
    """runs() fetches only the listed fields; the first other field used reads the whole
    documents of that run and the next listed ones, IN_LIMIT runs per query, without the
    output (read when asked)."""
    monkeypatch.setattr(store_module, "IN_LIMIT", 2)
    finds = RunsFinds()
    client = pymongo.MongoClient(store_url, event_listeners=[finds])
    store = MongoStore(store_url, client=client)
    try:
        runs = store.runs()
        [listing] = finds.commands
        assert set(listing["projection"]) == set(store_module.LISTING)
        assert "host" not in listing["projection"] and "info" not in listing["projection"]
        assert [r.partial for r in runs] == [True] * 4
        assert runs[0].host["hostname"] == os.uname().nodename
        assert len(finds.commands) == 2 and [r.partial for r in runs] == [False, False, True, True]
        assert finds.commands[1]["projection"] == {"captured_out": 0}
        assert runs[1].experiment["name"] == "train" and len(finds.commands) == 2
        assert "ValueError: boom" in "".join(runs[3].fail_trace)
        assert len(finds.commands) == 3 and not runs[2].partial  # run 4, then run 3
        stored = {d["_id"]: d for d in client[store.db.name].runs.find({}, {"captured_out": 0})}
        assert [r.doc for r in runs] == [stored[i] for i in (1, 2, 3, 4)]
    finally:
        store.close()


def test_a_listing_read_in_any_order_costs_a_query_per_batch(store_url, monkeypatch):
    """A batch is the run read and the next partial ones in the listing's order, wrapping
    around: reading every run's host backwards, or in a sorted listing, takes a query per
    IN_LIMIT runs."""
    monkeypatch.setattr(store_module, "IN_LIMIT", 2)
    finds = RunsFinds()
    client = pymongo.MongoClient(store_url, event_listeners=[finds])
    store = MongoStore(store_url, client=client)
    try:
        for read_order in (lambda: store.runs()[::-1], lambda: store.runs(order_by="-id")):
            finds.commands.clear()
            runs = read_order()
            assert [r.host["hostname"] for r in runs] == [os.uname().nodename] * 4
            assert len(finds.commands) == 1 + 2  # the listing, then two batches of two
    finally:
        store.close()


def test_a_run_deleted_after_listing_keeps_its_listed_fields(own_store, mongo_client):
    """A listed run deleted meanwhile still answers its listed fields; the others are empty."""
    runs = own_store.runs()
    mongo_client[own_store.db.name].runs.delete_one({"_id": 2})
    assert runs[1].host == {} and runs[1].status == "COMPLETED" and not runs[1].partial
    assert runs[0].host["hostname"] == os.uname().nodename


def test_misspelt_fields_are_errors(store):
    """A config field or metric that no run has is reported with the nearest existing one."""
    with pytest.raises(FilterError) as info:
        store.runs("config.num_leafs>=40")
    assert info.value.suggestions[0] == "config.num_leaves"
    with pytest.raises(FilterError) as info:
        store.runs("metrics.valid.l3.last<3")
    assert info.value.suggestions[0] == "metrics.valid.l2.last"


@pytest.mark.parametrize("in_limit", [200, 0])
def test_to_frame_of_sacred_runs(store_url, sacred_store_url, in_limit, monkeypatch):
    """For runs without summaries, to_frame's metric columns are computed from the series
    (in bulk, by id list or by id range) and equal those read from the summaries."""
    monkeypatch.setattr(store_module, "IN_LIMIT", in_limit)
    with open_store(store_url) as store, open_store(sacred_store_url) as sacred:
        expected, frame = store.runs().to_frame(), sacred.runs().to_frame()
    metrics = ["metrics.valid.l2", "metrics.train.loss"]
    assert frame.shape == expected.shape and len(frame) == 4
    assert frame[metrics].equals(expected[metrics])


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "../1/run.json"])
def test_unsafe_artifact_names_are_refused(store, name):
    """Names that would leave a folder when downloaded are refused on read."""
    with pytest.raises(UnsafePathError):
        store.get(2).artifacts.open(name)


def test_tags_and_notes_where_omniboard_keeps_them(own_store, mongo_client):
    """add_tag/set_note write omniboard.tags/notes in the run document; Omniboard's own writes
    to those fields are read back; filters see them."""
    run = own_store.get(1)
    run.add_tag("best")
    run.add_tag("v2")
    run.add_tag("best")
    run.set_note("fast and good")
    runs = mongo_client[own_store.db.name].runs
    doc = runs.find_one({"_id": 1})
    assert doc["omniboard"] == {"tags": ["best", "v2"], "notes": "fast and good"}
    assert doc["status"] == "COMPLETED"  # the rest of the document is kept
    runs.update_one({"_id": 3}, {"$set": {"omniboard.tags": ["best"]}})  # as Omniboard does
    assert own_store.get(3).tags == ["best"]
    assert [r.id for r in own_store.runs("tags=best")] == [1, 3]
    own_store.get(1).remove_tag("best")
    assert runs.find_one({"_id": 1})["omniboard"]["tags"] == ["v2"]
    assert own_store.get(1).note == "fast and good"


def test_delete_removes_the_run_its_metrics_and_files(own_store, mongo_client):
    """delete() removes the run document, its metric documents and its GridFS files; other
    runs and the shared sources stay."""
    db = mongo_client[own_store.db.name]
    artifact_id = db.runs.find_one({"_id": 2})["artifacts"][0]["file_id"]
    assert db.metrics.count_documents({"run_id": 2}) == 2
    own_store.get(2).delete()
    assert [r.id for r in own_store.runs()] == [1, 3, 4]
    assert db.metrics.count_documents({"run_id": 2}) == 0
    assert db["fs.files"].count_documents({"_id": artifact_id}) == 0
    assert db["fs.chunks"].count_documents({"files_id": artifact_id}) == 0
    with pytest.raises(RunNotFoundError):
        own_store.get(2)
    assert db.metrics.count_documents({"run_id": 1}) == 2
    assert "Experiment" in own_store.get(1).read_source("train.py")


def test_get_run_by_reference(store_url):
    """expt.get_run opens one run from a mongodb://host/db#3 reference."""
    run = expt.get_run(f"{store_url}#3")
    assert run.id == 3 and run.ref == f"{store_url}#3" and run.config["num_leaves"] == 63
    run.store.close()


def test_two_million_point_series_round_trip(tmp_path, mongo_server):
    """A 2,000,000-point series written by a real run is read back complete and in order,
    across the first metric document and its continuations."""
    script = tmp_path / "long.py"
    script.write_text(
        "from expt import Experiment\nex = Experiment('long')\n"
        "@ex.automain\ndef main(_run):\n"
        "    for i in range(2_000_000):\n        _run.log_scalar('loss', i * 0.5)\n")
    url = f"{mongo_server.url}/t_{uuid.uuid4().hex[:12]}"
    subprocess.run([sys.executable, str(script), "-m", url], check=True, capture_output=True,
                   timeout=600, env={**os.environ, "EXPT_JOURNAL_DIR": str(tmp_path / "j")})
    with open_store(url) as store:
        assert store.db.metrics_chunks.count_documents({"run_id": 1}) > 1
        series = store.get(1).metrics["loss"]
        assert len(series) == 2_000_000
        assert np.array_equal(series.steps, np.arange(2_000_000))
        assert np.array_equal(series.values, np.arange(2_000_000) * 0.5)
        assert len(series.timestamps) == 2_000_000
        assert store.get(1).metric_summary["loss"] == {
            "last": 999_999.5, "min": 0.0, "max": 999_999.5, "count": 2_000_000}
        assert [r.id for r in store.runs("metrics.loss.last>999999")] == [1]


@pytest.fixture
def fresh_location(mongo_server) -> tuple[str, str]:
    """An empty MongoDB database and the flag that records runs there."""
    return f"{mongo_server.url}/t_{uuid.uuid4().hex[:12]}", "-m"


# ----------------------------------------------------------------------- the expt command
def test_cli_ls(store_url, tmp_path):
    """`expt ls mongodb://host:port/db [FILTER]` prints the runs the filter selects."""
    proc = expt_cmd("ls", store_url, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = [line.split() for line in proc.stdout.strip().splitlines()]
    assert rows[0][:3] == ["id", "experiment", "status"] and "valid.l2" in rows[0]
    assert [r[0] for r in rows[1:]] == ["1", "2", "3", "4"]
    proc = expt_cmd("ls", store_url, "config.num_leaves>=40", "and",
                    "metrics.valid.l2.last<3000", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert [line.split()[0] for line in proc.stdout.strip().splitlines()[1:]] == ["3"]


def test_cli_show(store_url, tmp_path):
    """`expt show mongodb://host:port/db#3` shows the run's status, config and metrics;
    `expt logs` prints its captured output."""
    proc = expt_cmd("show", f"{store_url}#3", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for text in ("COMPLETED", "num_leaves", "63", "valid.l2", "train"):
        assert text in proc.stdout
    proc = expt_cmd("logs", f"{store_url}#3", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.startswith("step 0\nstep 1"), proc.stderr


@pytest.mark.parametrize("args, message", [
    (("show", "{url}#99"), "No run 99"),
    (("show", "{url}"), "needs '#ID'"),
    (("ls", "{url}x"), "Did you mean"),
    (("ls", "{url}", "config.num_leafs>=40"), "config.num_leaves"),
    (("ls", "{url}", "status=DONE"), "unknown status"),
    (("artifacts", "{url}#2", "../../etc/passwd"), "Refusing"),
])
def test_cli_mistakes_exit_2(store_url, tmp_path, args, message):
    """Bad run references, databases, filters and artifact names: one clear message, exit 2."""
    proc = expt_cmd(*(a.format(url=store_url) for a in args), cwd=tmp_path)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_cli_artifacts_tag_rm(tmp_path, mongo_server, mongo_client):
    """`expt artifacts URL#2 NAME -o PATH` downloads, `expt tag` writes omniboard.tags and
    `expt rm -y` deletes the run from the database."""
    url = make_runs(tmp_path, mongo_server)
    db = mongo_client[url.rpartition("/")[2]]
    proc = expt_cmd("artifacts", f"{url}#2", "model.txt", "-o", str(tmp_path / "m.txt"),
                    cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "m.txt").read_bytes() == b"model of 40"
    proc = expt_cmd("tag", f"{url}#1", "best", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert db.runs.find_one({"_id": 1})["omniboard"]["tags"] == ["best"]
    proc = expt_cmd("rm", "-y", f"{url}#2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert sorted(db.runs.distinct("_id")) == [1, 3, 4]
    assert db.metrics.count_documents({"run_id": 2}) == 0
