"""Reading runs back from a folder store: listing with filters, and one long metric series.

Usage: .venv/bin/python bench/bench_store.py [--runs 10000] [--points 1000000] [--repeat 5]

Workloads (targets from issue 6, medians of --repeat timings, each in a fresh FolderStore):
  list     store.runs("config.num_leaves>=40 and metrics.valid.l2.last<3000") over --runs
           runs (each with a config, a 100-point metric and a 20-point one): target < 2 s
  series   store.get(1).metrics["loss"] with .steps and .values for a --points series:
           target < 1 s; .timestamps (ISO strings parsed to datetime64) reported apart
  floor    json.loads of every run.json, config.json and metrics.json: the cost of reading
           the files at all, to see what the store adds

The runs are written by FileStorageObserver through its event methods (the files a real run
writes), once, into a temporary folder that is removed at the end. No Sacred comparison:
Sacred has no read API for its file store.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from expt.store import open_store  # noqa: E402
from observers.file_storage import FileStorageObserver  # noqa: E402

FILTER = "config.num_leaves>=40 and metrics.valid.l2.last<3000"
NARROW_FILTER = "config.num_leaves=50 and metrics.valid.l2.last<3000"  # 1 run in 100
T0 = datetime(2026, 11, 1)
# What a run started as `python train.py -m URL with num_leaves=N` records about itself, so
# that reading a listed run costs what it costs for real runs.
HOST = {"hostname": "vm", "cpu": "Intel(R) Xeon(R) Processor", "python_version": "3.11.7",
        "os": ["Linux", "Linux-6.18.44-x86_64-with-glibc2.36"], "ENV": {}}
DEPENDENCIES = ["docopt-ng==0.9.0", "expt==0.1.0", "lightgbm==4.6.0", "numpy==2.3.5",
                "pymongo==4.20.1", "scikit-learn==1.7.2"]
REPOSITORY = {"url": "git@example.org:team/models.git", "dirty": False,
              "commit": "441e665c0ffee0ddba11ad5eedfacade01234567"}
OPTIONS = dict.fromkeys(["--beat-interval", "--capture", "--comment", "--file_storage", "--id",
                         "--loglevel", "--mongo_db", "--name", "--priority", "--seed"])
OPTIONS.update(dict.fromkeys(["--debug", "--enforce_clean", "--force", "--help", "--pdb",
                              "--print-config", "--queue", "--unobserved"], False))


def ex_info(name: str, base_dir: str) -> dict:
    return {"name": name, "base_dir": base_dir, "sources": [["train.py", "0"]],
            "dependencies": DEPENDENCIES, "repositories": [REPOSITORY], "mainfile": "train.py"}


def meta_info(i: int, leaves: int) -> dict:
    return {"command": "main", "options": {**OPTIONS, "UPDATE": [f"num_leaves={leaves}"]},
            "named_configs": [], "config_updates": {"num_leaves": leaves},
            "beat_interval": 10.0, "expt_uuid": f"{i:032x}"}



def print_rows(rows: list[tuple[str, float, float | None]]) -> int:
    """Print (figure, seconds, target) rows; exit status 0 when every target is met."""
    ok = True
    for name, seconds, target in rows:
        verdict = "" if target is None else ("  (target < %.0f s: %s)" % (
            target, "met" if seconds < target else "MISSED"))
        ok &= target is None or seconds < target
        print(f"{name:62s} {seconds:7.3f} s{verdict}")
    return 0 if ok else 1

def write_runs(root: str, n_runs: int) -> None:
    src = os.path.join(root, "train.py")
    with open(src, "w") as f:
        f.write("x = 1\n")
    obs = FileStorageObserver(os.path.join(root, "runs"))
    for i in range(n_runs):
        leaves = 10 + i % 100
        obs.started_event(ex_info=ex_info("train", root), command="main", host_info=HOST,
                          start_time=T0, config={"num_leaves": leaves, "lr": 0.1, "seed": i},
                          meta_info=meta_info(i, leaves), _id=None)
        steps = list(range(100))
        obs.log_metrics(metrics_by_name={
            "valid.l2": {"steps": steps, "values": [5000.0 - leaves * s for s in steps],
                         "timestamps": [T0 + timedelta(seconds=s) for s in steps]},
            "train.loss": {"steps": steps[:20], "values": [1.0 / (s + 1) for s in steps[:20]],
                           "timestamps": [T0] * 20}}, info={})
        obs.heartbeat_event(info={}, captured_out="done\n", beat_time=T0, result=None)
        obs.completed_event(stop_time=T0 + timedelta(seconds=5), result=leaves)


def write_series(root: str, points: int) -> str:
    obs = FileStorageObserver(os.path.join(root, "long"))
    obs.started_event(ex_info={"name": "long", "base_dir": root, "sources": []},
                      command="main", host_info={}, start_time=T0, config={},
                      meta_info={}, _id=None)
    batch = 100_000
    for start in range(0, points, batch):
        steps = list(range(start, min(points, start + batch)))
        obs.log_metrics(metrics_by_name={"loss": {
            "steps": steps, "values": [1.0 / (s + 1) for s in steps],
            "timestamps": [T0 + timedelta(microseconds=s) for s in steps]}}, info={})
    obs.completed_event(stop_time=T0, result=None)
    return os.path.join(root, "long")


def timed(func, repeat: int) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        value = func()
        times.append(time.perf_counter() - t)
    return statistics.median(times), value


def floor(runs_dir: str) -> int:
    n = 0
    for entry in os.scandir(runs_dir):
        if entry.name.isdigit():
            for name in ("run.json", "config.json", "metrics.json"):
                with open(os.path.join(entry.path, name), "rb") as f:
                    json.loads(f.read())
            n += 1
    return n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="bench_store_")
    try:
        t = time.perf_counter()
        write_runs(root, args.runs)
        long_dir = write_series(root, args.points)
        print(f"wrote {args.runs:,} runs and a {args.points:,}-point series in "
              f"{time.perf_counter() - t:.1f} s")
        runs_dir = os.path.join(root, "runs")
        list_s, found = timed(lambda: open_store(runs_dir).runs(FILTER), args.repeat)
        expected = sum(1 for i in range(args.runs)
                       if 10 + i % 100 >= 40 and 5000.0 - (10 + i % 100) * 99 < 3000)
        assert len(found) == expected, (len(found), expected)
        all_s, everything = timed(lambda: open_store(runs_dir).runs(), args.repeat)
        floor_s, _ = timed(lambda: floor(runs_dir), args.repeat)

        def series():
            s = open_store(long_dir).get(1).metrics["loss"]
            return s, s.steps, s.values

        series_s, (s, steps, values) = timed(series, args.repeat)
        assert len(values) == args.points and steps[-1] == args.points - 1
        def timestamps():
            s.__dict__.pop("timestamps", None)  # drop the cached array: parse again
            return s.timestamps

        ts_s, ts = timed(timestamps, args.repeat)
        assert len(ts) == args.points
        rows = [
            (f"list {args.runs:,} runs, config+metric filter ({len(found):,} match)", list_s, 2.0),
            (f"list {args.runs:,} runs, no filter", all_s, None),
            (f"floor: json.loads of run/config/metrics.json x {args.runs:,}", floor_s, None),
            (f"run.metrics: {args.points:,}-point series, steps+values", series_s, 1.0),
            (f"  .timestamps of it (ISO -> datetime64)", ts_s, None),
        ]
        return print_rows(rows)
    finally:
        shutil.rmtree(root, ignore_errors=True)



# ============================================================================ MongoDB store
# Usage: .venv/bin/python bench/bench_store.py --mongo [URL] [--runs N] [--points N] [--repeat N]
# Without URL a SecantusDB server (scripts/mongo-server, in memory) is started on a free port
# and stopped at the end. The same workloads as above, read by MongoStore:
#   list    store.runs(FILTER) over --runs runs, evaluated in the database (one runs query,
#           metric values from the metric_summaries the observer keeps): target < 1 s; the
#           same filter over runs without summaries (as Sacred writes them, answered by an
#           aggregation on metrics/metrics_chunks) is reported apart
#   series  run.metrics["loss"] .steps + .values of a --points series (first document plus
#           metrics_chunks continuations): target < 1 s; .timestamps reported apart
# Documents are made by the MongoObserver's own builders (documents.run_document,
# series.MetricSeries ops applied by ops.apply), i.e. the layout a real run writes, inserted
# in bulk so that setting up 10,000 runs takes seconds.
def write_mongo_runs(db, n_runs: int) -> None:
    from observers.mongo.documents import run_document
    from observers.mongo.ops import Names, create_indexes
    from observers.mongo.series import MetricSeries

    names = Names()
    create_indexes(db, names)
    runs, metrics = [], []
    for i in range(n_runs):
        leaves = 10 + i % 100
        doc = run_document(status="COMPLETED", ex_info=ex_info("train", "/tmp"),
                           command="main", host_info=HOST,
                           config={"num_leaves": leaves, "lr": 0.1, "seed": i},
                           meta_info=meta_info(i, leaves), start_time=T0)
        doc.update(_id=i + 1, heartbeat=T0, stop_time=T0 + timedelta(seconds=5), result=leaves,
                   captured_out="done\n")
        series = MetricSeries(names, i + 1, first_points=20_000, chunk_points=100_000)
        steps = list(range(100))
        ops = series.add("valid.l2", steps, [5000.0 - leaves * s for s in steps],
                         [T0 + timedelta(seconds=s) for s in steps])
        ops += series.add("train.loss", steps[:20], [1.0 / (s + 1) for s in steps[:20]],
                          [T0] * 20)
        metrics += [op[2] for op in ops]  # ["insert", "metrics", document]
        # as the observer's log_metrics sets them
        doc["metric_summaries"] = series.summaries()
        doc["info"]["metrics"] = [dict(r) for r in series.refs]
        runs.append(doc)
    for start in range(0, n_runs, 1000):
        db[names.runs].insert_many(runs[start:start + 1000])
    for start in range(0, len(metrics), 2000):
        db[names.metrics].insert_many(metrics[start:start + 2000])


def write_mongo_series(db, points: int, run_id: int) -> None:
    from observers.mongo.ops import Names, apply
    from observers.mongo.series import MetricSeries

    names = Names()
    db[names.runs].insert_one({"_id": run_id, "experiment": {"name": "long", "sources": []},
                               "status": "COMPLETED", "config": {}, "start_time": T0})
    series = MetricSeries(names, run_id, first_points=20_000, chunk_points=100_000)
    batch = 100_000
    for start in range(0, points, batch):
        steps = list(range(start, min(points, start + batch)))
        for op in series.add("loss", steps, [1.0 / (s + 1) for s in steps],
                             [T0 + timedelta(microseconds=s) for s in steps]):
            apply(db, names, op, run_id, "bench")


def mongo_main(argv: list[str]) -> int:
    import uuid

    import pymongo

    parser = argparse.ArgumentParser(description="MongoDB store reading (see bench_store.py)")
    parser.add_argument("--mongo", nargs="?", const="", metavar="URL",
                        help="MongoDB server URL (default: start SecantusDB on a free port)")
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    server_pid = None
    url = args.mongo.rstrip("/")
    if not url:
        from tests.mongo_server import free_port, start_server, stop_server

        port = free_port()
        server_pid = start_server(port)
        url = f"mongodb://127.0.0.1:{port}"
    db_name = f"bench_store_{uuid.uuid4().hex[:8]}"
    client = pymongo.MongoClient(url, serverSelectionTimeoutMS=10_000)
    db = client[db_name]
    try:
        t = time.perf_counter()
        write_mongo_runs(db, args.runs)
        series_id = args.runs + 1
        write_mongo_series(db, args.points, series_id)
        print(f"wrote {args.runs:,} runs and a {args.points:,}-point series to {url}/{db_name} "
              f"in {time.perf_counter() - t:.1f} s")
        location = f"{url}/{db_name}"
        expected = sum(1 for i in range(args.runs)
                       if 10 + i % 100 >= 40 and 5000.0 - (10 + i % 100) * 99 < 3000)

        def listing(text):
            with open_store(location) as store:
                return store.runs(text)

        list_s, found = timed(lambda: listing(FILTER), args.repeat)
        assert len(found) == expected, (len(found), expected)
        all_s, everything = timed(lambda: listing(None), args.repeat)
        # the same scan returning few runs: what the server spends per run it sends back
        narrow_s, narrow = timed(lambda: listing(NARROW_FILTER), args.repeat)
        assert len(narrow) == args.runs // 100
        assert len(everything) == args.runs + 1
        store = open_store(location)
        open_s, _ = timed(lambda: open_store(location).close(), args.repeat)

        def frame():
            return store.runs(FILTER).to_frame()

        frame_s, df = timed(frame, max(1, args.repeat // 2))
        assert len(df) == expected and "metrics.valid.l2" in df.columns

        def series():
            s = store.get(series_id).metrics["loss"]
            return s, s.steps, s.values

        series_s, (s, steps, values) = timed(series, args.repeat)
        assert len(values) == args.points and steps[-1] == args.points - 1

        def timestamps():
            s.__dict__.pop("timestamps", None)
            return s.timestamps

        ts_s, ts = timed(timestamps, args.repeat)
        assert len(ts) == args.points
        store.close()
        db.runs.update_many({}, {"$unset": {"metric_summaries": ""}})  # Sacred's documents
        legacy_s, legacy = timed(lambda: listing(FILTER), args.repeat)
        assert len(legacy) == expected
        rows = [
            (f"list {args.runs:,} runs, config+metric filter ({len(found):,} match)", list_s, 1.0),
            (f"list {args.runs:,} runs, no filter", all_s, None),
            (f"list {args.runs:,} runs, a filter matching {len(narrow):,}", narrow_s, None),
            ("  of which open_store (connect, check the database)", open_s, None),
            (f"to_frame of the {len(found):,} matches (bulk metric summaries)", frame_s, None),
            (f"run.metrics: {args.points:,}-point series, steps+values", series_s, 1.0),
            ("  .timestamps of it (datetime -> datetime64)", ts_s, None),
            ("list with the filter, runs without metric_summaries (Sacred's)", legacy_s, None),
        ]
        return print_rows(rows)
    finally:
        client.drop_database(db_name)
        client.close()
        if server_pid is not None:
            stop_server(server_pid)


if __name__ == "__main__":
    sys.exit(mongo_main(sys.argv[1:]) if any(a.startswith("--mongo") for a in sys.argv[1:])
             else main())
