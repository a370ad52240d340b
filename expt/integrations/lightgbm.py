"""LightGBM integration: the whole model-building record of a training in one line.

    from expt.integrations.lightgbm import autolog      # or: callbacks=[expt_callback()]
    autolog()
    gbm = lgb.train(params, lgb_train, num_boost_round=200,
                    valid_sets=[lgb_train, lgb_eval], valid_names=["train", "valid"])

Recorded in the current run, for ``lgb.train``, ``lgb.cv`` and the scikit-learn ``fit``:

- metrics ``<valid_name>.<metric>`` (``valid.l2``, ``train.rmse``; ``valid.l2-mean`` and
  ``valid.l2-stdv`` for ``cv``), step = boosting iteration, through ``run.log_scalar``;
- ``info["lightgbm"]["train" | "cv" | "sklearn"]``: the parameters LightGBM used, the call's
  other arguments (datasets and callbacks left out), ``best_iteration``, ``best_score``,
  ``early_stopping``, ``iterations_trained``, ``stopped_iteration``, ``stopped_early``;
- artifacts ``feature_importance.json`` / ``.png`` (split and gain) and ``model.txt`` (LightGBM's
  text format) + ``model.json`` (what :func:`load_model` / :func:`load_estimator` need).
  ``lgb.cv`` records metrics and info only. These files are rendered and written in the
  background (``Run.run_in_background``) so training returns at once; they are stored by the
  time the run ends.

``callbacks=[expt_callback()]`` in ``fit`` stores the Booster; ``autolog()`` (or
``log_model(estimator)`` after ``fit``) stores the fitted estimator as well.
"""
from __future__ import annotations

from . import require

require("lightgbm")

from .importance import importance_record, log_importance  # noqa: E402
from .lightgbm_autolog import autolog, is_enabled  # noqa: E402
from .lightgbm_callback import ExptCallback, expt_callback  # noqa: E402
from .model_io import load_estimator, load_model, log_model, model_metadata  # noqa: E402

__all__ = ["autolog", "is_enabled", "expt_callback", "ExptCallback", "load_model",
           "load_estimator", "log_model", "log_importance", "importance_record",
           "model_metadata"]
