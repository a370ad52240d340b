"""Real runs for the store and console tests: an experiment script run with ``-F``."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXPERIMENT = '''
"""A small training-like experiment for the store tests."""
import os
import time
from expt import Experiment

ex = Experiment("train")


@ex.config
def config():
    num_leaves = 31   # tree size
    lr = 0.1
    n = 5             # steps
    sleep = 0.0       # seconds per step
    crash = False
    artifact = ""     # file name to store as an artifact


@ex.automain
def main(_run, num_leaves, lr, n, sleep, crash, artifact):
    for i in range(n):
        _run.log_scalar("valid.l2", 5000.0 - num_leaves * 10 * i, i)
        _run.log_scalar("train.loss", 1.0 / (i + 1), i)
        print("step", i, flush=True)
        time.sleep(sleep)
    if artifact:
        with open(artifact, "w") as f:
            f.write("model of " + str(num_leaves))
        _run.add_artifact(artifact, "model.txt")
    if crash:
        raise ValueError("boom")
    return num_leaves * lr
'''


def write_experiment(folder: Path) -> Path:
    """The experiment script, written into `folder`."""
    script = folder / "train.py"
    script.write_text(EXPERIMENT)
    return script


def run_experiment(script: Path, store: Path, *updates: str, flags: tuple[str, ...] = (),
                   check: bool = True) -> subprocess.CompletedProcess:
    """Run the script once with ``-F store`` and ``with updates``."""
    cmd = [sys.executable, str(script), "-F", str(store), *flags]
    if updates:
        cmd += ["with", *updates]
    proc = subprocess.run(cmd, cwd=script.parent, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": ""})
    if check and proc.returncode not in (0, 1):
        raise AssertionError(proc.stderr)
    return proc


def make_runs(folder: Path) -> Path:
    """Four runs: 1 num_leaves=31, 2 num_leaves=40 (artifact), 3 num_leaves=63, 4 failed."""
    script = write_experiment(folder)
    store = folder / "runs"
    run_experiment(script, store)
    run_experiment(script, store, "num_leaves=40", "artifact=model.txt")
    run_experiment(script, store, "num_leaves=63", "lr=0.05", flags=("-c", "big trees"))
    run_experiment(script, store, "crash=True")
    return store
