"""Define and run a config scope with N entries (define and run timed separately).

Run as: BENCH_FRAMEWORK=sacred|expt python config_scope.py [--entries 200] [--reps 10]
The scope is written to a real module file (both frameworks read the source of
a config function), a fresh file per repeat so no source cache helps. A warm-up
experiment is defined and run first, so one-time import and host-information
costs are not counted. define = ``ex.config(func)``; run = the first
``ex.run()`` of an experiment (no observer) whose main reads one entry.
"""
from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
import time
from pathlib import Path

from _framework import Experiment, FRAMEWORK, report

_KINDS = (
    "    p{i:03d} = {i}",
    "    p{i:03d} = p{prev:03d} * 0.5 + {i}  # derived from the previous entry",
    "    p{i:03d} = 'name_{i}'",
    "    # a list entry, documented by a comment above it\n    p{i:03d} = [{i}, {i} + 1, 'x']",
    "    p{i:03d} = {{'a': {i}, 'b': [1, 2], 'c': {{'d': True}}}}",
)


def scope_source(entries: int) -> str:
    """Source of a module defining ``cfg()`` with ``entries`` entries of varied kinds."""
    lines = ["def cfg():", '    """A generated config scope."""']
    for i in range(entries):
        kind = _KINDS[0] if i == 0 else _KINDS[i % len(_KINDS)]
        lines.append(kind.format(i=i, prev=i - 1))
    return "\n".join(lines) + "\n"


def load_scope(folder: Path, name: str, entries: int):
    """Write the scope to ``folder/name.py``, import it and return the (undecorated) function."""
    (folder / f"{name}.py").write_text(scope_source(entries))
    return importlib.import_module(name).cfg


def main(p000):
    return p000


def define_and_run(name: str, func) -> tuple[float, float, int]:
    """Seconds to define the scope and to run the experiment; number of config entries."""
    ex = Experiment(name)
    start = time.perf_counter()
    ex.config(func)
    defined = time.perf_counter()
    ex.main(main)
    ran_start = time.perf_counter()
    run = ex.run()
    ran = time.perf_counter()
    return defined - start, ran - ran_start, len(run.config)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=200)
    parser.add_argument("--reps", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-config-") as tmp:
        sys.path.insert(0, tmp)
        define_and_run("warmup", load_scope(Path(tmp), "warmup_scope", 3))
        define_ms, run_ms = [], []
        for rep in range(args.reps):
            func = load_scope(Path(tmp), f"scope_{rep}", args.entries)
            t_define, t_run, size = define_and_run(f"bench_config_{rep}", func)
            if size < args.entries:
                raise SystemExit(f"config has {size} entries, expected at least {args.entries}")
            define_ms.append(t_define * 1e3)
            run_ms.append(t_run * 1e3)
    report({"framework": FRAMEWORK, "entries": args.entries, "define_ms": define_ms, "run_ms": run_ms})
