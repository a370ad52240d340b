"""The LightGBM callback that records one training in an expt run.

Per iteration it sends each evaluation result to ``run.log_scalar`` as ``<set>.<metric>``
(``<set>.<metric>-mean`` / ``-stdv`` for ``lgb.cv``) with the boosting iteration as the step;
at its first call it puts the parameters in ``run.info["lightgbm"][<key>]``; when training
ends it adds early stopping, the feature importance and the model.

LightGBM has no "training ended" callback, and early stopping ends training by raising an
exception out of the callback loop. So, when nobody calls :meth:`ExptCallback.finish`
(``callbacks=[expt_callback()]``), the callback notices the end of training through the
attributes LightGBM sets on the model after the loop (for ``train``: ``best_score``, then,
unless ``keep_training_booster``, the dataset count ``free_dataset()`` resets once the booster
has been reloaded as it is returned; for ``cv``: ``best_iteration`` after early stopping, the
last iteration otherwise): it switches the model's class to a subclass whose ``__setattr__``
reports that assignment, and switches it back at once. So what is recorded is the booster
exactly as ``train`` returns it, with no copy made.

Artifacts are written in the background. At the end of training the training thread only
takes what the record needs (importance arrays, model metadata, and the model's text when
the booster still holds its training data, ``keep_training_booster=True``, so a later
``update()`` cannot change what is stored); rendering the PNG (matplotlib, imported in that
thread) and writing the JSON and model artifacts run through ``run.run_in_background``.
``info["lightgbm"][key]["artifacts"]`` is set at once, but the artifacts themselves exist
only when the run has ended: read them after ``ex.run()`` returns, not right after ``train``
inside the main function. A booster whose training data was freed (the default) is saved
from itself in the background: change it in place (``set_leaf_output``, ``model_from_string``)
only after the run ends, or pass ``keep_training_booster=True``.
"""
from __future__ import annotations

import functools
import inspect
import logging
import sys
import weakref
from typing import Any, Callable

from . import require, resolve_run
from .importance import importance_record, write_importance
from .model_io import model_metadata, write_model
from ..serialize import to_safe

lgb = require("lightgbm")

log = logging.getLogger("expt.integrations.lightgbm")
# after log_evaluation (10) and record_evaluation (20), before early_stopping (30): the
# iteration on which early stopping ends training is recorded too
CALLBACK_ORDER = 25
_warned_no_run = False
_FREED = "_Booster__num_dataset"  # set by Booster.free_dataset(), as train() returns
_pending: "weakref.WeakKeyDictionary[Any, tuple[str, ExptCallback]]" = weakref.WeakKeyDictionary()


def warn_no_run_once() -> None:
    """Warn, once per process, that LightGBM training outside a run is not recorded."""
    global _warned_no_run
    if not _warned_no_run:
        _warned_no_run = True
        log.warning("LightGBM training outside an expt run is not recorded: train inside the "
                    "main function (or a captured function) of a running experiment.")


def plain(value: Any) -> Any:
    """`value` for ``run.info``: JSON-safe, callables as their names, datasets as their type."""
    if isinstance(value, (lgb.Dataset, lgb.Booster)):
        return f"<{type(value).__name__}>"
    shape = getattr(value, "shape", None)
    if isinstance(shape, tuple) and len(shape) >= 1:  # data (numpy, pandas, scipy): not in info
        return f"<{type(value).__name__} shape={shape}>"
    if callable(value) and not isinstance(value, type):
        return getattr(value, "__qualname__", None) or type(value).__name__
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return to_safe(value)


def _trainable(booster: Any) -> bool:
    """Whether `booster` still holds its training data (``keep_training_booster=True``)."""
    return getattr(booster, "train_set", None) is not None


def _in_background(run: Any, work: list[Callable[[], None]], key: str) -> None:
    """Do `work` beside the main function when the run can (expt's Run), else now."""
    def do_all() -> None:
        for item in work:
            item()
    background = getattr(run, "run_in_background", None)
    if background is None:
        do_all()
    else:
        background(do_all, name=f"lightgbm-{key}")


class _FinishHook:
    """Mixin: reports the assignment LightGBM makes when training ends (see module doc)."""

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        entry = _pending.get(self)
        if entry is None or entry[0] != name:
            return
        caller = sys._getframe(1)
        module = caller.f_globals.get("__name__")
        if (name == "best_score" and module == "lightgbm.engine"
                and not caller.f_locals.get("keep_training_booster", True)):
            # train() now reloads the booster from its text (trees up to best_iteration) and
            # frees its datasets, the last thing it does: record the booster after that
            _pending[self] = (_FREED, entry[1])
            return
        del _pending[self]
        object.__setattr__(self, "__class__", type(self).__mro__[2])
        if module in ("lightgbm.engine", "lightgbm.basic"):  # not a user's later assignment
            entry[1]._training_ended(self)


class _HookedBooster(_FinishHook, lgb.Booster):
    pass


class _HookedCVBooster(_FinishHook, lgb.CVBooster):
    pass


_HOOKS = {lgb.Booster: (_HookedBooster, "best_score"),
          lgb.CVBooster: (_HookedCVBooster, "best_iteration")}


class ExptCallback:
    """Records a LightGBM training (``lgb.train``, ``lgb.cv`` or a scikit-learn ``fit``).

    `run`: the run to record in (default: the current run; with none, nothing is recorded).
    `prefix`: put before metric and artifact names, and the key in ``info["lightgbm"]``;
    needed only to keep several trainings of the same kind in one run apart.
    """

    def __init__(self, run: Any = None, *, prefix: str | None = None, log_models: bool = True,
                 log_importance: bool = True, plot_importance: bool = True,
                 top_features: int = 20, train_args: dict | None = None, api: str | None = None,
                 deferred: bool = False):
        self.order = CALLBACK_ORDER
        self.before_iteration = False
        self.prefix = prefix
        self.log_models = log_models
        self.log_importance = log_importance
        self.plot_importance = plot_importance
        self.top_features = top_features
        self._run_arg = run
        self._train_args = train_args
        self._api_arg = api
        self._api = api
        self._deferred = deferred  # finish() is called by the caller (autolog's fit wrapper)
        self._started = False
        self._run: Any = None
        self._log: Callable | None = None
        self._series: dict[tuple[str, str], list[tuple[str, int]]] = {}
        self._labels: dict[tuple[str, str], tuple[str, str]] = {}
        self._cv = False
        self._history: list[tuple[int, list]] = []
        self._first_iteration: int | None = None
        self._last_iteration: int | None = None
        self._end_iteration: int | None = None
        self.key: str | None = None

    # -- per iteration: keep it lean, this is the training loop -------------------------

    def __call__(self, env: Any) -> None:
        if not self._started:
            self._start(env)
        if self._run is None:
            return
        iteration = env.iteration
        results = env.evaluation_result_list
        if results:
            log_scalar = self._log
            series = self._series
            for result in results:
                names = series.get((result[0], result[1]))
                if names is None:
                    names = self._names_for(result)
                for name, index in names:
                    log_scalar(name, result[index], iteration)
            self._history.append((iteration, results))  # for best_score (see finish)
        self._last_iteration = iteration
        if iteration == env.end_iteration - 1:
            self._started = False  # the same callback may record another training
            if self._cv and not self._deferred:
                self._finish_cv(env.model)  # updated again if early stopping fires now

    def _names_for(self, result: Any) -> list[tuple[str, int]]:
        dataset, metric = result[0], result[1]
        if dataset == "cv_agg" and " " in metric:  # lightgbm < 4.7 spells cv sets this way
            dataset, metric = metric.split(" ", 1)
        base = f"{self.prefix}.{dataset}.{metric}" if self.prefix else f"{dataset}.{metric}"
        names = [(f"{base}-mean", 2), (f"{base}-stdv", 4)] if self._cv else [(base, 2)]
        self._series[(result[0], result[1])] = names
        self._labels[(result[0], result[1])] = (dataset, metric)
        return names

    # -- start and end ----------------------------------------------------------------------

    def _start(self, env: Any) -> None:
        self._started = True
        self._series, self._labels, self._history = {}, {}, []  # a callback used again
        self._last_iteration = None
        self._run = run = resolve_run(self._run_arg)
        if run is None:
            warn_no_run_once()
            return
        self._log = run.log_scalar
        self._cv = isinstance(env.model, lgb.CVBooster)
        self._api = self._api_arg or ("cv" if self._cv else "train")
        self.key = self.prefix or self._api
        self._first_iteration = env.begin_iteration
        self._end_iteration = env.end_iteration
        record: dict[str, Any] = {"api": self._api, "params": plain(env.params),
                                  "num_boost_round": env.end_iteration - env.begin_iteration}
        if env.begin_iteration:
            record["begin_iteration"] = env.begin_iteration
        if self._train_args:
            record["train_args"] = plain(self._train_args)
        section = run.info.get("lightgbm") or {}
        if self.key in section:
            log.warning("A second LightGBM %s in this run is recorded as %r too: its metrics "
                        "and artifacts mix with the first one's. Pass prefix='...' to keep "
                        "them apart.", self._api, self.key)
        self._set_record(record)
        if not self._deferred:
            hook = _HOOKS.get(type(env.model))
            if hook is not None:
                _pending[env.model] = (hook[1], self)
                object.__setattr__(env.model, "__class__", hook[0])

    def _set_record(self, record: dict) -> None:
        # copy-on-write: the heartbeat thread may be serializing run.info right now
        section = dict(self._run.info.get("lightgbm") or {})
        section[self.key] = record
        self._run.info["lightgbm"] = section

    def _record(self) -> dict:
        return dict(self._run.info["lightgbm"][self.key])

    def _training_ended(self, model: Any) -> None:
        try:
            if self._cv:
                self._finish_cv(model)
            else:
                self.finish(model)
        except Exception:  # recording must never lose the model the user just trained
            log.exception("Recording the end of LightGBM training failed.")

    def _stop_fields(self) -> dict:
        last = self._last_iteration
        trained = 0 if last is None else last + 1 - (self._first_iteration or 0)
        return {"iterations_trained": trained, "stopped_iteration": last,
                "stopped_early": last is not None and last + 1 < (self._end_iteration or 0)}

    def _results_at(self, best_iteration: int) -> list:
        """The evaluation results of iteration `best_iteration` (1-based), else the last ones."""
        wanted = ((self._first_iteration or 0) + best_iteration - 1 if best_iteration > 0
                  else self._last_iteration)
        for iteration, results in reversed(self._history):
            if iteration == wanted:
                return list(results)
        return []

    def _best_score(self, booster: Any) -> dict:
        # when the finish hook fires, LightGBM has assigned best_score but not filled it yet;
        # it fills it from the same results this callback saw
        if booster.best_score:
            return to_safe({k: dict(v) for k, v in booster.best_score.items()})
        best_score: dict[str, dict[str, float]] = {}
        for result in self._results_at(int(booster.best_iteration or 0)):
            dataset, metric = self._labels[(result[0], result[1])]
            best_score.setdefault(dataset, {})[metric] = float(result[2])
        return best_score

    def _artifact_names(self, name: str) -> str:
        """`name` with the prefix; warns when another training of this run stored it."""
        full = f"{self.prefix}.{name}" if self.prefix else name
        section = self._run.info.get("lightgbm") or {}
        if any(full in (rec.get("artifacts") or ()) for key, rec in section.items()
               if key != self.key):
            log.warning("The LightGBM %s replaces the artifact %r stored by another training "
                        "of this run. Pass prefix='...' to keep both.", self._api, full)
        return full

    def finish(self, booster: Any, estimator: Any = None) -> None:
        """Record early stopping, importance and model once ``train``/``fit`` has returned."""
        self._started = False
        if self._run is None:
            return
        record = self._record()
        record.update(self._stop_fields())
        record["best_iteration"] = int(booster.best_iteration or 0)
        record["early_stopping"] = record["best_iteration"] > 0
        record["best_score"] = self._best_score(booster)
        if estimator is not None:
            record["estimator"] = type(estimator).__name__
            record["estimator_params"] = plain(estimator.get_params(deep=False))
        artifacts, work = [], []
        if self.log_importance:
            name = self._artifact_names("feature_importance")
            values = importance_record(booster)  # ~1 ms: taken now, as the booster is now
            work.append(functools.partial(write_importance, values, self._run, name=name,
                                          top=self.top_features, plot=self.plot_importance))
            artifacts += [f"{name}.json"] + ([f"{name}.png"] if self.plot_importance else [])
        if self.log_models:
            name = self._artifact_names("model")
            meta = model_metadata(booster, estimator)
            # a booster that keeps its training data can still change (update(), rollback):
            # its text is taken now; otherwise the text is written in the background
            text = booster.model_to_string(num_iteration=-1) if _trainable(booster) else None
            work.append(functools.partial(write_model, self._run, name, meta, text=text,
                                          booster=booster))
            artifacts += [f"{name}.txt", f"{name}.json"]
        record["artifacts"] = artifacts
        self._set_record(record)
        if work:
            _in_background(self._run, work, self.key or "lightgbm")

    def _finish_cv(self, cvbooster: Any) -> None:
        self._started = False
        record = self._record()
        record.update(self._stop_fields())
        best = int(getattr(cvbooster, "best_iteration", -1) or -1)
        record["early_stopping"] = best > 0
        record["best_iteration"] = best if best > 0 else None
        best_score: dict[str, dict[str, float]] = {}
        for result in self._results_at(best):
            dataset, metric = self._labels[(result[0], result[1])]
            best_score.setdefault(dataset, {}).update(
                {f"{metric}-mean": float(result[2]), f"{metric}-stdv": float(result[4])})
        record["best_score"] = best_score
        self._set_record(record)


def expt_callback(run: Any = None, *, prefix: str | None = None, log_models: bool = True,
                  log_importance: bool = True, plot_importance: bool = True,
                  top_features: int = 20) -> ExptCallback:
    """A callback for ``lgb.train``/``lgb.cv``/``fit(callbacks=[...])`` that records the training.

    `log_models`, `log_importance`, `plot_importance` (the PNG, about 0.2 s with matplotlib)
    switch off parts of the end-of-training record; `top_features` bars are drawn.
    """
    return ExptCallback(run, prefix=prefix, log_models=log_models,
                        log_importance=log_importance, plot_importance=plot_importance,
                        top_features=top_features)


def bound_arguments(function: Callable, args: tuple, kwargs: dict, skip: set[str]) -> dict:
    """The arguments of a call by parameter name, without those in `skip`."""
    try:
        bound = inspect.signature(function).bind(*args, **kwargs)
    except TypeError:
        return {}
    return {k: v for k, v in bound.arguments.items() if k not in skip}
