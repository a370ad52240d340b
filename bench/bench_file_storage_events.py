"""Event-level cost of a file observer: started+heartbeat+completed cycles per second, and one
heartbeat of a small run. Usage: python bench_events.py [ours|sacred] [N]"""
import os, sys, tempfile, time
from datetime import datetime
kind = sys.argv[1] if len(sys.argv) > 1 else "ours"
N = int(sys.argv[2]) if len(sys.argv) > 2 else 500
tmp = tempfile.mkdtemp()
open(os.path.join(tmp, "t.py"), "w").write("x = 1\n")
ex = {"name": "b", "base_dir": tmp, "sources": [["t.py", "0"]], "dependencies": [], "repositories": [], "mainfile": "t.py"}
if kind == "sacred":
    from sacred.observers import FileStorageObserver
else:
    sys.path.insert(0, "/work/main")
    from observers.file_storage import FileStorageObserver
store = os.path.join(tmp, "runs")
t = time.perf_counter()
for i in range(N):
    o = FileStorageObserver(store)
    o.started_event(ex_info=dict(ex), command="main", host_info={"hostname": "h"}, start_time=datetime.now(), config={"a": i}, meta_info={}, _id=None)
    o.heartbeat_event(info={}, captured_out="hi\n", beat_time=datetime.now(), result=None)
    o.completed_event(stop_time=datetime.now(), result=i)
el = time.perf_counter() - t
beats = []
if kind == "ours":  # measure the full cost: every heartbeat rewrites run.json
    import observers.file_storage as fs
    fs.RUN_JSON_MIN_INTERVAL = 0.0
for i in range(200):
    s = time.perf_counter()
    o.heartbeat_event(info={"i": i}, captured_out="hi\n" * (i + 2), beat_time=datetime.now(), result=None)
    beats.append(time.perf_counter() - s)
beats.sort()
print(f"{kind:6s} {N/el:.0f} run cycles/s (started+heartbeat+completed, {N} runs in one folder); "
      f"one small heartbeat: median {beats[100]*1e3:.2f} ms")
