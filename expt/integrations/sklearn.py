"""Standard scikit-learn metrics for ``y_true, y_pred`` logged in one call.

    from expt.integrations.sklearn import log_regression_metrics
    log_regression_metrics(y_test, gbm.predict(X_test))   # test.rmse, test.mse, test.mae, test.r2

Each value goes through ``run.log_scalar(f"{prefix}.{name}", value, step)`` and is returned as a
dict of Python floats. Outside a run (and with no `run` given) nothing is logged and the values
are still returned.
"""
from __future__ import annotations

import math
from typing import Any

from . import require, resolve_run

require("sklearn", "lightgbm")
require("numpy", "lightgbm")
import numpy as np  # noqa: E402
from sklearn import metrics as _m  # noqa: E402


def _log(values: dict[str, float], run: Any, prefix: str, step: int | None) -> dict[str, float]:
    run = resolve_run(run)
    if run is not None:
        for name, value in values.items():
            run.log_scalar(f"{prefix}.{name}" if prefix else name, value, step)
    return values


def regression_metrics(y_true: Any, y_pred: Any) -> dict[str, float]:
    """RMSE, MSE, MAE and R² of `y_pred` against `y_true`."""
    mse = float(_m.mean_squared_error(y_true, y_pred))
    return {"rmse": math.sqrt(mse), "mse": mse,
            "mae": float(_m.mean_absolute_error(y_true, y_pred)),
            "r2": float(_m.r2_score(y_true, y_pred))}


def log_regression_metrics(y_true: Any, y_pred: Any, *, run: Any = None, prefix: str = "test",
                           step: int | None = None) -> dict[str, float]:
    """Log ``<prefix>.rmse``, ``.mse``, ``.mae`` and ``.r2``; returns them."""
    return _log(regression_metrics(y_true, y_pred), run, prefix, step)


def classification_metrics(y_true: Any, y_pred: Any, y_proba: Any = None, *,
                           labels: Any = None) -> dict[str, float]:
    """Accuracy and F1 of the labels `y_pred`; log loss and ROC AUC when `y_proba` is given.

    Binary targets give ``f1`` (of the positive class) and ``roc_auc`` from the positive
    column; more classes give ``f1_macro`` and one-vs-rest ``roc_auc``. ROC AUC is left out
    when `y_true` holds a single class. `y_proba` columns follow `labels` (default: the sorted
    labels of `y_true` and `y_pred`, as scikit-learn's ``classes_``).
    """
    values = {"accuracy": float(_m.accuracy_score(y_true, y_pred))}
    classes = np.unique(np.concatenate([np.asarray(y_true), np.asarray(y_pred)])) \
        if labels is None else np.asarray(labels)
    binary = len(classes) <= 2
    if binary:
        values["f1"] = float(_m.f1_score(y_true, y_pred, pos_label=classes[-1],
                                         average="binary"))
    else:
        values["f1_macro"] = float(_m.f1_score(y_true, y_pred, average="macro"))
    if y_proba is not None:
        proba = np.asarray(y_proba, dtype=float)
        if proba.ndim == 1:  # the positive class's probability
            proba = np.column_stack([1.0 - proba, proba])
        values["log_loss"] = float(_m.log_loss(y_true, proba, labels=classes))
        if len(np.unique(y_true)) > 1:
            if proba.shape[1] == 2:
                values["roc_auc"] = float(_m.roc_auc_score(
                    np.asarray(y_true) == classes[-1], proba[:, 1]))
            else:
                values["roc_auc"] = float(_m.roc_auc_score(y_true, proba, multi_class="ovr",
                                                           labels=classes))
    return values


def log_classification_metrics(y_true: Any, y_pred: Any, y_proba: Any = None, *,
                               labels: Any = None, run: Any = None, prefix: str = "test",
                               step: int | None = None) -> dict[str, float]:
    """Log ``<prefix>.accuracy``, ``.f1`` (or ``.f1_macro``), ``.log_loss``, ``.roc_auc``."""
    return _log(classification_metrics(y_true, y_pred, y_proba, labels=labels), run, prefix,
                step)
