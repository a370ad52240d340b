"""No 16 MB wall: a run with 2,000,000 points of one metric and 50 MB of output."""
import bson

from observers.mongo import MongoObserver, read_metric, read_output
from tests.observers.mongo_helpers import now, start

POINTS, BATCH = 2_000_000, 100_000
LINE = "epoch done, loss is still going down nicely, all good here ......... %09d\n"
LINE_LEN = len(LINE % 0)


def test_two_million_points_and_50_mb_of_output(mongo_server, mongo_client, mongo_db_name,
                                                tmp_path):
    """The run completes, the database holds every point and every byte, the run doc stays small."""
    obs = MongoObserver(mongo_server.url, mongo_db_name, journal_dir=str(tmp_path / "j"))
    rid = start(obs, str(tmp_path))
    t = now()
    lines_per_beat = -(-50 * 2**20 // LINE_LEN // (POINTS // BATCH))  # 50 MiB over 20 beats
    n_line = 0
    for b in range(POINTS // BATCH):
        steps = list(range(b * BATCH, (b + 1) * BATCH))
        obs.log_metrics({"loss": {"steps": steps, "values": [s * 1e-3 for s in steps],
                                  "timestamps": [t] * BATCH}}, {})
        delta = "".join(LINE % i for i in range(n_line, n_line + lines_per_beat))
        n_line += lines_per_beat
        obs.heartbeat_event(info={"beat": b}, beat_time=now(), result=None, output_delta=delta)
    obs.completed_event(stop_time=now(), result="ok")
    obs.join()

    db = mongo_client[mongo_db_name]
    run = db.runs.find_one({"_id": rid})
    assert run["status"] == "COMPLETED"
    assert len(bson.encode(run)) < 1_000_000
    m = read_metric(db, rid, "loss")
    assert m["steps"] == list(range(POINTS))
    assert m["values"] == [s * 1e-3 for s in range(POINTS)]
    assert len(m["timestamps"]) == POINTS
    out = read_output(db, rid)
    assert len(out) == n_line * LINE_LEN >= 50 * 2**20
    assert out == "".join(LINE % i for i in range(n_line))
    assert out.endswith(run["captured_out"])
    assert max(len(bson.encode(d)) for d in db.metrics_chunks.find({"run_id": rid})) < 16 * 2**20
    assert not list((tmp_path / "j").glob("*/ops.jsonl"))
