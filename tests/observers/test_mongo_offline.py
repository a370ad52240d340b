"""The MongoObserver when the server goes away: restart mid-run, offline runs and expt sync."""
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from observers.mongo import MongoObserver, read_metric, read_output
from tests.mongo_server import free_port, start_server, stop_server
from tests.observers.mongo_helpers import metrics, now, start

ROOT = Path(__file__).resolve().parents[2]


def sync(*args):
    """Run the sync command (`expt sync` dispatches to observers.mongo.sync.main)."""
    return subprocess.run([sys.executable, "-m", "observers.mongo.sync", *args], cwd=ROOT,
                          capture_output=True, text=True, env={"PYTHONPATH": str(ROOT)})


def drive(obs, steps: int, per_beat: int, pause: float = 0.0):
    """Log `steps` beats of metric points and output; return the expected output text."""
    out = []
    for b in range(steps):
        obs.log_metrics(metrics("loss", b * per_beat, per_beat), {})
        line = f"beat {b}\n"
        out.append(line)
        obs.heartbeat_event(info={"beat": b}, beat_time=now(), result=None, output_delta=line)
        time.sleep(pause)
    return "".join(out)


def test_server_restart_mid_run_loses_nothing(tmp_path):
    """Stop the server during a run and restart it on the same storage: every point, all output
    and the final status arrive, and the training thread never waited."""
    import pymongo

    port, data = free_port(), str(tmp_path / "data")
    pid = start_server(port, data)
    try:
        obs = MongoObserver(f"mongodb://127.0.0.1:{port}/restart", connect_timeout=2,
                            output_tail_chars=100, journal_dir=str(tmp_path / "journal"))
        rid = start(obs, str(tmp_path))
        text = drive(obs, 20, 1000)
        stopper = threading.Thread(target=stop_server, args=(pid,))
        stopper.start()
        slowest = 0.0
        for b in range(20, 60):  # keeps logging while the server is down
            t = time.monotonic()
            text += drive_one(obs, b, 1000)
            slowest = max(slowest, time.monotonic() - t)
            time.sleep(0.1)
        stopper.join()
        time.sleep(3)  # longer than spill_after: the writer journals what it holds
        spilled = list((tmp_path / "journal").glob("*/ops.jsonl"))
        pid = start_server(port, data)
        text += "".join(drive_one(obs, b, 1000) for b in range(60, 70))
        deadline = time.monotonic() + 60
        while obs._writer.pending() and time.monotonic() < deadline:
            time.sleep(0.05)
        # the outage outlasted spill_after, so records went to the journal; once all of them
        # reached the database the journal's ops were dropped (a replay would undo newer $sets)
        assert spilled and not list((tmp_path / "journal").glob("*/ops.jsonl"))
        obs.completed_event(stop_time=now(), result="done")
        obs.join()
        # a call that waited on the database would take the 2 s server-selection timeout
        assert slowest < 1.0, f"an event call waited {slowest:.2f} s on the database"
        db = pymongo.MongoClient(port=port).restart
        m = read_metric(db, rid, "loss")
        assert m["steps"] == list(range(70_000))
        run = db.runs.find_one({"_id": rid})
        assert run["status"] == "COMPLETED" and run["result"] == "done"
        assert read_output(db, rid) == text
        assert not any((tmp_path / "journal").glob("*/ops.jsonl"))
    finally:
        stop_server(pid)


def drive_one(obs, b, n):
    obs.log_metrics(metrics("loss", b * n, n), {})
    line = f"beat {b}\n"
    obs.heartbeat_event(info={"beat": b}, beat_time=now(), result=None, output_delta=line)
    return line


def _offline_run(tmp_path, capfd, **kwargs):
    journal = tmp_path / "journal"
    dead = f"mongodb://127.0.0.1:{free_port()}/offline"
    obs = MongoObserver(dead, connect_timeout=0.3, journal_dir=str(journal),
                        metric_first_points=500, metric_chunk_points=500,
                        output_tail_chars=20, **kwargs)
    t = time.monotonic()
    rid = start(obs, str(tmp_path))
    started_in = time.monotonic() - t
    text = drive(obs, 5, 300)
    (tmp_path / "model.txt").write_text("weights")
    obs.artifact_event("model.txt", str(tmp_path / "model.txt"), metadata={"k": 1})
    (tmp_path / "model.txt").unlink()  # the user deletes it right away: it was staged
    obs.completed_event(stop_time=now(), result=7)
    obs.join()
    err = capfd.readouterr().err
    return rid, started_in, text, journal, err


def test_offline_run_then_sync(mongo_server, mongo_client, tmp_path, capfd):
    """Server down for the whole run: the run finishes, says so once, and expt sync uploads it
    completely; a second sync uploads nothing more."""
    rid, started_in, text, journal, err = _offline_run(tmp_path, capfd)
    assert rid is None and started_in < 2.0
    assert err.count("did not answer within 0.3 s") == 1 and "expt sync" in err
    [folder] = [d for d in journal.iterdir() if (d / "ops.jsonl").exists()]
    assert (folder / "meta.json").exists() and list((folder / "files").iterdir())

    res = sync("--journal", str(journal), "-m", mongo_server.url + "/synced")
    assert res.returncode == 0, res.stderr
    assert "uploaded run 1" in res.stderr
    db = mongo_client.synced
    run = db.runs.find_one({"_id": 1})
    assert run["status"] == "COMPLETED" and run["result"] == 7
    assert read_metric(db, 1, "loss")["steps"] == list(range(1500))
    assert read_output(db, 1) == text and run["captured_out"] == text[-20:]
    assert run["experiment"]["sources"][0][1] is not None
    [art] = run["artifacts"]
    import gridfs
    assert gridfs.GridFS(db).get(art["file_id"]).read() == b"weights"
    assert not folder.exists()

    again = sync("--journal", str(journal), "-m", mongo_server.url + "/synced")
    assert again.returncode == 0 and "nothing to upload" in again.stderr
    assert db.runs.count_documents({}) == 1 and db.metrics.count_documents({}) == 1


def test_a_server_away_since_the_start_is_not_waited_for_again_at_the_end(tmp_path, capfd):
    """The start already waited connect_timeout for the server: join grants it only the rest
    of the grace (connect_timeout + 1 s counted from that start), not a new wait plus a
    timed-out attempt (which took 3-4 connect timeouts, ~10 s with the default 3 s)."""
    obs = MongoObserver(f"mongodb://127.0.0.1:{free_port()}/away", connect_timeout=1.0,
                        journal_dir=str(tmp_path / "journal"))
    t = time.monotonic()
    start(obs, str(tmp_path))
    assert obs._writer.offline  # known from the start, before its own first attempt
    obs.completed_event(stop_time=now(), result=1)
    obs.join()
    assert time.monotonic() - t < 2.0 + 1.0  # the grace is 2.0 s; 1 s of slack for the machine
    assert "kept in" in capfd.readouterr().err


@pytest.mark.parametrize("applied", [0, 3, 9])
def test_sync_after_partial_upload_stores_everything_once(mongo_server, mongo_client, tmp_path,
                                                          capfd, applied, mongo_db_name):
    """A sync that stopped after `applied` ops (folder kept, progress saved or lost) and is run
    again stores every record exactly once."""
    _, _, text, journal, _ = _offline_run(tmp_path, capfd)
    [folder] = [d for d in journal.iterdir() if (d / "ops.jsonl").exists()]
    backup = tmp_path / "backup"
    shutil.copytree(folder, backup)
    url = f"{mongo_server.url}/{mongo_db_name}"
    assert sync("--journal", str(journal), "-m", url).returncode == 0
    shutil.copytree(backup, folder)  # as if the first sync died before finishing
    import json
    (folder / "progress.json").write_text(json.dumps({"applied": applied, "run_id": 1 if applied else None}))
    res = sync("--journal", str(journal), "-m", url)
    assert res.returncode == 0, res.stderr
    db = mongo_client[mongo_db_name]
    assert db.runs.count_documents({}) == 1
    assert read_metric(db, 1, "loss")["steps"] == list(range(1500))
    assert db.metrics.count_documents({}) == 1 and db.metrics_chunks.count_documents({}) == 4
    assert read_output(db, 1) == text
    assert db.fs.files.count_documents({"filename": {"$regex": "^artifact://"}}) == 1


def test_sync_without_url_for_redacted_journal_says_what_to_do(tmp_path, capfd):
    """A journal whose URL had credentials needs -m URL; sync exits 1 and says so."""
    journal = tmp_path / "journal"
    obs = MongoObserver(f"mongodb://u:pw@127.0.0.1:{free_port()}/x", connect_timeout=0.2,
                        journal_dir=str(journal))
    start(obs, str(tmp_path))
    obs.completed_event(stop_time=now(), result=None)
    obs.join()
    meta = next(journal.glob("*/meta.json")).read_text()
    assert "pw" not in meta.replace("pending", "")
    res = sync("--journal", str(journal))
    assert res.returncode == 1 and "pass it with -m URL" in res.stderr


def test_sync_rejects_malformed_url(tmp_path):
    """expt sync -m with a malformed URL exits 2 naming the accepted forms."""
    res = sync("--journal", str(tmp_path), "-m", "localhost:xx")
    assert res.returncode == 2 and "Accepted forms" in res.stderr


KILLED = """
import os, signal, sys, time
from observers.mongo import MongoObserver
from tests.observers.mongo_helpers import metrics, now, start
url, journal, base = sys.argv[1:4]
obs = MongoObserver(url, connect_timeout=0.3, journal_dir=journal, spill_after=0.5, retry_max=0.5)
start(obs, base)
for b in range(10):
    obs.log_metrics(metrics("loss", b * 100, 100), {})
    obs.heartbeat_event(info={"b": b}, beat_time=now(), result=None, output_delta=f"beat {b}\\n")
    time.sleep(0.3)
time.sleep(2)  # long enough for the last beats to reach the journal
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_killed_while_offline_leaves_its_records_in_the_journal(mongo_server, mongo_client,
                                                                 mongo_db_name, tmp_path):
    """A process killed (SIGKILL) while the server is away has journaled what it logged;
    expt sync uploads it as a RUNNING run with every point and all output."""
    journal = tmp_path / "journal"
    res = subprocess.run([sys.executable, "-c", KILLED, f"mongodb://127.0.0.1:{free_port()}/x",
                          str(journal), str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                         env={"PYTHONPATH": str(ROOT)}, timeout=60)
    assert res.returncode == -9, res.stderr
    res = sync("--journal", str(journal), "-m", f"{mongo_server.url}/{mongo_db_name}")
    assert res.returncode == 0, res.stderr
    db = mongo_client[mongo_db_name]
    run = db.runs.find_one()
    assert run["status"] == "RUNNING" and run["info"]["b"] == 9
    assert read_metric(db, run["_id"], "loss")["steps"] == list(range(1000))
    assert read_output(db, run["_id"]) == "".join(f"beat {b}\n" for b in range(10))
    assert run["experiment"]["sources"][0][1] is not None


def test_strict_observer_fails_join_when_writes_are_left(tmp_path):
    """strict=True: if the server goes away mid-run, join raises ObserverError (the records are
    still kept in the journal)."""
    from expt.errors import ObserverError

    port = free_port()
    pid = start_server(port)
    obs = MongoObserver(f"mongodb://127.0.0.1:{port}/strict", strict=True, connect_timeout=0.5,
                        journal_dir=str(tmp_path / "journal"))
    start(obs, str(tmp_path))
    stop_server(pid)
    drive(obs, 3, 10)
    obs.completed_event(stop_time=now(), result=None)
    with pytest.raises(ObserverError, match="did not reach MongoDB"):
        obs.join()
    assert len(list((tmp_path / "journal").glob("*/ops.jsonl"))) == 1


def test_observer_reused_when_the_server_went_away_starts_clean(tmp_path, capfd):
    """An observer that recorded run 1 and then finds the server gone does not write the next
    run's records under id 1: the new run is journaled without an id."""
    import json

    port = free_port()
    pid = start_server(port)
    obs = MongoObserver(f"mongodb://127.0.0.1:{port}/x", connect_timeout=0.3,
                        journal_dir=str(tmp_path / "j"))
    assert start(obs, str(tmp_path)) == 1
    obs.join()
    stop_server(pid)
    assert start(obs, str(tmp_path)) is None
    obs.completed_event(stop_time=now(), result=None)
    obs.join()
    [meta] = [json.loads(p.read_text()) for p in (tmp_path / "j").glob("*/meta.json")]
    assert meta["run_id"] is None
    assert capfd.readouterr().err.count("did not answer") == 1
