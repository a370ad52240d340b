"""expt.integrations.sklearn: standard metrics logged in one call, equal to scikit-learn's."""
from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("sklearn")
from sklearn import metrics as m  # noqa: E402

from expt.integrations.sklearn import (classification_metrics,  # noqa: E402
                                       log_classification_metrics, log_regression_metrics)
from tests.integrations import record  # noqa: E402


def test_regression_metrics_values_and_logging(tmp_path):
    """test.rmse/mse/mae/r2 are logged at the given step, with scikit-learn's values."""
    y_true = np.array([3.0, -0.5, 2.0, 7.0])
    y_pred = np.array([2.5, 0.0, 2.0, 8.0])

    def body(run, values):
        values["out"] = log_regression_metrics(y_true, y_pred, step=3)
    rec = record(body, tmp_path)
    out = rec.values["out"]
    assert out == {"rmse": math.sqrt(0.375), "mse": 0.375, "mae": 0.5,
                   "r2": m.r2_score(y_true, y_pred)}
    for name, value in out.items():
        assert rec.metrics[f"test.{name}"]["values"] == [value]
        assert rec.metrics[f"test.{name}"]["steps"] == [3]


@pytest.mark.parametrize("y_true, y_pred, proba, expected_keys", [
    (["no", "yes", "yes", "no"], ["no", "yes", "no", "no"], [0.2, 0.9, 0.4, 0.1],
     {"accuracy", "f1", "log_loss", "roc_auc"}),
    ([0, 1, 2, 2], [0, 2, 2, 2], [[.8, .1, .1], [.2, .3, .5], [.1, .1, .8], [.3, .3, .4]],
     {"accuracy", "f1_macro", "log_loss", "roc_auc"}),
    ([1, 1, 1], [1, 0, 1], None, {"accuracy", "f1"}),
])
def test_classification_metrics_match_sklearn(y_true, y_pred, proba, expected_keys):
    """Binary, multiclass and label-only inputs give the applicable metrics, sklearn's values."""
    out = classification_metrics(y_true, y_pred, proba)
    assert set(out) == expected_keys
    assert out["accuracy"] == m.accuracy_score(y_true, y_pred)
    if "f1" in out:
        assert out["f1"] == m.f1_score(y_true, y_pred, pos_label=sorted(set(y_true + y_pred))[-1])
    if "f1_macro" in out:
        assert out["f1_macro"] == m.f1_score(y_true, y_pred, average="macro")
    if proba is not None and np.ndim(proba) == 1:
        positive = [t == "yes" for t in y_true]
        assert out["roc_auc"] == m.roc_auc_score(positive, proba)
        assert out["log_loss"] == pytest.approx(m.log_loss(positive, proba))
    elif proba is not None:
        assert out["roc_auc"] == m.roc_auc_score(y_true, proba, multi_class="ovr")
        assert out["log_loss"] == m.log_loss(y_true, proba)


def test_log_classification_metrics_prefix(tmp_path):
    """prefix= names the metrics; outside a run the values are still returned."""
    def body(run, values):
        log_classification_metrics([0, 1], [0, 1], [0.1, 0.8], prefix="valid")
    rec = record(body, tmp_path)
    assert set(rec.metrics) == {"valid.accuracy", "valid.f1", "valid.log_loss", "valid.roc_auc"}
    assert log_classification_metrics([0, 1], [1, 1])["accuracy"] == 0.5
