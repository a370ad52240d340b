"""Heartbeat cost of FileStorageObserver with 1,000,000 metric points in one run.

Usage: python bench/bench_file_storage_metrics.py (the sacred mode needs a Python with sacred 0.8.7, e.g. bench/.cache/sacred-venv/bin/python)
      python bench_metrics.py [ours|naive|sacred] [TOTAL] [BATCH]
  ours   - observers.file_storage (encoded fragments, atomic rewrite)
  naive  - keep Python lists, json.dump the whole dict atomically at each heartbeat
  sacred - Sacred 0.8.7's FileStorageObserver.log_metrics (read, parse, re-write)
Each heartbeat = log_metrics(BATCH new points) + heartbeat_event.
"""
import json, os, sys, tempfile, time
from datetime import datetime, timedelta

kind = sys.argv[1] if len(sys.argv) > 1 else "ours"
TOTAL = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
BATCH = int(sys.argv[3]) if len(sys.argv) > 3 else 10_000
tmp = tempfile.mkdtemp()
src = os.path.join(tmp, "t.py"); open(src, "w").write("x = 1\n")
ex_info = {"name": "b", "base_dir": tmp, "sources": [["t.py", "0"]], "dependencies": [],
           "repositories": [], "mainfile": "t.py"}
t0 = datetime(2026, 1, 1)

if kind == "sacred":
    from sacred.observers import FileStorageObserver
    obs = FileStorageObserver(os.path.join(tmp, "runs"))
else:
    sys.path.insert(0, "/work/main")
    from observers.file_storage import FileStorageObserver
    obs = FileStorageObserver(os.path.join(tmp, "runs"))
obs.started_event(ex_info=ex_info, command="main", host_info={}, start_time=t0, config={},
                  meta_info={}, _id=None)
if kind == "naive":
    from expt.serialize import write_text_atomic
    series = {"loss": {"steps": [], "timestamps": [], "values": []}}
    def log_metrics(metrics_by_name, info):
        for k, v in metrics_by_name.items():
            s = series[k]; s["steps"] += v["steps"]; s["values"] += v["values"]
            s["timestamps"] += [t.isoformat() for t in v["timestamps"]]
        write_text_atomic(os.path.join(obs.dir, "metrics.json"), json.dumps(series))
    obs.log_metrics = log_metrics

times, step = [], 0
for beat in range(TOTAL // BATCH):
    steps = list(range(step, step + BATCH)); step += BATCH
    batch = {"loss": {"steps": steps, "values": [1.0 / (s + 1) for s in steps],
                      "timestamps": [t0 + timedelta(microseconds=s) for s in steps]}}
    t = time.perf_counter()
    obs.log_metrics(metrics_by_name=batch, info={})
    obs.heartbeat_event(info={"beat": beat}, captured_out="", beat_time=t0, result=None)
    times.append(time.perf_counter() - t)
import resource
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
path = os.path.join(obs.dir, "metrics.json")
data = json.load(open(path))
assert len(data["loss"]["values"]) == TOTAL
n = len(times)
print(f"{kind:6s} {TOTAL:,} points in {n} heartbeats of {BATCH:,}: total {sum(times):.2f} s, "
      f"first {times[0]*1e3:.1f} ms, median {sorted(times)[n//2]*1e3:.1f} ms, "
      f"last (file holds {TOTAL:,}) {times[-1]*1e3:.1f} ms, "
      f"metrics.json {os.path.getsize(path)/1e6:.1f} MB, peak RSS before final check {rss_mb:.0f} MB")
