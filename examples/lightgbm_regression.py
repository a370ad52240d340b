"""LightGBM regression, recorded whole: config, curves, early stopping, importance, model.

The diabetes data set ships with scikit-learn (442 patients, 10 features): nothing is
downloaded. One line, ``autolog()``, records the training; the test metrics are logged by
``log_regression_metrics``.

Command lines it supports:
    python examples/lightgbm_regression.py -F runs
        -> test RMSE
    python examples/lightgbm_regression.py with num_leaves=63 learning_rate=0.05 -F runs
        -> test RMSE
    python examples/lightgbm_regression.py with num_boost_round=50 early_stopping_rounds=10
        -> test RMSE
    python examples/lightgbm_regression.py print_config
        -> num_leaves = 40
    python examples/lightgbm_regression.py with nun_leaves=63
        -> exit 2
        -> Did you mean 'num_leaves'?
    python examples/lightgbm_regression.py --help
        -> print_config

Each run folder (``runs/1``, ``runs/2``, ...) holds config.json, metrics.json (``train.l2``,
``valid.l2``, ``train.rmse``, ..., ``test.rmse``), info.json (LightGBM's parameters and
best iteration, dataset fingerprints), feature_importance.json/.png and model.txt/.json.
Load the model back with ``expt.integrations.lightgbm.load_model("runs/1")``.
"""
import lightgbm as lgb
from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split

from expt import Experiment
from expt.integrations.datasets import log_dataset
from expt.integrations.lightgbm import autolog
from expt.integrations.sklearn import log_regression_metrics

ex = Experiment("lightgbm_regression")
autolog()  # record every LightGBM training that happens inside a run of this experiment


@ex.config
def config():
    boosting_type = "gbdt"  # LightGBM's boosting: gbdt, dart or rf
    objective = "regression"  # L2 loss
    num_leaves = 40  # maximum leaves per tree
    learning_rate = 0.09  # shrinkage of each tree
    feature_fraction = 0.8  # share of the features each tree sees
    num_boost_round = 200  # boosting iterations
    early_stopping_rounds = 0  # stop when valid.l2 has not improved for this many rounds (0: off)
    test_size = 0.2  # share of the rows held out for the test metrics
    valid_size = 0.2  # share of the remaining rows used for the validation curve
    split_seed = 0  # the data split, kept apart from the run's seed


@ex.capture
def load_data(test_size, valid_size, split_seed):
    """The diabetes data split into train, validation and test sets."""
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    X_rest, X_test, y_rest, y_test = train_test_split(X, y, test_size=test_size,
                                                      random_state=split_seed)
    X_train, X_valid, y_train, y_valid = train_test_split(X_rest, y_rest, test_size=valid_size,
                                                          random_state=split_seed)
    return X_train, X_valid, X_test, y_train, y_valid, y_test


@ex.automain
def main(boosting_type, objective, num_leaves, learning_rate, feature_fraction,
         num_boost_round, early_stopping_rounds, seed, _run):
    X_train, X_valid, X_test, y_train, y_valid, y_test = load_data()
    log_dataset(_run, "train", X_train)
    log_dataset(_run, "test", X_test)
    params = {"boosting_type": boosting_type, "objective": objective,
              "metric": ["l2", "rmse", "l1"], "num_leaves": num_leaves,
              "learning_rate": learning_rate, "feature_fraction": feature_fraction,
              "seed": seed, "verbose": -1, "num_threads": 2}
    callbacks = [lgb.early_stopping(early_stopping_rounds, verbose=False)] \
        if early_stopping_rounds else []
    lgb_train = lgb.Dataset(X_train, y_train)
    lgb_valid = lgb.Dataset(X_valid, y_valid, reference=lgb_train)
    gbm = lgb.train(params, lgb_train, num_boost_round=num_boost_round,
                    valid_sets=[lgb_train, lgb_valid], valid_names=["train", "valid"],
                    callbacks=callbacks)
    test = log_regression_metrics(y_test, gbm.predict(X_test))
    print(f"test RMSE {test['rmse']:.3f}  MSE {test['mse']:.1f}  MAE {test['mae']:.3f}  "
          f"R2 {test['r2']:.3f}")
    return round(test["rmse"], 4)
