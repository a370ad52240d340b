"""Sequential tiny runs in one process, all recorded by one file observer.

Run as: BENCH_FRAMEWORK=sacred|expt python many_runs.py [--runs 200] [--dir DIR]
Times the loop of ``ex.run(config_updates=...)`` calls (the first run included)
and checks afterwards that every run folder holds a COMPLETED run.json.
With ``--dir`` the runs are stored in DIR (a new folder) and kept, for the caller
to delete later (bench_core.py deletes all of them when the whole bench ends, so that
one side's deletions do not slow the other side's file creations); without it, in a
temporary folder deleted at the end.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
import time
from pathlib import Path

from _framework import Experiment, FileStorageObserver, FRAMEWORK, report

ex = Experiment("bench_many_runs")


@ex.config
def cfg():
    x = 1  # the run's index
    lr = 0.1  # a second entry, scaled by x


@ex.main
def main(x, lr, _run):
    print("run", x)
    _run.log_scalar("loss", x * lr)
    return x * 2


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--dir", help="store the runs in this new folder and keep them")
    args = parser.parse_args()
    if args.dir:
        Path(args.dir).mkdir(parents=True)
        folder = contextlib.nullcontext(args.dir)
    else:
        folder = tempfile.TemporaryDirectory(prefix="bench-many-runs-")
    with folder as tmp:
        ex.observers.append(FileStorageObserver(tmp))
        start = time.perf_counter()
        for i in range(args.runs):
            ex.run(config_updates={"x": i})
        elapsed = time.perf_counter() - start
        statuses = [json.loads(p.read_text())["status"] for p in Path(tmp).glob("*/run.json")]
    if statuses.count("COMPLETED") != args.runs:
        raise SystemExit(f"expected {args.runs} COMPLETED runs, found statuses {sorted(set(statuses))} x{len(statuses)}")
    report({"framework": FRAMEWORK, "runs": args.runs, "seconds": elapsed, "runs_per_s": args.runs / elapsed})
