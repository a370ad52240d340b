"""Tests for expt.signature: which parameters can be filled, and filling them."""
import pytest

from expt import MissingConfigError
from expt.signature import NOT_FOUND, SPECIAL_PARAMETERS, Signature


def func(a, b=2, *args, c, d=4, _run=None, **kwargs):
    return a


def lookup_from(values):
    return lambda name: values.get(name, NOT_FOUND)


def test_parameters_by_kind():
    """Positional-or-keyword and keyword-only parameters are fillable; *args/**kw are not."""
    sig = Signature(func)
    assert sig.positional == ["a", "b"]
    assert sig.keyword_only == ["c", "d", "_run"]
    assert sig.fillable == ["a", "b", "c", "d", "_run"]
    assert sig.config_parameters == ["a", "b", "c", "d"]
    assert sig.has_defaults == {"b", "d", "_run"}
    assert SPECIAL_PARAMETERS == ("_run", "_log", "_seed", "_rnd", "_config")


@pytest.mark.parametrize("args, kwargs, values, expected", [
    ((), {}, {"a": 1, "b": 2, "c": 3, "d": 4}, {"a": 1, "b": 2, "c": 3, "d": 4}),
    ((10,), {}, {"a": 1, "c": 3}, {"c": 3}),                  # positional given: a not filled
    ((), {"a": 10}, {"a": 1, "c": 3}, {"a": 10, "c": 3}),      # explicit keyword wins
    ((10, 20), {"c": 30}, {"a": 1, "b": 2, "c": 3, "d": 4}, {"c": 30, "d": 4}),
    ((), {"c": 3}, {"a": 1}, {"a": 1, "c": 3}),                # defaults stay defaults
])
def test_fill(args, kwargs, values, expected):
    """Missing parameters come from the lookup; given ones are never replaced."""
    assert Signature(func).fill(args, kwargs, lookup_from(values)) == expected


def test_missing_parameters_raise_with_names():
    """Parameters with neither a value nor a default are named in MissingConfigError."""
    with pytest.raises(MissingConfigError) as info:
        Signature(func).fill((), {}, lookup_from({}))
    assert info.value.missing == ["a", "c"]
    assert info.value.function == "func"
    assert str(info.value) == ("func() is missing a value for 'a', 'c': pass it as an argument "
                               "or define it in the config.")
    assert isinstance(info.value, TypeError)


def test_qualified_name_for_methods():
    """Methods are named by their qualified name."""
    class Model:
        def fit(self, epochs):
            pass
    sig = Signature(Model.fit)
    assert sig.name.endswith("Model.fit") and sig.fillable == ["self", "epochs"]
