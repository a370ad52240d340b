"""``_run.log_scalar`` cost per call: N calls inside a run, with a file observer attached.

Run as: BENCH_FRAMEWORK=sacred|expt python log_scalar.py [--calls 100000] [--repeats 3]
Each repeat is one run; only the loop of calls is timed (the observer's final
write of the metrics happens after it, and is checked to hold every point). A plain ``list.append`` loop of the
same shape is timed too, as the Python floor.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from _framework import Experiment, FileStorageObserver, FRAMEWORK, report

ex = Experiment("bench_log_scalar")
_timings: list[float] = []


@ex.config
def cfg():
    calls = 100_000  # log_scalar calls per run


@ex.main
def main(_run, calls):
    start = time.perf_counter()
    for i in range(calls):
        _run.log_scalar("loss", i * 0.5)
    _timings.append((time.perf_counter() - start) / calls)


def floor(calls: int) -> float:
    """Seconds per call of the same loop doing ``list.append`` (the Python floor)."""
    sink: list = []
    start = time.perf_counter()
    for i in range(calls):
        sink.append(i * 0.5)
    return (time.perf_counter() - start) / calls


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-log-scalar-") as tmp:
        ex.observers.append(FileStorageObserver(tmp))
        for _ in range(args.repeats):
            ex.run(config_updates={"calls": args.calls})
        # Every point must have reached the observer: a fast but lossy log_scalar would not count.
        for metrics in sorted(Path(tmp).glob("*/metrics.json")):
            stored = len(json.loads(metrics.read_text())["loss"]["values"])
            if stored != args.calls:
                raise SystemExit(f"{metrics} holds {stored} points, expected {args.calls}")
        if len(list(Path(tmp).glob("*/metrics.json"))) != args.repeats:
            raise SystemExit(f"expected {args.repeats} runs with metrics.json in {tmp}")
    report({
        "framework": FRAMEWORK,
        "us_per_call": [t * 1e6 for t in _timings],
        "floor_us_per_call": [floor(args.calls) * 1e6 for _ in range(args.repeats)],
    })
