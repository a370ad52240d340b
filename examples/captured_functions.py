"""Captured functions: parameters filled from the config by name.

``@ex.capture`` functions get config values for the parameters the caller leaves out (explicit
arguments win), ``prefix=`` reads a sub-dict, and the special parameters ``_run``, ``_log``,
``_seed``, ``_rnd`` and ``_config`` give the run, a logger, a seed derived from the run's seed,
a random generator seeded with it, and the whole config. The config they receive is read-only.
After the run they are ordinary functions again: pass every argument yourself.

Command lines it supports:
    python examples/captured_functions.py
        -> train: lr=0.1 epochs=3 (from the config)
        -> train: lr=0.5 epochs=3 (explicit lr wins)
        -> optimizer: sgd momentum=0.9
        -> scale(2) = 20
        -> read-only: ReadOnlyConfigError
        -> after the run: scale(2, factor=3) = 6
        -> after the run: scale() is missing a value for 'factor'
    python examples/captured_functions.py with lr=0.01 optimizer.momentum=0.5 factor=100
        -> train: lr=0.01 epochs=3 (from the config)
        -> optimizer: sgd momentum=0.5
        -> scale(2) = 200
    python examples/captured_functions.py with seed=1
        -> noise seeds: 757215057 818609188
    python examples/captured_functions.py evaluate
        -> check() is missing a value for 'threshold'
"""
from expt import Experiment, MissingConfigError, ReadOnlyConfigError

ex = Experiment("captured_functions")


@ex.config
def config():
    lr = 0.1
    epochs = 3
    factor = 10
    optimizer = {"name": "sgd", "momentum": 0.9}


@ex.capture
def train(lr, epochs, note="from the config", _log=None):
    _log.debug("training for %d epochs", epochs)
    print(f"train: lr={lr} epochs={epochs} ({note})")


@ex.capture(prefix="optimizer")
def make_optimizer(name, momentum):
    print(f"optimizer: {name} momentum={momentum}")


@ex.capture
def scale(x, factor):
    return x * factor


@ex.capture
def noise(_seed, _rnd):
    """Each call gets its own seed, derived from the run's seed: same seed, same numbers."""
    return _seed, _rnd.uniform(0, 1)


@ex.capture
def check(lr, threshold):
    print(f"checking lr={lr} against {threshold}")


@ex.command
def evaluate():
    """Call a captured function whose parameter 'threshold' is in neither the call nor config."""
    try:
        check()
    except MissingConfigError as exc:
        print(exc)


@ex.main
def main(optimizer):
    train()
    train(lr=0.5, note="explicit lr wins")
    make_optimizer()
    print(f"scale(2) = {scale(2)}")
    print("noise seeds:", noise()[0], noise()[0])
    try:
        optimizer["momentum"] = 0.0
    except ReadOnlyConfigError as exc:
        print("read-only:", type(exc).__name__)


if __name__ == "__main__":
    ex.run_commandline()
    # After the run, captured functions are plain functions: every argument must be given.
    print(f"after the run: scale(2, factor=3) = {scale(2, factor=3)}")
    try:
        scale(2)
    except MissingConfigError as exc:
        print(f"after the run: {exc}")
