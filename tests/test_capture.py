"""Tests for expt.capture: config values and specials injected into captured functions."""
import logging
import pickle

import numpy as np
import pytest

from expt import CapturedFunction, Experiment, Ingredient, MissingConfigError, ReadOnlyConfigError
from expt.readonly import ReadOnlyDict


def make_experiment(**kwargs):
    ex = Experiment("capture_test", save_git_info=False)

    @ex.config
    def cfg():
        a = 1
        b = "bee"
        opt = {"lr": 0.1, "momentum": 0.9}
    return ex


def test_values_injected_by_parameter_name():
    """Parameters named like config entries receive their values inside a run."""
    ex = make_experiment()

    @ex.capture
    def f(a, b, opt):
        return a, b, opt

    @ex.main
    def main():
        return f()
    assert ex.run().result == (1, "bee", {"lr": 0.1, "momentum": 0.9})


def test_explicit_arguments_win():
    """Arguments given by the caller (positional or keyword) beat config values."""
    ex = make_experiment()

    @ex.capture
    def f(a, b, c=3):
        return a, b, c

    @ex.main
    def main():
        return [f(), f(10), f(b="x"), f(10, "y", 30)]
    assert ex.run().result == [(1, "bee", 3), (10, "bee", 3), (1, "x", 3), (10, "y", 30)]


def test_prefix_reads_a_sub_dict():
    """With prefix='opt' the parameters come from config['opt']."""
    ex = make_experiment()

    @ex.capture(prefix="opt")
    def f(lr, momentum, a=None):
        return lr, momentum, a

    @ex.main
    def main():
        return f()
    assert ex.run(config_updates={"opt.lr": 0.5}).result == (0.5, 0.9, None)


def test_special_parameters():
    """_run, _log, _seed, _rnd and _config are provided inside a run."""
    ex = make_experiment()
    seen = {}

    @ex.capture
    def f(_run, _log, _seed, _rnd, _config):
        seen.update(run=_run, log=_log, seed=_seed, rnd=_rnd, config=_config)

    @ex.main
    def main():
        f()
    run = ex.run(config_updates={"seed": 123})
    assert seen["run"] is run
    assert isinstance(seen["log"], logging.Logger)
    assert seen["log"].name == "expt.capture_test.test_special_parameters.<locals>.f"
    assert isinstance(seen["seed"], int) and 0 <= seen["seed"] < 2**31
    assert isinstance(seen["rnd"], np.random.RandomState)
    assert isinstance(seen["config"], ReadOnlyDict)
    assert seen["config"] == {"a": 1, "b": "bee", "opt": {"lr": 0.1, "momentum": 0.9},
                              "seed": 123}


def test_seed_and_rnd_deterministic_per_seed_and_call():
    """_seed/_rnd depend only on the run seed, the function and the call count."""
    ex = make_experiment()

    @ex.capture
    def f(_seed):
        return _seed

    @ex.capture
    def g(_rnd):
        return int(_rnd.randint(0, 10**9))

    @ex.main
    def main():
        return [f(), f(), g(), g()]
    first = ex.run(config_updates={"seed": 1}).result
    again = ex.run(config_updates={"seed": 1}).result
    other = ex.run(config_updates={"seed": 2}).result
    assert first == again
    assert first != other
    assert first[0] != first[1] and first[2] != first[3]


def test_config_is_read_only_inside_captured_functions():
    """Changing an injected dict raises ReadOnlyConfigError; the run fails with it."""
    ex = make_experiment()

    @ex.main
    def main(opt):
        opt["lr"] = 10
    with pytest.raises(ReadOnlyConfigError, match="read-only"):
        ex.run()


def test_injected_config_pickles():
    """Injected config values can be pickled (e.g. sent to worker processes)."""
    ex = make_experiment()

    @ex.main
    def main(opt, _config):
        return pickle.loads(pickle.dumps((opt, _config)))[0]
    assert ex.run().result == {"lr": 0.1, "momentum": 0.9}


def test_call_outside_a_run_with_explicit_arguments():
    """Outside a run a captured function is an ordinary function (Sacred cannot do this)."""
    ex = make_experiment()

    @ex.capture
    def f(a, b=2):
        return a + b
    assert f(1) == 3 and f(a=1, b=5) == 6
    assert isinstance(f, CapturedFunction) and f.__name__ == "f"


def test_missing_value_outside_a_run_names_function_and_parameters():
    """A parameter with no value gives MissingConfigError naming the function and parameters."""
    ex = make_experiment()

    @ex.capture
    def train(a, epochs, *, batch, lr=0.1):
        pass
    with pytest.raises(MissingConfigError) as info:
        train(1)
    assert info.value.function.endswith("train")
    assert info.value.missing == ["epochs", "batch"]
    assert "train() is missing a value for 'epochs', 'batch'" in str(info.value)


def test_missing_value_inside_a_run():
    """Inside a run, a parameter in neither the call nor the config is also reported."""
    ex = make_experiment()

    @ex.capture
    def f(a, not_in_config):
        pass

    @ex.main
    def main():
        f()
    with pytest.raises(MissingConfigError, match="'not_in_config'"):
        ex.run()


def test_unbound_after_the_run():
    """After a run the function no longer sees that run's config."""
    ex = make_experiment()

    @ex.capture
    def f(a):
        return a

    @ex.main
    def main():
        return f()
    assert ex.run(config_updates={"a": 5}).result == 5
    with pytest.raises(MissingConfigError):
        f()


def test_captured_method_gets_self():
    """A captured method receives its instance and config values."""
    ex = make_experiment()

    class Model:
        @ex.capture
        def describe(self, b):
            return f"{type(self).__name__}:{b}"

    @ex.main
    def main():
        return Model().describe()
    assert ex.run().result == "Model:bee"


def test_ingredient_function_reads_its_section():
    """A function captured by an ingredient reads config[ingredient.path]."""
    data = Ingredient("data")

    @data.config
    def data_cfg():
        size = 10

    @data.capture
    def load(size, _config):
        return size, sorted(_config)

    ex = Experiment("ing", ingredients=[data], save_git_info=False)

    @ex.config
    def cfg():
        size = 999

    @ex.main
    def main():
        return load()
    assert ex.run(config_updates={"data.size": 3}).result == (3, ["data", "seed", "size"])


def test_capture_twice_returns_the_same_object():
    """Capturing a captured function again does not wrap it twice."""
    ex = make_experiment()
    f = ex.capture(lambda a: a)
    assert ex.capture(f) is f
    assert repr(f) == "<captured function test_capture_twice_returns_the_same_object.<locals>" \
                      ".<lambda>>"


def test_seed_and_rnd_of_one_call_agree():
    """In one call, _rnd is seeded with that call's _seed; the next call gets new ones."""
    from expt.randomness import derive_seed, make_rnd
    ex = make_experiment()

    @ex.capture
    def both(_seed, _rnd):
        return _seed, int(_rnd.randint(0, 10**9))

    @ex.main
    def main():
        return [both(), both()]
    (seed1, draw1), (seed2, draw2) = ex.run(config_updates={"seed": 5}).result
    assert draw1 == make_rnd(seed1).randint(0, 10**9)
    assert draw2 == make_rnd(seed2).randint(0, 10**9)
    name = "test_seed_and_rnd_of_one_call_agree.<locals>.both"
    assert [seed1, seed2] == [derive_seed(5, name, 1), derive_seed(5, name, 2)]
