"""Run-id allocation of the MongoObserver: unique under concurrency, robust to foreign ids."""
import subprocess
import sys
from pathlib import Path

from observers.mongo import MongoObserver
from tests.observers.mongo_helpers import now, start

ROOT = Path(__file__).resolve().parents[2]
WORKER = """
import sys
from observers.mongo import MongoObserver
from tests.observers.mongo_helpers import now, start
url, db, base, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
for _ in range(n):
    # strict: a slow answer on a loaded machine fails loudly instead of recording offline
    obs = MongoObserver(url, db, journal_dir=base + "/journal", strict=True, connect_timeout=30)
    rid = start(obs, base)
    obs.completed_event(stop_time=now(), result=rid)
    obs.join()
    print(rid)
"""


def test_8_processes_x_25_runs_get_200_distinct_ids(mongo_server, mongo_client, mongo_db_name,
                                                    tmp_path):
    """8 processes starting 25 runs each at once: 200 runs, 200 distinct integer ids, no failure."""
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, mongo_server.url, mongo_db_name,
                               str(tmp_path), "25"], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True,
                              env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
             for _ in range(8)]
    outputs = [p.communicate(timeout=300) for p in procs]
    failed = [err[-2000:] for p, (_, err) in zip(procs, outputs) if p.returncode != 0]
    assert not failed, failed
    printed = [int(x) for out, _ in outputs for x in out.split()]
    runs = list(mongo_client[mongo_db_name].runs.find({}, {"_id": 1, "status": 1, "result": 1}))
    assert len(printed) == 200 and sorted(printed) == list(range(1, 201))
    assert len(runs) == 200
    assert all(isinstance(r["_id"], int) and r["status"] == "COMPLETED" and r["result"] == r["_id"]
               for r in runs)


def test_continues_after_sacred_runs_and_ignores_string_ids(mongo_server, mongo_client,
                                                            mongo_db_name, tmp_path):
    """Runs written by Sacred (ids 1..5) and a string _id do not break allocation."""
    runs = mongo_client[mongo_db_name].runs
    runs.insert_many([{"_id": i, "status": "COMPLETED"} for i in range(1, 6)])
    runs.insert_one({"_id": "oops", "status": "COMPLETED"})
    ids = []
    for _ in range(3):
        obs = MongoObserver(mongo_server.url, mongo_db_name, journal_dir=str(tmp_path))
        ids.append(start(obs, str(tmp_path)))
        obs.completed_event(stop_time=now(), result=None)
        obs.join()
    assert ids == [6, 7, 8]
    assert runs.count_documents({"_id": None}) == 0
