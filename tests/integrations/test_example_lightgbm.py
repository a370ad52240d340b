"""examples/lightgbm_regression.py: what its documented `-F runs` command lines record.

tests/test_examples.py runs every documented command and checks its output and exit code;
this checks the run folders those with `-F runs` leave behind."""
from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("lightgbm")
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "lightgbm_regression.py"
COMMANDS = re.findall(r"^\s+python examples/lightgbm_regression\.py(.*)$",
                      EXAMPLE.read_text(), flags=re.M)
RECORDING = [c for c in COMMANDS if c.endswith(" -F runs")]


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(EXAMPLE), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_docstring_lists_the_readme_commands():
    """The docstring lists the default run and a `with` override run, both with -F runs."""
    assert " -F runs" in COMMANDS
    assert " with num_leaves=63 learning_rate=0.05 -F runs" in COMMANDS


@pytest.mark.parametrize("args", RECORDING)
def test_documented_run_records_the_training(args, tmp_path):
    """Each documented `-F runs` command records curves, params, datasets, importance, model."""
    proc = _run(shlex.split(args), tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"test RMSE \d+\.\d+ +MSE \d+\.\d+ +MAE \d+\.\d+", proc.stdout)
    folder = tmp_path / "runs" / "1"
    config = json.loads((folder / "config.json").read_text())
    info = json.loads((folder / "info.json").read_text())
    metrics = json.loads((folder / "metrics.json").read_text())
    expected_leaves = 63 if "num_leaves=63" in args else 40
    assert config["num_leaves"] == expected_leaves and config["num_boost_round"] == 200
    entry = info["lightgbm"]["train"]
    assert entry["params"]["num_leaves"] == expected_leaves
    assert entry["params"]["feature_fraction"] == 0.8
    for name in ("train.l2", "valid.l2", "train.rmse", "valid.rmse", "valid.l1"):
        assert metrics[name]["steps"] == list(range(200))
    assert {"test.rmse", "test.mse", "test.mae", "test.r2"} <= set(metrics)
    assert set(info["datasets"]) == {"train", "test"}
    for artifact in ("model.txt", "model.json", "feature_importance.json",
                     "feature_importance.png"):
        assert (folder / artifact).is_file()
    # the model loads back and reproduces the logged test RMSE
    from sklearn.datasets import load_diabetes
    from sklearn.model_selection import train_test_split

    from expt.integrations.lightgbm import load_model

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    _, X_test, _, y_test = train_test_split(X, y, test_size=config["test_size"],
                                            random_state=config["split_seed"])
    rmse = float(np.sqrt(np.mean((load_model(folder).predict(X_test) - y_test) ** 2)))
    assert rmse == pytest.approx(metrics["test.rmse"]["values"][0], rel=1e-12)
