"""Real experiments with the MongoObserver: the -m flag on the command line and ex.observers."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from observers.mongo import MongoObserver, read_metric, read_output
from tests.mongo_server import free_port

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = textwrap.dedent('''
    """python train.py [-m URL] [with lr=... fail=True]"""
    from expt import Experiment

    ex = Experiment("train")

    @ex.config
    def cfg():
        lr = 0.1
        fail = False

    @ex.automain
    def main(lr, fail, _run):
        for i in range(5):
            _run.log_scalar("loss", lr / (i + 1))
            print("step", i)
        if fail:
            raise ValueError("diverged")
        return lr * 2
''')


def run_script(tmp_path, *args, env=None):
    (tmp_path / "train.py").write_text(SCRIPT)
    return subprocess.run([sys.executable, "train.py", *args], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT),
                               "EXPT_JOURNAL_DIR": str(tmp_path / "journal"), **(env or {})})


def test_command_line_m_flag_records_the_run(mongo_server, mongo_client, mongo_db_name, tmp_path):
    """`python train.py -m host:port:db with lr=0.5` stores the run, its metric and output."""
    host_port = mongo_server.url.split("//")[1]
    res = run_script(tmp_path, "-m", f"{host_port}:{mongo_db_name}", "with", "lr=0.5")
    assert res.returncode == 0, res.stderr
    db = mongo_client[mongo_db_name]
    run = db.runs.find_one()
    assert run["status"] == "COMPLETED" and run["result"] == 1.0
    assert run["config"]["lr"] == 0.5 and run["experiment"]["name"] == "train"
    assert read_metric(db, run["_id"], "loss")["values"] == [0.5 / (i + 1) for i in range(5)]
    assert "step 4" in read_output(db, run["_id"])


def test_failing_run_is_stored_as_failed(mongo_server, mongo_client, mongo_db_name, tmp_path):
    """A main function that raises leaves a FAILED run with its traceback."""
    res = run_script(tmp_path, "-m", f"{mongo_server.url}/{mongo_db_name}", "with", "fail=True")
    assert res.returncode == 1
    run = mongo_client[mongo_db_name].runs.find_one()
    assert run["status"] == "FAILED" and "ValueError: diverged" in "".join(run["fail_trace"])


def test_malformed_m_value_exits_2_naming_the_forms(tmp_path):
    """-m with a malformed value is a usage error listing the accepted forms."""
    res = run_script(tmp_path, "-m", "localhost:abc")
    assert res.returncode == 2
    assert "port 'abc' is not a number" in res.stderr and "host:port:db" in res.stderr


def test_run_with_server_away_completes_and_is_journaled(tmp_path):
    """With no server at all the run still completes (exit 0), says so once, and is journaled."""
    journal = tmp_path / "journal"
    res = run_script(tmp_path, "-m", f"127.0.0.1:{free_port()}:x",
                     env={"EXPT_JOURNAL_DIR": str(journal)})
    assert res.returncode == 0, res.stderr
    assert res.stderr.count("did not answer within") == 1
    assert len(list(journal.glob("*/ops.jsonl"))) == 1


def test_observer_appended_in_python(mongo_server, mongo_client, mongo_db_name, tmp_path):
    """ex.observers.append(MongoObserver(url, db_name=...)) and ex.run(config_updates=...)."""
    from expt import Experiment

    ex = Experiment("inproc")

    @ex.config
    def cfg():
        x = 1

    @ex.main
    def main(x, _run):
        _run.log_scalar("x", x)
        return x + 1

    ex.observers.append(MongoObserver(mongo_server.url, db_name=mongo_db_name,
                                      journal_dir=str(tmp_path)))
    run = ex.run(config_updates={"x": 41})
    doc = mongo_client[mongo_db_name].runs.find_one({"_id": run._id})
    assert doc["result"] == 42 and doc["status"] == "COMPLETED"


def test_credentials_in_the_url_are_never_stored(tmp_path):
    """With a password in -m (server with authentication), no stored document or journal file
    holds the password; the URL in meta is redacted."""
    import pymongo
    from bson import json_util

    from tests.mongo_server import start_server, stop_server

    port, data = free_port(), str(tmp_path / "data")
    pid = start_server(port, data)
    pymongo.MongoClient(port=port).admin.command(
        "createUser", "alice", pwd="s3cretPW", roles=["root"])
    stop_server(pid)
    pid = start_server(port, data, auth=True)
    try:
        url = f"mongodb://alice:s3cretPW@127.0.0.1:{port}/creds?authSource=admin"
        res = run_script(tmp_path, "-m", url, env={"EXPT_JOURNAL_DIR": str(tmp_path / "j")})
        assert res.returncode == 0, res.stderr
        db = pymongo.MongoClient(url).creds
        run = db.runs.find_one()
        assert run["status"] == "COMPLETED"
        everything = "".join(json_util.dumps(list(db[c].find())) for c in db.list_collection_names())
        assert "s3cretPW" not in everything and "alice" not in everything
        assert "mongodb://***@127.0.0.1" in json_util.dumps(run["meta"])
        assert "s3cretPW" not in res.stdout + res.stderr
    finally:
        stop_server(pid)
