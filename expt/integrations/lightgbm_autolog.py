"""``autolog()``: record every LightGBM training that happens inside an expt run.

It wraps ``lightgbm.train``, ``lightgbm.cv`` (also where ``lightgbm.engine`` and
``lightgbm.sklearn`` refer to them) and the ``fit`` methods of the scikit-learn estimators.
Inside a run a wrapper adds an :class:`ExptCallback` (unless the call already has one);
outside a run it calls LightGBM unchanged and warns once. ``autolog(disable=True)`` puts the
originals back. Code that did ``from lightgbm import train`` before ``autolog()`` keeps the
unwrapped function: call ``autolog()`` first or use ``lgb.train``.
"""
from __future__ import annotations

import contextvars
import functools
from typing import Any, Callable

from . import require, resolve_run
from .lightgbm_callback import ExptCallback, bound_arguments, warn_no_run_once

lgb = require("lightgbm")
import lightgbm.engine as _engine  # noqa: E402
import lightgbm.sklearn as _sklearn  # noqa: E402

_TRAIN_SKIP = {"params", "train_set", "valid_sets", "callbacks"}
_FIT_SKIP = {"self", "X", "y", "sample_weight", "init_score", "group", "eval_set",
             "eval_sample_weight", "eval_class_weight", "eval_init_score", "eval_group",
             "eval_X", "eval_y", "callbacks"}
_originals: dict[tuple[object, str], Any] = {}
_options: dict[str, Any] = {}
_in_fit: contextvars.ContextVar[bool] = contextvars.ContextVar("expt_lgb_in_fit", default=False)


def _has_expt_callback(callbacks: Any) -> bool:
    return any(isinstance(cb, ExptCallback) for cb in callbacks or ())


def _with_callback(args: tuple, kwargs: dict, position: int, callback: ExptCallback) -> tuple:
    """The call's arguments with `callback` added to its ``callbacks`` (a new list)."""
    if len(args) > position:
        args = args[:position] + (list(args[position] or []) + [callback],) + args[position + 1:]
    else:
        kwargs = dict(kwargs, callbacks=list(kwargs.get("callbacks") or []) + [callback])
    return args, kwargs


def _callbacks_position(function: Callable) -> int:
    import inspect

    return list(inspect.signature(function).parameters).index("callbacks")


def _wrap_engine(original: Callable) -> Callable:
    position = _callbacks_position(original)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        run = resolve_run()
        callbacks = args[position] if len(args) > position else kwargs.get("callbacks")
        if run is None or _has_expt_callback(callbacks):
            if run is None and not _in_fit.get():
                warn_no_run_once()
            return original(*args, **kwargs)
        train_args = bound_arguments(original, args, kwargs, _TRAIN_SKIP)
        callback = ExptCallback(run, train_args=train_args, **_options)
        args, kwargs = _with_callback(args, kwargs, position, callback)
        return original(*args, **kwargs)

    wrapper.__expt_original__ = original  # type: ignore[attr-defined]
    return wrapper


def _wrap_fit(original: Callable) -> Callable:
    position = _callbacks_position(original)

    @functools.wraps(original)
    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _in_fit.get():  # LGBMRegressor.fit -> LGBMModel.fit: the outer call records
            return original(self, *args, **kwargs)
        run = resolve_run()
        callbacks = args[position - 1] if len(args) > position - 1 else kwargs.get("callbacks")
        token = _in_fit.set(True)
        try:
            if run is None or _has_expt_callback(callbacks):
                if run is None:
                    warn_no_run_once()
                return original(self, *args, **kwargs)
            fit_args = bound_arguments(original, (self,) + args, kwargs, _FIT_SKIP)
            callback = ExptCallback(run, train_args=fit_args, api="sklearn", deferred=True,
                                    **_options)
            args, kwargs = _with_callback(args, kwargs, position - 1, callback)
            result = original(self, *args, **kwargs)
            callback.finish(self.booster_, self)
            return result
        finally:
            _in_fit.reset(token)

    fit.__expt_original__ = original  # type: ignore[attr-defined]
    return fit


def _targets() -> list[tuple[object, str, Callable[[Callable], Callable]]]:
    targets: list[tuple[object, str, Callable[[Callable], Callable]]] = []
    for owner in (lgb, _engine, _sklearn):
        for name in ("train", "cv"):
            if name in vars(owner):
                targets.append((owner, name, _wrap_engine))
    for cls_name in ("LGBMModel", "LGBMRegressor", "LGBMClassifier", "LGBMRanker"):
        cls = getattr(_sklearn, cls_name, None)
        if cls is not None and "fit" in vars(cls):
            targets.append((cls, "fit", _wrap_fit))
    return targets


def autolog(disable: bool = False, *, log_models: bool = True, log_importance: bool = True,
            plot_importance: bool = True, top_features: int = 20) -> None:
    """Record every LightGBM training inside an expt run; ``disable=True`` undoes it.

    Calling it again replaces the options; the wrappers are installed once.
    """
    if disable:
        for (owner, name), original in _originals.items():
            setattr(owner, name, original)
        _originals.clear()
        _options.clear()
        return
    _options.update(log_models=log_models, log_importance=log_importance,
                    plot_importance=plot_importance, top_features=top_features)
    if _originals:
        return
    wrapped: dict[int, Callable] = {}  # lgb.train is engine.train: wrap it once
    for owner, name, wrap in _targets():
        original = vars(owner)[name]
        if getattr(original, "__expt_original__", None) is not None:
            continue
        if id(original) not in wrapped:
            wrapped[id(original)] = wrap(original)
        _originals[(owner, name)] = original
        setattr(owner, name, wrapped[id(original)])


def is_enabled() -> bool:
    """Whether ``autolog()`` is in effect."""
    return bool(_originals)
