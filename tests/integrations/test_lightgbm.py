"""expt.integrations.lightgbm: what lgb.train, lgb.cv and the scikit-learn API record, checked
against LightGBM's own values, with the file observer and a recording observer."""
from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest

lgb = pytest.importorskip("lightgbm")

from expt.integrations import lightgbm_callback  # noqa: E402
from expt.integrations.lightgbm import (autolog, expt_callback, is_enabled,  # noqa: E402
                                        load_estimator, load_model)
from tests.integrations import record  # noqa: E402

PARAMS = {"objective": "regression", "metric": ["l2", "l1"], "num_leaves": 7,
          "learning_rate": 0.2, "verbose": -1, "num_threads": 1, "seed": 1}
MODES = ["callback", "autolog"]


@pytest.fixture(autouse=True)
def no_autolog_left():
    """Every test starts and ends without autolog's wrappers."""
    autolog(disable=True)
    yield
    autolog(disable=True)


@pytest.fixture
def data():
    """A small regression problem: 300 rows, 5 features, train/valid split."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(300, 5))
    y = 2 * X[:, 0] - X[:, 1] + 0.5 * rng.normal(size=300)
    return X[:220], y[:220], X[220:], y[220:]


def _callbacks(mode: str, *extra):
    if mode == "autolog":
        autolog()
        return list(extra)
    return [expt_callback(), *extra]


def _train(mode, data, values, rounds=25, early=None, keep_training_booster=False):
    X, y, Xv, yv = data
    train_set = lgb.Dataset(X, y, feature_name=[f"f{i}" for i in range(5)])
    valid_set = lgb.Dataset(Xv, yv, reference=train_set)
    evals: dict = {}
    extra = [lgb.record_evaluation(evals)]
    if early:
        extra.append(lgb.early_stopping(early, verbose=False))
    callbacks = _callbacks(mode, *extra)  # before lgb.train is looked up: autolog replaces it
    booster = lgb.train(dict(PARAMS), train_set, num_boost_round=rounds,
                        valid_sets=[train_set, valid_set], valid_names=["train", "valid"],
                        callbacks=callbacks, keep_training_booster=keep_training_booster)
    values.update(booster=booster, evals=evals, X=np.vstack([X, Xv]))
    return booster


def _check_series(series: dict, expected: list, n_steps: int | None = None) -> None:
    n = len(expected) if n_steps is None else n_steps
    assert series["steps"] == list(range(n))
    assert series["values"][:len(expected)] == [float(v) for v in expected]


@pytest.mark.parametrize("mode", MODES)
def test_train_metrics_equal_lightgbm_evals(mode, data, tmp_path):
    """lgb.train: every set and metric as <set>.<metric>, steps 0..N-1, LightGBM's values."""
    rec = record(lambda run, v: _train(mode, data, v), tmp_path)
    evals = rec.values["evals"]
    expected = {f"{s}.{m}": vals for s, ms in evals.items() for m, vals in ms.items()}
    assert set(expected) == {"train.l2", "train.l1", "valid.l2", "valid.l1"}
    for metrics in (rec.metrics, rec.recorder.metrics()):
        assert set(metrics) == set(expected)
        for name, vals in expected.items():
            assert len(vals) == 25
            _check_series(metrics[name], vals)


@pytest.mark.parametrize("mode", MODES)
def test_train_params_and_early_stopping(mode, data, tmp_path):
    """info holds the params LightGBM used, best_iteration and best_score under early stopping."""
    rec = record(lambda run, v: _train(mode, data, v, rounds=300, early=5), tmp_path)
    booster = rec.values["booster"]
    entry = rec.info["lightgbm"]["train"]
    assert 0 < booster.best_iteration < 300  # early stopping did stop early
    assert entry["params"] == {**PARAMS, "num_iterations": 300}
    assert entry["num_boost_round"] == 300
    assert entry["best_iteration"] == booster.best_iteration
    assert entry["early_stopping"] is True and entry["stopped_early"] is True
    assert entry["best_score"] == {s: {m: float(v) for m, v in ms.items()}
                                   for s, ms in booster.best_score.items()}
    n_trained = len(rec.values["evals"]["valid"]["l2"])
    assert entry["iterations_trained"] == n_trained == booster.best_iteration + 5
    assert entry["stopped_iteration"] == n_trained - 1
    assert rec.metrics["valid.l2"]["steps"] == list(range(n_trained))
    if mode == "autolog":
        assert entry["train_args"]["num_boost_round"] == 300
        assert entry["train_args"]["valid_names"] == ["train", "valid"]


@pytest.mark.parametrize("mode", MODES)
def test_train_importance_artifacts(mode, data, tmp_path):
    """feature_importance.json equals feature_importance(); the PNG is a real PNG."""
    rec = record(lambda run, v: _train(mode, data, v, rounds=300, early=5), tmp_path)
    booster = rec.values["booster"]
    importance = rec.json("feature_importance.json")
    assert importance["feature_names"] == [f"f{i}" for i in range(5)]
    assert importance["split"] == booster.feature_importance("split").tolist()
    assert importance["gain"] == booster.feature_importance("gain").tolist()
    assert importance["iteration"] == booster.best_iteration
    png = (rec.folder / "feature_importance.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 2000
    artifacts = rec.json("run.json")["artifacts"]
    assert {"feature_importance.json", "feature_importance.png", "model.txt",
            "model.json"} <= set(artifacts)
    names = {kwargs["name"] for event, kwargs in rec.recorder.events if event == "artifact_event"}
    assert names == set(artifacts)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("early, keep", [(None, False), (5, False), (5, True)])
def test_train_model_round_trip(mode, early, keep, data, tmp_path):
    """load_model(run folder) predicts exactly what the trained Booster predicted."""
    rec = record(lambda run, v: _train(mode, data, v, rounds=120, early=early,
                                       keep_training_booster=keep), tmp_path)
    booster, X = rec.values["booster"], rec.values["X"]
    loaded = load_model(rec.folder)
    assert isinstance(loaded, lgb.Booster)
    assert loaded.best_iteration == booster.best_iteration
    assert loaded.num_trees() == booster.num_trees()
    np.testing.assert_array_equal(loaded.predict(X), booster.predict(X))
    meta = rec.json("model.json")
    assert meta["format"] == "lightgbm-text" and meta["lightgbm_version"] == lgb.__version__
    assert meta["feature_names"] == booster.feature_name()
    assert (rec.folder / "model.txt").read_text().startswith("tree\n")
    importance = rec.json("feature_importance.json")
    assert importance["gain"] == booster.feature_importance("gain").tolist()


@pytest.mark.parametrize("mode", MODES)
def test_model_stored_as_train_returned_it_despite_later_training(mode, data, tmp_path):
    """Artifacts are written in the background; boosting on after train() does not change them."""
    def body(run, values):
        booster = _train(mode, data, values, rounds=30, keep_training_booster=True)
        values["predicted"] = booster.predict(values["X"])
        values["listed"] = list(run.info["lightgbm"]["train"]["artifacts"])
        for _ in range(10):  # the booster kept its training data: train it further
            booster.update()
        values["trees_after"] = booster.num_trees()

    rec = record(body, tmp_path)
    assert rec.values["listed"] == ["feature_importance.json", "feature_importance.png",
                                    "model.txt", "model.json"]  # listed at once, in the run
    assert rec.values["trees_after"] == 40
    loaded = load_model(rec.folder)
    assert loaded.num_trees() == 30
    np.testing.assert_array_equal(loaded.predict(rec.values["X"]), rec.values["predicted"])
    assert rec.json("model.json")["num_trees"] == 30
    assert rec.json("run.json")["status"] == "COMPLETED"


def test_callback_outside_run_records_nothing_and_warns_once(data, caplog, monkeypatch):
    """Outside a run, training works unchanged and one warning says it is not recorded."""
    monkeypatch.setattr(lightgbm_callback, "_warned_no_run", False)
    values: dict = {}
    with caplog.at_level(logging.WARNING, logger="expt.integrations.lightgbm"):
        _train("callback", data, values)
        _train("callback", data, values)
    assert values["booster"].num_trees() == 25
    warnings_ = [r for r in caplog.records if "outside an expt run" in r.getMessage()]
    assert len(warnings_) == 1
    assert type(values["booster"]) is lgb.Booster


def test_autolog_outside_run_passes_through_and_warns_once(data, caplog, monkeypatch):
    """autolog() outside a run: lgb.train and fit still work, one warning in all."""
    monkeypatch.setattr(lightgbm_callback, "_warned_no_run", False)
    autolog()
    X, y, Xv, yv = data
    with caplog.at_level(logging.WARNING, logger="expt.integrations.lightgbm"):
        booster = lgb.train(dict(PARAMS), lgb.Dataset(X, y), num_boost_round=5)
        model = lgb.LGBMRegressor(n_estimators=5, verbose=-1).fit(X, y)
    assert booster.num_trees() == 5 and model.booster_.num_trees() == 5
    assert sum("outside an expt run" in r.getMessage() for r in caplog.records) == 1


def test_autolog_disable_restores_lightgbm(data, tmp_path):
    """autolog(disable=True) puts back the original functions; later runs record nothing."""
    originals = (lgb.train, lgb.cv, lgb.engine.train, lgb.sklearn.train,
                 lgb.LGBMRegressor.fit, lgb.LGBMModel.fit, lgb.LGBMClassifier.fit)
    autolog()
    assert is_enabled() and lgb.train is not originals[0] and lgb.sklearn.train is lgb.train
    assert lgb.LGBMRegressor.fit is not originals[4]
    autolog(disable=True)
    assert not is_enabled()
    assert (lgb.train, lgb.cv, lgb.engine.train, lgb.sklearn.train, lgb.LGBMRegressor.fit,
            lgb.LGBMModel.fit, lgb.LGBMClassifier.fit) == originals

    def body(run, values):
        X, y, _, _ = data
        lgb.train(dict(PARAMS), lgb.Dataset(X, y), 5, valid_sets=[lgb.Dataset(X, y)])
    rec = record(body, tmp_path)
    assert "lightgbm" not in rec.info
    assert not (rec.folder / "metrics.json").exists() and rec.recorder.metrics() == {}
    assert not (rec.folder / "model.txt").exists()


def test_autolog_with_explicit_callback_records_once(data, tmp_path):
    """autolog plus an explicit expt_callback(): one series per metric, not two."""
    def body(run, values):
        autolog()
        X, y, Xv, yv = data
        lgb.train(dict(PARAMS), lgb.Dataset(X, y), 10, valid_sets=[lgb.Dataset(Xv, yv)],
                  valid_names=["valid"], callbacks=[expt_callback()])
    rec = record(body, tmp_path)
    assert rec.metrics["valid.l2"]["steps"] == list(range(10))


def test_explicit_run_and_prefix(data, tmp_path):
    """expt_callback(run, prefix=...) keeps two trainings of one run apart."""
    def body(run, values):
        X, y, Xv, yv = data
        for prefix, rounds in (("small", 5), ("big", 15)):
            booster = lgb.train(dict(PARAMS), lgb.Dataset(X, y), rounds,
                                valid_sets=[lgb.Dataset(Xv, yv)], valid_names=["valid"],
                                callbacks=[expt_callback(run, prefix=prefix)])
            values[prefix] = booster
    rec = record(body, tmp_path)
    assert rec.metrics["small.valid.l2"]["steps"] == list(range(5))
    assert rec.metrics["big.valid.l2"]["steps"] == list(range(15))
    assert set(rec.info["lightgbm"]) == {"small", "big"}
    assert load_model(rec.folder, name="big.model").num_trees() == 15
    assert load_model(rec.folder, name="small.model").num_trees() == 5
    assert rec.info["lightgbm"]["big"]["artifacts"] == [
        "big.feature_importance.json", "big.feature_importance.png", "big.model.txt",
        "big.model.json"]


def test_callback_reused_for_a_second_training(data, tmp_path):
    """One callback passed to two trainings records each from its start (the second wins)."""
    def body(run, values):
        X, y, Xv, yv = data
        callback = expt_callback()
        for rounds, early in ((40, 2), (8, None)):
            extra = [lgb.early_stopping(early, verbose=False)] if early else []
            values[rounds] = lgb.train(dict(PARAMS), lgb.Dataset(X, y), rounds,
                                       valid_sets=[lgb.Dataset(Xv, yv)], valid_names=["valid"],
                                       callbacks=[callback, *extra])
    rec = record(body, tmp_path)
    first = rec.values[40].best_iteration + 2  # iterations run: the best one + patience
    assert first < 40  # early stopping ended the first training
    assert rec.metrics["valid.l2"]["steps"] == list(range(first)) + list(range(8))
    entry = rec.info["lightgbm"]["train"]
    assert entry["iterations_trained"] == 8 and entry["early_stopping"] is False
    assert load_model(rec.folder).num_trees() == 8


@pytest.mark.parametrize("options, expected", [
    ({"plot_importance": False}, {"feature_importance.json", "model.txt", "model.json"}),
    ({"log_importance": False}, {"model.txt", "model.json"}),
    ({"log_models": False}, {"feature_importance.json", "feature_importance.png"}),
])
def test_end_of_training_options(options, expected, data, tmp_path):
    """log_models / log_importance / plot_importance switch off their artifacts."""
    def body(run, values):
        X, y, _, _ = data
        lgb.train(dict(PARAMS), lgb.Dataset(X, y), 3, callbacks=[expt_callback(**options)])
    rec = record(body, tmp_path)
    assert set(rec.json("run.json")["artifacts"]) == expected
    assert rec.info["lightgbm"]["train"]["artifacts"] == sorted(
        expected, key=["feature_importance.json", "feature_importance.png", "model.txt",
                       "model.json"].index)


def test_second_training_without_prefix_warns(data, tmp_path, caplog):
    """Two trainings recorded under the same key: a warning suggests prefix=."""
    def body(run, values):
        X, y, Xv, yv = data
        for _ in range(2):
            lgb.train(dict(PARAMS), lgb.Dataset(X, y), 3, valid_sets=[lgb.Dataset(Xv, yv)],
                      callbacks=[expt_callback()])
    with caplog.at_level(logging.WARNING, logger="expt.integrations.lightgbm"):
        record(body, tmp_path)
    assert any("prefix=" in r.getMessage() for r in caplog.records)


# -- lgb.cv ----------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("early", [None, 4])
def test_cv_mean_and_stdv_series(mode, early, data, tmp_path):
    """lgb.cv: <set>.<metric>-mean and -stdv per iteration, equal to cv()'s own results."""
    def body(run, values):
        X, y, _, _ = data
        callbacks = _callbacks(mode, *([lgb.early_stopping(early, verbose=False)] if early
                                       else []))
        values["result"] = lgb.cv(dict(PARAMS, metric="l2"), lgb.Dataset(X, y),
                                  num_boost_round=200 if early else 20, nfold=3,
                                  stratified=False, seed=3, return_cvbooster=True,
                                  callbacks=callbacks)
    rec = record(body, tmp_path)
    result = rec.values["result"]
    entry = rec.info["lightgbm"]["cv"]
    n_kept = len(result["valid l2-mean"])
    for metrics in (rec.metrics, rec.recorder.metrics()):
        assert set(metrics) == {"valid.l2-mean", "valid.l2-stdv"}
        n_steps = entry["iterations_trained"]
        _check_series(metrics["valid.l2-mean"], result["valid l2-mean"], n_steps)
        _check_series(metrics["valid.l2-stdv"], result["valid l2-stdv"], n_steps)
    assert entry["params"]["metric"] == "l2"
    if early:
        assert entry["early_stopping"] is True
        assert entry["best_iteration"] == n_kept == result["cvbooster"].best_iteration
        assert entry["iterations_trained"] == n_kept + early
        assert entry["best_score"] == {"valid": {"l2-mean": result["valid l2-mean"][-1],
                                                 "l2-stdv": result["valid l2-stdv"][-1]}}
    else:
        assert entry["early_stopping"] is False and entry["best_iteration"] is None
        assert entry["iterations_trained"] == n_kept == 20
    assert not (rec.folder / "model.txt").exists()  # cv records metrics and info only


# -- scikit-learn API ----------------------------------------------------------------------

def _fit(mode, estimator, X, y, Xv, yv, early=None):
    callbacks = _callbacks(mode, *([lgb.early_stopping(early, verbose=False)] if early else []))
    with warnings.catch_warnings():  # lightgbm 4.7 prefers eval_X/eval_y; eval_set works in 4.x
        warnings.simplefilter("ignore", category=FutureWarning)
        warnings.simplefilter("ignore", category=DeprecationWarning)
        return estimator.fit(X, y, eval_set=[(X, y), (Xv, yv)], eval_names=["train", "valid"],
                             callbacks=callbacks)


@pytest.mark.parametrize("mode", MODES)
def test_sklearn_regressor_records_like_lightgbm(mode, data, tmp_path):
    """LGBMRegressor.fit with eval_set: metrics equal evals_result_, best_iteration_, model."""
    X, y, Xv, yv = data

    def body(run, values):
        values["model"] = _fit(mode, lgb.LGBMRegressor(n_estimators=300, num_leaves=7,
                                                       learning_rate=0.2, verbose=-1,
                                                       n_jobs=1), X, y, Xv, yv, early=5)
    rec = record(body, tmp_path)
    model = rec.values["model"]
    expected = {f"{s}.{m}": v for s, ms in model.evals_result_.items() for m, v in ms.items()}
    assert set(rec.metrics) == set(expected) == {"train.l2", "valid.l2"}
    for name, vals in expected.items():
        _check_series(rec.metrics[name], vals)
    entry = rec.info["lightgbm"]["sklearn" if mode == "autolog" else "train"]
    assert entry["best_iteration"] == model.best_iteration_ > 0
    assert entry["best_score"]["valid"]["l2"] == model.best_score_["valid"]["l2"]
    assert entry["params"]["num_leaves"] == 7
    XX = np.vstack([X, Xv])
    np.testing.assert_array_equal(load_model(rec.folder).predict(XX), model.predict(XX))
    importance = rec.json("feature_importance.json")
    assert importance["split"] == model.booster_.feature_importance("split").tolist()
    if mode == "autolog":
        assert entry["estimator"] == "LGBMRegressor"
        assert entry["estimator_params"]["n_estimators"] == 300
        assert entry["train_args"]["eval_names"] == ["train", "valid"]
        assert len((rec.folder / "info.json").read_text()) < 10_000  # no data in info
        loaded = load_estimator(rec.folder)
        assert type(loaded) is lgb.LGBMRegressor and loaded.get_params() == model.get_params()
        np.testing.assert_array_equal(loaded.predict(XX), model.predict(XX))
        assert loaded.best_iteration_ == model.best_iteration_
        assert loaded.n_features_in_ == model.n_features_in_ == 5


@pytest.mark.parametrize("labels", [np.array(["cat", "dog"]), np.array([3, 5, 9])])
def test_sklearn_classifier_estimator_round_trip(labels, data, tmp_path):
    """LGBMClassifier (string binary, int multiclass): the stored estimator predicts the same."""
    X, y, Xv, yv = data
    edges = np.quantile(np.concatenate([y, yv]), np.linspace(0, 1, len(labels) + 1)[1:-1])
    to_label = lambda t: labels[np.digitize(t, edges)]  # noqa: E731

    def body(run, values):
        values["model"] = _fit("autolog", lgb.LGBMClassifier(n_estimators=30, num_leaves=7,
                                                             verbose=-1, n_jobs=1),
                               X, to_label(y), Xv, to_label(yv))
    rec = record(body, tmp_path)
    model = rec.values["model"]
    metric = "binary_logloss" if len(labels) == 2 else "multi_logloss"
    _check_series(rec.metrics[f"valid.{metric}"], model.evals_result_["valid"][metric])
    loaded = load_estimator(rec.folder)
    XX = np.vstack([X, Xv])
    np.testing.assert_array_equal(loaded.classes_, model.classes_)
    np.testing.assert_array_equal(loaded.predict(XX), model.predict(XX))
    np.testing.assert_array_equal(loaded.predict_proba(XX), model.predict_proba(XX))


def test_sklearn_fit_arguments_keep_data_out_of_info(data, tmp_path):
    """Whatever the spelling of the evaluation data (eval_X/eval_y or eval_set), info gets
    the fit's options and no arrays."""
    import inspect

    X, y, Xv, yv = data
    modern = "eval_X" in inspect.signature(lgb.LGBMRegressor.fit).parameters

    def body(run, values):
        autolog()
        model = lgb.LGBMRegressor(n_estimators=5, verbose=-1)
        eval_data = {"eval_X": (Xv,), "eval_y": (yv,)} if modern else {"eval_set": [(Xv, yv)]}
        values["model"] = model.fit(X, y, eval_metric="l1", init_score=np.zeros(len(y)),
                                    **eval_data)
    rec = record(body, tmp_path)
    assert rec.info["lightgbm"]["sklearn"]["train_args"] == {"eval_metric": "l1"}
    assert rec.metrics["valid_0.l1"]["steps"] == list(range(5))


def test_sklearn_unstorable_estimator_falls_back_to_booster(data, tmp_path, caplog):
    """An estimator with a non-JSON parameter is stored as its Booster, with a warning."""
    X, y, Xv, yv = data

    def body(run, values):
        est = lgb.LGBMRegressor(n_estimators=5, verbose=-1,
                                random_state=np.random.RandomState(0))
        values["model"] = _fit("autolog", est, X, y, Xv, yv)
    with caplog.at_level(logging.WARNING, logger="expt.integrations.lightgbm"):
        rec = record(body, tmp_path)
    assert any("random_state" in r.getMessage() for r in caplog.records)
    assert rec.json("model.json")["estimator"] is None
    with pytest.raises(Exception, match="load_model"):
        load_estimator(rec.folder)
    np.testing.assert_array_equal(load_model(rec.folder).predict(X),
                                  rec.values["model"].predict(X))
