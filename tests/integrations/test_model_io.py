"""expt.integrations.model_io: loading a stored model back, and refusing what it should."""
from __future__ import annotations

import json

import numpy as np
import pytest

lgb = pytest.importorskip("lightgbm")

from expt.errors import ExptError  # noqa: E402
from expt.integrations.lightgbm import load_estimator, load_model, log_model  # noqa: E402
from tests.integrations import record  # noqa: E402


@pytest.fixture
def stored(tmp_path):
    """A run folder holding a fitted LGBMRegressor stored by log_model()."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 4))
    y = X[:, 0] + 0.1 * rng.normal(size=200)

    def body(run, values):
        model = lgb.LGBMRegressor(n_estimators=10, verbose=-1, n_jobs=1).fit(X, y)
        values["meta"] = log_model(model, run)
        values["model"] = model
    rec = record(body, tmp_path)
    return rec, X


def test_log_model_outside_run_returns_none():
    """log_model with no run to record in does nothing."""
    booster = lgb.train({"verbose": -1}, lgb.Dataset(np.eye(20), np.arange(20.0)), 2)
    assert log_model(booster) is None


def test_log_model_stores_estimator_and_booster(stored):
    """log_model(estimator): model.txt + model.json; both loaders predict the same."""
    rec, X = stored
    meta = rec.values["meta"]
    assert meta == rec.json("model.json")
    assert meta["estimator"]["class"] == "LGBMRegressor"
    assert meta["estimator"]["params"]["n_estimators"] == 10
    expected = rec.values["model"].predict(X)
    np.testing.assert_array_equal(load_estimator(rec.folder).predict(X), expected)
    np.testing.assert_array_equal(load_model(str(rec.folder)).predict(X), expected)


@pytest.mark.parametrize("ref, name, message", [
    ("missing-folder", "model", "No run folder"),
    (None, "modle", "Did you mean 'model'"),
    (None, "../model", "Invalid model name"),
    (None, "", "Invalid model name"),
])
def test_load_model_bad_reference(stored, tmp_path, ref, name, message):
    """Bad folders and names raise ExptError naming them, with the nearest model name."""
    rec, _ = stored
    folder = rec.folder if ref is None else tmp_path / ref
    with pytest.raises(ExptError, match=message):
        load_model(folder, name=name)


def test_load_estimator_refuses_unknown_class(stored):
    """A model.json naming a class outside the allow-list is refused, nothing imported."""
    rec, _ = stored
    meta = rec.json("model.json")
    meta["estimator"]["class"] = "os.system"
    (rec.folder / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ExptError, match="Unknown estimator class 'os.system'"):
        load_estimator(rec.folder)


def test_load_model_refuses_foreign_json(stored):
    """A model.json that expt did not write is refused."""
    rec, _ = stored
    (rec.folder / "model.json").write_text(json.dumps({"format": "pickle"}))
    with pytest.raises(ExptError, match="does not describe a LightGBM model"):
        load_model(rec.folder)


def test_log_model_rejects_other_objects(stored):
    """Only Boosters and LightGBM estimators can be stored."""
    rec, _ = stored
    with pytest.raises(TypeError, match="lightgbm.Booster"):
        log_model(object(), rec.run)
