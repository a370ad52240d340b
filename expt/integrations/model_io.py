"""Saving LightGBM models as run artifacts and loading them back, without pickle.

A model named ``model`` is stored as two artifacts:

- ``model.txt``: the Booster in LightGBM's own text format, every tree
  (``save_model(num_iteration=-1)``), readable by any LightGBM;
- ``model.json``: what is needed to load it back: the format, the LightGBM version,
  ``best_iteration`` (restored on load, so ``predict()`` uses the same trees as before saving),
  feature names and, for the scikit-learn API, the estimator.

The fitted estimator (``LGBMRegressor``, ``LGBMClassifier``, ``LGBMRanker``, ``LGBMModel``) is
stored as its class name, its ``get_params()`` as JSON and the few fitted attributes that
``predict`` needs (number of features, classes, objective, best iteration). Loading
reconstructs the estimator from the allow-listed class and sets those attributes on it; no
object is unpickled, so loading a run someone else recorded cannot execute code. Estimators
whose parameters are not plain JSON values (a callable objective, a ``RandomState``) and
subclasses are stored as the Booster only, with a warning.

Models load from a run folder path (``runs/3``, read directly) or from any run reference read
through the store API :func:`expt.store.open_store` (``mongodb://host:27017/db#3``, ``runs#3``).
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
from typing import Any

from . import require, resolve_run
from ..errors import ExptError, suggest
from ..serialize import to_safe

lgb = require("lightgbm")

log = logging.getLogger("expt.integrations.lightgbm")
MODEL_FORMAT = "lightgbm-text"
FORMAT_VERSION = 1
ESTIMATOR_CLASSES = ("LGBMModel", "LGBMRegressor", "LGBMClassifier", "LGBMRanker")


def _is_plain(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_plain(v) for k, v in value.items())
    return False


def estimator_state(estimator: Any) -> dict | None:
    """The JSON description of a fitted LightGBM estimator, or None if it cannot be stored."""
    cls_name = type(estimator).__name__
    if cls_name not in ESTIMATOR_CLASSES or getattr(lgb, cls_name) is not type(estimator):
        log.warning("Storing the %s as its Booster only: only %s are stored as estimators.",
                    cls_name, ", ".join(ESTIMATOR_CLASSES))
        return None
    params = estimator.get_params(deep=False)
    bad = sorted(k for k, v in params.items() if not _is_plain(v))
    if bad:
        log.warning("Storing the %s as its Booster only: parameters %s are not plain JSON "
                    "values.", cls_name, ", ".join(bad))
        return None
    state: dict[str, Any] = {
        "n_features": int(estimator._n_features),
        "n_features_in": int(getattr(estimator, "_n_features_in", estimator._n_features)),
        "fitted_with_feature_names": bool(getattr(estimator, "_fitted_with_feature_names",
                                                  False)),
        "best_iteration": int(estimator._best_iteration),
        "best_score": to_safe(estimator._best_score),
        "objective": estimator._objective if isinstance(estimator._objective, str) else None,
    }
    classes = getattr(estimator, "_classes", None)
    if classes is not None:
        state["classes"] = classes.tolist()
        state["classes_dtype"] = classes.dtype.str
    return {"class": cls_name, "params": params, "state": state}


def model_metadata(booster: Any, estimator: Any = None) -> dict:
    """What ``model.json`` holds for `booster` (and the estimator that owns it)."""
    return {
        "format": MODEL_FORMAT,
        "format_version": FORMAT_VERSION,
        "lightgbm_version": lgb.__version__,
        "best_iteration": int(booster.best_iteration or 0),
        "current_iteration": int(booster.current_iteration()),
        "num_trees": int(booster.num_trees()),
        "num_features": int(booster.num_feature()),
        "feature_names": list(booster.feature_name()),
        "objective": to_safe(booster.params.get("objective")) if booster.params else None,
        "estimator": estimator_state(estimator) if estimator is not None else None,
        "load_with": "expt.integrations.lightgbm.load_model(run_ref)",
    }


def _split(model: Any) -> tuple[Any, Any]:
    if isinstance(model, lgb.Booster):
        return model, None
    if isinstance(model, lgb.LGBMModel):
        return model.booster_, model  # booster_ raises a clear error when not fitted
    raise TypeError(f"Cannot store a {type(model).__name__} as a LightGBM model: pass a "
                    "lightgbm.Booster or a fitted LightGBM scikit-learn estimator.")


def _check_name(name: str) -> str:
    if not name or any(c in name for c in "/\\\0") or name in (".", ".."):
        raise ExptError(f"Invalid model name {name!r}: use a plain name such as 'model'.")
    return name


def log_model(model: Any, run: Any = None, *, name: str = "model") -> dict | None:
    """Store a Booster or fitted estimator as `<name>.txt` + `<name>.json`; returns the metadata."""
    run = resolve_run(run)
    if run is None:
        return None
    _check_name(name)
    booster, estimator = _split(model)
    meta = model_metadata(booster, estimator)
    write_model(run, name, meta, booster=booster)
    return meta


def write_model(run: Any, name: str, meta: dict, *, text: str | None = None,
                booster: Any = None) -> None:
    """Store `<name>.txt` (`text`, else `booster` saved now) and `<name>.json` (`meta`).

    With `text` it reads no booster, so it can run in the background once `text` is taken.
    """
    with tempfile.TemporaryDirectory(prefix="expt-lgb-") as tmp:
        txt = os.path.join(tmp, "model.txt")
        if text is None:
            booster.save_model(txt, num_iteration=-1)
        else:
            with open(txt, "w", encoding="utf-8", newline="") as f:
                f.write(text)
        meta_path = os.path.join(tmp, "model.json")
        with open(meta_path, "w", encoding="utf-8") as f:
            json.dump(meta, f, indent=1)
        summary = {k: meta[k] for k in ("format", "lightgbm_version", "best_iteration")}
        run.add_artifact(txt, f"{name}.txt", metadata=summary, content_type="text/plain")
        run.add_artifact(meta_path, f"{name}.json", metadata=summary,
                         content_type="application/json")


def _models_in(names: list[str]) -> list[str]:
    """Model names among artifact names: those with both ``<name>.json`` and ``<name>.txt``."""
    present = set(names)
    return sorted(n[:-5] for n in present if n.endswith(".json") and n[:-5] + ".txt" in present)


def _check_stored(where: str, name: str, names: list[str]) -> None:
    if f"{name}.json" in names and f"{name}.txt" in names:
        return
    models = _models_in(names)
    hints = suggest(name, models) if models else []
    raise ExptError(f"Run {where!r} has no LightGBM model {name!r}"
                    + (f". Did you mean {hints[0]!r}?" if hints else
                       f"; models there: {models or 'none'}."))


def _parse_meta(where: str, name: str, data: bytes) -> dict:
    try:
        meta = json.loads(data.decode("utf-8"))
    except ValueError:
        meta = None
    if not isinstance(meta, dict) or meta.get("format") != MODEL_FORMAT:
        raise ExptError(f"{name}.json of run {where!r} does not describe a LightGBM model "
                        "stored by expt.")
    return meta


def _is_store_ref(run_ref: Any) -> bool:
    """True when `run_ref` names a run through a store (``LOCATION#ID``, a MongoDB URL)."""
    if not isinstance(run_ref, str) or os.path.isdir(run_ref):
        return False
    from ..runref import MONGO, parse_location

    return "#" in run_ref or parse_location(run_ref).kind == MONGO


def _read_from_folder(folder: str, name: str) -> tuple[str, str, dict]:
    if not os.path.isdir(folder):
        raise ExptError(f"No run folder {folder!r}: pass the folder of a recorded run, such "
                        "as 'runs/3', or a run reference such as 'mongodb://host/db#3'.")
    names = [f for f in os.listdir(folder) if os.path.isfile(os.path.join(folder, f))]
    _check_stored(folder, name, names)
    with open(os.path.join(folder, f"{name}.json"), "rb") as f:
        meta = _parse_meta(folder, name, f.read())
    with open(os.path.join(folder, f"{name}.txt"), encoding="utf-8") as f:
        return folder, f.read(), meta


def _read_from_store(text: str, name: str) -> tuple[str, str, dict]:
    """Read the model through the read-back store API (expt.store), e.g. from MongoDB."""
    from ..redact import redact_url
    from ..runref import parse_runref
    from ..store import StoreNotFoundError, open_store

    ref = parse_runref(text)  # RunRefError names a malformed reference
    where = redact_url(str(ref))  # messages never show a password from the URL
    try:
        store = open_store(ref.location)
    except StoreNotFoundError as exc:  # e.g. observers.mongo.store not installed
        raise StoreNotFoundError(f"Cannot load the LightGBM model of run {where!r}: {exc}") \
            from exc
    with store:
        artifacts = store.get(ref.run_id).artifacts  # RunNotFoundError names the nearest ids
        _check_stored(where, name, artifacts.names())
        with artifacts.open(f"{name}.json") as f:
            meta = _parse_meta(where, name, f.read())
        with artifacts.open(f"{name}.txt") as f:
            return where, f.read().decode("utf-8"), meta


def _read_stored(run_ref: Any, name: str) -> tuple[str, str, dict]:
    """(where, model text, metadata) of model `name` in the run `run_ref`."""
    _check_name(name)
    if _is_store_ref(run_ref):
        return _read_from_store(run_ref.strip(), name)
    return _read_from_folder(os.fspath(run_ref), name)


def _booster(model_text: str, meta: dict) -> Any:
    booster = lgb.Booster(model_str=model_text)
    booster.best_iteration = int(meta.get("best_iteration") or 0)
    return booster


def load_model(run_ref: str | os.PathLike, *, name: str = "model") -> Any:
    """The Booster stored as `name` in a run: a run folder (``runs/3``) or a run reference
    read through :func:`expt.store.open_store` (``mongodb://host:27017/db#3``, ``runs#3``)."""
    _, model_text, meta = _read_stored(run_ref, name)
    return _booster(model_text, meta)


def load_estimator(run_ref: str | os.PathLike, *, name: str = "model") -> Any:
    """The fitted scikit-learn estimator stored as `name` in a run (see :func:`load_model`)."""
    where, model_text, meta = _read_stored(run_ref, name)
    stored = meta.get("estimator")
    if not stored:
        raise ExptError(f"The model {name!r} in {where!r} was stored as a Booster, "
                        "not an estimator: use load_model().")
    if stored.get("class") not in ESTIMATOR_CLASSES:
        raise ExptError(f"Unknown estimator class {stored.get('class')!r}; expected one of "
                        f"{', '.join(ESTIMATOR_CLASSES)}.")
    estimator = getattr(lgb, stored["class"])(**stored["params"])
    state = stored["state"]
    estimator._Booster = _booster(model_text, meta)
    estimator._n_features = state["n_features"]
    estimator._n_features_in = state["n_features_in"]
    estimator._fitted_with_feature_names = state["fitted_with_feature_names"]
    estimator._best_iteration = state["best_iteration"]
    estimator._best_score = state["best_score"]
    estimator._evals_result = {}
    if state.get("objective") is not None:
        estimator._objective = state["objective"]
    if "classes" in state:
        import numpy as np
        from lightgbm.compat import _LGBMLabelEncoder

        classes = np.asarray(state["classes"], dtype=np.dtype(state["classes_dtype"]))
        estimator._le = _LGBMLabelEncoder().fit(classes)
        estimator._classes = estimator._le.classes_
        estimator._n_classes = len(estimator._classes)
    estimator.fitted_ = True
    return estimator
