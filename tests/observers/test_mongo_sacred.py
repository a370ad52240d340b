"""Same experiment through expt and through Sacred 0.8.7: the same MongoDB document structure."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.sacred_python import sacred_python

ROOT = Path(__file__).resolve().parents[2]

EXPERIMENT = textwrap.dedent('''
    """Small experiment for both frameworks: python exp_small.py -m HOST:PORT:DB with lr=0.2"""
    import os
    if os.environ.get("USE_SACRED"):
        from sacred import Experiment
    else:
        from expt import Experiment

    ex = Experiment("small")

    @ex.config
    def cfg():
        lr = 0.1
        epochs = 3

    @ex.automain
    def main(lr, epochs, _run):
        for i in range(epochs):
            _run.log_scalar("loss", 1.0 / (i + 1), i)
            _run.log_scalar("acc", i / epochs, i)
            print("epoch", i)
        with open("art.txt", "w") as f:
            f.write("artifact")
        _run.add_artifact("art.txt")
        return lr * epochs
''')


def keys(doc: dict, *nested: str) -> dict:
    """Key sets of `doc` and of its nested dicts `nested`, without our documented additions:
    metric_summaries (what metric filters query) and, in meta, expt_uuid (which makes sync
    idempotent) and beat_interval (which readers use)."""
    out = {"": set(doc) - {"metric_summaries"}}
    for k in nested:
        out[k] = set(doc[k]) - {"expt_uuid", "beat_interval"}
    return out


def test_runs_and_metrics_documents_match_sacred(mongo_server, mongo_client, tmp_path):
    """Top-level, experiment, host and meta keys of runs, and keys of metrics docs, are Sacred's."""
    (tmp_path / "exp_small.py").write_text(EXPERIMENT)
    host_port = mongo_server.url.split("//")[1]
    for python, env, db in ((sys.executable, {"EXPT_JOURNAL_DIR": str(tmp_path / "j")}, "cmp_expt"),
                            (str(sacred_python()), {"USE_SACRED": "1"}, "cmp_sacred")):
        res = subprocess.run([python, "exp_small.py", "-m", f"{host_port}:{db}", "with", "lr=0.2", "seed=5"],
                             cwd=tmp_path, capture_output=True, text=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT), **env})
        assert res.returncode == 0, res.stderr
    ours, theirs = mongo_client.cmp_expt, mongo_client.cmp_sacred
    run, sacred_run = ours.runs.find_one(), theirs.runs.find_one()
    assert keys(run, "experiment", "host", "meta", "info") == \
        keys(sacred_run, "experiment", "host", "meta", "info")
    assert run["_id"] == sacred_run["_id"] == 1
    assert run["config"] == sacred_run["config"] and run["result"] == sacred_run["result"]
    assert {m["name"] for m in run["info"]["metrics"]} == {"loss", "acc"}
    for name in ("loss", "acc"):
        mine = ours.metrics.find_one({"run_id": 1, "name": name})
        sacred = theirs.metrics.find_one({"run_id": 1, "name": name})
        assert set(mine) == set(sacred)
        assert (mine["steps"], mine["values"]) == (sacred["steps"], sacred["values"])
    files = {f["filename"].replace(str(tmp_path), "<dir>") for f in ours.fs.files.find()}
    sacred_files = {f["filename"].replace(str(tmp_path), "<dir>") for f in theirs.fs.files.find()}
    assert files == sacred_files == {"<dir>/exp_small.py", "artifact://runs/1/art.txt"}
    [art], [sacred_art] = run["artifacts"], sacred_run["artifacts"]
    assert set(art) == set(sacred_art) == {"name", "file_id"}
