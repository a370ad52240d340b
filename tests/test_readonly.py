"""Tests for expt.readonly: read-only yet picklable config values."""
import copy
import json
import pickle

import pytest

from expt import ReadOnlyConfigError
from expt.readonly import ReadOnlyDict, ReadOnlyList, make_readonly, to_plain

CONFIG = {"lr": 0.1, "opt": {"betas": [0.9, 0.99], "name": "adam"}, "layers": [[1, 2], {"x": 1}]}


@pytest.fixture
def frozen():
    return make_readonly(CONFIG)


@pytest.mark.parametrize("mutate", [
    lambda c: c.__setitem__("lr", 1),
    lambda c: c.__delitem__("lr"),
    lambda c: c.clear(),
    lambda c: c.pop("lr"),
    lambda c: c.popitem(),
    lambda c: c.setdefault("new", 1),
    lambda c: c.update(lr=2),
    lambda c: c["opt"].__setitem__("name", "sgd"),
    lambda c: c["opt"]["betas"].append(1),
    lambda c: c["opt"]["betas"].__setitem__(0, 1),
    lambda c: c["opt"]["betas"].extend([1]),
    lambda c: c["opt"]["betas"].insert(0, 1),
    lambda c: c["opt"]["betas"].pop(),
    lambda c: c["opt"]["betas"].remove(0.9),
    lambda c: c["opt"]["betas"].sort(),
    lambda c: c["opt"]["betas"].reverse(),
    lambda c: c["opt"]["betas"].clear(),
    lambda c: c["opt"]["betas"].__delitem__(0),
    lambda c: c["layers"][0].append(3),
    lambda c: c["layers"][1].__setitem__("x", 2),
])
def test_every_mutation_is_a_clear_error(frozen, mutate):
    """Each mutating method raises ReadOnlyConfigError saying how to get a mutable copy."""
    with pytest.raises(ReadOnlyConfigError, match=r"read-only inside captured functions.*"
                                                  r"to_plain"):
        mutate(frozen)
    assert to_plain(frozen) == CONFIG


def test_augmented_assignment_is_refused(frozen):
    """`x += [...]` and `d |= {...}` on read-only values raise too."""
    betas = frozen["opt"]["betas"]
    with pytest.raises(ReadOnlyConfigError):
        betas += [1]
    opt = frozen["opt"]
    with pytest.raises(ReadOnlyConfigError):
        opt |= {"a": 1}
    with pytest.raises(ReadOnlyConfigError):
        betas *= 2


def test_error_names_where_the_value_is(frozen):
    """The message names the config path of the value that was changed."""
    with pytest.raises(ReadOnlyConfigError, match=r"\(config\.opt\)"):
        frozen["opt"]["name"] = "x"
    assert isinstance(ReadOnlyConfigError("x"), TypeError)


def test_still_dicts_and_lists(frozen):
    """Read-only values are dict and list instances that compare equal to the originals."""
    assert isinstance(frozen, dict) and isinstance(frozen["opt"]["betas"], list)
    assert isinstance(frozen, ReadOnlyDict) and isinstance(frozen["layers"], ReadOnlyList)
    assert frozen == CONFIG


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_round_trip(frozen, protocol):
    """Pickling keeps the values and the read-only protection (Sacred's containers break)."""
    back = pickle.loads(pickle.dumps(frozen, protocol=protocol))
    assert back == CONFIG and type(back) is ReadOnlyDict
    assert type(back["opt"]["betas"]) is ReadOnlyList
    with pytest.raises(ReadOnlyConfigError):
        back["opt"]["betas"].append(1)


def test_json_dumps(frozen):
    """json.dumps accepts read-only values as ordinary dicts and lists."""
    assert json.loads(json.dumps(frozen)) == CONFIG


def test_to_plain_gives_mutable_copies(frozen):
    """to_plain() returns ordinary dicts and lists that can be changed freely."""
    plain = to_plain(frozen)
    assert type(plain) is dict and type(plain["opt"]["betas"]) is list
    plain["opt"]["betas"].append(1)
    assert frozen["opt"]["betas"] == [0.9, 0.99]


def test_copy_and_deepcopy_are_mutable(frozen):
    """copy.copy and copy.deepcopy give mutable containers."""
    shallow = copy.copy(frozen)
    shallow["lr"] = 5
    deep = copy.deepcopy(frozen)
    deep["opt"]["betas"].append(1)
    assert type(deep["opt"]) is dict and frozen["lr"] == 0.1
    assert dict(frozen)["lr"] == 0.1


def test_make_readonly_does_not_freeze_the_original():
    """The source dict stays mutable; other values pass through unchanged."""
    source = {"a": [1]}
    make_readonly(source)
    source["a"].append(2)
    assert make_readonly(5) == 5 and make_readonly("s") == "s"
    assert make_readonly((1, [2])) == (1, [2])
