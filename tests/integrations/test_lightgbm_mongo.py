"""expt.integrations.lightgbm with the MongoObserver on the real test server: lgb.train, lgb.cv
and the scikit-learn API, every recorded item read back from MongoDB (runs, metrics, GridFS)
and checked against LightGBM's own values."""
from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import pytest

lgb = pytest.importorskip("lightgbm")
pytest.importorskip("pymongo")

from expt.errors import ExptError  # noqa: E402
from expt.integrations.lightgbm import autolog, expt_callback, load_estimator, load_model  # noqa
from expt.store import RunNotFoundError  # noqa: E402

PARAMS = {"objective": "regression", "metric": ["l2", "l1"], "num_leaves": 7,
          "learning_rate": 0.2, "verbose": -1, "num_threads": 1, "seed": 1}
MODES = ["callback", "autolog"]
FEATURES = [f"f{i}" for i in range(5)]
TRAIN_ARTIFACTS = ["feature_importance.json", "feature_importance.png", "model.txt",
                   "model.json"]
STORE_READY = importlib.util.find_spec("observers.mongo.store") is not None


@pytest.fixture(autouse=True)
def no_autolog_left():
    """Every test starts and ends without autolog's wrappers."""
    autolog(disable=True)
    yield
    autolog(disable=True)


@pytest.fixture(scope="module")
def data():
    """A small regression problem: 300 rows, 5 features, train/valid split."""
    rng = np.random.default_rng(11)
    X = rng.normal(size=(300, 5))
    y = 2 * X[:, 0] - X[:, 1] + 0.5 * rng.normal(size=300)
    return X[:220], y[:220], X[220:], y[220:]


def _callbacks(mode: str, early: int | None = None) -> list:
    extra = [lgb.early_stopping(early, verbose=False)] if early else []
    if mode == "autolog":
        autolog()  # before lgb.train / fit are looked up: autolog replaces them
        return extra
    return [expt_callback(), *extra]


def _train(mode, data, values, *, rounds=25, early=None):
    X, y, Xv, yv = data
    train_set = lgb.Dataset(X, y, feature_name=FEATURES)
    valid_set = lgb.Dataset(Xv, yv, reference=train_set)
    evals: dict = {}
    callbacks = [lgb.record_evaluation(evals), *_callbacks(mode, early)]
    values["booster"] = lgb.train(dict(PARAMS), train_set, num_boost_round=rounds,
                                  valid_sets=[train_set, valid_set],
                                  valid_names=["train", "valid"], callbacks=callbacks)
    values.update(evals=evals, X=np.vstack([X, Xv]))


def _fit(mode, estimator, data, early=None):
    X, y, Xv, yv = data
    callbacks = _callbacks(mode, early)
    with warnings.catch_warnings():  # lightgbm 4.7 prefers eval_X/eval_y; eval_set works in 4.x
        warnings.simplefilter("ignore", category=FutureWarning)
        warnings.simplefilter("ignore", category=DeprecationWarning)
        return estimator.fit(X, y, eval_set=[(X, y), (Xv, yv)], eval_names=["train", "valid"],
                             callbacks=callbacks)


def _check_series(rec, expected: dict, n_steps: int | None = None) -> None:
    """Each metric in MongoDB has steps 0..N-1 and LightGBM's values; no other metric exists."""
    assert rec.metric_names() == set(expected)
    assert {r["name"] for r in rec.doc["info"]["metrics"]} == set(expected)  # Sacred's refs
    for name, values in expected.items():
        series = rec.metric(name)
        n = len(values) if n_steps is None else n_steps
        assert series["steps"] == list(range(n)), name
        assert series["values"][:len(values)] == [float(v) for v in values], name
        assert len(series["timestamps"]) == n


def _booster_from_gridfs(rec, name: str = "model"):
    """A Booster built from the GridFS copies of <name>.txt and <name>.json, as load_model does."""
    booster = lgb.Booster(model_str=rec.artifact(f"{name}.txt").decode("utf-8"))
    booster.best_iteration = rec.artifact_json(f"{name}.json")["best_iteration"]
    return booster


# -- lgb.train ----------------------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_train_metrics_in_mongodb(mode, data, mongo_record):
    """lgb.train: <set>.<metric> series in MongoDB, steps 0..N-1, equal to evals_result."""
    rec = mongo_record(lambda run, v: _train(mode, data, v))
    evals = rec.values["evals"]
    expected = {f"{s}.{m}": vals for s, ms in evals.items() for m, vals in ms.items()}
    assert set(expected) == {"train.l2", "train.l1", "valid.l2", "valid.l1"}
    assert all(len(vals) == 25 for vals in expected.values())
    _check_series(rec, expected)
    assert rec.doc["status"] == "COMPLETED"


@pytest.mark.parametrize("mode", MODES)
def test_train_params_and_early_stopping_in_mongodb(mode, data, mongo_record):
    """info.lightgbm.train in the run document: params used, best iteration and scores."""
    rec = mongo_record(lambda run, v: _train(mode, data, v, rounds=300, early=5))
    booster = rec.values["booster"]
    entry = rec.info["lightgbm"]["train"]
    n_trained = len(rec.values["evals"]["valid"]["l2"])
    assert 0 < booster.best_iteration < 300 and n_trained == booster.best_iteration + 5
    assert entry["params"] == {**PARAMS, "num_iterations": 300}
    assert entry["num_boost_round"] == 300
    assert entry["best_iteration"] == booster.best_iteration
    assert entry["early_stopping"] is True and entry["stopped_early"] is True
    assert entry["best_score"] == {s: {m: float(v) for m, v in ms.items()}
                                   for s, ms in booster.best_score.items()}
    assert entry["iterations_trained"] == n_trained
    assert entry["stopped_iteration"] == n_trained - 1
    assert entry["artifacts"] == TRAIN_ARTIFACTS
    assert rec.metric("valid.l2")["steps"] == list(range(n_trained))
    if mode == "autolog":
        assert entry["train_args"]["valid_names"] == ["train", "valid"]


@pytest.mark.parametrize("mode", MODES)
def test_train_artifacts_in_gridfs(mode, data, mongo_record):
    """Importance JSON equals feature_importance(); each artifact's GridFS file has its
    name, content type and metadata."""
    rec = mongo_record(lambda run, v: _train(mode, data, v, rounds=300, early=5))
    booster = rec.values["booster"]
    assert rec.artifact_names() == TRAIN_ARTIFACTS
    importance = rec.artifact_json("feature_importance.json")
    assert importance["feature_names"] == FEATURES
    assert importance["split"] == booster.feature_importance("split").tolist()
    assert importance["gain"] == booster.feature_importance("gain").tolist()
    assert importance["iteration"] == booster.best_iteration
    png = rec.artifact("feature_importance.png")
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 2000
    summary = {"format": "lightgbm-text", "lightgbm_version": lgb.__version__,
               "best_iteration": booster.best_iteration}
    expected = {"feature_importance.json": ("application/json", None),
                "feature_importance.png": ("image/png", None),
                "model.txt": ("text/plain", summary),
                "model.json": ("application/json", summary)}
    for name, (content_type, metadata) in expected.items():
        doc = rec.artifact_file(name)
        assert doc["filename"] == f"artifact://runs/{rec.run_id}/{name}"
        assert doc["contentType"] == content_type, name
        assert doc.get("metadata") == metadata, name
    meta = rec.artifact_json("model.json")
    assert meta["format"] == "lightgbm-text" and meta["feature_names"] == FEATURES
    assert meta["num_trees"] == booster.num_trees()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("early", [None, 5])
def test_train_model_round_trip_from_gridfs(mode, early, data, mongo_record):
    """The model stored in GridFS predicts exactly what the trained Booster predicted."""
    rec = mongo_record(lambda run, v: _train(mode, data, v, rounds=120, early=early))
    booster, X = rec.values["booster"], rec.values["X"]
    loaded = _booster_from_gridfs(rec)
    assert loaded.best_iteration == booster.best_iteration
    assert loaded.num_trees() == booster.num_trees()
    np.testing.assert_array_equal(loaded.predict(X), booster.predict(X))


@pytest.mark.skipif(not STORE_READY, reason="observers/mongo/store.py (MongoStore) not there yet")
def test_load_model_from_mongodb_run_reference(data, mongo_record):
    """load_model('mongodb://host:port/db#id') reads the model back with identical predictions."""
    rec = mongo_record(lambda run, v: _train("callback", data, v, rounds=60, early=5))
    booster, X = rec.values["booster"], rec.values["X"]
    loaded = load_model(rec.ref)
    assert loaded.best_iteration == booster.best_iteration
    np.testing.assert_array_equal(loaded.predict(X), booster.predict(X))
    with pytest.raises(ExptError, match="Did you mean 'model'"):
        load_model(rec.ref, name="modle")
    with pytest.raises(RunNotFoundError, match="No run 999"):
        load_model(rec.ref.replace(f"#{rec.run_id}", "#999"))


def test_load_model_mongodb_reference_without_store_backend(data, mongo_record, monkeypatch):
    """With no loadable MongoDB store backend, load_model names the run and the missing module."""
    import expt.store
    from expt.store import StoreNotFoundError

    rec = mongo_record(lambda run, v: _train("callback", data, v, rounds=5))
    monkeypatch.setattr(expt.store, "backends", lambda: {
        "folder": "observers.file_storage.store:FolderStore",
        "mongo": "observers.mongo.no_such_store:MongoStore"})
    secret = rec.ref.replace("mongodb://", "mongodb://alice:s3cret@")
    for ref, shown in ((rec.ref, rec.ref), (secret, rec.ref.replace("//", "//***@"))):
        with pytest.raises(StoreNotFoundError) as err:
            load_model(ref)
        message = str(err.value)
        assert f"Cannot load the LightGBM model of run {shown!r}" in message
        assert "observers.mongo.no_such_store" in message and "s3cret" not in message


def test_load_model_folder_run_reference(data, tmp_path):
    """A folder run named as ROOT#ID is read through the folder store, like the folder path."""
    from tests.integrations import record

    rec = record(lambda run, v: _train("callback", data, v, rounds=30, early=5), tmp_path)
    booster, X = rec.values["booster"], rec.values["X"]
    for ref in (f"{tmp_path}#{rec.run._id}", str(rec.folder)):
        loaded = load_model(ref)
        assert loaded.best_iteration == booster.best_iteration
        np.testing.assert_array_equal(loaded.predict(X), booster.predict(X))
    with pytest.raises(ExptError, match="Did you mean 'model'"):
        load_model(f"{tmp_path}#{rec.run._id}", name="modle")


@pytest.mark.parametrize("ref, message", [
    ("mongodb://127.0.0.1:27017/db", "needs '#ID'"),
    ("mongdb://127.0.0.1:27017/db#3", "Did you mean 'mongodb://"),
])
def test_load_model_bad_mongodb_reference(ref, message):
    """Malformed MongoDB run references are refused with the fix, before any connection."""
    from expt.runref import RunRefError

    with pytest.raises(RunRefError, match=message):
        load_model(ref)


# -- scikit-learn API --------------------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_sklearn_regressor_in_mongodb(mode, data, mongo_record):
    """LGBMRegressor.fit: series equal evals_result_, best_iteration_ and params in info, the
    GridFS model predicts the same."""
    def body(run, values):
        values["model"] = _fit(mode, lgb.LGBMRegressor(n_estimators=300, num_leaves=7,
                                                       learning_rate=0.2, verbose=-1,
                                                       n_jobs=1), data, early=5)
    rec = mongo_record(body)
    model = rec.values["model"]
    expected = {f"{s}.{m}": v for s, ms in model.evals_result_.items() for m, v in ms.items()}
    assert set(expected) == {"train.l2", "valid.l2"}
    _check_series(rec, expected)
    entry = rec.info["lightgbm"]["sklearn" if mode == "autolog" else "train"]
    assert entry["best_iteration"] == model.best_iteration_ > 0
    assert entry["best_score"]["valid"]["l2"] == model.best_score_["valid"]["l2"]
    assert entry["params"]["num_leaves"] == 7 and entry["early_stopping"] is True
    importance = rec.artifact_json("feature_importance.json")
    assert importance["split"] == model.booster_.feature_importance("split").tolist()
    assert importance["gain"] == model.booster_.feature_importance("gain").tolist()
    X = np.vstack(data[::2])
    np.testing.assert_array_equal(_booster_from_gridfs(rec).predict(X), model.predict(X))
    stored = rec.artifact_json("model.json")["estimator"]
    if mode == "autolog":
        assert entry["estimator"] == "LGBMRegressor"
        assert entry["estimator_params"]["n_estimators"] == 300
        assert stored["class"] == "LGBMRegressor" and stored["params"] == model.get_params()
        assert stored["state"]["best_iteration"] == model.best_iteration_
    else:
        assert stored is None  # the callback sees only the Booster


@pytest.mark.skipif(not STORE_READY, reason="observers/mongo/store.py (MongoStore) not there yet")
def test_sklearn_estimator_from_mongodb_run_reference(data, mongo_record):
    """load_estimator('mongodb://...#id') rebuilds the fitted LGBMClassifier: same predictions."""
    labels = np.array(["cat", "dog"])

    def body(run, values):
        X, y, Xv, yv = data
        binary = (labels[(y > 0).astype(int)], labels[(yv > 0).astype(int)])
        values["model"] = _fit("autolog", lgb.LGBMClassifier(n_estimators=20, num_leaves=7,
                                                             verbose=-1, n_jobs=1),
                               (X, binary[0], Xv, binary[1]))
    rec = mongo_record(body)
    model, X = rec.values["model"], np.vstack(data[::2])
    loaded = load_estimator(rec.ref)
    assert type(loaded) is lgb.LGBMClassifier
    np.testing.assert_array_equal(loaded.classes_, model.classes_)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


# -- lgb.cv -----------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("early", [None, 4])
def test_cv_series_and_info_in_mongodb(mode, early, data, mongo_record):
    """lgb.cv: <set>.<metric>-mean / -stdv series equal cv()'s results; info; no model."""
    def body(run, values):
        X, y, _, _ = data
        callbacks = _callbacks(mode, early)  # before lgb.cv is looked up: autolog replaces it
        values["result"] = lgb.cv(dict(PARAMS, metric="l2"), lgb.Dataset(X, y),
                                  num_boost_round=200 if early else 20, nfold=3,
                                  stratified=False, seed=3, return_cvbooster=True,
                                  callbacks=callbacks)
    rec = mongo_record(body)
    result = rec.values["result"]
    entry = rec.info["lightgbm"]["cv"]
    n_kept = len(result["valid l2-mean"])
    _check_series(rec, {"valid.l2-mean": result["valid l2-mean"],
                        "valid.l2-stdv": result["valid l2-stdv"]},
                  n_steps=entry["iterations_trained"])
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
    assert rec.artifact_names() == []  # cv records metrics and info only
